// Package bench measures Drover at size: a real control plane (NATS, api,
// scheduler processes) with simulated agents (the in-memory runtime), as
// kubemark and nomad-nodesim do. `drover bench` runs it.
package bench

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/drover/drover/internal/natsutil"
	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/events/natsbus"
	"github.com/drover/drover/services/agent"
	"github.com/drover/drover/services/agent/memruntime"
	"github.com/drover/drover/services/api"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Config is one benchmark run.
type Config struct {
	Agents       int           // simulated agents
	Apps         int           // apps deployed
	Instances    int           // instances in all, spread over the apps
	StartLatency time.Duration // each simulated launch
	FailFraction float64       // agents killed at once in the failure storm
	Schedulers   int           // scheduler processes (2 for the failover)
	Binary       string        // the drover binary for the scheduler processes
	Timeout      time.Duration // for each phase
	SchedulerLog string        // the scheduler processes' log level
}

// DefaultConfig is 1,000 instances on 100 agents.
func DefaultConfig() Config {
	return Config{Agents: 100, Apps: 10, Instances: 1000, FailFraction: 0.1, Schedulers: 2, Timeout: 2 * time.Minute}
}

// Validate checks the configuration.
func (c Config) Validate() error {
	var errs []error
	if c.Agents < 1 || c.Apps < 1 || c.Instances < c.Apps {
		errs = append(errs, errors.New("need at least one agent, one app, and an instance per app"))
	}
	if c.FailFraction < 0 || c.FailFraction >= 1 {
		errs = append(errs, errors.New("fail fraction must be in [0, 1)"))
	}
	if c.Schedulers < 1 {
		errs = append(errs, errors.New("need at least one scheduler"))
	}
	if c.Binary == "" {
		errs = append(errs, errors.New("the drover binary is required"))
	}
	return errors.Join(errs...)
}

// Result is what a run measured.
type Result struct {
	Config           Config
	DeployAll        time.Duration // first POST to every instance RUNNING (as the API reports)
	PlacementsPerSec float64
	PostP50, PostP99 time.Duration
	GetApps          Latency // GET /v2/apps
	GetAppsTasks     Latency // GET /v2/apps?embed=apps.tasks
	MsgsPerInstance  float64 // NATS messages in, per instance, during the deployment
	BytesPerInstance float64
	StormLost        int           // instances on the agents killed
	StormRecovered   time.Duration // agents killed to every instance RUNNING again
	UnreachableAfter time.Duration
	FailoverLeader   time.Duration // leader killed to a new leader in the lock
	FailoverActs     time.Duration // leader killed to the new leader's first replacement running
	SchedulerCPU     time.Duration // user+system CPU of the leading scheduler at the failover
	SchedulerPeakRSS int64         // bytes (VmHWM)
}

// Latency is a few samples of one request.
type Latency struct{ P50, P99, Max time.Duration }

type run struct {
	cfg     Config
	logger  *slog.Logger
	ns      *server.Server
	nc      *nats.Conn
	bus     *natsbus.Bus
	base    string
	agents  []*simAgent
	scheds  []*exec.Cmd
	tempDir string
}

type simAgent struct {
	rt     *memruntime.Runtime
	cancel context.CancelFunc
	done   chan struct{}
}

// Run runs the benchmark and writes progress to out.
func Run(ctx context.Context, cfg Config, logger *slog.Logger, out io.Writer) (Result, error) {
	res := Result{Config: cfg, UnreachableAfter: 3 * time.Second}
	if err := cfg.Validate(); err != nil {
		return res, fmt.Errorf("bench: %w", err)
	}
	r := &run{cfg: cfg, logger: logger}
	defer r.close()
	if err := r.start(ctx, out); err != nil {
		return res, err
	}
	if err := r.deploy(ctx, out, &res); err != nil {
		return res, err
	}
	r.reads(&res)
	if err := r.storm(ctx, out, &res); err != nil {
		return res, err
	}
	if err := r.failover(ctx, out, &res); err != nil {
		return res, err
	}
	return res, nil
}

