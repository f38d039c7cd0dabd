package api

import (
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drover/drover/internal/testutil"
	"github.com/drover/drover/pkg/events"
)

// An app id past NATS' 4,096-byte control line used to make NATS close the
// api's connection for good: every /v2 route then answered 503. Such ids,
// in every place a client gives one, are 422 on /id, and the api serves on.
func TestLongIDsAreRefusedAndTheAPIServesOn(t *testing.T) {
	h := newHarness(t)
	long := "/" + strings.Repeat("a", 4100)
	// An id in a URL that cannot be an app's is an app that does not
	// exist, as for any other invalid id there.
	for _, m := range []string{http.MethodPut, http.MethodPatch, http.MethodGet, http.MethodDelete} {
		expect[errorBody](t, h.do(m, "/v2/apps"+long, `{"cmd":"sleep 1"}`), http.StatusNotFound)
	}
	for _, c := range []struct{ method, path, body, errPath string }{
		{http.MethodPost, "/v2/apps", fmt.Sprintf(`{"id":%q,"cmd":"sleep 1"}`, long), "/id"},
		{http.MethodPut, "/v2/apps", fmt.Sprintf(`[{"id":%q,"cmd":"sleep 1"}]`, long), "/0/id"},
		{http.MethodPost, "/v2/groups", fmt.Sprintf(`{"id":"/g","apps":[{"id":%q,"cmd":"sleep 1"}]}`, long), ""},
		{http.MethodPut, "/v2/groups" + long, `{"apps":[{"id":"a","cmd":"sleep 1"}]}`, ""},
		// 512 characters is the limit: one more is refused.
		{http.MethodPost, "/v2/apps", fmt.Sprintf(`{"id":"/%s","cmd":"sleep 1"}`, strings.Repeat("b", 512)), "/id"},
	} {
		rec := h.do(c.method, c.path, c.body)
		e := expect[errorBody](t, rec, http.StatusUnprocessableEntity)
		if c.errPath != "" && !e.has(c.errPath, "must not be longer than 512 characters") {
			t.Errorf("%s %.40s: details %+v, want %s too long", c.method, c.path, e.Details, c.errPath)
		}
		if !strings.Contains(rec.Body.String(), "must not be longer than 512 characters") {
			t.Errorf("%s %.40s: %s", c.method, c.path, rec.Body.String())
		}
	}
	expect[object](t, h.do(http.MethodGet, "/v2/apps", ""), http.StatusOK)
	if rec := h.do(http.MethodGet, "/ping", ""); rec.Code != http.StatusOK {
		t.Errorf("ping %d", rec.Code)
	}
	// The longest id allowed is written and read back.
	ok := "/" + strings.Repeat("c", 511)
	h.createApp(fmt.Sprintf(`{"id":%q,"cmd":"sleep 1"}`, ok))
	expect[object](t, h.do(http.MethodGet, "/v2/apps"+ok, ""), http.StatusOK)
}

// /ping answers 503 while the api cannot serve: its NATS connection closed.
func TestPingUnavailableWhenNATSIsClosed(t *testing.T) {
	js := testutil.RunJetStream(t)
	bus := js.Bus(t)
	srv := newTestServer(t, bus)
	waitLoaded(t, srv)
	if rec := serve(t, srv, http.MethodGet, "/ping", ""); rec.Code != http.StatusOK {
		t.Fatalf("ping %d before closing", rec.Code)
	}
	bus.JS.Conn().Close()
	for _, m := range []string{http.MethodGet, http.MethodHead} {
		if rec := serve(t, srv, m, "/ping", ""); rec.Code != http.StatusServiceUnavailable {
			t.Errorf("%s /ping %d after the connection closed, want 503", m, rec.Code)
		}
	}
}

// repeat joins n copies of item with commas; item may hold %d for the index.
func repeat(item string, n int) string {
	parts := make([]string, n)
	for i := range parts {
		if strings.Contains(item, "%d") {
			parts[i] = fmt.Sprintf(item, i)
		} else {
			parts[i] = item
		}
	}
	return strings.Join(parts, ",")
}

