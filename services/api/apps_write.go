package api

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/drover/drover/pkg/marathon"
	"github.com/drover/drover/services/api/apierr"
	"github.com/drover/drover/services/api/change"
	"github.com/drover/drover/services/api/readmodel"
	"github.com/drover/drover/services/api/view"
	"github.com/labstack/echo/v4"
)

// HeaderDeploymentID carries the id of the deployment a change started.
const HeaderDeploymentID = "Marathon-Deployment-Id"

// msgVersionAlone is Marathon's refusal of a version (a rollback) mixed
// with other changes.
const msgVersionAlone = "The 'version' field may only be combined with the 'id' field."

// createApp is POST /v2/apps: validate, then create the app with KV
// Create and the deployment that starts it; 201 with the app echoed.
func (s *Server) createApp(c echo.Context) error {
	return s.writeChange(c, false, func() (*changeRequest, error) {
		data, err := readBody(c, s.cfg.BodyLimit)
		if err != nil {
			return nil, err
		}
		b, err := decodeAppBody(bytes.TrimSpace(data))
		if err != nil {
			return nil, err
		}
		if !b.has("id") || string(b.fields["id"]) == "null" {
			return nil, &apierr.InvalidJSONError{Details: []marathon.FieldError{{Path: "/id", Errors: []string{"error.path.missing"}}}}
		}
		id, err := normalizeAppID(b.app.ID)
		if err != nil {
			return nil, err
		}
		app, err := fresh(b, id)
		if err != nil {
			return nil, err
		}
		return &changeRequest{build: func(st *readmodel.State) (*change.Spec, error) {
			if _, ok := st.Apps[id]; ok {
				return nil, &apierr.AppExistsError{ID: id}
			}
			if err := idClash(st, id); err != nil {
				return nil, err
			}
			next := *app
			return &change.Spec{Ops: []change.Op{{ID: id, Next: &next, MustBeNew: true}}, Group: marathon.ParentID(id), Posted: true}, nil
		}, answer: func(p *change.Staged) (int, string, any) {
			tasks := []view.Task{}
			return http.StatusCreated, "/v2/apps" + id, view.AppResponse{
				App: *p.Ops[0].Next, Deployments: []view.DeploymentRef{{ID: p.Deployment.ID}}, Tasks: &tasks,
			}
		}}, nil
	})
}

// updateMode says how PUT and PATCH treat a body.
type updateMode struct {
	partial     bool // merge into the existing app (else replace it)
	allowCreate bool // an unknown app is created (PUT) rather than a 404 (PATCH)
}

// of reads PUT's ?partialUpdate (true unless false); PATCH always merges.
func (m updateMode) of(c echo.Context) (updateMode, error) {
	if !m.allowCreate {
		return m, nil
	}
	var err error
	m.partial, err = boolParam(c, "partialUpdate", true)
	return m, err
}

// updateOp is the op a body makes of the app it names, as it is now. A
// rollback body (only id and version) restores a stored version, read
// beforehand into rollbacks.
func updateOp(st *readmodel.State, id string, b *appBody, mode updateMode, rollbacks map[string]*marathon.App) (change.Op, error) {
	op := change.Op{ID: id}
	if e, ok := st.Apps[id]; ok {
		op.Prev = &e
	}
	if target, ok := rollbacks[id]; ok {
		if op.Prev == nil {
			return op, &apierr.AppNotFoundError{ID: id}
		}
		next := *target
		vi := deref(target.VersionInfo)
		op.Next, op.VersionInfo = &next, &vi
		return op, nil
	}
	var err error
	switch {
	case op.Prev == nil && !mode.allowCreate:
		return op, &apierr.AppNotFoundError{ID: id}
	case op.Prev == nil:
		if err := idClash(st, id); err != nil {
			return op, err
		}
		op.Next, err = fresh(b, id)
	case !mode.partial:
		op.Next, err = fresh(b, id)
	default:
		op.Next, err = merged(&op.Prev.Rec.App, b, id)
	}
	return op, err
}

// rollbackTargets reads, for every rollback body, the version it names.
func (s *Server) rollbackTargets(c echo.Context, ids []string, bodies []*appBody) (map[string]*marathon.App, error) {
	out := map[string]*marathon.App{}
	for i, b := range bodies {
		version, err := b.rollbackVersion()
		if err != nil {
			return nil, err
		}
		if version == "" {
			continue
		}
		app, err := s.appAtVersion(c, ids[i], version)
		if err != nil {
			return nil, err
		}
		out[ids[i]] = app
	}
	return out, nil
}

// updateApp is PUT and PATCH /v2/apps/{id}: PUT creates (201) or updates
// (200), merging the body into the app unless partialUpdate=false; PATCH
// only updates, always merging. A body of only id and version rolls back.
func (s *Server) updateApp(c echo.Context, raw string, mode updateMode) error {
	return s.writeChange(c, false, func() (*changeRequest, error) {
		mode, err := mode.of(c)
		if err != nil {
			return nil, err
		}
		id, err := pathAppID(raw)
		if err != nil {
			return nil, err
		}
		data, err := readBody(c, s.cfg.BodyLimit)
		if err != nil {
			return nil, err
		}
		b, err := decodeAppBody(bytes.TrimSpace(data))
		if err != nil {
			return nil, err
		}
		if err := s.awaitReady(c); err != nil {
			return nil, err
		}
		rollbacks, err := s.rollbackTargets(c, []string{id}, []*appBody{b})
		if err != nil {
			return nil, err
		}
		created := false
		return &changeRequest{build: func(st *readmodel.State) (*change.Spec, error) {
			op, err := updateOp(st, id, b, mode, rollbacks)
			if err != nil {
				return nil, err
			}
			created = op.Prev == nil
			return &change.Spec{Ops: []change.Op{op}, Group: marathon.ParentID(id), Posted: true}, nil
		}, answer: func(p *change.Staged) (int, string, any) {
			if created {
				return http.StatusCreated, "/v2/apps" + id, p.Result()
			}
			return http.StatusOK, "", p.Result()
		}}, nil
	})
}

