package api

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

// appOp is one app's part in a change.
type appOp struct {
	id   string
	prev *readmodel.AppEntry // the app as read; nil when it does not exist
	next *marathon.App       // the app to write; nil to delete it
	// mustBeNew makes an app that exists by now an *AppExistsError (POST)
	// rather than a reason to rebuild the change (PUT).
	mustBeNew bool
	// restart marks the change as a configuration change even when the
	// definition is the same (POST /v2/apps/{id}/restart).
	restart bool
	// versionInfo, when set, is kept instead of computed (rollbacks
	// restore the original's lastConfigChangeAt, so its tasks stay).
	versionInfo *marathon.VersionInfo
}

// changeSpec is what a handler wants changed, built from the read model.
type changeSpec struct {
	ops []appOp
	// group is the group the change went to, for group_change_success.
	group string
	// posted publishes api_post_event for every app written.
	posted bool
}

// stagedChange is a change ready to write: the ops with their new
// versions, and the deployment record that carries it out.
type stagedChange struct {
	changeSpec
	deployment events.Deployment
	// locks are the running deployments of the affected apps.
	locks []string
}

// errRetry is a compare-and-set lost on an app: rebuild the change.
type errRetry struct{ key string }

func (e *errRetry) Error() string { return "api: app " + e.key + " changed concurrently" }

// change builds a change from the read model, checks the deployment locks,
// writes it by compare-and-set and records its deployment. A lost race
// rebuilds it from the state that won, so a concurrent update is either
// applied after the other or refused, never lost. With force, the running
// deployments of the affected apps are cancelled (their records deleted).
func (s *changeWriter) change(c echo.Context, force bool, build changeBuild) (*stagedChange, error) {
	ctx := c.Request().Context()
	for range changeAttempts {
		p, err := s.stage(build)
		if err != nil {
			return nil, err
		}
		if err := s.checkLocks(ctx, p, force); err != nil {
			return nil, err
		}
		err = s.commit(ctx, c, p)
		var retry *errRetry
		if !errors.As(err, &retry) {
			return p, err
		}
		if err := s.catchUpOn(ctx, retry.key); err != nil {
			return nil, err
		}
	}
	return nil, &apierr.ConflictError{Message: "The app is being changed by other requests; try again."}
}

// stage builds a change from the read model and stages it, without
// writing anything: change writes what it stages, a dry run shows it.
func (s *changeWriter) stage(build changeBuild) (*stagedChange, error) {
	var (
		p   *stagedChange
		err error
	)
	now := s.now()
	s.rm.Read(func(st *readmodel.State) {
		var spec *changeSpec
		if spec, err = build(st); err == nil {
			p, err = stageChange(st, spec, now)
		}
	})
	return p, err
}

// catchUpOn waits until the read model shows the apps bucket's current
// entry for key (after a lost compare-and-set).
func (s *changeWriter) catchUpOn(ctx context.Context, key string) error {
	var rev uint64
	entry, err := s.bus.Apps.Get(ctx, key)
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
		rev = readmodel.LastSeq(ctx, s.bus.Apps)
	case err != nil:
		return fmt.Errorf("api: read app %s: %w", key, err)
	default:
		rev = entry.Revision()
	}
	wctx, cancel := context.WithTimeout(ctx, s.syncTimeout)
	defer cancel()
	return s.rm.CaughtUp(wctx, events.BucketApps, rev)
}

// stageChange stamps the new definitions with the change's version and
// plans its deployment. Called with the read lock held.
func stageChange(st *readmodel.State, spec *changeSpec, now time.Time) (*stagedChange, error) {
	if deployplan.Cyclic(planApps{st}, planChanges(spec.ops, nil)) {
		return nil, &apierr.ValidationError{Details: []marathon.FieldError{{Path: "/", Errors: []string{msgCycle}}}}
	}
	// A version is a timestamp; it must move forward for every app changed.
	at := now
	for _, op := range spec.ops {
		if op.prev == nil {
			continue
		}
		if t, err := time.Parse(events.TimeFormat, op.prev.Rec.App.Version); err == nil && !at.After(t) {
			at = t.Add(time.Millisecond)
		}
	}
	version := view.FormatTime(at)
	p := &stagedChange{changeSpec: *spec}
	p.deployment = events.Deployment{
		V: events.Version, ID: uuid.NewString(), Version: version, CreatedAt: now,
		Steps: [][]events.DeploymentAction{},
	}
	actions := map[string]string{}
	locked := map[string]bool{}
	for i := range p.ops {
		op := &p.ops[i]
		if op.next != nil {
			op.next.ID = op.id
			op.next.Version = version
			op.next.VersionInfo = newVersionInfo(op, version)
		}
		actions[op.id] = action(op)
		p.deployment.AffectedApps = append(p.deployment.AffectedApps, op.id)
		for d := range st.DepsByApp[op.id] {
			if !locked[d] {
				p.locks = append(p.locks, d)
				locked[d] = true
			}
		}
	}
	slices.Sort(p.locks)
	p.deployment.Steps = deployplan.Steps(planApps{st}, planChanges(p.ops, actions))
	if err := p.checkSizes(); err != nil {
		return nil, err
	}
	return p, nil
}

