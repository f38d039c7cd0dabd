package natsauth_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drover/drover/internal/natsauth"
	"github.com/drover/drover/internal/testutil"
	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/events/natsbus"
	"github.com/drover/drover/services/agent"
	"github.com/drover/drover/services/agent/memruntime"
	"github.com/drover/drover/services/api"
	"github.com/drover/drover/services/scheduler"
	"github.com/nats-io/nats.go/jetstream"
)

// The real services run under their permissions: a scheduler, an api and
// an agent, each connected as its own user to a server with the generated
// configuration, launch, kill and replace, scale and delete an app, and
// stream events, and no connection is ever refused a subject. This is how
// the permissions were found: every subject the services need is here.
func TestServicesWorkUnderTheirPermissions(t *testing.T) {
	c := runSecured(t, "host1")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// The scheduler sets up the streams and buckets, then leads.
	snc, sv := c.connect(natsauth.RoleScheduler)
	sjs, _ := jetstream.New(snc)
	sbus, err := natsbus.Setup(ctx, sjs, events.DefaultConfig())
	if err != nil {
		t.Fatalf("setup: %v (%v)", err, sv.list())
	}
	scfg := scheduler.DefaultConfig()
	scfg.ID, scfg.Hostname = "s1", "master1"
	sched, err := scheduler.New(scfg, sbus, snc, testutil.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	run(t, ctx, "scheduler", sched.Run)

	// The agent binds to the leader bucket only.
	anc, av := c.connect(natsauth.AgentUser("host1"))
	ajs, _ := jetstream.New(anc)
	abus, err := natsbus.Open(ctx, ajs, events.BucketLeader)
	if err != nil {
		t.Fatalf("agent binds: %v (%v)", err, av.list())
	}
	acfg := agent.DefaultConfig()
	acfg.Hostname, acfg.AgentID = "host1", "host1"
	acfg.Resources = events.Resources{Cpus: 4, Mem: 4096, Disk: 10000, Ports: []events.PortRange{{Begin: 31000, End: 31100}}}
	acfg.HeartbeatInterval = 100 * time.Millisecond
	rt := memruntime.New()
	ag, err := agent.New(acfg, abus, anc, rt, testutil.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	run(t, ctx, "agent", ag.Run)

	// The api binds to every bucket.
	pnc, pv := c.connect(natsauth.RoleAPI)
	pjs, _ := jetstream.New(pnc)
	pbus, err := natsbus.Open(ctx, pjs)
	if err != nil {
		t.Fatalf("api binds: %v (%v)", err, pv.list())
	}
	srv, err := api.New(api.DefaultConfig(), pbus, testutil.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)

	// Follow the events as a client of /v2/events does.
	sse := followEvents(t, ctx, hs.URL)

	call := func(method, path, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, hs.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := call(http.MethodPost, "/v2/apps", `{"id":"/web","cpus":0.1,"mem":32,"instances":1,
		"env":{"DB_PASSWORD":"s3cret"},
		"container":{"type":"DOCKER","docker":{"image":"httpd","network":"BRIDGE","portMappings":[{"containerPort":80,"hostPort":0}]}}}`); code != http.StatusCreated {
		t.Fatalf("POST: %d %s", code, body)
	}
	first := waitTasks(t, call, "/web", 1)
	// A kill through the api: a request the scheduler leader acts on.
	if code, body := call(http.MethodDelete, "/v2/apps/web/tasks/"+first[0], ""); code != http.StatusOK {
		t.Fatalf("kill: %d %s", code, body)
	}
	testutil.Eventually(t, 15*time.Second, 50*time.Millisecond, func() error {
		ids := taskIDs(t, call, "/web")
		if len(ids) != 1 || ids[0] == first[0] {
			return fmt.Errorf("tasks %v, want one replacing %s", ids, first[0])
		}
		return nil
	})
	if code, body := call(http.MethodPut, "/v2/apps/web", `{"instances":2}`); code != http.StatusOK {
		t.Fatalf("scale: %d %s", code, body)
	}
	waitTasks(t, call, "/web", 2)
	if code, body := call(http.MethodGet, "/v2/leader", ""); code != http.StatusOK || !strings.Contains(body, "master1") {
		t.Fatalf("leader: %d %s", code, body)
	}
	if code, body := call(http.MethodDelete, "/v2/apps/web", ""); code != http.StatusOK {
		t.Fatalf("delete: %d %s", code, body)
	}
	testutil.Eventually(t, 15*time.Second, 50*time.Millisecond, func() error {
		list, _ := rt.List(context.Background())
		for _, r := range list {
			if !r.State.Terminal() {
				return fmt.Errorf("task %s still %s", r.TaskID, r.State)
			}
		}
		return nil
	})
	select {
	case <-sse:
	case <-time.After(5 * time.Second):
		t.Error("no event reached /v2/events")
	}
	time.Sleep(200 * time.Millisecond)
	for name, v := range map[string]*violations{"scheduler": sv, "agent": av, "api": pv} {
		if l := v.list(); len(l) > 0 {
			t.Errorf("%s was refused: %v", name, l)
		}
	}
}

// run runs a service until ctx ends, and waits for it at cleanup.
func run(t *testing.T, ctx context.Context, name string, f func(context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- f(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
		case <-time.After(15 * time.Second):
			t.Errorf("%s did not stop", name)
		}
	})
}

// followEvents reads /v2/events and signals the first app_terminated_event.
func followEvents(t *testing.T, ctx context.Context, base string) <-chan struct{} {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v2/events", nil)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("events: %d", resp.StatusCode)
	}
	got := make(chan struct{})
	go func() {
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if sc.Text() == "event: app_terminated_event" {
				close(got)
				return
			}
		}
	}()
	return got
}

