package metrics

import (
	"math"
	"sort"
	"strings"

	dto "github.com/prometheus/client_model/go"
)

// DropwizardVersion is the version Marathon's /metrics JSON reports (that
// of Dropwizard's JSON format).
const DropwizardVersion = "4.0.0"

// Snapshot is Marathon's /metrics JSON (Dropwizard's shape, as Marathon's
// MetricsConversion writes it), made from the same registry Prometheus
// reads at /metrics/prometheus.
type Snapshot struct {
	Version    string               `json:"version"`
	Counters   map[string]Counter   `json:"counters"`
	Gauges     map[string]Gauge     `json:"gauges"`
	Histograms map[string]Histogram `json:"histograms"`
	Meters     map[string]Meter     `json:"meters"`
	Timers     map[string]Timer     `json:"timers"`
}

// Counter is a monotonic count.
type Counter struct {
	Count int64 `json:"count"`
}

// Gauge is a current measurement.
type Gauge struct {
	Value float64 `json:"value"`
}

// Histogram is a distribution. From a Prometheus histogram its quantiles,
// min, max and stddev are estimated from the buckets (as PromQL's
// histogram_quantile does); from a summary they are its quantiles.
type Histogram struct {
	Count  int64   `json:"count"`
	Min    float64 `json:"min"`
	Mean   float64 `json:"mean"`
	Max    float64 `json:"max"`
	P50    float64 `json:"p50"`
	P75    float64 `json:"p75"`
	P95    float64 `json:"p95"`
	P98    float64 `json:"p98"`
	P99    float64 `json:"p99"`
	P999   float64 `json:"p999"`
	StdDev float64 `json:"stddev"`
}

// Meter is a rate of events. Drover has none (Prometheus computes rates
// from counters); the map is there, empty, as clients expect it.
type Meter struct {
	Count    int64   `json:"count"`
	M1Rate   float64 `json:"m1_rate"`
	M5Rate   float64 `json:"m5_rate"`
	M15Rate  float64 `json:"m15_rate"`
	MeanRate float64 `json:"mean_rate"`
	Units    string  `json:"units"`
}

// Timer is a histogram of durations with their rate. Drover has none.
type Timer struct {
	Histogram
	M1Rate        float64 `json:"m1_rate"`
	M5Rate        float64 `json:"m5_rate"`
	M15Rate       float64 `json:"m15_rate"`
	MeanRate      float64 `json:"mean_rate"`
	DurationUnits string  `json:"duration_units"`
	RateUnits     string  `json:"rate_units"`
}

// marathonGauges are Marathon's names of the metrics Drover has too:
// dashboards built for Marathon read these. Each is the sum of the
// series named (metric and, when given, its label values).
var marathonGauges = map[string][]string{
	"marathon.apps.active.gauge":        {"drover_apps"},
	"marathon.deployments.active.gauge": {"drover_deployments"},
	"marathon.instances.running.gauge":  {`drover_tasks{state="TASK_RUNNING"}`},
	"marathon.instances.staged.gauge":   {`drover_tasks{state="TASK_STAGING"}`, `drover_tasks{state="TASK_STARTING"}`},
}

// Dropwizard converts gathered metric families into Marathon's JSON. A
// series is named as Prometheus' text format names it: the metric, then
// its labels in braces (drover_tasks{state="TASK_RUNNING"}). Counters
// counting seconds (…_seconds_total, such as process_cpu_seconds_total)
// are not whole numbers: they are gauges here. Values JSON cannot carry
// (NaN, ±Inf) are 0, as Marathon writes a NaN gauge.
func Dropwizard(families []*dto.MetricFamily) Snapshot {
	s := Snapshot{
		Version: DropwizardVersion, Counters: map[string]Counter{}, Gauges: map[string]Gauge{},
		Histograms: map[string]Histogram{}, Meters: map[string]Meter{}, Timers: map[string]Timer{},
	}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			name := seriesName(f.GetName(), m.GetLabel())
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				v := finite(m.GetCounter().GetValue())
				if strings.HasSuffix(f.GetName(), "_seconds_total") {
					s.Gauges[name] = Gauge{Value: v}
				} else {
					s.Counters[name] = Counter{Count: int64(v)}
				}
			case dto.MetricType_GAUGE:
				s.Gauges[name] = Gauge{Value: finite(m.GetGauge().GetValue())}
			case dto.MetricType_UNTYPED:
				s.Gauges[name] = Gauge{Value: finite(m.GetUntyped().GetValue())}
			case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
				s.Histograms[name] = fromHistogram(m.GetHistogram())
			case dto.MetricType_SUMMARY:
				s.Histograms[name] = fromSummary(m.GetSummary())
			}
		}
	}
	for alias, series := range marathonGauges {
		var sum float64
		found := false
		for _, name := range series {
			if g, ok := s.Gauges[name]; ok {
				sum, found = sum+g.Value, true
			}
		}
		if found {
			s.Gauges[alias] = Gauge{Value: sum}
		}
	}
	return s
}

