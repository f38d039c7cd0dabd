package uitest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/drover/drover/internal/testutil"
	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/events/natsbus"
	"github.com/drover/drover/services/agent"
	"github.com/drover/drover/services/agent/memruntime"
	"github.com/drover/drover/services/api"
	"github.com/drover/drover/services/scheduler"
)

// cluster is an api (behind an eventGate, on a real port for the
// browser), optionally with a scheduler and agents on in-memory runtimes.
type cluster struct {
	t   *testing.T
	js  *testutil.JetStream
	bus *natsbus.Bus
	// url is the api for the test's own requests; browserURL is the same
	// api for the browser, in its own network namespace when one could be
	// made (nsPath, joined with nsenter).
	url, browserURL string
	nsPath, nsenter string
	gate            *eventGate
	agents          map[string]*memruntime.Runtime
}

func newCluster(t *testing.T) *cluster {
	t.Helper()
	js := testutil.RunJetStream(t)
	bus := js.Bus(t)
	cfg := api.DefaultConfig()
	cfg.ID, cfg.Hostname, cfg.Version = "api1", "master1", "ui-test"
	srv, err := api.New(cfg, bus, testutil.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	gate := newEventGate(srv.Handler())
	c := &cluster{t: t, js: js, bus: bus, gate: gate, agents: map[string]*memruntime.Runtime{}}
	ts := httptest.NewServer(gate)
	t.Cleanup(ts.Close)
	c.url, c.browserURL = ts.URL, ts.URL
	if ln, nsPath, nsenter, ok := isolatedLoopback(t); ok {
		bs := httptest.NewUnstartedServer(gate)
		_ = bs.Listener.Close()
		bs.Listener = ln
		bs.Start()
		t.Cleanup(bs.Close)
		c.browserURL, c.nsPath, c.nsenter = bs.URL, nsPath, nsenter
		t.Logf("the browser has a network namespace of its own: %s", nsPath)
	}
	t.Cleanup(srv.Close) // ends the event streams before the servers wait for them
	return c
}

// startScheduler runs a scheduler until the test ends.
func (c *cluster) startScheduler(id, host string) {
	c.t.Helper()
	cfg := scheduler.DefaultConfig()
	cfg.ID, cfg.Hostname = id, host
	s, err := scheduler.New(cfg, c.js.Bus(c.t), c.js.Connect(c.t), testutil.Logger(c.t))
	if err != nil {
		c.t.Fatal(err)
	}
	c.run(s.Run)
}

// startAgent runs an agent on an in-memory runtime until the test ends.
func (c *cluster) startAgent(host string, attrs map[string]string) *memruntime.Runtime {
	c.t.Helper()
	return c.startAgentOn(host, attrs, nil)
}

// startAgentOn runs an agent whose containers run on an in-memory runtime
// and, when wrap is not nil, its host commands on the runtime wrap makes.
func (c *cluster) startAgentOn(host string, attrs map[string]string, wrap func(containers *memruntime.Runtime) agent.Runtime) *memruntime.Runtime {
	c.t.Helper()
	cfg := agent.DefaultConfig()
	cfg.Hostname = host
	cfg.Attributes = attrs
	cfg.Resources = events.Resources{Cpus: 4, Mem: 8192, Disk: 20000, Ports: []events.PortRange{{Begin: 31000, End: 31099}}}
	cfg.HeartbeatInterval = 200 * time.Millisecond
	rt := memruntime.New()
	var run agent.Runtime = rt
	if wrap != nil {
		run = wrap(rt)
	}
	a, err := agent.New(cfg, c.js.Bus(c.t), c.js.Connect(c.t), run, testutil.Logger(c.t))
	if err != nil {
		c.t.Fatal(err)
	}
	c.run(a.Run)
	c.agents[host] = rt
	return rt
}

func (c *cluster) run(fn func(context.Context) error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = fn(ctx) }()
	c.t.Cleanup(func() { cancel(); <-done })
}

// call sends a request to the api and decodes its JSON answer into out.
func (c *cluster) call(method, path string, body any, want int, out any) {
	c.t.Helper()
	var r io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, c.url+path, r)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		c.t.Fatalf("%s %s: %d, want %d: %s", method, path, resp.StatusCode, want, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			c.t.Fatalf("%s %s: %v: %s", method, path, err, data)
		}
	}
}

// app is the part of GET /v2/apps/{id} the tests read.
type app struct {
	ID           string `json:"id"`
	Instances    int    `json:"instances"`
	TasksRunning int    `json:"tasksRunning"`
	Tasks        []struct {
		ID    string `json:"id"`
		State string `json:"state"`
	} `json:"tasks"`
}

func (c *cluster) app(id string) app {
	c.t.Helper()
	var body struct{ App app }
	c.call(http.MethodGet, "/v2/apps"+id, nil, http.StatusOK, &body)
	return body.App
}

// waitRunning waits until the app runs n tasks of n.
func (c *cluster) waitRunning(id string, n int) {
	c.t.Helper()
	testutil.Eventually(c.t, 20*time.Second, 50*time.Millisecond, func() error {
		a := c.app(id)
		if a.Instances != n || a.TasksRunning != n {
			return fmt.Errorf("%s: %d of %d running, want %d of %d", id, a.TasksRunning, a.Instances, n, n)
		}
		return nil
	})
}

// waitApps waits until the api lists n apps.
func (c *cluster) waitApps(n int) {
	c.t.Helper()
	testutil.Eventually(c.t, 20*time.Second, 50*time.Millisecond, func() error {
		var body struct{ Apps []app }
		c.call(http.MethodGet, "/v2/apps", nil, http.StatusOK, &body)
		if len(body.Apps) != n {
			return fmt.Errorf("%d apps listed, want %d", len(body.Apps), n)
		}
		return nil
	})
}