func taskIDs(t *testing.T, call func(string, string, string) (int, string), app string) []string {
	t.Helper()
	code, body := call(http.MethodGet, "/v2/apps"+app+"/tasks", "")
	if code != http.StatusOK {
		t.Fatalf("tasks: %d %s", code, body)
	}
	var out struct {
		Tasks []struct {
			ID    string `json:"id"`
			State string `json:"state"`
		} `json:"tasks"`
	}
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, tk := range out.Tasks {
		if tk.State == string(events.TaskRunning) {
			ids = append(ids, tk.ID)
		}
	}
	return ids
}

func waitTasks(t *testing.T, call func(string, string, string) (int, string), app string, n int) []string {
	t.Helper()
	var ids []string
	testutil.Eventually(t, 15*time.Second, 50*time.Millisecond, func() error {
		if ids = taskIDs(t, call, app); len(ids) != n {
			return fmt.Errorf("%d running tasks, want %d", len(ids), n)
		}
		return nil
	})
	return ids
}

// TestCallbacksWorkUnderTheAPIPermissions: an api with --event-subscriber
// http_callback, connected as the api user, registers a callback URL in
// the subscribers bucket, creates and pulls the shared api-callbacks
// consumer of the events stream, acknowledges what it delivers, announces
// the URL as demand for full plans (so its deployment_info is full), and
// removes the URL, without a subject refused.
func TestCallbacksWorkUnderTheAPIPermissions(t *testing.T) {
	c := runSecured(t)
	c.setup()

	var (
		mu  sync.Mutex
		got []string // eventType of each event POSTed; "full_plan" for a deployment_info with original and target
	)
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev struct {
			EventType string `json:"eventType"`
			Plan      struct {
				Original, Target json.RawMessage
			} `json:"plan"`
		}
		if err := json.NewDecoder(r.Body).Decode(&ev); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		got = append(got, ev.EventType)
		if ev.EventType == events.EventDeploymentInfo && ev.Plan.Original != nil && ev.Plan.Target != nil {
			got = append(got, "full_plan")
		}
		mu.Unlock()
	}))
	t.Cleanup(sink.Close)
	received := func(eventType string) bool {
		mu.Lock()
		defer mu.Unlock()
		return slices.Contains(got, eventType)
	}

	pnc, pv := c.connect(natsauth.RoleAPI)
	pjs, _ := jetstream.New(pnc)
	pbus, err := natsbus.Open(context.Background(), pjs)
	if err != nil {
		t.Fatalf("api binds: %v (%v)", err, pv.list())
	}
	cfg := api.DefaultConfig()
	cfg.EventSubscriber = api.EventSubscriberHTTP
	srv, err := api.New(cfg, pbus, testutil.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	call := func(method, path, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, hs.URL+path, strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	sub := "/v2/eventSubscriptions?callbackUrl=" + url.QueryEscape(sink.URL)
	if code, body := call(http.MethodPost, sub, ""); code != http.StatusOK {
		t.Fatalf("subscribe: %d %s (%v)", code, body, pv.list())
	}
	if code, body := call(http.MethodGet, "/v2/eventSubscriptions", ""); code != http.StatusOK || !strings.Contains(body, sink.URL) {
		t.Fatalf("list: %d %s, want %s", code, body, sink.URL)
	}
	if code, body := call(http.MethodPost, "/v2/apps", `{"id":"/called","cmd":"sleep 1","instances":0}`); code != http.StatusCreated {
		t.Fatalf("POST app: %d %s", code, body)
	}
	testutil.Eventually(t, 30*time.Second, 50*time.Millisecond, func() error {
		// A callback is demand for full plans (the api announced it on
		// drover.plans.demand, which it may).
		if !received("subscribe_event") || !received("api_post_event") || !received("full_plan") {
			mu.Lock()
			defer mu.Unlock()
			return fmt.Errorf("callback got %v, want subscribe_event, api_post_event and a full deployment_info (violations %v)", got, pv.list())
		}
		return nil
	})
	if code, body := call(http.MethodDelete, sub, ""); code != http.StatusOK {
		t.Fatalf("unsubscribe: %d %s", code, body)
	}
	if code, body := call(http.MethodGet, "/v2/eventSubscriptions", ""); code != http.StatusOK || strings.Contains(body, sink.URL) {
		t.Fatalf("list after unsubscribing: %d %s", code, body)
	}
	if err := pnc.FlushTimeout(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	if l := pv.list(); len(l) > 0 {
		t.Errorf("api was refused: %v", l)
	}
}
