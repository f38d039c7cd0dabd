package api

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"

	"github.com/drover/drover/internal/natsutil"
	"github.com/drover/drover/pkg/deployplan"
	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/marathon"
	"github.com/drover/drover/services/api/readmodel"
	"github.com/labstack/echo/v4"
	"github.com/nats-io/nats.go/jetstream"
)

// DeploymentNotFoundError is a request for a deployment that is not running.
type DeploymentNotFoundError struct{ ID string }

func (e *DeploymentNotFoundError) Error() string {
	return fmt.Sprintf("DeploymentPlan %s does not exist", e.ID)
}

// msgCycle is Marathon's refusal of a dependency cycle.
const msgCycle = "Dependency graph has cyclic dependencies."

// deploymentJSON is a running deployment as GET /v2/deployments shows it.
type deploymentJSON struct {
	ID             string          `json:"id"`
	Version        string          `json:"version"`
	AffectedApps   []string        `json:"affectedApps"`
	AffectedPods   []string        `json:"affectedPods"`
	Steps          []stepJSON      `json:"steps"`
	CurrentActions []currentAction `json:"currentActions"`
	CurrentStep    int             `json:"currentStep"`
	TotalSteps     int             `json:"totalSteps"`
}

type stepJSON struct {
	Actions []events.DeploymentAction `json:"actions"`
}

type currentAction struct {
	Action                string           `json:"action"`
	App                   string           `json:"app"`
	ReadinessCheckResults []readinessCheck `json:"readinessCheckResults"`
}

// readinessCheck is Marathon's readiness check result of one task. Drover's
// agents report a verdict only, so lastResponse is null.
type readinessCheck struct {
	Name         string `json:"name"`
	TaskID       string `json:"taskId"`
	Ready        bool   `json:"ready"`
	LastResponse any    `json:"lastResponse"`
}

// listDeployments is GET /v2/deployments: the running deployments, oldest first.
func (s *Server) listDeployments(c echo.Context) error {
	if err := s.awaitReady(c); err != nil {
		return err
	}
	out := []deploymentJSON{}
	s.rm.Read(func(st *readmodel.State) {
		ds := make([]events.Deployment, 0, len(st.Deployments))
		for _, d := range st.Deployments {
			ds = append(ds, d)
		}
		slices.SortFunc(ds, func(a, b events.Deployment) int {
			return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
		})
		for _, d := range ds {
			out = append(out, newDeploymentJSON(st, d))
		}
	})
	return writeJSON(c, http.StatusOK, out)
}

func newDeploymentJSON(st *readmodel.State, d events.Deployment) deploymentJSON {
	j := deploymentJSON{
		ID: d.ID, Version: d.Version, AffectedApps: append([]string{}, d.AffectedApps...), AffectedPods: []string{},
		Steps: []stepJSON{}, CurrentActions: []currentAction{}, TotalSteps: len(d.Steps),
	}
	for _, step := range d.Steps {
		j.Steps = append(j.Steps, stepJSON{Actions: append([]events.DeploymentAction{}, step...)})
	}
	if len(d.Steps) == 0 {
		return j
	}
	cur := min(max(d.CurrentStep, 0), len(d.Steps)-1)
	j.CurrentStep = cur + 1 // Marathon counts steps from 1
	for _, a := range d.Steps[cur] {
		j.CurrentActions = append(j.CurrentActions, currentAction{
			Action: a.Action, App: a.App, ReadinessCheckResults: readinessResults(st, a.App),
		})
	}
	return j
}

// readinessResults are the readiness verdicts of an app's current tasks.
func readinessResults(st *readmodel.State, appID string) []readinessCheck {
	out := []readinessCheck{}
	e, ok := st.Apps[appID]
	if !ok || len(e.Rec.App.ReadinessChecks) == 0 {
		return out
	}
	var first struct {
		Name string `json:"name"`
	}
	_ = json.Unmarshal(e.Rec.App.ReadinessChecks[0], &first)
	if first.Name == "" {
		first.Name = "readinessCheck"
	}
	version := deployplan.ConfigVersion(&e.Rec.App)
	for _, in := range st.AppInstances(appID) {
		if in.Ready == nil || in.Version != version || in.State.Terminal() {
			continue
		}
		out = append(out, readinessCheck{Name: first.Name, TaskID: in.TaskID, Ready: *in.Ready})
	}
	return out
}

