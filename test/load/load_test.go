// Package load puts the api under load: many clients at once, and a
// scheduler failover in the middle of it. Everything runs in process (an
// embedded JetStream, the api over real HTTP, two schedulers, agents on
// the in-memory runtime), so it needs no Docker and runs in seconds.
package load

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drover/drover/internal/testutil"
	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/events/natsbus"
	"github.com/drover/drover/services/agent"
	"github.com/drover/drover/services/agent/memruntime"
	"github.com/drover/drover/services/api"
	"github.com/drover/drover/services/scheduler"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

const apps = 1000

// 1,000 clients POST 1,000 distinct apps at once while the scheduler
// leader dies (its connection cut, so its lock is not released: a crash):
// every POST is answered 201, no request of the load or of the readers
// beside it gets a 5xx, every app is stored exactly once, and the new
// leader runs every app's task.
func TestConcurrentPostsThroughFailover(t *testing.T) {
	js := testutil.RunJetStream(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	leaderA := startScheduler(t, ctx, js, "sched-a")
	waitFor(t, 10*time.Second, func() error {
		if leaderA.s.Epoch() == 0 {
			return fmt.Errorf("no leader yet")
		}
		return nil
	})
	standby := startScheduler(t, ctx, js, "sched-b")
	for i := range 3 {
		startAgent(t, ctx, js, fmt.Sprintf("host%d", i+1))
	}
	cfg := api.DefaultConfig()
	cfg.ID = "load"
	srv, err := api.New(cfg, js.Bus(t), testutil.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: apps, MaxConnsPerHost: 0}}

	var (
		fivexx   atomic.Int64
		statuses sync.Map // status -> count
		wg       sync.WaitGroup
		start    = make(chan struct{})
	)
	count := func(code int) {
		if code >= 500 {
			fivexx.Add(1)
		}
		n, _ := statuses.LoadOrStore(code, new(atomic.Int64))
		n.(*atomic.Int64).Add(1)
	}
	// Readers, as dashboards and the UI poll, through it all.
	readDone := make(chan struct{})
	var reads atomic.Int64
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-readDone:
					return
				default:
				}
				for _, p := range []string{"/v2/apps", "/v2/leader", "/v2/queue", "/v2/deployments"} {
					code, _ := call(client, http.MethodGet, hs.URL+p, "")
					if code >= 500 {
						fivexx.Add(1)
						t.Errorf("GET %s: %d", p, code)
					}
					reads.Add(1)
				}
			}
		}()
	}
	var posts sync.WaitGroup
	began := time.Now()
	for i := range apps {
		posts.Add(1)
		go func() {
			defer posts.Done()
			<-start
			body := fmt.Sprintf(`{"id":"/load/app-%04d","cmd":"sleep 3600","cpus":0.001,"mem":1,"instances":1}`, i)
			code, resp := call(client, http.MethodPost, hs.URL+"/v2/apps", body)
			count(code)
			if code != http.StatusCreated {
				t.Errorf("POST app-%04d: %d %s", i, code, resp)
			}
		}()
	}
	close(start)
	// The leader crashes while the POSTs come in.
	time.Sleep(50 * time.Millisecond)
	leaderA.crash()
	crashed, readsAtCrash := time.Now(), reads.Load()
	posts.Wait()
	took := time.Since(began)
	waitFor(t, 15*time.Second, func() error {
		if standby.s.Epoch() == 0 {
			return fmt.Errorf("the standby does not lead")
		}
		return nil
	})
	leaderless := reads.Load() - readsAtCrash
	t.Logf("%d concurrent POSTs in %s; standby leads %s after the crash; %d reads answered meanwhile",
		apps, took.Round(time.Millisecond), time.Since(crashed).Round(time.Millisecond), leaderless)
	if leaderless == 0 {
		t.Error("no read was answered while there was no leader")
	}

	// Every app, exactly once: in the api's list and in the bucket.
	code, body := call(client, http.MethodGet, hs.URL+"/v2/apps?id=/load", "")
	if code != http.StatusOK {
		t.Fatalf("GET /v2/apps: %d", code)
	}
	var list struct {
		Apps []struct {
			ID string `json:"id"`
		} `json:"apps"`
	}
	if err := json.Unmarshal([]byte(body), &list); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, a := range list.Apps {
		seen[a.ID]++
	}
	for i := range apps {
		if id := fmt.Sprintf("/load/app-%04d", i); seen[id] != 1 {
			t.Errorf("%s listed %d times", id, seen[id])
		}
	}
	keys, err := js.Bus(t).Apps.ListKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	stored := 0
	for range keys.Keys() {
		stored++
	}
	if stored != apps {
		t.Errorf("%d apps in the bucket, want %d", stored, apps)
	}

	// The new leader places them all.
	waitFor(t, 90*time.Second, func() error {
		code, body := call(client, http.MethodGet, hs.URL+"/v2/tasks", "")
		if code != http.StatusOK {
			return fmt.Errorf("GET /v2/tasks: %d", code)
		}
		var tasks struct {
			Tasks []struct {
				AppID string `json:"appId"`
				State string `json:"state"`
			} `json:"tasks"`
		}
		if err := json.Unmarshal([]byte(body), &tasks); err != nil {
			return err
		}
		running := map[string]int{}
		for _, tk := range tasks.Tasks {
			if tk.State == string(events.TaskRunning) {
				running[tk.AppID]++
			}
		}
		if len(running) != apps {
			return fmt.Errorf("%d apps running, want %d", len(running), apps)
		}
		for id, n := range running {
			if n != 1 {
				return fmt.Errorf("%s runs %d tasks", id, n)
			}
		}
		return nil
	})
	close(readDone)
	wg.Wait()
	if n := fivexx.Load(); n > 0 {
		t.Errorf("%d answers were 5xx", n)
	}
	var summary []string
	statuses.Range(func(k, v any) bool {
		summary = append(summary, fmt.Sprintf("%v: %d", k, v.(*atomic.Int64).Load()))
		return true
	})
	t.Logf("POST statuses %s; %d reads beside them", strings.Join(summary, ", "), reads.Load())
}

