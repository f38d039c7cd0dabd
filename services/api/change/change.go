package change

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/drover/drover/pkg/deployplan"
	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/events/natsbus"
	"github.com/drover/drover/pkg/marathon"
	"github.com/drover/drover/services/api/apierr"
	"github.com/drover/drover/services/api/readmodel"
	"github.com/drover/drover/services/api/view"
	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"github.com/nats-io/nats.go/jetstream"
)

// changeAttempts bounds how often a change is rebuilt after losing a
// compare-and-set race with another writer of the same app.
const changeAttempts = 5

// Op is one app's part in a change.
type Op struct {
	ID   string
	Prev *readmodel.AppEntry // the app as read; nil when it does not exist
	Next *marathon.App       // the app to write; nil to delete it
	// mustBeNew makes an app that exists by now an *AppExistsError (POST)
	// rather than a reason to rebuild the change (PUT).
	MustBeNew bool
	// restart marks the change as a configuration change even when the
	// definition is the same (POST /v2/apps/{id}/restart).
	Restart bool
	// versionInfo, when set, is kept instead of computed (rollbacks
	// restore the original's lastConfigChangeAt, so its tasks stay).
	VersionInfo *marathon.VersionInfo
	// Sentenced are the tasks the change lowers the instances for: the
	// leader kills those (events.AppRecord.Sentenced).
	Sentenced []string
}

// record is what the op writes to the apps bucket.
func (op Op) record(deploymentID string) events.AppRecord {
	return events.AppRecord{V: events.Version, App: *op.Next, DeploymentID: deploymentID, Sentenced: op.Sentenced}
}

// Spec is what a handler wants changed, built from the read model.
type Spec struct {
	Ops []Op
	// group is the group the change went to, for group_change_success.
	Group string
	// posted publishes api_post_event for every app written.
	Posted bool
}

// Staged is a change ready to write: the ops with their new
// versions, and the deployment record that carries it out.
type Staged struct {
	Spec
	Deployment events.Deployment
	// Plan is the deployment as its events carry it: with the root group
	// before the change and after it (deployplan.FullPlan) when someone
	// receives full plans (Deployment.FullPlans), light otherwise.
	Plan events.DeploymentPlan
	// locks are the running deployments of the affected apps.
	Locks []string
	// Fresh are the ports each app (by id) took from the free ones: they
	// are claimed before the change is written (claims.go), and reserved
	// in this replica until it is.
	Fresh map[string][]int
}

// freshPorts are every port the change took free.
func (p *Staged) freshPorts() []int {
	var out []int
	for _, ports := range p.Fresh {
		out = append(out, ports...)
	}
	return out
}

// errRetry is a compare-and-set lost on an app (key): rebuild the change.
type errRetry struct{ key string }

func (e *errRetry) Error() string { return "api: app " + e.key + " changed concurrently" }

// Make builds a change from the read model, checks the deployment locks,
// writes it by compare-and-set and records its deployment. A lost race
// rebuilds it from the state that won, so a concurrent update is either
// applied after the other or refused, never lost. With force, the running
// deployments of the affected apps are cancelled (their records deleted).
//
// The ports a change takes free are reserved in this replica while it is
// in flight and claimed in the port claims bucket before its apps are
// written; a port another replica claimed first sends it back to be
// staged again without it (claims.go).
func (s *Writer) Make(c echo.Context, force bool, build Build) (*Staged, error) {
	ctx := c.Request().Context()
	keyLost, portLost := 0, 0
	for keyLost < changeAttempts && portLost < claimAttempts {
		p, err := s.stage(build, true)
		if err != nil {
			return nil, err
		}
		err = s.attempt(ctx, c, p, force)
		var (
			retry *errRetry
			taken *errPortsTaken
		)
		switch {
		case errors.As(err, &taken):
			portLost++
			s.book.saw(taken.ports, time.Now())
		case errors.As(err, &retry):
			keyLost++
			if err := s.catchUpOn(ctx, retry.key); err != nil {
				return nil, err
			}
		default:
			return p, err
		}
	}
	return nil, &apierr.ConflictError{Message: "The app is being changed by other requests; try again."}
}

