package api

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"

	"github.com/drover/drover/pkg/deployplan"
	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/marathon"
	"github.com/drover/drover/services/api/apierr"
	"github.com/drover/drover/services/api/change"
	"github.com/drover/drover/services/api/readmodel"
	"github.com/drover/drover/services/api/view"
	"github.com/labstack/echo/v4"
	"github.com/nats-io/nats.go/jetstream"
)

// listDeployments is GET /v2/deployments: the running deployments, oldest first.
func (s *Server) listDeployments(c echo.Context) error {
	if err := s.awaitReady(c); err != nil {
		return err
	}
	out := []view.Deployment{}
	s.rm.Read(func(st *readmodel.State) {
		ds := make([]events.Deployment, 0, len(st.Deployments))
		for _, d := range st.Deployments {
			ds = append(ds, d)
		}
		slices.SortFunc(ds, func(a, b events.Deployment) int {
			return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
		})
		for _, d := range ds {
			out = append(out, view.NewDeployment(st, d))
		}
	})
	return writeJSON(c, http.StatusOK, out)
}

// deleteDeployment is DELETE /v2/deployments/{id}: with force=true it only
// cancels the deployment (202; Cancel publishes its deployment_failed);
// otherwise it starts a deployment that
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
		return &apierr.DeploymentNotFoundError{ID: id}
	}
	ctx := c.Request().Context()
	if force {
		var root *events.Group // light, unless someone receives full plans
		demand := s.fullPlans()
		s.rm.Read(func(st *readmodel.State) {
			if deployplan.Full(d, demand, len(st.Apps)) {
				root = change.RootOf(st)
			}
		})
		cancelled, err := s.changes.Cancel(ctx, id, root)
		if err != nil {
			return err
		}
		// Not cancelled: the scheduler finished it meanwhile.
		s.logger.Info("deployment cancelled", "deployment", id, "cancelled", cancelled)
		s.changes.AwaitWrites(ctx, map[string]uint64{events.BucketDeployments: readmodel.LastSeq(ctx, s.bus.Deployments)})
		return c.NoContent(http.StatusAccepted)
	}
	originals, err := s.originals(c, d)
	if err != nil {
		return err
	}
	p, err := s.change(c, true, func(st *readmodel.State) (*change.Spec, error) {
		spec := &change.Spec{Group: "/"}
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
				spec.Ops = append(spec.Ops, change.Op{ID: appID, Prev: prev, Next: &next, VersionInfo: &vi})
			case restore && exists: // the deployment created it
				spec.Ops = append(spec.Ops, change.Op{ID: appID, Prev: prev})
			}
		}
		if len(spec.Ops) == 0 {
			return nil, &apierr.ConflictError{Message: fmt.Sprintf("Deployment %s has nothing to roll back.", id)}
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
		return nil, &apierr.AppNotFoundError{ID: appID}
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
