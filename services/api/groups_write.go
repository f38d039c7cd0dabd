package api

import (
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"

	"github.com/drover/drover/pkg/marathon"
	"github.com/drover/drover/services/api/apierr"
	"github.com/drover/drover/services/api/change"
	"github.com/drover/drover/services/api/readmodel"
	"github.com/labstack/echo/v4"
)

// groupPOST is POST /v2/groups[/{id}]: create a group and its apps; 409
// when it exists. 201 with the change result.
func (s *Server) groupPOST(c echo.Context) error {
	return s.writeChange(c, false, func() (*changeRequest, error) {
		id, g, err := s.groupPathAndBody(c)
		if err != nil {
			return nil, err
		}
		if id == "/" {
			return nil, &apierr.GroupExistsError{ID: id}
		}
		t, err := g.target(id, "")
		if err != nil {
			return nil, err
		}
		return &changeRequest{build: func(st *readmodel.State) (*change.Spec, error) {
			if len(st.AppsUnder(id)) > 0 {
				return nil, &apierr.GroupExistsError{ID: id}
			}
			if _, ok := st.Apps[id]; ok {
				return nil, &apierr.GroupExistsError{ID: id}
			}
			return &change.Spec{Ops: groupOps(st, id, t), Group: id, Posted: true}, nil
		}, answer: func(p *change.Staged) (int, string, any) {
			return http.StatusCreated, "/v2/groups" + id, p.Result()
		}}, nil
	})
}

// groupPUT is PUT /v2/groups[/{id}]?force&dryRun: change (or create) a
// group. A body of only version rolls the group's apps back to it; one of
// only scaleBy scales them all; dryRun answers the plan's steps instead.
func (s *Server) groupPUT(c echo.Context) error {
	return s.writeChange(c, false, func() (*changeRequest, error) {
		dryRun, err := boolParam(c, "dryRun", false)
		if err != nil {
			return nil, err
		}
		id, g, err := s.groupPathAndBody(c)
		if err != nil {
			return nil, err
		}
		if err := s.awaitReady(c); err != nil {
			return nil, err
		}
		var build change.Build
		switch {
		case g.Version != nil && g.Apps == nil && g.Groups == nil && g.ScaleBy == nil:
			// A rollback. A version beside apps or groups (a group read back
			// from GET, as in Marathon's own group.json example) is ignored.
			build, err = s.groupRollback(c, id, *g.Version)
		case g.ScaleBy != nil:
			build, err = groupScale(id, g)
		default:
			build, err = groupReplace(id, g)
		}
		if err != nil {
			return nil, err
		}
		return &changeRequest{build: build, dryRun: dryRun}, nil
	})
}

// groupRollback builds the change that rolls a group's apps back to a
// version of the group.
func (s *Server) groupRollback(c echo.Context, id, version string) (change.Build, error) {
	targets, err := s.groupApps(c, id, normalizeVersion(version))
	if err != nil {
		return nil, err
	}
	return func(st *readmodel.State) (*change.Spec, error) {
		spec := &change.Spec{Group: id}
		for appID, target := range targets {
			e, ok := st.Apps[appID]
			if !ok {
				continue
			}
			op := change.Op{ID: appID, Prev: &e}
			if target != nil {
				if target.Version == e.Rec.App.Version {
					continue
				}
				next := *target
				vi := deref(target.VersionInfo)
				op.Next, op.VersionInfo = &next, &vi
			}
			spec.Ops = append(spec.Ops, op)
		}
		slices.SortFunc(spec.Ops, func(a, b change.Op) int { return strings.Compare(a.ID, b.ID) })
		return spec, nil
	}, nil
}

// groupScale builds the change that scales a group's apps by a body's
// scaleBy, which must come alone (beside the id).
func groupScale(id string, g *groupBody) (change.Build, error) {
	for k := range g.fields {
		if k != "scaleBy" && k != "id" {
			return nil, &apierr.ValidationError{Details: []marathon.FieldError{{Path: "/scaleBy", Errors: []string{"scaleBy may only be combined with the 'id' field."}}}}
		}
	}
	factor := *g.ScaleBy
	if factor < 0 || math.IsNaN(factor) || math.IsInf(factor, 0) {
		return nil, &apierr.ValidationError{Details: []marathon.FieldError{{Path: "/scaleBy", Errors: []string{gotMinMsg(factor)}}}}
	}
	return func(st *readmodel.State) (*change.Spec, error) {
		apps := st.AppsUnder(id)
		if len(apps) == 0 {
			return nil, &apierr.GroupNotFoundError{ID: id}
		}
		spec := &change.Spec{Group: id}
		for _, e := range apps {
			next := e.Rec.App
			n := int(math.Ceil(float64(deref(next.Instances)) * factor))
			next.Instances = &n
			spec.Ops = append(spec.Ops, change.Op{ID: e.Rec.App.ID, Prev: &e, Next: &next})
		}
		return spec, nil
	}, nil
}

// groupReplace builds the change that makes a group what a body describes.
func groupReplace(id string, g *groupBody) (change.Build, error) {
	t, err := g.target(id, "")
	if err != nil {
		return nil, err
	}
	return func(st *readmodel.State) (*change.Spec, error) {
		if _, ok := st.Apps[id]; ok {
			return nil, &apierr.ValidationError{Details: []marathon.FieldError{{Path: "/id", Errors: []string{
				fmt.Sprintf("Groups and Applications may not have the same identifier: %s", id)}}}}
		}
		return &change.Spec{Ops: groupOps(st, id, t), Group: id, Posted: true}, nil
	}, nil
}

func gotMinMsg(f float64) string { return fmt.Sprintf("got %v, expected 0.0 or more", f) }

// groupDELETE is DELETE /v2/groups[/{id}]?force: delete every app under
// the group (the root: every app); 200 with the change result.
func (s *Server) groupDELETE(c echo.Context) error {
	return s.writeChange(c, false, func() (*changeRequest, error) {
		raw := wildcardPath(c)
		id, err := groupID(raw, "/")
		if err != nil {
			return nil, &apierr.GroupNotFoundError{ID: "/" + raw}
		}
		return &changeRequest{build: func(st *readmodel.State) (*change.Spec, error) {
			apps := st.AppsUnder(id)
			if len(apps) == 0 && id != "/" {
				return nil, &apierr.GroupNotFoundError{ID: id}
			}
			spec := &change.Spec{Group: id}
			for _, e := range apps {
				spec.Ops = append(spec.Ops, change.Op{ID: e.Rec.App.ID, Prev: &e})
			}
			return spec, nil
		}}, nil
	})
}
