package agent

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/drover/drover/internal/ctxutil"
	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/marathon"
)

// checker runs the health and readiness checks of the agent's running
// tasks, next to them: one goroutine per check of each task, their probes
// bounded by a semaphore, their results kept for statuses and heartbeats.
// Its methods never wait for a probe, so the heartbeat and command loops
// call them freely.
type checker struct {
	log         *slog.Logger
	probe       *prober
	recall      CheckRecaller // nil: the checks of a task not launched here are unknown
	host        *checkHost
	sem         chan struct{}
	minInterval time.Duration
	changed     func(taskID string) // a task's results changed; must not block

	ctx    context.Context // the checker's life, ended by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu    sync.Mutex
	specs map[string]CheckSpec   // task -> its checks, from a launch or recalled, until it ends
	tasks map[string]*taskChecks // tasks being checked
}

// taskChecks is the checking of one task.
type taskChecks struct {
	task   events.TaskReport // the task when checking began
	since  time.Time         // when checking began
	cancel context.CancelFunc

	mu     sync.Mutex
	known  bool // spec is known
	spec   CheckSpec
	health []healthState
	ready  []bool // per readiness check
}

type checkerConfig struct {
	maxConcurrent int
	minInterval   time.Duration
	address       string
}

// newChecker makes a checker; exec and recall may be nil (the runtime is
// not an Execer, a CheckRecaller). changed is called when a task's results change.
func newChecker(cfg checkerConfig, exec Execer, recall CheckRecaller, changed func(taskID string), log *slog.Logger) *checker {
	ctx, cancel := context.WithCancel(context.Background())
	return &checker{
		log:         log,
		probe:       newProber(exec),
		recall:      recall,
		host:        newCheckHost(cfg.address),
		sem:         make(chan struct{}, cfg.maxConcurrent),
		minInterval: cfg.minInterval,
		changed:     changed,
		ctx:         ctx,
		cancel:      cancel,
		specs:       map[string]CheckSpec{},
		tasks:       map[string]*taskChecks{},
	}
}

// Close stops every check and waits for them.
func (c *checker) Close() {
	c.cancel()
	c.wg.Wait()
	c.probe.close()
}

// Remember keeps the checks of a task about to be launched.
func (c *checker) Remember(taskID string, spec CheckSpec) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.specs[taskID] = spec
}

// Start begins checking a running task, unless it is being checked. Its
// checks are those remembered, else those the runtime recalls.
func (c *checker) Start(task events.TaskReport) {
	if task.State != events.TaskRunning || task.TaskID == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.tasks[task.TaskID]; ok || c.ctx.Err() != nil {
		return
	}
	ctx, cancel := context.WithCancel(c.ctx)
	tc := &taskChecks{task: task, since: time.Now(), cancel: cancel}
	spec, known := c.specs[task.TaskID]
	if known {
		tc.setSpec(spec)
	}
	c.tasks[task.TaskID] = tc
	c.wg.Add(1)
	go func() { defer c.wg.Done(); c.run(ctx, tc, known) }()
}

// Stop stops checking a task that is not running, keeping its checks for
// when it runs again.
func (c *checker) Stop(taskID string) {
	c.mu.Lock()
	tc := c.tasks[taskID]
	delete(c.tasks, taskID)
	c.mu.Unlock()
	if tc != nil {
		tc.cancel()
	}
}

// Forget stops checking a task that ended or is being killed, and forgets its checks.
func (c *checker) Forget(taskID string) {
	c.Stop(taskID)
	c.mu.Lock()
	delete(c.specs, taskID)
	c.mu.Unlock()
}

// Sync brings the checking in line with the runtime's tasks, listed at
// listedAt: running tasks are checked, the others not. A task absent from
// the list is left alone if its checking began after the list was taken.
func (c *checker) Sync(tasks []events.TaskReport, listedAt time.Time) {
	states := make(map[string]events.TaskState, len(tasks))
	for _, t := range tasks {
		states[t.TaskID] = t.State
		switch {
		case t.State == events.TaskRunning:
			c.Start(t)
		case t.State.Terminal():
			c.Forget(t.TaskID)
		}
	}
	c.mu.Lock()
	var stale []*taskChecks
	for id, tc := range c.tasks {
		state, listed := states[id]
		if (listed && state != events.TaskRunning) || (!listed && tc.since.Before(listedAt)) {
			stale = append(stale, tc)
			delete(c.tasks, id)
		}
	}
	c.mu.Unlock()
	for _, tc := range stale {
		tc.cancel()
	}
}

// Snapshot is a task's latest results: Health once any check has one,
// Ready when its app has readiness checks.
func (c *checker) Snapshot(taskID string) ([]events.HealthResult, *bool) {
	_, health, ready, _ := c.report(taskID)
	return health, ready
}

// report is a task being checked as it was when checking began, with its
// latest results; ok is false when it is not being checked.
func (c *checker) report(taskID string) (task events.TaskReport, health []events.HealthResult, ready *bool, ok bool) {
	c.mu.Lock()
	tc, ok := c.tasks[taskID]
	spec, known := c.specs[taskID]
	c.mu.Unlock()
	if !ok {
		if known && len(spec.ReadinessChecks) > 0 {
			return task, nil, new(bool), false
		}
		return task, nil, nil, false
	}
	health, ready = tc.snapshot()
	return tc.task, health, ready, true
}

