package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drover/drover/internal/testutil"
	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/services/agent"
	"github.com/drover/drover/services/agent/memruntime"
	"github.com/drover/drover/services/api"
	"github.com/drover/drover/services/scheduler"
)

// requireNATSCLI finds the nats CLI (natscli, which .ci/run installs). On a
// developer's machine without it the test skips; in CI (CI=true) it fails.
func requireNATSCLI(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("nats")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the nats CLI is required in CI (.ci/run installs it): %v", err)
		}
		t.Skipf("skipping: the nats CLI is not on PATH (go install github.com/nats-io/natscli/nats@v0.5.0); CI=true makes this a failure")
	}
	return path
}

// lines collects a reader's lines for polling.
type lines struct {
	mu  sync.Mutex
	all []string
}

func (l *lines) follow(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		l.mu.Lock()
		l.all = append(l.all, sc.Text())
		l.mu.Unlock()
	}
}

func (l *lines) snapshot() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.all...)
}

// natsSub runs `nats sub 'drover.events.>'` until the test ends.
func natsSub(t *testing.T, bin, url string) *lines {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "--server", url, "sub", events.EventAll)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "XDG_CONFIG_HOME="+t.TempDir()) // no user contexts
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	l := &lines{}
	done := make(chan struct{})
	go func() { defer close(done); l.follow(out) }()
	t.Cleanup(func() { cancel(); <-done; _ = cmd.Wait() })
	testutil.Eventually(t, 10*time.Second, 20*time.Millisecond, func() error {
		for _, line := range l.snapshot() {
			if strings.Contains(line, "Subscribing on") {
				return nil
			}
		}
		return fmt.Errorf("nats sub has not subscribed: %q", l.snapshot())
	})
	return l
}

// statusUpdates are the status_update_event payloads in nats sub's output:
// each "[#n] Received on "<subject>"" line is followed by the payload.
func natsStatusUpdates(l *lines) []events.StatusUpdateEvent {
	var out []events.StatusUpdateEvent
	all := l.snapshot()
	for i, line := range all {
		if !strings.Contains(line, `Received on "`+events.Event(events.EventStatusUpdate)+`"`) {
			continue
		}
		for _, next := range all[i+1:] {
			if strings.HasPrefix(next, "{") {
				var ev events.StatusUpdateEvent
				if json.Unmarshal([]byte(next), &ev) == nil {
					out = append(out, ev)
				}
				break
			}
		}
	}
	return out
}

// sseStatusUpdates follows /v2/events?event_type=status_update_event.
func sseStatusUpdates(t *testing.T, base string) *lines {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v2/events?event_type=status_update_event", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/v2/events: %d", resp.StatusCode)
	}
	l := &lines{}
	go func() { defer resp.Body.Close(); l.follow(resp.Body) }()
	return l
}

func sseEvents(l *lines) []events.StatusUpdateEvent {
	var out []events.StatusUpdateEvent
	all := l.snapshot()
	for i, line := range all {
		if line != "event: "+events.EventStatusUpdate || i+1 >= len(all) {
			continue
		}
		var ev events.StatusUpdateEvent
		if json.Unmarshal([]byte(strings.TrimPrefix(all[i+1], "data: ")), &ev) == nil {
			out = append(out, ev)
		}
	}
	return out
}

// runningTasks is the set of task ids of an app seen TASK_RUNNING.
func runningTasks(evs []events.StatusUpdateEvent, appID string) map[string]bool {
	out := map[string]bool{}
	for _, ev := range evs {
		if ev.AppID == appID && ev.TaskStatus == events.TaskRunning && ev.EventType == events.EventStatusUpdate {
			out[ev.TaskID] = true
		}
	}
	return out
}