// Every list of an app has a limit: one more element is a 422 on the
// list's path. (A small body used to become a record NATS refused, a 500,
// or a record of megabytes the scheduler and agents then carried.)
func TestListLimitsAre422(t *testing.T) {
	h := newHarness(t)
	docker := func(inner string) string {
		return `{"id":"/l","instances":0,"container":{"type":"DOCKER","docker":{"image":"busybox"` + inner
	}
	for _, c := range []struct {
		path string
		max  int
		body string
	}{
		{"/healthChecks", 32, `{"id":"/l","cmd":"x","healthChecks":[` + repeat(`{"protocol":"COMMAND","command":{"value":"true"}}`, 33) + `]}`},
		{"/portDefinitions", 256, `{"id":"/l","cmd":"x","portDefinitions":[` + repeat(`{"port":0}`, 257) + `]}`},
		{"/ports", 256, `{"id":"/l","cmd":"x","ports":[` + repeat(`0`, 257) + `]}`},
		{"/constraints", 64, `{"id":"/l","cmd":"x","constraints":[` + repeat(`["hostname","UNIQUE"]`, 65) + `]}`},
		{"/env", 1024, `{"id":"/l","cmd":"x","env":{` + repeat(`"E%d":"x"`, 1025) + `}}`},
		{"/labels", 1024, `{"id":"/l","cmd":"x","labels":{` + repeat(`"L%d":"x"`, 1025) + `}}`},
		{"/fetch", 256, `{"id":"/l","cmd":"x","fetch":[` + repeat(`{"uri":"http://x/y"}`, 257) + `]}`},
		{"/uris", 256, `{"id":"/l","cmd":"x","uris":[` + repeat(`"http://x/y"`, 257) + `]}`},
		{"/dependencies", 256, `{"id":"/l","cmd":"x","dependencies":[` + repeat(`"/d%d"`, 257) + `]}`},
		{"/networks", 16, `{"id":"/l","cmd":"x","networks":[` + repeat(`{"mode":"host"}`, 17) + `]}`},
		{"/container/volumes", 128, docker(`},"volumes":[` + repeat(`{"containerPath":"/c","hostPath":"/h","mode":"RO"}`, 129) + `]}}`)},
		{"/container/portMappings", 256, docker(`,"network":"BRIDGE"},"portMappings":[` + repeat(`{"containerPort":80}`, 257) + `]}}`)},
		{"/container/docker/parameters", 256, docker(`,"parameters":[` + repeat(`{"key":"env","value":"A=1"}`, 257) + `]}}}`)},
	} {
		rec := h.do(http.MethodPost, "/v2/apps", c.body)
		if rec.Code != http.StatusUnprocessableEntity {
			t.Errorf("%s: %d %.300s", c.path, rec.Code, rec.Body.String())
			continue
		}
		e := expect[errorBody](t, rec, http.StatusUnprocessableEntity)
		if msg := fmt.Sprintf("must not have more than %d elements", c.max); !e.has(c.path, msg) {
			t.Errorf("%s: %+v, want %q on it", c.path, e.Details, msg)
		}
	}
	// At the limit, an app is accepted.
	h.createApp(`{"id":"/ok","cmd":"x","env":{` + repeat(`"E%d":"x"`, 1024) + `}}`)
}

