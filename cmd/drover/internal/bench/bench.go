// Package bench measures Drover at size: a real control plane (NATS, api,
// scheduler processes) with simulated agents (the in-memory runtime), as
// kubemark and nomad-nodesim do. `drover bench` runs it.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"time"

	"github.com/drover/drover/pkg/events/natsbus"
	"github.com/drover/drover/services/agent/memruntime"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
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
	BySubject    bool          // tally the deployment's NATS traffic by subject
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
