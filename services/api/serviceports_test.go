package api

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drover/drover/internal/testutil"
	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/events/natsbus"
	"github.com/nats-io/nats.go/jetstream"
)

// servicePortsOf reads an app's service ports from its JSON: its port
// mappings' when it has any, else its port definitions'.
func servicePortsOf(t *testing.T, app object) []int {
	t.Helper()
	var list []any
	field := "servicePort"
	if c, ok := app["container"].(object); ok {
		list, _ = c["portMappings"].([]any)
		if d, ok := c["docker"].(object); ok && len(list) == 0 {
			list, _ = d["portMappings"].([]any)
		}
	}
	if len(list) == 0 {
		list, _ = app["portDefinitions"].([]any)
		field = "port"
	}
	return jsonInts(t, list, field)
}

// jsonInts reads field of each object of list, or each number of list
// when field is "".
func jsonInts(t *testing.T, list []any, field string) []int {
	t.Helper()
	out := []int{}
	for _, v := range list {
		if field != "" {
			v = v.(object)[field]
		}
		n, ok := v.(float64)
		if !ok {
			t.Fatalf("%v is not a number", v)
		}
		out = append(out, int(n))
	}
	return out
}

func wantPorts(t *testing.T, what string, got, want []int) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s: service ports %v, want %v", what, got, want)
	}
}

// TestServicePortsAssigned follows Marathon: 0 service ports get free ports
// of --local-port-min/max, shown in the app, its tasks and /v2/tasks.
func TestServicePortsAssigned(t *testing.T) {
	h := newHarness(t)
	web := h.createApp(`{"id":"/web","cmd":"serve","portDefinitions":[{"port":0,"name":"http"},{"port":0}]}`)
	wantPorts(t, "POST answer", servicePortsOf(t, web), []int{10000, 10001})
	lb := h.createApp(`{"id":"/lb","container":{"docker":{"image":"httpd","network":"BRIDGE",
		"portMappings":[{"containerPort":80,"servicePort":0},{"containerPort":443,"servicePort":10555}]}}}`)
	wantPorts(t, "bridge POST answer", servicePortsOf(t, lb), []int{10002, 10555})
	legacy := h.createApp(`{"id":"/legacy","cmd":"serve","ports":[0]}`)
	wantPorts(t, "ports [0]", servicePortsOf(t, legacy), []int{10003})
	wantPorts(t, "GET", servicePortsOf(t, h.getApp("/web")), []int{10000, 10001})

	h.putInstance(events.Instance{TaskID: "web.1", AppID: "/web", AgentID: "agent-1", Host: "host1",
		HostPorts: []int{31000, 31001}, State: events.TaskRunning, StagedAt: time.Now()})
	h.putInstance(events.Instance{TaskID: "lb.1", AppID: "/lb", AgentID: "agent-1", Host: "host1",
		HostPorts: []int{31002, 31003}, State: events.TaskRunning, StagedAt: time.Now()})
	waitFor(t, func() bool {
		return len(expect[taskList](t, h.do(http.MethodGet, "/v2/tasks", ""), http.StatusOK).Tasks) == 2
	})

	apps := expect[map[string][]object](t, h.do(http.MethodGet, "/v2/apps?embed=apps.tasks", ""), http.StatusOK)["apps"]
	byID := map[string]object{}
	for _, a := range apps {
		byID[a["id"].(string)] = a
	}
	for id, want := range map[string][]int{"/web": {10000, 10001}, "/lb": {10002, 10555}} {
		tasks, _ := byID[id]["tasks"].([]any)
		if len(tasks) != 1 {
			t.Fatalf("%s: tasks %v, want one", id, tasks)
		}
		sp, _ := tasks[0].(object)["servicePorts"].([]any)
		wantPorts(t, id+" embedded task", jsonInts(t, sp, ""), want)
	}
	for _, task := range expect[taskList](t, h.do(http.MethodGet, "/v2/tasks", ""), http.StatusOK).Tasks {
		sp, _ := task["servicePorts"].([]any)
		want := map[string][]int{"/web": {10000, 10001}, "/lb": {10002, 10555}}[task["appId"].(string)]
		wantPorts(t, "/v2/tasks "+task["id"].(string), jsonInts(t, sp, ""), want)
	}
	text := h.do(http.MethodGet, "/v2/tasks", "", "Accept: text/plain").Body.String()
	for _, line := range []string{"web\t10000\thost1:31000\t", "web\t10001\thost1:31001\t", "lb\t10002\thost1:31002\t"} {
		if !strings.Contains(text, line) {
			t.Errorf("/v2/tasks text lacks %q:\n%s", line, text)
		}
	}
	if strings.Contains(text, "\t0\t") {
		t.Errorf("/v2/tasks text lists service port 0:\n%s", text)
	}
}