func (r *run) start(ctx context.Context, out io.Writer) error {
	dir, err := os.MkdirTemp("", "drover-bench")
	if err != nil {
		return err
	}
	r.tempDir = dir
	r.ns, err = natsutil.StartServer(natsutil.ServerConfig{Name: "bench", Listen: "127.0.0.1:-1", DataDir: filepath.Join(dir, "nats")}, r.logger)
	if err != nil {
		return err
	}
	if r.nc, err = natsutil.ConnectInProcess(r.ns, "bench", r.logger); err != nil {
		return err
	}
	js, err := jetstream.New(r.nc)
	if err != nil {
		return err
	}
	if r.bus, err = natsbus.Setup(ctx, js, events.DefaultConfig()); err != nil {
		return err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	addr := l.Addr().String()
	l.Close()
	acfg := api.DefaultConfig()
	acfg.HTTPAddr = addr
	srv, err := api.New(acfg, r.bus, r.logger)
	if err != nil {
		return err
	}
	go func() { _ = srv.Run(ctx) }()
	r.base = "http://" + addr

	for i := range r.cfg.Schedulers {
		cmd := exec.Command(r.cfg.Binary, "--pprof", fmt.Sprintf("127.0.0.1:%d", 6061+i), "--log-level", cmp.Or(r.cfg.SchedulerLog, "warn"), "scheduler", "--nats", r.ns.ClientURL(),
			"--scheduler-id", fmt.Sprintf("bench-%d", i+1), "--hostname", fmt.Sprintf("bench-%d", i+1))
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("start scheduler: %w", err)
		}
		r.scheds = append(r.scheds, cmd)
	}

	started := time.Now()
	for i := range r.cfg.Agents {
		cfg := agent.DefaultConfig()
		cfg.Hostname = fmt.Sprintf("sim-%05d", i+1)
		cfg.Resources = events.Resources{Cpus: 64, Mem: 256 * 1024, Disk: 1 << 20, Ports: []events.PortRange{{Begin: 31000, End: 32000}}}
		rt := memruntime.New()
		rt.SetLaunchDelay(r.cfg.StartLatency)
		a, err := agent.New(cfg, r.bus, r.nc, rt, r.logger)
		if err != nil {
			return err
		}
		actx, cancel := context.WithCancel(ctx)
		sa := &simAgent{rt: rt, cancel: cancel, done: make(chan struct{})}
		go func() { defer close(sa.done); _ = a.Run(actx) }()
		r.agents = append(r.agents, sa)
	}
	fmt.Fprintf(out, "started %d simulated agents in %s, %d schedulers, api on %s, nats on %s\n", r.cfg.Agents, time.Since(started).Round(time.Millisecond), r.cfg.Schedulers, r.base, r.ns.ClientURL())
	// Every agent recorded by the leader and a leader in place.
	return r.until(ctx, "agents recorded and a leader", func() (bool, error) {
		st, err := r.bus.Agents.Status(ctx)
		if err != nil {
			return false, err
		}
		code, _, _ := r.get("/v2/leader")
		return int(st.Values()) >= r.cfg.Agents && code == http.StatusOK, nil
	})
}