// seriesName is name{label="value",...}, labels in the order given (the
// registry sorts them), values escaped as in Prometheus' text format.
func seriesName(name string, labels []*dto.LabelPair) string {
	if len(labels) == 0 {
		return name
	}
	var b strings.Builder
	b.WriteString(name)
	b.WriteByte('{')
	for i, l := range labels {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(l.GetName())
		b.WriteString(`="`)
		b.WriteString(labelEscaper.Replace(l.GetValue()))
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

var labelEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)

// finite is v, or 0 for what JSON cannot hold.
func finite(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return v
}

// bucket is one of a histogram's buckets: its bounds and how many
// observations fell in it (not cumulative).
type bucket struct {
	lower, upper float64
	n            float64
}

// buckets are a histogram's buckets in order, the last (+Inf, implicit in
// Prometheus' exposition) with the upper bound of the one before it.
func buckets(h *dto.Histogram) []bucket {
	bs := append([]*dto.Bucket(nil), h.GetBucket()...)
	sort.Slice(bs, func(i, j int) bool { return bs[i].GetUpperBound() < bs[j].GetUpperBound() })
	var out []bucket
	lower, prev := 0.0, 0.0
	for _, b := range bs {
		up := b.GetUpperBound()
		if math.IsInf(up, +1) {
			break
		}
		cum := float64(b.GetCumulativeCount())
		if lower > up { // negative bounds: the first bucket starts at its own bound
			lower = up
		}
		out = append(out, bucket{lower: lower, upper: up, n: cum - prev})
		lower, prev = up, cum
	}
	if rest := float64(h.GetSampleCount()) - prev; rest > 0 {
		out = append(out, bucket{lower: lower, upper: lower, n: rest})
	}
	return out
}

func fromHistogram(h *dto.Histogram) Histogram {
	count := float64(h.GetSampleCount())
	if count == 0 {
		return Histogram{}
	}
	bs := buckets(h)
	mean := finite(h.GetSampleSum() / count)
	out := Histogram{Count: int64(count), Mean: mean}
	q := func(p float64) float64 { return finite(bucketQuantile(bs, p*count)) }
	out.P50, out.P75, out.P95, out.P98, out.P99, out.P999 = q(.5), q(.75), q(.95), q(.98), q(.99), q(.999)
	var variance float64
	first := true
	for _, b := range bs {
		if b.n <= 0 {
			continue
		}
		if first {
			out.Min, first = b.lower, false
		}
		out.Max = b.upper
		mid := (b.lower + b.upper) / 2
		variance += b.n * (mid - mean) * (mid - mean)
	}
	out.StdDev = finite(math.Sqrt(variance / count))
	return out
}

// bucketQuantile is the value at rank (of the observations in order),
// interpolated linearly within its bucket.
func bucketQuantile(bs []bucket, rank float64) float64 {
	seen := 0.0
	for _, b := range bs {
		if b.n <= 0 {
			continue
		}
		if seen+b.n >= rank {
			return b.lower + (b.upper-b.lower)*(rank-seen)/b.n
		}
		seen += b.n
	}
	if len(bs) == 0 {
		return 0
	}
	return bs[len(bs)-1].upper
}

func fromSummary(s *dto.Summary) Histogram {
	count := float64(s.GetSampleCount())
	out := Histogram{Count: int64(count)}
	if count > 0 {
		out.Mean = finite(s.GetSampleSum() / count)
	}
	qs := s.GetQuantile()
	if len(qs) == 0 {
		return out
	}
	// The quantile reported nearest to p.
	at := func(p float64) float64 {
		best := qs[0]
		for _, q := range qs[1:] {
			if math.Abs(q.GetQuantile()-p) < math.Abs(best.GetQuantile()-p) {
				best = q
			}
		}
		return finite(best.GetValue())
	}
	out.Min, out.Max = at(0), at(1)
	out.P50, out.P75, out.P95, out.P98, out.P99, out.P999 = at(.5), at(.75), at(.95), at(.98), at(.99), at(.999)
	return out
}