// run checks one task until ctx is done: it finds its checks, then runs
// each in a goroutine of its own.
func (c *checker) run(ctx context.Context, tc *taskChecks, known bool) {
	id := tc.task.TaskID
	if !known {
		spec, ok := c.recallSpec(ctx, id)
		if !ok {
			return
		}
		c.mu.Lock()
		if c.tasks[id] == tc {
			c.specs[id] = spec
		}
		c.mu.Unlock()
		tc.setSpec(spec)
		if len(spec.ReadinessChecks) > 0 {
			c.changed(id) // not ready, now that it is known
		}
	}
	spec := tc.spec // set once, before the checks start
	if !spec.Empty() {
		c.log.Debug("checking task", "task", id, "health_checks", len(spec.HealthChecks), "readiness_checks", len(spec.ReadinessChecks))
	}
	for i, hc := range spec.HealthChecks {
		c.wg.Add(1)
		go func() { defer c.wg.Done(); c.runHealth(ctx, tc, i, hc) }()
	}
	for i, rc := range spec.ReadinessChecks {
		c.wg.Add(1)
		go func() { defer c.wg.Done(); c.runReadiness(ctx, tc, i, rc) }()
	}
}

// recallSpec asks the runtime for the checks of a task it did not see
// launched, retrying until ctx is done.
func (c *checker) recallSpec(ctx context.Context, taskID string) (CheckSpec, bool) {
	if c.recall == nil {
		return CheckSpec{}, false
	}
	backoff := time.Second
	for {
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		spec, err := c.recall.RecallChecks(rctx, taskID)
		cancel()
		if err == nil {
			return spec, true
		}
		if ctx.Err() != nil {
			return CheckSpec{}, false
		}
		c.log.Warn("recall task checks", "task", taskID, "error", err, "retry_in", backoff)
		if !ctxutil.Sleep(ctx, backoff) {
			return CheckSpec{}, false
		}
		backoff = min(2*backoff, 30*time.Second)
	}
}

// runHealth runs one health check every interval, after its delay, until ctx is done.
func (c *checker) runHealth(ctx context.Context, tc *taskChecks, i int, hc marathon.HealthCheck) {
	interval := max(secondsOf(hc.IntervalSeconds), c.minInterval)
	timeout := secondsOf(hc.TimeoutSeconds)
	if timeout <= 0 {
		timeout = time.Second
	}
	start := tc.task.StartedAt
	if start.IsZero() {
		start = tc.since
	}
	graceEnd := start.Add(secondsOf(hc.GracePeriodSeconds))
	if hc.DelaySeconds != nil && !ctxutil.Sleep(ctx, secondsOf(*hc.DelaySeconds)) {
		return
	}
	for {
		res := c.probeHealth(ctx, tc, hc, timeout)
		if ctx.Err() != nil {
			return
		}
		if tc.recordHealth(i, res, time.Now(), graceEnd) {
			c.changed(tc.task.TaskID)
		}
		if !ctxutil.Sleep(ctx, interval) {
			return
		}
	}
}

func (c *checker) probeHealth(ctx context.Context, tc *taskChecks, hc marathon.HealthCheck, timeout time.Duration) probeResult {
	var target string
	if !isCommand(hc.Protocol) {
		t, err := healthTarget(hc, tc.spec, tc.task, c.host.Get(ctx))
		if err != nil {
			return failErr(err)
		}
		target = t
	}
	if !c.acquire(ctx) {
		return fail("stopped")
	}
	defer c.release()
	return c.probe.health(ctx, hc, tc.task.TaskID, target, timeout)
}

// runReadiness runs one readiness check every interval until it says the
// task is ready, or ctx is done.
func (c *checker) runReadiness(ctx context.Context, tc *taskChecks, i int, rc marathon.ReadinessCheck) {
	interval := max(secondsOf(rc.IntervalSeconds), c.minInterval)
	timeout := secondsOf(rc.TimeoutSeconds)
	if timeout <= 0 {
		timeout = time.Second
	}
	for {
		res := c.probeReadiness(ctx, tc, rc, timeout)
		if ctx.Err() != nil {
			return
		}
		if res.outcome == passed {
			if tc.setReady(i) {
				c.changed(tc.task.TaskID)
			}
			return
		}
		if !ctxutil.Sleep(ctx, interval) {
			return
		}
	}
}

func (c *checker) probeReadiness(ctx context.Context, tc *taskChecks, rc marathon.ReadinessCheck, timeout time.Duration) probeResult {
	target, err := readinessTarget(rc, tc.spec, tc.task, c.host.Get(ctx))
	if err != nil {
		return failErr(err)
	}
	if !c.acquire(ctx) {
		return fail("stopped")
	}
	defer c.release()
	return c.probe.ready(ctx, rc, target, timeout)
}

func (c *checker) acquire(ctx context.Context) bool {
	select {
	case c.sem <- struct{}{}:
		return true
	case <-ctx.Done():
		return false
	}
}

func (c *checker) release() { <-c.sem }

func (tc *taskChecks) setSpec(spec CheckSpec) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	tc.known, tc.spec = true, spec
	tc.health = make([]healthState, len(spec.HealthChecks))
	tc.ready = make([]bool, len(spec.ReadinessChecks))
}

func (tc *taskChecks) recordHealth(i int, r probeResult, now, graceEnd time.Time) bool {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	return tc.health[i].record(r, now, graceEnd)
}

// setReady marks readiness check i ready; it reports whether that made the task ready.
func (tc *taskChecks) setReady(i int) bool {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	tc.ready[i] = true
	for _, r := range tc.ready {
		if !r {
			return false
		}
	}
	return true
}

func (tc *taskChecks) snapshot() ([]events.HealthResult, *bool) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if !tc.known {
		return nil, nil
	}
	health := healthResults(tc.health)
	if len(tc.ready) == 0 {
		return health, nil
	}
	ready := true
	for _, r := range tc.ready {
		ready = ready && r
	}
	return health, &ready
}

func secondsOf(n int) time.Duration { return time.Duration(n) * time.Second }