// newBigServer is a test server taking bodies of 1 MiB, as the default.
func newBigServer(t *testing.T) *Server {
	t.Helper()
	js := testutil.RunJetStream(t)
	cfg := DefaultConfig()
	cfg.ID, cfg.Hostname = "test", "master1"
	srv, err := New(cfg, js.Bus(t), testutil.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv
}

// The bodies: 60,000 empty health checks in 180 KB, 50,000 TCP
// checks. A 422, never a 5xx, and nothing stored.
func TestManyHealthChecksAre422(t *testing.T) {
	srv := newBigServer(t)
	for _, body := range []string{
		`{"id":"/h","cmd":"x","healthChecks":[` + repeat(`{}`, 60000) + `]}`,
		`{"id":"/h","cmd":"x","healthChecks":[` + repeat(`{"protocol":"TCP"}`, 50000) + `]}`,
	} {
		e := expect[errorBody](t, serve(t, srv, http.MethodPost, "/v2/apps", body), http.StatusUnprocessableEntity)
		if !e.has("/healthChecks", "must not have more than 32 elements") {
			t.Errorf("details %+v", e.Details)
		}
	}
	expect[errorBody](t, serve(t, srv, http.MethodGet, "/v2/apps/h", ""), http.StatusNotFound)
}

// An app within every list limit can still be too large to store (long
// values): a 422 on "/", before anything is written.
func TestRecordSizeLimitIs422(t *testing.T) {
	srv := newBigServer(t)
	big := strings.Repeat("v", 1000)
	body := `{"id":"/big","cmd":"x","env":{` + repeat(`"E%d":"`+big+`"`, 600) + `}}`
	e := expect[errorBody](t, serve(t, srv, http.MethodPost, "/v2/apps", body), http.StatusUnprocessableEntity)
	if !e.has("/", "the app definition must not take more than 524288 bytes once stored") {
		t.Errorf("details %+v", e.Details)
	}
	expect[errorBody](t, serve(t, srv, http.MethodGet, "/v2/apps/big", ""), http.StatusNotFound)
}

// A group change of thousands of apps makes a deployment record past the
// limit: a 422 before any app is written, never a 5xx.
func TestGroupWithTooManyAppsIs422(t *testing.T) {
	srv := newBigServer(t)
	name := strings.Repeat("n", 90)
	body := `{"apps":[` + repeat(`{"id":"`+name+`%d","cmd":"x","instances":0}`, 3000) + `]}`
	for _, m := range []string{http.MethodPut, http.MethodPost} {
		rec := serve(t, srv, m, "/v2/groups/many", body)
		e := expect[errorBody](t, rec, http.StatusUnprocessableEntity)
		if len(e.Details) == 0 || !strings.Contains(e.Details[0].Errors[0], "too many apps") {
			t.Errorf("%s: %s", m, rec.Body.String())
		}
	}
	list := expect[struct {
		Apps []any `json:"apps"`
	}](t, serve(t, srv, http.MethodGet, "/v2/apps", ""), http.StatusOK)
	if len(list.Apps) != 0 {
		t.Errorf("%d apps written", len(list.Apps))
	}
}

// waitLoaded waits until the server's read model has loaded the buckets.
func waitLoaded(t *testing.T, srv *Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.rm.Ready(ctx); err != nil {
		t.Fatal(err)
	}
}

// A body that is not declared JSON is 415, as Marathon answers; a request
// without a body needs no Content-Type.
func TestNonJSONBodyIs415(t *testing.T) {
	h := newHarness(t)
	body := `{"id":"/ct","cmd":"sleep 1"}`
	for _, ct := range []string{"application/x-www-form-urlencoded", "text/plain", "", "application/jsonx", "json"} {
		for _, c := range []struct{ method, path string }{
			{http.MethodPost, "/v2/apps"}, {http.MethodPut, "/v2/apps/ct"}, {http.MethodPatch, "/v2/apps"},
			{http.MethodPost, "/v2/groups"}, {http.MethodPost, "/v2/tasks/delete"},
		} {
			req := httptest.NewRequest(c.method, c.path, strings.NewReader(body))
			if ct != "" {
				req.Header.Set("Content-Type", ct)
			}
			rec := httptest.NewRecorder()
			h.srv.Handler().ServeHTTP(rec, req)
			e := expect[errorBody](t, rec, http.StatusUnsupportedMediaType)
			if e.Message != "HTTP 415 Unsupported Media Type" {
				t.Errorf("%s %s (%q): %q", c.method, c.path, ct, e.Message)
			}
		}
	}
	expect[object](t, h.do(http.MethodGet, "/v2/apps/ct", ""), http.StatusNotFound)
	for _, ct := range []string{"application/json", "application/json; charset=utf-8", "Application/JSON"} {
		h.finishDeployments()
		req := httptest.NewRequest(http.MethodPut, "/v2/apps/ct", strings.NewReader(body))
		req.Header.Set("Content-Type", ct)
		rec := httptest.NewRecorder()
		h.srv.Handler().ServeHTTP(rec, req)
		if rec.Code != http.StatusOK && rec.Code != http.StatusCreated {
			t.Errorf("%q: %d %s", ct, rec.Code, rec.Body.String())
		}
	}
	// No body, no Content-Type needed.
	req := httptest.NewRequest(http.MethodPost, "/v2/apps/ct/restart?force=true", nil)
	rec := httptest.NewRecorder()
	h.srv.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Errorf("restart without a body: %d %s", rec.Code, rec.Body.String())
	}
}