// TestServicePortsKeptAcrossUpdates: an update that leaves a port at 0, or
// omits the ports, keeps the app's; one that adds a port gets a free one.
func TestServicePortsKeptAcrossUpdates(t *testing.T) {
	h := newHarness(t)
	h.createApp(`{"id":"/a","cmd":"serve","portDefinitions":[{"port":0}]}`)
	h.createApp(`{"id":"/b","cmd":"serve","portDefinitions":[{"port":0}]}`)

	for _, tt := range []struct {
		name, path, body string
		want             []int
	}{
		{"full update leaving 0", "/v2/apps/a?force=true&partialUpdate=false", `{"cmd":"serve --v2","portDefinitions":[{"port":0}]}`, []int{10000}},
		{"full update omitting them", "/v2/apps/a?force=true&partialUpdate=false", `{"cmd":"serve --v3"}`, []int{10000}},
		{"partial update", "/v2/apps/a?force=true", `{"cmd":"serve --v4"}`, []int{10000}},
		{"a port added", "/v2/apps/a?force=true", `{"portDefinitions":[{"port":0},{"port":0}]}`, []int{10000, 10002}},
		{"a port dropped", "/v2/apps/a?force=true", `{"portDefinitions":[{"port":0}]}`, []int{10000}},
		{"explicit port", "/v2/apps/a?force=true", `{"portDefinitions":[{"port":10001}]}`, []int{10001}},
	} {
		expect[object](t, h.do(http.MethodPut, tt.path, tt.body), http.StatusOK)
		wantPorts(t, tt.name, servicePortsOf(t, h.getApp("/a")), tt.want)
	}
	wantPorts(t, "the other app", servicePortsOf(t, h.getApp("/b")), []int{10001})

	// A scale is no configuration change: it keeps the ports, and the
	// tasks with them.
	before := h.getApp("/b")["versionInfo"].(object)["lastConfigChangeAt"]
	expect[object](t, h.do(http.MethodPut, "/v2/apps/b?force=true", `{"instances":3,"portDefinitions":[{"port":0}]}`), http.StatusOK)
	b := h.getApp("/b")
	wantPorts(t, "scaled", servicePortsOf(t, b), []int{10001})
	if after := b["versionInfo"].(object)["lastConfigChangeAt"]; after != before {
		t.Errorf("lastConfigChangeAt %v, was %v: a scale leaving port 0 restarted the app", after, before)
	}
}

// TestServicePortsOfGroups: a group's apps get ports, none another app has,
// and a deleted app's ports are free again.
func TestServicePortsOfGroups(t *testing.T) {
	h := newHarness(t)
	h.createApp(`{"id":"/solo","cmd":"serve","portDefinitions":[{"port":0},{"port":10002}]}`)
	expect[object](t, h.do(http.MethodPost, "/v2/groups", `{"id":"/shop","apps":[
		{"id":"db","cmd":"db","portDefinitions":[{"port":0}]},
		{"id":"web","container":{"docker":{"image":"httpd","network":"BRIDGE","portMappings":[{"containerPort":80},{"containerPort":81}]}}}]}`),
		http.StatusCreated)
	wantPorts(t, "/shop/db", servicePortsOf(t, h.getApp("/shop/db")), []int{10001})
	wantPorts(t, "/shop/web", servicePortsOf(t, h.getApp("/shop/web")), []int{10003, 10004})

	// A group update whose apps leave their ports at 0 keeps them.
	expect[object](t, h.do(http.MethodPut, "/v2/groups/shop?force=true", `{"apps":[
		{"id":"db","cmd":"db --v2","portDefinitions":[{"port":0}]},
		{"id":"api","cmd":"api","portDefinitions":[{"port":0}]}]}`), http.StatusOK)
	wantPorts(t, "/shop/db updated", servicePortsOf(t, h.getApp("/shop/db")), []int{10001})
	// web's ports are not free before the change is written.
	wantPorts(t, "/shop/api", servicePortsOf(t, h.getApp("/shop/api")), []int{10005})
	expect[object](t, h.do(http.MethodGet, "/v2/apps/shop/web", ""), http.StatusNotFound)

	expect[object](t, h.do(http.MethodDelete, "/v2/apps/solo?force=true", ""), http.StatusOK)
	again := h.createApp(`{"id":"/again","cmd":"serve","ports":[0,0,0,0]}`)
	wantPorts(t, "after deletes", servicePortsOf(t, again), []int{10000, 10002, 10003, 10004})
}

// newRangeServer is an api replica on bus assigning service ports from min to max.
func newRangeServer(t *testing.T, bus *natsbus.Bus, min, max int) *Server {
	t.Helper()
	cfg := DefaultConfig()
	cfg.ID, cfg.LocalPortMin, cfg.LocalPortMax = "ports", min, max
	srv, err := New(cfg, bus, testutil.Logger(t))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(srv.Close)
	return srv
}