func call(c *http.Client, method, url, body string) (int, string) {
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		return 599, err.Error() // counted as a failure
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

type runningScheduler struct {
	s      *scheduler.Scheduler
	nc     *nats.Conn
	cancel context.CancelFunc
	done   chan struct{}
}

// crash cuts the scheduler's connection first, so that it cannot release
// its lock or do anything more, then stops it.
func (r *runningScheduler) crash() {
	r.nc.Close()
	r.cancel()
}

func startScheduler(t *testing.T, ctx context.Context, js *testutil.JetStream, id string) *runningScheduler {
	t.Helper()
	nc := js.Connect(t)
	jsc, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	bus, err := natsbus.Setup(ctx, jsc, events.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	cfg := scheduler.DefaultConfig()
	cfg.ID, cfg.Hostname = id, id
	s, err := scheduler.New(cfg, bus, nc, testutil.Logger(t).With("scheduler", id))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(ctx)
	r := &runningScheduler{s: s, nc: nc, cancel: cancel, done: make(chan struct{})}
	go func() { defer close(r.done); _ = s.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-r.done })
	return r
}

func startAgent(t *testing.T, ctx context.Context, js *testutil.JetStream, host string) {
	t.Helper()
	cfg := agent.DefaultConfig()
	cfg.Hostname = host
	cfg.Resources = events.Resources{Cpus: 100, Mem: 100_000, Disk: 100_000, Ports: []events.PortRange{{Begin: 31000, End: 32000}}}
	cfg.HeartbeatInterval = 200 * time.Millisecond
	a, err := agent.New(cfg, js.Bus(t), js.Connect(t), memruntime.New(), testutil.Logger(t).With("agent", host))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = a.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

func waitFor(t *testing.T, total time.Duration, check func() error) {
	t.Helper()
	testutil.Eventually(t, total, 50*time.Millisecond, check)
}