// checkSizes refuses, before anything is written, a change whose app or
// deployment records would pass marathon.MaxRecordBytes: NATS would refuse
// them (a 500), or take them and choke the scheduler and the agents.
func (p *stagedChange) checkSizes() error {
	var details []marathon.FieldError
	for _, op := range p.ops {
		if op.next == nil {
			continue
		}
		data, err := events.Encode(events.AppRecord{V: events.Version, App: *op.next, DeploymentID: p.deployment.ID})
		if err != nil {
			return err
		}
		if len(data) > marathon.MaxRecordBytes {
			path := "/"
			if len(p.ops) > 1 {
				path = op.id
			}
			details = append(details, marathon.FieldError{Path: path, Errors: []string{marathon.MsgRecordTooLarge}})
		}
	}
	if len(details) > 0 {
		return &apierr.ValidationError{Details: details}
	}
	data, err := events.Encode(p.deployment)
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
func newVersionInfo(op *appOp, version string) *marathon.VersionInfo {
	if op.versionInfo != nil {
		vi := *op.versionInfo
		vi.LastScalingAt = version
		return &vi
	}
	if op.prev == nil || op.restart || configChanged(&op.prev.Rec.App, op.next) {
		return &marathon.VersionInfo{LastScalingAt: version, LastConfigChangeAt: version}
	}
	vi := marathon.VersionInfo{LastScalingAt: version, LastConfigChangeAt: op.prev.Rec.App.Version}
	if prev := op.prev.Rec.App.VersionInfo; prev != nil && prev.LastConfigChangeAt != "" {
		vi.LastConfigChangeAt = prev.LastConfigChangeAt
	}
	return &vi
}

// configChanged reports whether two definitions differ in more than their
// instances (and versions).
func configChanged(a, b *marathon.App) bool {
	return !bytes.Equal(configJSON(a), configJSON(b))
}

func configJSON(a *marathon.App) []byte {
	c := *a
	c.Instances, c.Version, c.VersionInfo = nil, "", nil
	data, _ := json.Marshal(c)
	return data
}

// action is the deployment action an op needs; "" for none.
func action(op *appOp) string {
	switch {
	case op.next == nil:
		return events.ActionStop
	case op.prev == nil:
		return events.ActionStart
	case op.restart || (op.versionInfo != nil && op.versionInfo.LastConfigChangeAt != deployplan.ConfigVersion(&op.prev.Rec.App)) ||
		(op.versionInfo == nil && configChanged(&op.prev.Rec.App, op.next)):
		return events.ActionRestart
	case instances(&op.prev.Rec.App) != instances(op.next):
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
func planChanges(ops []appOp, actions map[string]string) []deployplan.Change {
	out := make([]deployplan.Change, len(ops))
	for i, op := range ops {
		out[i] = deployplan.Change{ID: op.id, Next: op.next, Action: actions[op.id]}
	}
	return out
}

// changeBuild builds a change from the read model (called with its read
// lock held; it may be called again after a lost compare-and-set).
type changeBuild func(st *readmodel.State) (*changeSpec, error)

// result is Marathon's answer to a change.
func (p *stagedChange) result() changeResult {
	return changeResult{DeploymentID: p.deployment.ID, Version: p.deployment.Version}
}

// changeResult is Marathon's answer to a change: the deployment it started
// and the version it made.
type changeResult struct {
	DeploymentID string `json:"deploymentId"`
	Version      string `json:"version"`
}

// msgCycle is Marathon's refusal of a dependency cycle.
const msgCycle = "Dependency graph has cyclic dependencies."

// instances is an app's instances, 0 when unset.
func instances(a *marathon.App) int {
	if a.Instances == nil {
		return 0
	}
	return *a.Instances
}

// changeWriter makes changes: it writes them to the buckets, records their
// deployments and announces them on the events stream.
type changeWriter struct {
	bus         *natsbus.Bus
	rm          *readmodel.Model
	logger      *slog.Logger
	syncTimeout time.Duration // bounds each wait for the read model
	now         func() time.Time
}
