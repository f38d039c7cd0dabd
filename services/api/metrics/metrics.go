// Package metrics is the api's metrics: requests by route and status,
// their latency, malformed messages, and the read model's gauges; served
// as Marathon serves its own, JSON at /metrics (Dropwizard's shape,
// dropwizard.go) and Prometheus' text at /metrics/prometheus.
package metrics

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/services/api/readmodel"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is GET /metrics (JSON) and GET /metrics/prometheus (text), both
// views of one registry. Each Server has its own registry, so replicas in
// one process do not mix.
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	// Malformed counts messages refused as undecodable, by subject
	// (wildcard): a hostile or broken publisher.
	Malformed *prometheus.CounterVec
	serve     echo.HandlerFunc
}

// New is the api's metrics, with the read model's gauges.
func New(rm *readmodel.Model) *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		reg: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "drover", Subsystem: "api", Name: "http_requests_total",
			Help: "HTTP requests answered, by method, route and status code.",
		}, []string{"method", "route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "drover", Subsystem: "api", Name: "http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by method and route.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"method", "route"}),
	}
	m.Malformed = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "drover", Subsystem: "api", Name: "malformed_messages_total",
		Help: "NATS messages dropped as malformed, by subject.",
	}, []string{"subject"})
	reg.MustRegister(m.requests, m.latency, m.Malformed, stateCollector{rm},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.serve = echo.WrapHandler(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	return m
}

// Prometheus serves the metrics in Prometheus' text format, as Marathon
// 1.7+ does at /metrics/prometheus.
func (m *Metrics) Prometheus(c echo.Context) error { return m.serve(c) }

// JSON serves the metrics as Marathon's /metrics does (Snapshot).
func (m *Metrics) JSON(c echo.Context) error {
	families, err := m.reg.Gather()
	if err != nil { // a 500, as the text view answers it
		return fmt.Errorf("metrics: gather: %w", err)
	}
	c.Response().Header().Set(echo.HeaderCacheControl, "no-cache")
	return c.JSON(http.StatusOK, Dropwizard(families))
}

// Register adds collectors of other parts of the api (package auth).
func (m *Metrics) Register(cs ...prometheus.Collector) { m.reg.MustRegister(cs...) }

// Middleware counts and times every request by its route pattern (not its
// path, which would make a series per app).
func (m *Metrics) Middleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		route := c.Path()
		if route == "" {
			route = "unmatched"
		}
		method := c.Request().Method
		m.requests.WithLabelValues(method, route, strconv.Itoa(c.Response().Status)).Inc()
		m.latency.WithLabelValues(method, route).Observe(time.Since(start).Seconds())
		return nil
	}
}

// stateCollector reports the read model's state at each scrape.
type stateCollector struct{ rm *readmodel.Model }

var (
	descApps        = prometheus.NewDesc("drover_apps", "Apps defined.", nil, nil)
	descInstances   = prometheus.NewDesc("drover_app_instances_desired", "Instances the apps ask for, summed.", nil, nil)
	descTasks       = prometheus.NewDesc("drover_tasks", "Tasks recorded, by state.", []string{"state"}, nil)
	descDeployments = prometheus.NewDesc("drover_deployments", "Deployments running.", nil, nil)
	descQueue       = prometheus.NewDesc("drover_queue_apps", "Apps waiting for placement.", nil, nil)
	descLeader      = prometheus.NewDesc("drover_leader_elected", "1 while a scheduler holds the leader lock.", nil, nil)
)

func (stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descApps, descInstances, descTasks, descDeployments, descQueue, descLeader} {
		ch <- d
	}
}

func (sc stateCollector) Collect(ch chan<- prometheus.Metric) {
	var apps, instances, deployments, queue int
	byState := map[events.TaskState]int{}
	sc.rm.Read(func(st *readmodel.State) {
		apps, deployments, queue = len(st.Apps), len(st.Deployments), len(st.Queue)
		for _, e := range st.Apps {
			if n := e.Rec.App.Instances; n != nil {
				instances += *n
			}
		}
		for _, in := range st.Instances {
			byState[in.State]++
		}
	})
	ch <- prometheus.MustNewConstMetric(descApps, prometheus.GaugeValue, float64(apps))
	ch <- prometheus.MustNewConstMetric(descInstances, prometheus.GaugeValue, float64(instances))
	for _, s := range []events.TaskState{events.TaskStaging, events.TaskStarting, events.TaskRunning, events.TaskKilling, events.TaskUnreachable} {
		byState[s] += 0 // always report the live states
	}
	for s, n := range byState {
		ch <- prometheus.MustNewConstMetric(descTasks, prometheus.GaugeValue, float64(n), string(s))
	}
	ch <- prometheus.MustNewConstMetric(descDeployments, prometheus.GaugeValue, float64(deployments))
	ch <- prometheus.MustNewConstMetric(descQueue, prometheus.GaugeValue, float64(queue))
	leader := 0.0
	if _, ok := sc.rm.Leader(); ok {
		leader = 1
	}
	ch <- prometheus.MustNewConstMetric(descLeader, prometheus.GaugeValue, leader)
}