// attempt writes a staged change: it checks the locks, claims the ports
// the change took free, writes the change, and then releases the claims
// of the apps not written and of the ports the written ones let go. The
// change's reservations end with it.
func (s *Writer) attempt(ctx context.Context, c echo.Context, p *Staged, force bool) error {
	defer s.book.release(p.freshPorts())
	if err := s.checkLocks(ctx, p, force); err != nil {
		return err
	}
	claims, err := s.claimPorts(ctx, p)
	if err != nil {
		return err
	}
	written, err := s.commit(ctx, c, p)
	var unwritten []claim
	for _, cl := range claims {
		if !slices.Contains(written, cl.app) {
			unwritten = append(unwritten, cl)
		}
	}
	s.releaseClaims(ctx, unwritten)
	s.releaseDropped(ctx, p, written)
	return err
}

// Stage builds a change from the read model and stages it, without
// writing anything: Make writes what it stages, a dry run shows it.
func (s *Writer) Stage(build Build) (*Staged, error) { return s.stage(build, false) }

// stage is Stage; with reserve, the ports the change takes free are
// reserved in the port book until released.
func (s *Writer) stage(build Build, reserve bool) (*Staged, error) {
	var (
		p   *Staged
		err error
	)
	now := s.now()
	full := s.fullPlans != nil && s.fullPlans()
	s.rm.ReadAt(events.BucketApps, func(st *readmodel.State, _ uint64) {
		var spec *Spec
		if spec, err = build(st); err == nil {
			p, err = stageChange(st, spec, now, full, func(ops []Op) (map[string][]int, error) {
				return s.book.assign(st, ops, s.ports, reserve, time.Now(), s.claimGrace)
			})
		}
		if err == nil {
			p.Plan = planOf(st, p)
		} else if p != nil && reserve {
			s.book.release(p.freshPorts())
		}
	})
	return p, err
}

// planOf is a staged change's plan with the root group before and after
// it, or light when nobody receives full plans. Called with the read lock
// held.
func planOf(st *readmodel.State, p *Staged) events.DeploymentPlan {
	if !deployplan.Full(p.Deployment, false, len(st.Apps)) {
		return deployplan.Plan(p.Deployment) // light: unread, or too large to carry
	}
	next := map[string]*marathon.App{}
	for _, op := range p.Ops {
		next[op.ID] = op.Next
	}
	var original, target []marathon.App
	for _, e := range st.SortedApps() {
		original = append(original, e.Rec.App)
		if n, changed := next[e.Rec.App.ID]; !changed {
			target = append(target, e.Rec.App)
		} else if n != nil {
			target = append(target, *n)
		}
	}
	for _, op := range p.Ops {
		if op.Next != nil && op.Prev == nil {
			target = append(target, *op.Next)
		}
	}
	return deployplan.FullPlan(p.Deployment, original, target)
}

// catchUpOn waits until the read model shows the apps bucket's current
// entry for key (after a lost compare-and-set).
func (s *Writer) catchUpOn(ctx context.Context, key string) error {
	var rev uint64
	if key != "" {
		entry, err := s.bus.Apps.Get(ctx, key)
		switch {
		case err == nil:
			rev = entry.Revision()
		case !errors.Is(err, jetstream.ErrKeyNotFound):
			return fmt.Errorf("api: read app %s: %w", key, err)
		}
	}
	if rev == 0 {
		rev = readmodel.LastSeq(ctx, s.bus.Apps)
	}
	wctx, cancel := context.WithTimeout(ctx, s.syncTimeout)
	defer cancel()
	return s.rm.CaughtUp(wctx, events.BucketApps, rev)
}