func startScheduler(t *testing.T, js *testutil.JetStream) {
	t.Helper()
	cfg := scheduler.DefaultConfig()
	cfg.ID, cfg.Hostname = "s1", "master1"
	s, err := scheduler.New(cfg, js.Bus(t), js.Connect(t), testutil.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	run(t, s.Run)
}

func startAgent(t *testing.T, js *testutil.JetStream, host string) {
	t.Helper()
	cfg := agent.DefaultConfig()
	cfg.Hostname = host
	cfg.Resources = events.Resources{Cpus: 4, Mem: 4096, Disk: 10000, Ports: []events.PortRange{{Begin: 31000, End: 31100}}}
	cfg.HeartbeatInterval = 200 * time.Millisecond
	a, err := agent.New(cfg, js.Bus(t), js.Connect(t), memruntime.New(), testutil.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	run(t, a.Run)
}

// run runs a service until the test ends.
func run(t *testing.T, fn func(context.Context) error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = fn(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

// TestStatusUpdatesOnNATSAndSSE deploys an app through the API onto a real
// scheduler and agents, and sees each of its tasks' TASK_RUNNING
// status_update_event both in `nats sub 'drover.events.>'` and on
// /v2/events, with the same payload.
func TestStatusUpdatesOnNATSAndSSE(t *testing.T) {
	bin := requireNATSCLI(t)
	js := testutil.RunJetStream(t)
	ts := serveAPI(t, js)

	sub := natsSub(t, bin, js.URL)
	sse := sseStatusUpdates(t, ts.URL)
	startScheduler(t, js)
	for _, h := range []string{"h1", "h2"} {
		startAgent(t, js, h)
	}

	app := `{"id":"/e2e/web","instances":2,"cpus":0.1,"mem":16,"constraints":[["hostname","UNIQUE"]],
		"container":{"type":"DOCKER","docker":{"image":"httpd","network":"BRIDGE"}}}`
	resp, err := http.Post(ts.URL+"/v2/apps", "application/json", strings.NewReader(app))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /v2/apps: %d", resp.StatusCode)
	}

	var onNATS map[string]bool
	testutil.Eventually(t, 20*time.Second, 50*time.Millisecond, func() error {
		onNATS = runningTasks(natsStatusUpdates(sub), "/e2e/web")
		if len(onNATS) < 2 {
			return fmt.Errorf("nats sub shows %d running tasks of /e2e/web; output:\n%s", len(onNATS), strings.Join(sub.snapshot(), "\n"))
		}
		return nil
	})
	testutil.Eventually(t, 10*time.Second, 50*time.Millisecond, func() error {
		onSSE := runningTasks(sseEvents(sse), "/e2e/web")
		for id := range onNATS {
			if !onSSE[id] {
				return fmt.Errorf("/v2/events lacks %s's TASK_RUNNING (has %v)", id, onSSE)
			}
		}
		return nil
	})
	t.Logf("nats sub and /v2/events both show TASK_RUNNING for %v", onNATS)
	for _, ev := range natsStatusUpdates(sub) {
		if ev.AppID == "/e2e/web" && (ev.Host == "" || ev.SlaveID == "" || ev.Version == "" || ev.Timestamp == "") {
			t.Errorf("status_update_event without host, slaveId, version or timestamp: %+v", ev)
		}
	}
	// The API shows the app running.
	testutil.Eventually(t, 10*time.Second, 50*time.Millisecond, func() error {
		resp, err := http.Get(ts.URL + "/v2/apps/e2e/web")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var body struct {
			App struct {
				TasksRunning int `json:"tasksRunning"`
			} `json:"app"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			return err
		}
		if body.App.TasksRunning != 2 {
			return fmt.Errorf("tasksRunning %d", body.App.TasksRunning)
		}
		return nil
	})
}

// serveAPI serves an api replica ("api1") on js over HTTP until the test ends.
func serveAPI(t *testing.T, js *testutil.JetStream) *httptest.Server {
	t.Helper()
	cfg := api.DefaultConfig()
	cfg.ID = "api1"
	srv, err := api.New(cfg, js.Bus(t), testutil.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	t.Cleanup(srv.Close) // ends the event streams before ts.Close waits for them
	return ts
}