func (r *run) until(ctx context.Context, what string, done func() (bool, error)) error {
	deadline := time.Now().Add(r.cfg.Timeout)
	for {
		ok, err := done()
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("bench: %s: not within %s (last error: %v)", what, r.cfg.Timeout, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (r *run) get(path string) (int, []byte, error) {
	resp, err := http.Get(r.base + path)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// running is the sum of tasksRunning over every app, as GET /v2/apps says.
func (r *run) running() (int, error) {
	code, body, err := r.get("/v2/apps")
	if err != nil || code != http.StatusOK {
		return 0, fmt.Errorf("GET /v2/apps: %d %v", code, err)
	}
	var list struct {
		Apps []struct {
			TasksRunning int `json:"tasksRunning"`
		} `json:"apps"`
	}
	if err := json.Unmarshal(body, &list); err != nil {
		return 0, err
	}
	n := 0
	for _, a := range list.Apps {
		n += a.TasksRunning
	}
	return n, nil
}

func (r *run) deploy(ctx context.Context, out io.Writer, res *Result) error {
	before, _ := r.ns.Varz(nil)
	per := r.cfg.Instances / r.cfg.Apps
	first := time.Now()
	var posts []time.Duration
	for i := range r.cfg.Apps {
		n := per
		if i == r.cfg.Apps-1 {
			n = r.cfg.Instances - per*(r.cfg.Apps-1)
		}
		body := fmt.Sprintf(`{"id":"/bench/app-%04d","cpus":0.01,"mem":1,"instances":%d,"container":{"docker":{"image":"sim"}}}`, i, n)
		t0 := time.Now()
		resp, err := http.Post(r.base+"/v2/apps", "application/json", strings.NewReader(body))
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			return fmt.Errorf("bench: POST app %d: %d", i, resp.StatusCode)
		}
		posts = append(posts, time.Since(t0))
	}
	last := time.Now()
	err := r.until(ctx, "every instance running", func() (bool, error) {
		n, err := r.running()
		if time.Since(last) > 5*time.Second {
			last = time.Now()
			fmt.Fprintf(out, "  %s: %d of %d running\n", time.Since(first).Round(time.Second), n, r.cfg.Instances)
		}
		return n == r.cfg.Instances, err
	})
	if err != nil {
		return err
	}
	res.DeployAll = time.Since(first)
	res.PlacementsPerSec = float64(r.cfg.Instances) / res.DeployAll.Seconds()
	lat := percentiles(posts)
	res.PostP50, res.PostP99 = lat.P50, lat.P99
	after, _ := r.ns.Varz(nil)
	res.MsgsPerInstance = float64(after.InMsgs-before.InMsgs) / float64(r.cfg.Instances)
	res.BytesPerInstance = float64(after.InBytes-before.InBytes) / float64(r.cfg.Instances)
	fmt.Fprintf(out, "deployed %d instances of %d apps on %d agents: all RUNNING after %s (%.0f/s)\n",
		r.cfg.Instances, r.cfg.Apps, r.cfg.Agents, res.DeployAll.Round(time.Millisecond), res.PlacementsPerSec)
	return nil
}

func (r *run) reads(res *Result) {
	measure := func(path string) Latency {
		var ds []time.Duration
		for range 20 {
			t0 := time.Now()
			if code, _, err := r.get(path); err == nil && code == http.StatusOK {
				ds = append(ds, time.Since(t0))
			}
		}
		return percentiles(ds)
	}
	res.GetApps = measure("/v2/apps")
	res.GetAppsTasks = measure("/v2/apps?embed=apps.tasks")
}

// storm kills a fraction of the agents at once (their tasks vanish with
// them) and waits until every instance runs again.
func (r *run) storm(ctx context.Context, out io.Writer, res *Result) error {
	n := int(float64(r.cfg.Agents) * r.cfg.FailFraction)
	if n == 0 {
		return nil
	}
	lost := 0
	killed := time.Now()
	for _, a := range r.agents[:n] {
		list, _ := a.rt.List(ctx)
		lost += len(list)
		a.cancel()
	}
	res.StormLost = lost
	err := r.until(ctx, "storm recovery", func() (bool, error) {
		count, err := r.running()
		if err != nil || count != r.cfg.Instances {
			return false, err
		}
		// Running again means on the living agents.
		return r.simRunning(ctx, r.agents[n:]) >= r.cfg.Instances, nil
	})
	if err != nil {
		return err
	}
	res.StormRecovered = time.Since(killed)
	fmt.Fprintf(out, "failure storm: %d of %d agents killed with %d instances; all RUNNING again after %s\n",
		n, r.cfg.Agents, lost, res.StormRecovered.Round(time.Millisecond))
	return nil
}

// failover kills the leading scheduler process and times the new leader:
// until it holds the lock, and until it has replaced tasks that died at the
// moment of the kill.
func (r *run) failover(ctx context.Context, out io.Writer, res *Result) error {
	if len(r.scheds) < 2 {
		return nil
	}
	_, body, err := r.get("/v2/leader")
	if err != nil {
		return err
	}
	var l struct {
		Leader string `json:"leader"`
	}
	_ = json.Unmarshal(body, &l)
	idx := slices.IndexFunc(r.scheds, func(c *exec.Cmd) bool { return slices.Contains(c.Args, l.Leader) })
	if idx < 0 {
		return fmt.Errorf("bench: leader %q is not one of the schedulers", l.Leader)
	}
	leader := r.scheds[idx]
	res.SchedulerCPU, res.SchedulerPeakRSS = usage(leader.Process.Pid)

	// Tasks die on a living agent at the moment the leader dies.
	var victims []string
	alive := r.agents[int(float64(r.cfg.Agents)*r.cfg.FailFraction):]
	for _, a := range alive[:min(10, len(alive))] {
		list, _ := a.rt.List(ctx)
		if len(list) > 0 {
			victims = append(victims, list[0].TaskID)
		}
	}
	killed := time.Now()
	_ = leader.Process.Signal(syscall.SIGKILL)
	_ = leader.Wait()
	for i, a := range alive[:min(10, len(alive))] {
		if i < len(victims) {
			_ = a.rt.Exit(victims[i], 1)
		}
	}
	err = r.until(ctx, "a new leader", func() (bool, error) {
		code, body, err := r.get("/v2/leader")
		return code == http.StatusOK && !strings.Contains(string(body), l.Leader), err
	})
	if err != nil {
		return err
	}
	res.FailoverLeader = time.Since(killed)
	err = r.until(ctx, "the new leader's replacements", func() (bool, error) {
		return r.simRunning(ctx, alive) >= r.cfg.Instances, nil
	})
	if err != nil {
		return err
	}
	res.FailoverActs = time.Since(killed)
	fmt.Fprintf(out, "leader killed: new leader after %s, its replacements of %d dead tasks RUNNING after %s\n",
		res.FailoverLeader.Round(time.Millisecond), len(victims), res.FailoverActs.Round(time.Millisecond))
	return nil
}

// simRunning counts the tasks the simulated agents really run.
func (r *run) simRunning(ctx context.Context, agents []*simAgent) int {
	n := 0
	for _, a := range agents {
		list, _ := a.rt.List(ctx)
		for _, t := range list {
			if t.State == events.TaskRunning {
				n++
			}
		}
	}
	return n
}

func (r *run) close() {
	for _, c := range r.scheds {
		if c.ProcessState == nil {
			_ = c.Process.Signal(syscall.SIGTERM)
			done := make(chan struct{})
			go func() { _ = c.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				_ = c.Process.Kill()
			}
		}
	}
	var wg sync.WaitGroup
	for _, a := range r.agents {
		wg.Add(1)
		go func() { defer wg.Done(); a.cancel(); <-a.done }()
	}
	wg.Wait()
	if r.nc != nil {
		r.nc.Close()
	}
	if r.ns != nil {
		r.ns.Shutdown()
		r.ns.WaitForShutdown()
	}
	if r.tempDir != "" {
		_ = os.RemoveAll(r.tempDir)
	}
}

func percentiles(ds []time.Duration) Latency {
	if len(ds) == 0 {
		return Latency{}
	}
	slices.Sort(ds)
	at := func(p float64) time.Duration { return ds[min(len(ds)-1, int(p*float64(len(ds))))] }
	return Latency{P50: at(0.5), P99: at(0.99), Max: ds[len(ds)-1]}
}

// usage reads a process's CPU time and peak resident memory from /proc.
func usage(pid int) (time.Duration, int64) {
	var cpu time.Duration
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
		// Fields after the command's closing parenthesis; utime, stime are 14 and 15.
		s := string(b)
		if i := strings.LastIndexByte(s, ')'); i > 0 {
			f := strings.Fields(s[i+1:])
			if len(f) > 13 {
				ut, _ := strconv.ParseInt(f[11], 10, 64)
				st, _ := strconv.ParseInt(f[12], 10, 64)
				cpu = time.Duration(ut+st) * time.Second / 100 // USER_HZ
			}
		}
	}
	var rss int64
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
				rss = kb * 1024
			}
		}
	}
	return cpu, rss
}

