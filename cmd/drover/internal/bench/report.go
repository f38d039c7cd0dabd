package bench

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

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
