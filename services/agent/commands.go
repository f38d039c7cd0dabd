package agent

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/drover/drover/pkg/events"
	"github.com/nats-io/nats.go/jetstream"
)

// consumerConfig is the agent's durable command consumer. It is kept when
// the agent stops, so commands sent meanwhile wait for it; an agent gone for
// a day loses it.
func (a *Agent) consumerConfig() jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:           events.AgentCommandConsumer(a.cfg.AgentID),
		Description:       "commands of agent " + a.cfg.AgentID,
		FilterSubject:     events.AgentCommand(a.cfg.AgentID),
		AckPolicy:         jetstream.AckExplicitPolicy,
		AckWait:           a.cfg.CommandAckWait,
		MaxDeliver:        a.cfg.CommandMaxDeliver,
		DeliverPolicy:     jetstream.DeliverAllPolicy,
		InactiveThreshold: 24 * time.Hour,
	}
}

// runCommands consumes the agent's commands until ctx is done, recreating
// the consumer when it is lost.
func (a *Agent) runCommands(ctx context.Context) {
	backoff := 250 * time.Millisecond
	for {
		err := a.consumeCommands(ctx)
		if ctx.Err() != nil {
			return
		}
		a.log.Warn("command consumer stopped; retrying", "error", err, "in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

func (a *Agent) consumeCommands(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	cons, err := a.js.CreateOrUpdateConsumer(cctx, events.StreamCommands, a.consumerConfig())
	cancel()
	if err != nil {
		return fmt.Errorf("create consumer: %w", err)
	}
	lost := make(chan error, 1)
	cc, err := cons.Consume(func(msg jetstream.Msg) { a.onCommand(ctx, msg) },
		jetstream.PullMaxMessages(2*a.cfg.MaxConcurrentCommands),
		jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
			if errors.Is(err, jetstream.ErrConsumerDeleted) || errors.Is(err, jetstream.ErrConsumerNotFound) {
				select {
				case lost <- err:
				default:
				}
				return
			}
			a.log.Debug("command consumer", "error", err)
		}))
	if err != nil {
		return fmt.Errorf("consume: %w", err)
	}
	defer func() {
		// Buffered commands go through the callback, which hands them back
		// (Nak) for the agent's next run, instead of waiting out AckWait.
		cc.Drain()
		select {
		case <-cc.Closed():
		case <-time.After(5 * time.Second):
			cc.Stop()
		}
	}()
	a.log.Info("consuming commands", "consumer", a.consumerConfig().Durable)
	select {
	case <-ctx.Done():
		return nil
	case err := <-lost:
		return err
	}
}

// onCommand decodes a delivered command and queues it behind the other
// commands of its task. A command that cannot be understood is terminated.
func (a *Agent) onCommand(ctx context.Context, msg jetstream.Msg) {
	cmd, err := events.Decode[events.Command](msg.Data())
	if err == nil {
		err = checkCommand(cmd)
	}
	if err != nil {
		total := a.stats.malformed.Add(1)
		a.log.Warn("malformed command terminated", "subject", msg.Subject(), "error", err, "malformed_total", total)
		if err := msg.Term(); err != nil {
			a.log.Warn("terminate command", "error", err)
		}
		return
	}
	a.dispatch.Submit(cmd.TaskID, func() { a.handleCommand(ctx, msg, cmd) })
}

func checkCommand(cmd events.Command) error {
	switch {
	case cmd.TaskID == "":
		return errors.New("command without a task id")
	case cmd.Kind == events.CommandLaunch && cmd.Launch == nil:
		return errors.New("launch command without a launch spec")
	case cmd.Kind != events.CommandLaunch && cmd.Kind != events.CommandKill:
		return fmt.Errorf("unknown command kind %q", cmd.Kind)
	}
	return nil
}

// handleCommand runs one command: fenced by epoch, kept in progress while it
// runs, acknowledged once its result is reported. Interrupted by shutdown,
// it is handed back for redelivery.
func (a *Agent) handleCommand(ctx context.Context, msg jetstream.Msg, cmd events.Command) {
	log := a.log.With("command", cmd.ID, "kind", cmd.Kind, "task", cmd.TaskID, "epoch", cmd.Epoch)
	if ctx.Err() != nil {
		_ = msg.Nak()
		return
	}
	if ok, highest := a.fence.Admit(cmd.Epoch); !ok {
		a.refuse(ctx, log, msg, cmd, highest)
		return
	}
	stop := keepInProgress(msg, a.cfg.CommandAckWait/3)
	var err error
	switch cmd.Kind {
	case events.CommandLaunch:
		err = a.launch(ctx, cmd)
	case events.CommandKill:
		err = a.kill(ctx, cmd)
	}
	stop()
	switch {
	case ctx.Err() != nil:
		_ = msg.Nak()
	case err != nil:
		delay := redeliveryDelay(deliveries(msg))
		log.Warn("command failed; will be redelivered", "error", err, "in", delay)
		_ = msg.NakWithDelay(delay)
	default:
		a.stats.commands.Add(1)
		if err := msg.Ack(); err != nil {
			log.Warn("ack command", "error", err)
		}
	}
}

// redeliveryDelay is how long a failed command waits before it comes again:
// 1 s after its first delivery, doubling with each, up to a minute, so a
// daemon that is gone or slow is not asked every second for minutes.
func redeliveryDelay(delivered uint64) time.Duration {
	return min(time.Second<<min(max(delivered, 1)-1, 6), time.Minute)
}

// deliveries is how many times the message has been delivered, this time included.
func deliveries(msg jetstream.Msg) uint64 {
	if md, err := msg.Metadata(); err == nil {
		return md.NumDelivered
	}
	return 1
}

// refuse turns down a command of a deposed leader: nothing runs, and a
// status says so. It is TASK_DROPPED unless the task exists, in which case
// its true state is reported with the refusal.
func (a *Agent) refuse(ctx context.Context, log *slog.Logger, msg jetstream.Msg, cmd events.Command, highest uint64) {
	a.stats.refused.Add(1)
	reason := fmt.Sprintf("refused: stale epoch %d < %d", cmd.Epoch, highest)
	log.Warn("command refused", "reason", reason)
	st := a.baseStatus(cmd)
	st.State, st.Message = events.TaskDropped, reason
	if cur, ok := a.findTask(ctx, cmd.TaskID); ok && !cur.State.Terminal() {
		st = a.statusOf(cur, time.Now())
		st.Message = reason
	}
	if err := a.publishStatus(ctx, st, true); err != nil {
		log.Warn("refusal not reported", "error", err)
	}
	if err := msg.Term(); err != nil {
		log.Warn("terminate command", "error", err)
	}
}

func (a *Agent) findTask(ctx context.Context, taskID string) (events.TaskReport, bool) {
	lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	tasks, err := a.rt.List(lctx)
	if err != nil {
		return events.TaskReport{}, false
	}
	for _, t := range tasks {
		if t.TaskID == taskID {
			return t, true
		}
	}
	return events.TaskReport{}, false
}

// baseStatus is a status of the command's task with what the command tells.
func (a *Agent) baseStatus(cmd events.Command) events.TaskStatus {
	st := events.TaskStatus{V: events.Version, AgentID: a.cfg.AgentID, TaskID: cmd.TaskID, AppID: cmd.AppID, At: time.Now()}
	if cmd.Launch != nil {
		if st.AppID == "" {
			st.AppID = cmd.Launch.App.ID
		}
		st.Version = cmd.Launch.App.Version
	}
	if last, ok := a.tracker.Last(cmd.TaskID); ok {
		st.AppID, st.Version = cmp.Or(st.AppID, last.AppID), cmp.Or(st.Version, last.Version)
		st.ContainerID, st.HostPorts, st.IPAddress = last.ContainerID, last.HostPorts, last.IPAddress
	}
	return st
}

// launch runs a launch command and reports its result. The error is for
// failures to report, which make the command come again.
func (a *Agent) launch(ctx context.Context, cmd events.Command) error {
	st := a.baseStatus(cmd)
	if last, ok := a.tracker.Last(cmd.TaskID); ok && last.State.Terminal() {
		// A task id runs once: a launch of an ended task changes nothing.
		return nil
	}
	a.rememberGrace(cmd.TaskID, *cmd.Launch)
	// The app is resolved here, once: the policy, the checks and the
	// runtime all read this spec.
	spec, err := cmd.Launch.Resolve()
	if err == nil {
		err = CheckPolicy(a.cfg.Policy, spec.Access)
	} else {
		err = fmt.Errorf("%w: %v", ErrInvalidSpec, err)
	}
	if err != nil {
		st.State, st.Message = events.TaskError, err.Error()
		a.log.Warn("launch refused", "task", cmd.TaskID, "app", st.AppID, "error", err)
		return a.publishStatus(ctx, st, false)
	}
	checks, err := CheckSpecOf(spec)
	if err != nil {
		a.log.Warn("launch: checks left out", "task", cmd.TaskID, "error", err)
	}
	a.checks.Remember(cmd.TaskID, checks)
	rep, err := a.rt.Launch(ctx, cmd.TaskID, spec)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	switch {
	case errors.Is(err, ErrInvalidSpec):
		st.State, st.Message = events.TaskError, err.Error()
	case err != nil && a.runtimeGone(ctx, err):
		// Not the task's failure but the host's: lost, so the scheduler
		// replaces it at once (no launch backoff), and a heartbeat now
		// tells it to place nothing more here.
		st.State, st.Message = events.TaskLost, "Docker is unavailable on agent "+a.cfg.AgentID+": "+err.Error()
		a.beatSoon()
	case err != nil:
		st.State, st.Message = events.TaskFailed, err.Error()
	default:
		st = a.statusOf(rep, time.Now())
		st.AppID, st.Version = cmp.Or(st.AppID, spec.AppID), cmp.Or(st.Version, spec.Version)
	}
	if err != nil {
		a.log.Warn("launch failed", "task", cmd.TaskID, "app", st.AppID, "state", st.State, "error", err)
	}
	perr := a.publishStatus(ctx, st, false)
	if err == nil {
		a.checks.Start(rep) // after its status, so that health follows the news of its start
	}
	return perr
}

// runtimeGone: a launch failed because no daemon is there, which the
// error itself shows or a ping right after it does. A daemon that is only
// slow (the ping times out) is not gone: the task failed on it.
func (a *Agent) runtimeGone(ctx context.Context, err error) bool {
	if classify(err) != refused {
		pctx, cancel := context.WithTimeout(ctx, a.cfg.RuntimeSlowAfter)
		_, err = a.rt.Ping(pctx)
		cancel()
	}
	if classify(err) != refused {
		return false
	}
	now := time.Now()
	a.judge.observe(now, now, err) // the next heartbeat says so
	return true
}

// kill runs a kill command and reports TASK_KILLED.
func (a *Agent) kill(ctx context.Context, cmd events.Command) error {
	grace := a.graceOf(cmd)
	a.checks.Forget(cmd.TaskID) // a task being stopped is no longer checked
	if err := a.rt.Kill(ctx, cmd.TaskID, grace); err != nil {
		return fmt.Errorf("kill %s: %w", cmd.TaskID, err)
	}
	a.forgetGrace(cmd.TaskID)
	st := a.baseStatus(cmd)
	st.State, st.Message = events.TaskKilled, ""
	return a.publishStatus(ctx, st, false)
}

// graceSeconds is app.taskKillGracePeriodSeconds as a duration, or 0.
func graceSeconds(spec *events.LaunchSpec) time.Duration {
	if spec == nil || spec.App.TaskKillGracePeriodSeconds == nil {
		return 0
	}
	s := *spec.App.TaskKillGracePeriodSeconds
	if s <= 0 || math.IsNaN(s) || s > 3600 {
		return 0
	}
	return time.Duration(s * float64(time.Second))
}

func (a *Agent) rememberGrace(taskID string, spec events.LaunchSpec) {
	if g := graceSeconds(&spec); g > 0 {
		a.gracesMu.Lock()
		a.graces[taskID] = g
		a.gracesMu.Unlock()
	}
}

func (a *Agent) forgetGrace(taskID string) {
	a.gracesMu.Lock()
	delete(a.graces, taskID)
	a.gracesMu.Unlock()
}

// graceOf is the kill grace of a task: its app's, from the kill command's
// spec or the launch this agent ran, else the agent's default.
func (a *Agent) graceOf(cmd events.Command) time.Duration {
	if g := graceSeconds(cmd.Launch); g > 0 {
		return g
	}
	a.gracesMu.Lock()
	g, ok := a.graces[cmd.TaskID]
	a.gracesMu.Unlock()
	if ok {
		return g
	}
	return a.cfg.KillGrace
}

// keepInProgress tells the server every period that msg is still being
// worked on, until the returned stop is called.
func keepInProgress(msg jetstream.Msg, period time.Duration) (stop func()) {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				_ = msg.InProgress()
			}
		}
	}()
	return func() { close(done) }
}