// Report writes the result as a Markdown table.
func (res Result) Report(w io.Writer) {
	c := res.Config
	fmt.Fprintf(w, "| agents | instances | apps | all RUNNING | placements/s | POST p50 / p99 | GET /v2/apps p50 / p99 | with tasks p50 / p99 | NATS msgs / bytes per instance | storm: lost, recovered | failover: leader, acting | scheduler CPU, peak RSS |\n")
	fmt.Fprintf(w, "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	fmt.Fprintf(w, "| %d | %d | %d | %s | %.0f | %s / %s | %s / %s | %s / %s | %.1f / %.0f | %d, %s | %s, %s | %s, %d MB |\n",
		c.Agents, c.Instances, c.Apps, rd(res.DeployAll), res.PlacementsPerSec, rd(res.PostP50), rd(res.PostP99),
		rd(res.GetApps.P50), rd(res.GetApps.P99), rd(res.GetAppsTasks.P50), rd(res.GetAppsTasks.P99),
		res.MsgsPerInstance, res.BytesPerInstance, res.StormLost, rd(res.StormRecovered),
		rd(res.FailoverLeader), rd(res.FailoverActs), rd(res.SchedulerCPU), res.SchedulerPeakRSS>>20)
}

func rd(d time.Duration) string {
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond).String()
	case d >= time.Millisecond:
		return d.Round(100 * time.Microsecond).String()
	}
	return d.String()
}