// stageChange assigns the dynamic service ports of the new definitions
// (assign: assignServicePorts, with what else the replica counts as used),
// stamps them with the change's version and plans its deployment, whose
// events carry full plans when fullPlans says someone receives them.
// Called with the read lock held.
func stageChange(st *readmodel.State, spec *Spec, now time.Time, fullPlans bool, assign func([]Op) (map[string][]int, error)) (*Staged, error) {
	if deployplan.Cyclic(planApps{st}, planChanges(spec.Ops, nil)) {
		return nil, &apierr.ValidationError{Details: []marathon.FieldError{{Path: "/", Errors: []string{MsgCycle}}}}
	}
	ops := slices.Clone(spec.Ops)
	fresh, err := assign(ops)
	if err != nil {
		return nil, err
	}
	// A version is a timestamp; it must move forward for every app changed.
	at := now
	for _, op := range spec.Ops {
		if op.Prev == nil {
			continue
		}
		if t, err := time.Parse(events.TimeFormat, op.Prev.Rec.App.Version); err == nil && !at.After(t) {
			at = t.Add(time.Millisecond)
		}
	}
	version := view.FormatTime(at)
	p := &Staged{Spec: *spec}
	p.Ops = ops
	p.Fresh = fresh
	p.Deployment = events.Deployment{
		V: events.Version, ID: uuid.NewString(), Version: version, CreatedAt: now,
		Steps: [][]events.DeploymentAction{}, FullPlans: fullPlans,
	}
	actions := map[string]string{}
	locked := map[string]bool{}
	for i := range p.Ops {
		op := &p.Ops[i]
		if op.Next != nil {
			op.Next.ID = op.ID
			op.Next.Version = version
			op.Next.VersionInfo = newVersionInfo(op, version)
		}
		actions[op.ID] = action(op)
		p.Deployment.AffectedApps = append(p.Deployment.AffectedApps, op.ID)
		for d := range st.DepsByApp[op.ID] {
			if !locked[d] {
				p.Locks = append(p.Locks, d)
				locked[d] = true
			}
		}
	}
	slices.Sort(p.Locks)
	p.Deployment.Steps = deployplan.Steps(planApps{st}, planChanges(p.Ops, actions))
	if err := p.checkSizes(); err != nil {
		return p, err // with its fresh ports, to release
	}
	return p, nil
}

// checkSizes refuses, before anything is written, a change whose app or
// deployment records would pass marathon.MaxRecordBytes: NATS would refuse
// them (a 500), or take them and choke the scheduler and the agents.
func (p *Staged) checkSizes() error {
	var details []marathon.FieldError
	for _, op := range p.Ops {
		if op.Next == nil {
			continue
		}
		data, err := events.Encode(op.record(p.Deployment.ID))
		if err != nil {
			return err
		}
		if len(data) > marathon.MaxRecordBytes {
			path := "/"
			if len(p.Ops) > 1 {
				path = op.ID
			}
			details = append(details, marathon.FieldError{Path: path, Errors: []string{marathon.MsgRecordTooLarge}})
		}
	}
	if len(details) > 0 {
		return &apierr.ValidationError{Details: details}
	}
	data, err := events.Encode(p.Deployment)
	if err != nil {
		return err
	}
	if len(data) > marathon.MaxRecordBytes {
		return &apierr.ValidationError{Details: []marathon.FieldError{{Path: "/", Errors: []string{fmt.Sprintf(
			"the change affects too many apps: its deployment must not take more than %d bytes once stored", marathon.MaxRecordBytes)}}}}
	}
	return nil
}

// newVersionInfo is Marathon's versionInfo after a change: a scale moves
// lastScalingAt only; anything else moves both.
func newVersionInfo(op *Op, version string) *marathon.VersionInfo {
	if op.VersionInfo != nil {
		vi := *op.VersionInfo
		vi.LastScalingAt = version
		return &vi
	}
	if op.Prev == nil || op.Restart || ConfigChanged(&op.Prev.Rec.App, op.Next) {
		return &marathon.VersionInfo{LastScalingAt: version, LastConfigChangeAt: version}
	}
	vi := marathon.VersionInfo{LastScalingAt: version, LastConfigChangeAt: op.Prev.Rec.App.Version}
	if prev := op.Prev.Rec.App.VersionInfo; prev != nil && prev.LastConfigChangeAt != "" {
		vi.LastConfigChangeAt = prev.LastConfigChangeAt
	}
	return &vi
}

