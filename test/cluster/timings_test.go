package cluster

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// timings records how long each recovery took, per measure, in the order
// measures were first recorded.
type timings struct {
	order []string
	runs  map[string][]time.Duration
}

func newTimings() *timings { return &timings{runs: map[string][]time.Duration{}} }

func (tm *timings) add(measure string, d time.Duration) {
	if _, ok := tm.runs[measure]; !ok {
		tm.order = append(tm.order, measure)
	}
	tm.runs[measure] = append(tm.runs[measure], d)
}

// table is a markdown table: measure, runs, median, worst, every run sorted.
// The median of an even count is the upper middle run.
func (tm *timings) table() string {
	var b strings.Builder
	b.WriteString("| measure | runs | median | worst | all (sorted) |\n| --- | --- | --- | --- | --- |\n")
	for _, m := range tm.order {
		ds := slices.Clone(tm.runs[m])
		slices.Sort(ds)
		var all []string
		for _, d := range ds {
			all = append(all, ms(d))
		}
		fmt.Fprintf(&b, "| %s | %d | %s | %s | %s |\n", m, len(ds), ms(ds[len(ds)/2]), ms(ds[len(ds)-1]), strings.Join(all, ", "))
	}
	return b.String()
}

func ms(d time.Duration) string {
	if d >= 10*time.Second {
		return fmt.Sprintf("%.1f s", d.Seconds())
	}
	if d >= time.Second {
		return fmt.Sprintf("%.2f s", d.Seconds())
	}
	return fmt.Sprintf("%d ms", d.Milliseconds())
}

// report logs the table and writes it to DROVER_CLUSTER_REPORT when set.
func (tm *timings) report(t *testing.T) {
	if len(tm.order) == 0 {
		return
	}
	table := tm.table()
	t.Logf("recovery times:\n%s", table)
	if path := os.Getenv("DROVER_CLUSTER_REPORT"); path != "" {
		if err := os.WriteFile(path, []byte(table), 0o644); err != nil {
			t.Errorf("write report: %v", err)
		}
	}
}

func TestTimingsTable(t *testing.T) {
	tm := newTimings()
	for _, d := range []time.Duration{300, 100, 200} {
		tm.add("kill", d*time.Millisecond)
	}
	tm.add("host down", 3200*time.Millisecond)
	tm.add("host down", 12*time.Second)
	want := "| measure | runs | median | worst | all (sorted) |\n| --- | --- | --- | --- | --- |\n" +
		"| kill | 3 | 200 ms | 300 ms | 100 ms, 200 ms, 300 ms |\n" +
		"| host down | 2 | 12.0 s | 12.0 s | 3.20 s, 12.0 s |\n"
	if got := tm.table(); got != want {
		t.Errorf("table:\n%s\nwant:\n%s", got, want)
	}
}
