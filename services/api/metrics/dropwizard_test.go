package metrics

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// gather registers the collectors in a registry of their own and gathers it.
func gather(t *testing.T, cs ...prometheus.Collector) []*dto.MetricFamily {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(cs...)
	fs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestDropwizardCountersAndGauges(t *testing.T) {
	req := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "drover_api_http_requests_total"}, []string{"route", "code"})
	req.WithLabelValues("/v2/apps", "200").Add(3)
	req.WithLabelValues(`/odd"\route`, "404").Inc()
	cpu := prometheus.NewCounter(prometheus.CounterOpts{Name: "process_cpu_seconds_total"})
	cpu.Add(1.25)
	apps := prometheus.NewGauge(prometheus.GaugeOpts{Name: "drover_apps"})
	apps.Set(7)
	nan := prometheus.NewGauge(prometheus.GaugeOpts{Name: "weird"})
	nan.Set(math.NaN())
	tasks := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "drover_tasks"}, []string{"state"})
	tasks.WithLabelValues("TASK_RUNNING").Set(4)
	tasks.WithLabelValues("TASK_STAGING").Set(1)
	tasks.WithLabelValues("TASK_STARTING").Set(2)

	s := Dropwizard(gather(t, req, cpu, apps, nan, tasks))
	if s.Version != "4.0.0" {
		t.Errorf("version %q", s.Version)
	}
	for name, want := range map[string]int64{
		`drover_api_http_requests_total{code="200",route="/v2/apps"}`:      3,
		`drover_api_http_requests_total{code="404",route="/odd\"\\route"}`: 1,
	} {
		if got, ok := s.Counters[name]; !ok || got.Count != want {
			t.Errorf("counter %s = %+v (present %v), want %d; counters %v", name, got, ok, want, s.Counters)
		}
	}
	for name, want := range map[string]float64{
		"process_cpu_seconds_total":          1.25, // seconds are no whole count
		"drover_apps":                        7,
		"weird":                              0, // NaN, which JSON cannot carry
		`drover_tasks{state="TASK_RUNNING"}`: 4,
		// Marathon's names of the same gauges.
		"marathon.apps.active.gauge":       7,
		"marathon.instances.running.gauge": 4,
		"marathon.instances.staged.gauge":  3,
	} {
		if got, ok := s.Gauges[name]; !ok || !near(got.Value, want) {
			t.Errorf("gauge %s = %+v (present %v), want %g", name, got, ok, want)
		}
	}
	if _, ok := s.Gauges["marathon.deployments.active.gauge"]; ok {
		t.Error("an alias of a metric not gathered is reported")
	}
	if _, err := json.Marshal(s); err != nil {
		t.Errorf("marshal: %v", err)
	}
}

func TestDropwizardHistogram(t *testing.T) {
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "lat_seconds", Buckets: []float64{1, 2, 4}})
	// 10 observations: 4 in (0,1], 4 in (1,2], 1 in (2,4], 1 beyond 4.
	for _, v := range []float64{.5, .5, .5, .5, 1.5, 1.5, 1.5, 1.5, 3, 10} {
		h.Observe(v)
	}
	empty := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "empty_seconds", Buckets: []float64{1}})
	s := Dropwizard(gather(t, h, empty))
	got := s.Histograms["lat_seconds"]
	if got.Count != 10 || !near(got.Mean, 2.1) {
		t.Errorf("count %d mean %g, want 10 and 2.1", got.Count, got.Mean)
	}
	// p50: rank 5, the first of (1,2]'s four: 1 + 1*(1/4).
	if !near(got.P50, 1.25) || !near(got.P75, 1+1*(3.5/4)) {
		t.Errorf("p50 %g p75 %g", got.P50, got.P75)
	}
	// p95: rank 9.5, in the overflow bucket: the highest finite bound.
	if !near(got.P95, 4) || !near(got.P999, 4) {
		t.Errorf("p95 %g p999 %g", got.P95, got.P999)
	}
	if got.Min != 0 || got.Max != 4 || got.StdDev <= 0 {
		t.Errorf("min %g max %g stddev %g", got.Min, got.Max, got.StdDev)
	}
	if e := s.Histograms["empty_seconds"]; e != (Histogram{}) {
		t.Errorf("an empty histogram: %+v", e)
	}
}

func TestDropwizardSummary(t *testing.T) {
	sm := prometheus.NewSummary(prometheus.SummaryOpts{Name: "gc_seconds", Objectives: map[float64]float64{0: 0, .5: .01, 1: 0}})
	for _, v := range []float64{1, 2, 3} {
		sm.Observe(v)
	}
	got := Dropwizard(gather(t, sm)).Histograms["gc_seconds"]
	if got.Count != 3 || !near(got.Mean, 2) || got.Min != 1 || got.Max != 3 || got.P50 != 2 || got.P99 != 3 {
		t.Errorf("summary %+v", got)
	}
}

// TestDropwizardShape: the JSON has Marathon's five maps and version, the
// empty ones as {} (never null), with Dropwizard's field names.
func TestDropwizardShape(t *testing.T) {
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "h", Buckets: []float64{1}})
	h.Observe(.5)
	b, err := json.Marshal(Dropwizard(gather(t, h)))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"counters", "gauges", "histograms", "meters", "timers"} {
		if _, ok := doc[k].(map[string]any); !ok {
			t.Errorf("%s = %v, want an object", k, doc[k])
		}
	}
	hist := doc["histograms"].(map[string]any)["h"].(map[string]any)
	for _, k := range []string{"count", "min", "mean", "max", "p50", "p75", "p95", "p98", "p99", "p999", "stddev"} {
		if _, ok := hist[k].(float64); !ok {
			t.Errorf("histogram lacks %s: %v", k, hist)
		}
	}
}
