package e2e

import (
	"fmt"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/drover/drover/internal/chaos"
)

// TestSoak is the trust benchmark of docs/BENCHMARKS.md, run by hand:
// standalone keeps an app of 3 for DROVER_SOAK (a Go duration, e.g. 10m)
// under DROVER_SOAK_LOAD: idle (nothing added), cpu (busy loops on every
// core, twice the core count) or churn (the busy loops and containers
// created, started and removed in a loop on the same daemon). It counts the
// spurious replacements (containers created for the app beyond its 3
// launches, and task ids that changed) and samples the load average; the
// target is 0 replacements at every level. DROVER_SOAK_LOOPS sets the number
// of busy loops (default twice the core count). Unset DROVER_SOAK skips it.
func TestSoak(t *testing.T) {
	d, err := time.ParseDuration(os.Getenv("DROVER_SOAK"))
	if err != nil || d <= 0 {
		t.Skip("DROVER_SOAK (a duration) not set: the soak benchmark runs by hand (docs/BENCHMARKS.md)")
	}
	level := os.Getenv("DROVER_SOAK_LOAD")
	if level == "" {
		level = "idle"
	}
	if !slices.Contains([]string{"idle", "cpu", "churn"}, level) {
		t.Fatalf("DROVER_SOAK_LOAD %q: want idle, cpu or churn", level)
	}
	cli := requireDocker(t)
	a, _ := standalone(t, cli)
	const id = "/soak/web"
	creates := countCreates(t, cli, id)
	time.Sleep(200 * time.Millisecond)
	if code, body, err := a.do(http.MethodPost, "/v2/apps", trivialApp(id, 3)); err != nil || code != http.StatusCreated {
		t.Fatalf("POST: %d %v %s", code, err, body)
	}
	want := sortedIDs(a.running(id, 3, 2*time.Minute))
	var churn *chaos.Churn
	if level != "idle" {
		loops := 2 * runtime.NumCPU()
		if n, err := strconv.Atoi(os.Getenv("DROVER_SOAK_LOOPS")); err == nil && n > 0 {
			loops = n // a heavier load than the default's
		}
		chaos.StartBusyLoops(t, loops)
	}
	if level == "churn" {
		churn = chaos.StartContainerChurn(t, cli, testImage, 100*time.Millisecond)
	}
	var loads []float64
	changes, reads, failed := 0, 0, 0
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(5 * time.Second) {
		loads = append(loads, loadAverage(t))
		app, err := a.app(id)
		if err != nil {
			failed++
			continue
		}
		reads++
		var running []task
		for _, tk := range app.Tasks {
			if tk.State == "TASK_RUNNING" {
				running = append(running, tk)
			}
		}
		if got := sortedIDs(running); !slices.Equal(got, want) {
			changes++
			t.Errorf("%s into the soak the running tasks are %v, want %v", time.Until(end).Round(time.Second), got, want)
			want = got
		}
	}
	spurious := creates.Load() - 3
	lo, hi, mean := slices.Min(loads), slices.Max(loads), 0.0
	for _, l := range loads {
		mean += l
	}
	mean /= float64(len(loads))
	cycles := 0
	if churn != nil {
		cycles = churn.Cycles()
	}
	t.Logf("SOAK level=%s duration=%s load1 min/mean/max=%.1f/%.1f/%.1f spurious launches=%d task-set changes=%d reads=%d failed reads=%d churn cycles=%d",
		level, d, lo, mean, hi, spurious, changes, reads, failed, cycles)
	if spurious != 0 {
		t.Errorf("%d containers created beyond the app's 3 launches", spurious)
	}
	if code, body, err := a.do(http.MethodDelete, "/v2/apps"+id, nil); err != nil || code != http.StatusOK {
		t.Fatalf("DELETE: %d %v %s", code, err, body)
	}
}

// loadAverage is the machine's 1-minute load average.
func loadAverage(t *testing.T) float64 {
	t.Helper()
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		t.Fatal(err)
	}
	f, err := strconv.ParseFloat(strings.Fields(string(raw))[0], 64)
	if err != nil {
		t.Fatal(fmt.Errorf("/proc/loadavg %q: %w", raw, err))
	}
	return f
}