// TestServicePortsExhausted: Marathon's 500 and message, and nothing written.
func TestServicePortsExhausted(t *testing.T) {
	h := newHarness(t)
	h.srv = newRangeServer(t, h.bus, 10000, 10002)
	h.createApp(`{"id":"/a","cmd":"serve","ports":[0,0]}`)
	rec := h.do(http.MethodPost, "/v2/apps", `{"id":"/b","cmd":"serve","ports":[0,0]}`)
	e := expect[errorBody](t, rec, http.StatusInternalServerError)
	if e.Message != "All ports in the range [10000-10002] are already in use" {
		t.Errorf("message %q", e.Message)
	}
	expect[object](t, h.do(http.MethodGet, "/v2/apps/b", ""), http.StatusNotFound)
	rec = h.do(http.MethodPost, "/v2/groups", `{"id":"/g","apps":[{"id":"x","cmd":"x","ports":[0]},{"id":"y","cmd":"y","ports":[0]}]}`)
	expect[errorBody](t, rec, http.StatusInternalServerError)
	expect[object](t, h.do(http.MethodGet, "/v2/apps/g/x", ""), http.StatusNotFound)
	// The last free port still goes to whoever asks for one.
	wantPorts(t, "last port", servicePortsOf(t, h.createApp(`{"id":"/c","cmd":"serve","ports":[0]}`)), []int{10002})
}

// TestServicePortsUniqueAcrossReplicas: apps created at once through two
// api replicas (each with its own read model) never share a port.
func TestServicePortsUniqueAcrossReplicas(t *testing.T) {
	h := newHarness(t)
	replicas := []*Server{h.srv, newRangeServer(t, h.bus, 10000, 20000)}
	const apps = 24
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		ports = map[int]string{}
		errs  []string
	)
	for i := range apps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("/app-%d", i)
			rec := serve(t, replicas[i%2], http.MethodPost, "/v2/apps", `{"id":"`+id+`","cmd":"x","ports":[0,0]}`)
			mu.Lock()
			defer mu.Unlock()
			if rec.Code != http.StatusCreated {
				errs = append(errs, fmt.Sprintf("%s: %d %s", id, rec.Code, rec.Body.String()))
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("creates failed: %v", errs)
	}
	all := expect[map[string][]object](t, serve(t, replicas[1], http.MethodGet, "/v2/apps", ""), http.StatusOK)["apps"]
	if len(all) != apps {
		t.Fatalf("%d apps, want %d", len(all), apps)
	}
	for _, a := range all {
		for _, p := range servicePortsOf(t, a) {
			if other, taken := ports[p]; taken || p < 10000 || p > 20000 {
				t.Errorf("port %d of %s: also %q's, or out of range", p, a["id"], other)
			}
			ports[p] = a["id"].(string)
		}
	}
}

func TestConfigRefusesBadLocalPortRange(t *testing.T) {
	for _, r := range [][2]int{{0, 100}, {20000, 10000}, {10000, 10000}, {60000, 70000}} {
		cfg := DefaultConfig()
		cfg.LocalPortMin, cfg.LocalPortMax = r[0], r[1]
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), "local port range") {
			t.Errorf("range %v: Validate = %v, want a local port range error", r, err)
		}
	}
}

// TestServicePortsClaimed: the ports an app takes are claimed in the port
// claims bucket; a port another replica's change claimed is not handed
// out; a delete releases the app's claims.
func TestServicePortsClaimed(t *testing.T) {
	h := newHarness(t)
	ctx := t.Context()
	claimOf := func(port int) string {
		t.Helper()
		e, err := h.bus.PortClaims.Get(ctx, events.PortClaimKey(port))
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return ""
		}
		if err != nil {
			t.Fatal(err)
		}
		c, err := events.Decode[events.PortClaim](e.Value())
		if err != nil {
			t.Fatal(err)
		}
		return c.App
	}
	// Another replica's change in flight: claimed, its app not written yet.
	if _, err := h.bus.PortClaims.Create(ctx, events.PortClaimKey(10000), []byte(`{"v":1,"app":"/elsewhere"}`)); err != nil {
		t.Fatal(err)
	}
	web := h.createApp(`{"id":"/web","cmd":"serve","portDefinitions":[{"port":0},{"port":0}]}`)
	wantPorts(t, "beside a claim", servicePortsOf(t, web), []int{10001, 10002})
	for _, p := range []int{10001, 10002} {
		if got := claimOf(p); got != "/web" {
			t.Errorf("port %d claimed by %q, want /web", p, got)
		}
	}
	expect[object](t, h.do(http.MethodDelete, "/v2/apps/web?force=true", ""), http.StatusOK)
	for _, p := range []int{10001, 10002} {
		if got := claimOf(p); got != "" {
			t.Errorf("port %d still claimed by %q after the delete", p, got)
		}
	}
	if got := claimOf(10000); got != "/elsewhere" {
		t.Errorf("port 10000 claimed by %q, want /elsewhere's claim left alone", got)
	}
	wantPorts(t, "after the delete", servicePortsOf(t, h.createApp(`{"id":"/next","cmd":"serve","ports":[0]}`)), []int{10001})
}