// deleteDeployment is DELETE /v2/deployments/{id}: with force=true it only
// cancels the deployment (202); otherwise it starts a deployment that
// rolls its apps back to what they were before it (200, change result).
func (s *Server) deleteDeployment(c echo.Context) error {
	force, err := boolParam(c, "force", false)
	if err != nil {
		return err
	}
	if err := s.awaitReady(c); err != nil {
		return err
	}
	id := c.Param("id")
	var (
		d     events.Deployment
		found bool
	)
	s.rm.Read(func(st *readmodel.State) { d, found = st.Deployments[id] })
	if !found {
		return &DeploymentNotFoundError{ID: id}
	}
	ctx := c.Request().Context()
	if force {
		if err := s.bus.Deployments.Delete(ctx, id); err != nil {
			return fmt.Errorf("api: cancel deployment %s: %w", id, err)
		}
		s.logger.Info("deployment cancelled", "deployment", id)
		s.awaitWrites(ctx, map[string]uint64{events.BucketDeployments: s.lastSeq(ctx, s.bus.Deployments)})
		return c.NoContent(http.StatusAccepted)
	}
	originals, err := s.originals(c, d)
	if err != nil {
		return err
	}
	p, err := s.change(c, true, func(st *readmodel.State) (*changeSpec, error) {
		spec := &changeSpec{group: "/"}
		for _, appID := range d.AffectedApps {
			orig, restore := originals[appID]
			cur, exists := st.Apps[appID]
			var prev *readmodel.AppEntry
			if exists {
				prev = &cur
			}
			switch {
			case restore && orig != nil:
				next := *orig
				vi := deref(orig.VersionInfo)
				spec.ops = append(spec.ops, appOp{id: appID, prev: prev, next: &next, versionInfo: &vi})
			case restore && exists: // the deployment created it
				spec.ops = append(spec.ops, appOp{id: appID, prev: prev})
			}
		}
		if len(spec.ops) == 0 {
			return nil, &ConflictError{Message: fmt.Sprintf("Deployment %s has nothing to roll back.", id)}
		}
		return spec, nil
	})
	if err != nil {
		return err
	}
	return answerChange(c, p)
}

// originals are the definitions a deployment's apps had before it, read
// from the apps bucket's history: nil for an app the deployment created.
// An app missing from the map has nothing to roll back.
func (s *Server) originals(c echo.Context, d events.Deployment) (map[string]*marathon.App, error) {
	revs := map[string]uint64{} // 0: the app did not exist
	s.rm.Read(func(st *readmodel.State) {
		for _, appID := range d.AffectedApps {
			vs := st.Versions[appID]
			if vs == nil {
				continue
			}
			i := slices.IndexFunc(vs.Refs, func(r readmodel.VersionRef) bool { return r.DeploymentID == d.ID })
			switch {
			case i > 0:
				revs[appID] = vs.Refs[i-1].Rev
			case i == 0:
				revs[appID] = 0
			case vs.Gone && len(vs.Refs) > 0: // the deployment deleted it
				revs[appID] = vs.Refs[len(vs.Refs)-1].Rev
			}
		}
	})
	out := map[string]*marathon.App{}
	for appID, rev := range revs {
		if rev == 0 {
			out[appID] = nil
			continue
		}
		app, err := s.appAtRevision(c, appID, rev)
		if err != nil {
			return nil, err
		}
		out[appID] = app
	}
	return out, nil
}

// appAtRevision reads one stored version of an app from the apps bucket.
func (s *Server) appAtRevision(c echo.Context, appID string, rev uint64) (*marathon.App, error) {
	entry, err := s.bus.Apps.GetRevision(c.Request().Context(), events.AppKey(appID), rev)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, &AppNotFoundError{ID: appID}
	}
	if err != nil {
		return nil, fmt.Errorf("api: read app %s at revision %d: %w", appID, rev, err)
	}
	rec, err := events.Decode[events.AppRecord](entry.Value())
	if err != nil {
		return nil, fmt.Errorf("api: app %s at revision %d: %w", appID, rev, err)
	}
	rec.App.ID = appID
	return &rec.App, nil
}

// boolParam reads a boolean query parameter; a malformed one is a 400.
func boolParam(c echo.Context, name string, def bool) (bool, error) {
	v := c.QueryParam(name)
	if v == "" {
		return def, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, echo.NewHTTPError(http.StatusBadRequest,
			fmt.Sprintf("Query parameter '%s' must be true or false, got '%s'", name, v))
	}
	return b, nil
}

// lastSeq is a bucket's last stream sequence: at least the revision of
// any write just made to it (a delete's revision is not returned).
func (s *Server) lastSeq(ctx context.Context, kv jetstream.KeyValue) uint64 {
	seq, err := natsutil.LastRevision(ctx, kv)
	if err != nil {
		return 0
	}
	return seq
}