// A viewer may GET and HEAD every read route: HEAD answered 405. OPTIONS
// changes nothing: a viewer may send it, and it is no audited change.
func TestHeadAndOptionsAreReads(t *testing.T) {
	path := writeCredentials(t)
	h := newHarness(t)
	var buf testutil.SyncBuffer
	cfg := DefaultConfig()
	cfg.AuthFile = path
	srv, err := New(cfg, h.bus, slog.New(slog.NewTextHandler(&buf, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	if rec := serve(t, srv, "POST", "/v2/apps", `{"id":"/h/a","cmd":"sleep 1","instances":0}`, basic("alice", "alice-pw")); rec.Code != 201 {
		t.Fatalf("POST %d", rec.Code)
	}
	viewer := basic("victor", "victor-pw")
	for _, p := range []string{"/v2/apps", "/v2/apps/h/a", "/v2/apps/h/a/tasks", "/v2/apps/h/a/versions", "/v2/apps/h/*",
		"/v2/groups", "/v2/groups/h", "/v2/tasks", "/v2/deployments", "/v2/queue", "/v2/info", "/v2/leader", "/metrics", "/metrics/prometheus",
		"/v2/drover/cluster", "/v2/events", "/auth/me"} {
		want := http.StatusOK // a stream's GET never ends: tested elsewhere
		if p != "/v2/events" {
			want = serve(t, srv, http.MethodGet, p, "", viewer).Code
		}
		head := serve(t, srv, http.MethodHead, p, "", viewer)
		if head.Code != want || head.Code == http.StatusMethodNotAllowed {
			t.Errorf("HEAD %s: %d, GET %d", p, head.Code, want)
		}
	}
	buf.Reset()
	for _, p := range []string{"/v2/apps", "/v2/apps/h/a", "/v2/groups"} {
		rec := serve(t, srv, http.MethodOptions, p, "", viewer)
		if rec.Code == http.StatusForbidden || rec.Code >= 500 {
			t.Errorf("viewer OPTIONS %s: %d %s", p, rec.Code, rec.Body.String())
		}
	}
	if logs := buf.String(); strings.Contains(logs, "msg=change") {
		t.Errorf("OPTIONS audited as a change:\n%s", logs)
	}
	// Writes stay refused to viewers.
	if rec := serve(t, srv, http.MethodDelete, "/v2/apps/h/a", "", viewer); rec.Code != http.StatusForbidden {
		t.Errorf("viewer DELETE: %d", rec.Code)
	}
}

// GET /v2/apps' answers are kept per query variant until the read model
// changes: a write, a task's change, each shows at once; variants differ.
func TestListAppsCacheFollowsTheReadModel(t *testing.T) {
	h := newHarness(t)
	list := func(q string) (apps []map[string]any) {
		t.Helper()
		body := expect[struct {
			Apps []map[string]any `json:"apps"`
		}](t, h.do(http.MethodGet, "/v2/apps"+q, ""), http.StatusOK)
		return body.Apps
	}
	h.createApp(`{"id":"/c/one","cmd":"sleep 1","instances":1}`)
	if got := list(""); len(got) != 1 {
		t.Fatalf("%d apps", len(got))
	}
	h.createApp(`{"id":"/c/two","cmd":"sleep 1","instances":1}`)
	if got := list(""); len(got) != 2 {
		t.Fatalf("after a write: %d apps, want 2", len(got))
	}
	if got := list("?id=two"); len(got) != 1 || got[0]["id"] != "/c/two" {
		t.Errorf("?id=two: %v", got)
	}
	if got := list(""); len(got) != 2 {
		t.Errorf("the filtered variant replaced the whole list: %d apps", len(got))
	}
	if _, ok := list("")[0]["tasks"]; ok {
		t.Error("tasks without embed")
	}
	now := time.Now().UTC()
	h.putInstance(events.Instance{TaskID: "c_one.instance-1._app.1", AppID: "/c/one", Version: list("")[0]["version"].(string),
		AgentID: "a1", Host: "host1", State: events.TaskRunning, StagedAt: now, StartedAt: now, UpdatedAt: now})
	testutil.Eventually(t, 5*time.Second, 20*time.Millisecond, func() error {
		if n := list("")[0]["tasksRunning"]; n != 1.0 {
			return fmt.Errorf("tasksRunning %v after a task started", n)
		}
		return nil
	})
	tasks, ok := list("?embed=apps.tasks")[0]["tasks"].([]any)
	if !ok || len(tasks) != 1 {
		t.Errorf("embed=apps.tasks: %v", tasks)
	}
	// Concurrent readers of one generation get the same answer.
	var wg sync.WaitGroup
	bodies := make([]string, 20)
	for i := range bodies {
		wg.Go(func() { bodies[i] = h.do(http.MethodGet, "/v2/apps?embed=apps.counts", "").Body.String() })
	}
	wg.Wait()
	for _, b := range bodies[1:] {
		if b != bodies[0] {
			t.Fatal("concurrent answers differ")
		}
	}
}

// A client that accepts gzip gets the list compressed, and the same JSON.
func TestListAppsGzip(t *testing.T) {
	h := newHarness(t)
	h.createApp(`{"id":"/z/one","cmd":"sleep 1","instances":1}`)
	plain := h.do(http.MethodGet, "/v2/apps", "")
	zipped := h.do(http.MethodGet, "/v2/apps", "", "Accept-Encoding: gzip, deflate")
	if zipped.Header().Get("Content-Encoding") != "gzip" || plain.Header().Get("Content-Encoding") != "" {
		t.Fatalf("encodings %q, %q", zipped.Header().Get("Content-Encoding"), plain.Header().Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(zipped.Body)
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(zr)
	if err != nil || string(data) != plain.Body.String() {
		t.Errorf("gzip body %q (%v), plain %q", data, err, plain.Body.String())
	}
	if none := h.do(http.MethodGet, "/v2/apps", "", "Accept-Encoding: gzip;q=0"); none.Header().Get("Content-Encoding") != "" {
		t.Error("gzip;q=0 got gzip")
	}
}

// What the adversarial pass found holding, kept: tokens in a query string
// are not credentials, and a deeply nested or huge-numbered body is a 4xx.
func TestWhatHeld(t *testing.T) {
	path := writeCredentials(t)
	_, srv := newAuthServer(t, func(c *Config) { c.AuthFile = path })
	for _, q := range []string{"?access_token=op-token", "?token=op-token", "?auth=Bearer%20op-token"} {
		if rec := serve(t, srv, http.MethodGet, "/v2/apps"+q, ""); rec.Code != http.StatusUnauthorized {
			t.Errorf("token in the query %s: %d", q, rec.Code)
		}
	}
	op := "Authorization: Bearer op-token"
	for name, body := range map[string]string{
		"nested":  `{"id":"/n","cmd":"x","labels":` + strings.Repeat(`{"a":`, 10000) + `1` + strings.Repeat(`}`, 10000) + `}`,
		"number":  `{"id":"/n","cmd":"x","instances":1e400}`,
		"array":   `[` + strings.Repeat(`[`, 5000) + strings.Repeat(`]`, 5000) + `]`,
		"not utf": "{\"id\":\"/n\xff\",\"cmd\":\"x\"}",
	} {
		rec := serve(t, srv, http.MethodPost, "/v2/apps", body, op)
		if rec.Code < 400 || rec.Code >= 500 {
			t.Errorf("%s body: %d %.200s", name, rec.Code, rec.Body.String())
		}
	}
}
