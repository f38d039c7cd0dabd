package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/drover/drover/internal/natsutil"
)

func (r *run) deploy(ctx context.Context, out io.Writer, res *Result) error {
	if r.cfg.BySubject {
		nc, err := natsutil.ConnectInProcess(r.ns, "bench-tally", r.logger)
		if err != nil {
			return err
		}
		defer nc.Close()
		tally, err := tallySubjects(nc)
		if err != nil {
			return fmt.Errorf("bench: tally subjects: %w", err)
		}
		defer tally.report(out, r.cfg.Instances, 25)
		defer tally.stop()
	}
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
	// Marathon's leader is host:port (the api beside the leading
	// scheduler); each scheduler runs with --hostname bench-N.
	host := leaderHost(l.Leader)
	idx := slices.IndexFunc(r.scheds, func(c *exec.Cmd) bool { return slices.Contains(c.Args, host) })
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

// leaderHost is the host of GET /v2/leader's "host:port" (the whole answer
// when it has no port).
func leaderHost(leader string) string {
	if host, _, err := net.SplitHostPort(leader); err == nil {
		return host
	}
	return leader
}