// updateApps is PUT and PATCH /v2/apps: an array of (partial) definitions,
// each with its id, changed in one deployment; 200 with its change result.
func (s *Server) updateApps(c echo.Context, mode updateMode) error {
	return s.writeChange(c, false, func() (*changeRequest, error) {
		mode, err := mode.of(c)
		if err != nil {
			return nil, err
		}
		data, err := readBody(c, s.cfg.BodyLimit)
		if err != nil {
			return nil, err
		}
		bodies, err := decodeAppList(bytes.TrimSpace(data))
		if err != nil {
			return nil, err
		}
		ids, err := bodyIDs(bodies)
		if err != nil {
			return nil, err
		}
		if err := s.awaitReady(c); err != nil {
			return nil, err
		}
		rollbacks, err := s.rollbackTargets(c, ids, bodies)
		if err != nil {
			return nil, err
		}
		return &changeRequest{build: func(st *readmodel.State) (*change.Spec, error) {
			spec := &change.Spec{Group: "/", Posted: true}
			for i, b := range bodies {
				op, err := updateOp(st, ids[i], b, mode, rollbacks)
				if err != nil {
					return nil, prefixDetails(err, i)
				}
				spec.Ops = append(spec.Ops, op)
			}
			return spec, nil
		}}, nil
	})
}

// bodyIDs are the ids of the bodies of PUT and PATCH /v2/apps, which must
// all name one, each a different one.
func bodyIDs(bodies []*appBody) ([]string, error) {
	ids := make([]string, len(bodies))
	seen := map[string]bool{}
	for i, b := range bodies {
		id, err := b.bodyID()
		if err != nil {
			return nil, prefixDetails(err, i)
		}
		if id == "" {
			return nil, &apierr.InvalidJSONError{Details: []marathon.FieldError{{Path: fmt.Sprintf("/%d/id", i), Errors: []string{"error.path.missing"}}}}
		}
		if seen[id] {
			return nil, &apierr.ValidationError{Details: []marathon.FieldError{{Path: "/", Errors: []string{"Application ids must be unique."}}}}
		}
		ids[i], seen[id] = id, true
	}
	if len(bodies) == 0 {
		return nil, &apierr.ValidationError{Details: []marathon.FieldError{{Path: "/", Errors: []string{"must not be empty"}}}}
	}
	return ids, nil
}

// prefixDetails puts the index of an app in a list before its error paths.
func prefixDetails(err error, i int) error {
	var invalid *apierr.ValidationError
	if errors.As(err, &invalid) {
		details := make([]marathon.FieldError, len(invalid.Details))
		for j, d := range invalid.Details {
			details[j] = marathon.FieldError{Path: fmt.Sprintf("/%d%s", i, strings.TrimSuffix(d.Path, "/")), Errors: d.Errors}
		}
		return &apierr.ValidationError{Details: details}
	}
	return err
}

// deleteApp is DELETE /v2/apps/{id}: delete the app's key at the revision
// read (compare-and-set), and record the deployment that stops it. Its
// force defaults to true, as in Marathon.
func (s *Server) deleteApp(c echo.Context, raw string) error {
	return s.writeAppChange(c, raw, true, func(st *readmodel.State, id string) (*change.Spec, error) {
		e, ok := st.Apps[id]
		if !ok {
			return nil, &apierr.AppNotFoundError{ID: id}
		}
		return &change.Spec{Ops: []change.Op{{ID: id, Prev: &e}}, Group: marathon.ParentID(id)}, nil
	})
}

// restartApp is POST /v2/apps/{id}/restart: a new version whose
// lastConfigChangeAt moves, so that every task is replaced.
func (s *Server) restartApp(c echo.Context, raw string) error {
	return s.writeAppChange(c, raw, false, func(st *readmodel.State, id string) (*change.Spec, error) {
		e, ok := st.Apps[id]
		if !ok {
			return nil, &apierr.AppNotFoundError{ID: id}
		}
		next := e.Rec.App
		return &change.Spec{Ops: []change.Op{{ID: id, Prev: &e, Next: &next, Restart: true}}, Group: marathon.ParentID(id)}, nil
	})
}

// idClash refuses a new app whose id is a group's (apps lie under it) or
// lies under another app: Marathon's groups and apps share one namespace.
func idClash(st *readmodel.State, id string) error {
	clash := ""
	if len(st.AppsUnder(id)) > 0 {
		clash = id
	}
	for p := marathon.ParentID(id); clash == "" && p != "/"; p = marathon.ParentID(p) {
		if _, ok := st.Apps[p]; ok {
			clash = p
		}
	}
	if clash == "" {
		return nil
	}
	return &apierr.ValidationError{Details: []marathon.FieldError{{Path: "/id", Errors: []string{
		"Groups and Applications may not have the same identifier: " + clash}}}}
}