// ConfigChanged reports whether two definitions differ in more than their
// instances (and versions).
func ConfigChanged(a, b *marathon.App) bool {
	return !bytes.Equal(configJSON(a), configJSON(b))
}

func configJSON(a *marathon.App) []byte {
	c := *a
	c.Instances, c.Version, c.VersionInfo = nil, "", nil
	data, _ := json.Marshal(c)
	return data
}

// action is the deployment action an op needs; "" for none.
func action(op *Op) string {
	switch {
	case op.Next == nil:
		return events.ActionStop
	case op.Prev == nil:
		return events.ActionStart
	case op.Restart || (op.VersionInfo != nil && op.VersionInfo.LastConfigChangeAt != deployplan.ConfigVersion(&op.Prev.Rec.App)) ||
		(op.VersionInfo == nil && ConfigChanged(&op.Prev.Rec.App, op.Next)):
		return events.ActionRestart
	case instances(&op.Prev.Rec.App) != instances(op.Next):
		return events.ActionScale
	}
	return ""
}

// planApps is the read model's apps as deployment planning sees them.
type planApps struct{ st *readmodel.State }

func (a planApps) App(id string) *marathon.App {
	e, ok := a.st.Apps[id]
	if !ok {
		return nil
	}
	return &e.Rec.App
}

func (a planApps) Under(group string) []string {
	var ids []string
	for _, e := range a.st.AppsUnder(group) {
		ids = append(ids, e.Rec.App.ID)
	}
	return ids
}

// planChanges is a change's ops as deployment planning sees them, with
// the actions they need.
func planChanges(ops []Op, actions map[string]string) []deployplan.Change {
	out := make([]deployplan.Change, len(ops))
	for i, op := range ops {
		out[i] = deployplan.Change{ID: op.ID, Next: op.Next, Action: actions[op.ID]}
	}
	return out
}

// Build builds a change from the read model (called with its read
// lock held; it may be called again after a lost compare-and-set).
type Build func(st *readmodel.State) (*Spec, error)

// Result is Marathon's answer to a change.
func (p *Staged) Result() Result {
	return Result{DeploymentID: p.Deployment.ID, Version: p.Deployment.Version}
}

// Result is Marathon's answer to a change: the deployment it started
// and the version it made.
type Result struct {
	DeploymentID string `json:"deploymentId"`
	Version      string `json:"version"`
}

// MsgCycle is Marathon's refusal of a dependency cycle.
const MsgCycle = "Dependency graph has cyclic dependencies."

// instances is an app's instances, 0 when unset.
func instances(a *marathon.App) int {
	if a.Instances == nil {
		return 0
	}
	return *a.Instances
}

// Writer makes changes: it writes them to the buckets, records their
// deployments and announces them on the events stream.
type Writer struct {
	bus         *natsbus.Bus
	rm          *readmodel.Model
	logger      *slog.Logger
	syncTimeout time.Duration // bounds each wait for the read model
	now         func() time.Time
	ports       marathon.PortRange // where dynamic service ports come from
	book        portBook           // ports this replica's changes hold or saw claimed
	claimGrace  time.Duration      // how long a claim stands without its app holding the port
	fullPlans   func() bool        // someone receives full plans; nil: nobody
}

// NewWriter is a Writer on the buckets of bus that waits, within
// syncTimeout each time, for rm to show what it wrote; now stamps versions;
// dynamic service ports are assigned from ports; fullPlans (nil: never)
// says whether someone receives deployment events with full plans
// (plandemand.Announcer.Wanted).
func NewWriter(bus *natsbus.Bus, rm *readmodel.Model, logger *slog.Logger, syncTimeout time.Duration, now func() time.Time,
	ports marathon.PortRange, fullPlans func() bool) *Writer {
	return &Writer{bus: bus, rm: rm, logger: logger, syncTimeout: syncTimeout, now: now, ports: ports, claimGrace: DefaultClaimGrace,
		fullPlans: fullPlans}
}
