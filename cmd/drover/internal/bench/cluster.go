package bench

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/drover/drover/internal/natsutil"
	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/events/natsbus"
	"github.com/drover/drover/services/agent"
	"github.com/drover/drover/services/agent/memruntime"
	"github.com/drover/drover/services/api"
	"github.com/nats-io/nats.go/jetstream"
)

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
