package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"strings"

	"github.com/drover/drover/pkg/marathon"
	"github.com/drover/drover/services/api/readmodel"
	"github.com/labstack/echo/v4"
)

// HeaderDeploymentID carries the id of the deployment a change started.
const HeaderDeploymentID = "Marathon-Deployment-Id"

// msgVersionAlone is Marathon's refusal of a version (a rollback) mixed
// with other changes.
const msgVersionAlone = "The 'version' field may only be combined with the 'id' field."

// ConflictError is a write that lost a race with another one: 409.
type ConflictError struct{ Message string }

func (e *ConflictError) Error() string { return e.Message }

// changeResult is Marathon's answer to a change: the deployment it started
// and the version it made.
type changeResult struct {
	DeploymentID string `json:"deploymentId"`
	Version      string `json:"version"`
}

// appBody is an app definition as a request sent it: decoded, and as raw
// top-level fields, for merging into the app it updates.
type appBody struct {
	app    marathon.App
	fields map[string]json.RawMessage
}

// decodeAppBody decodes one app definition. JSON that is malformed, not an
// object, or of the wrong types is an *InvalidJSONError (400).
func decodeAppBody(data []byte) (*appBody, error) {
	var b appBody
	if err := decodeJSON(data, &b.app); err != nil {
		return nil, err
	}
	if err := decodeJSON(data, &b.fields); err != nil {
		return nil, err
	}
	return &b, nil
}

// decodeAppList decodes the array body of PUT and PATCH /v2/apps.
func decodeAppList(data []byte) ([]*appBody, error) {
	var raws []json.RawMessage
	if err := decodeJSON(data, &raws); err != nil {
		return nil, err
	}
	out := make([]*appBody, 0, len(raws))
	for i, raw := range raws {
		b, err := decodeAppBody(raw)
		if err != nil {
			var bad *InvalidJSONError
			if errors.As(err, &bad) {
				for j := range bad.Details {
					bad.Details[j].Path = fmt.Sprintf("/%d%s", i, strings.TrimSuffix(bad.Details[j].Path, "/"))
				}
			}
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

// has reports whether the body set a top-level field (null counts as set).
func (b *appBody) has(field string) bool { _, ok := b.fields[field]; return ok }

// rollbackVersion is the version a body of only id and version rolls back
// to; "" when it is no rollback. A version with other fields is a 422.
func (b *appBody) rollbackVersion() (string, error) {
	if !b.has("version") {
		return "", nil
	}
	for k := range b.fields {
		if k != "id" && k != "version" {
			return "", &ValidationError{Details: []marathon.FieldError{{Path: "/version", Errors: []string{msgVersionAlone}}}}
		}
	}
	var v string
	if err := json.Unmarshal(b.fields["version"], &v); err != nil || v == "" {
		return "", &InvalidJSONError{Details: []marathon.FieldError{{Path: "/version", Errors: []string{"error.expected.jsstring"}}}}
	}
	return v, nil
}

// bodyID is the normalised id a body names, "" when it names none.
func (b *appBody) bodyID() (string, error) {
	if !b.has("id") || b.app.ID == "" {
		return "", nil
	}
	return normalizeAppID(b.app.ID)
}

// normalizeAppID resolves an id against the root; a bad one is a 422 on /id.
func normalizeAppID(raw string) (string, error) {
	id, err := marathon.NormalizeID(raw, "/")
	var ie *marathon.IDError
	if errors.As(err, &ie) {
		return "", &ValidationError{Details: []marathon.FieldError{{Path: "/id", Errors: []string{ie.Reason}}}}
	}
	return id, err
}

// finishApp completes a definition for writing: resolves its
// dependencies against its group, fills Marathon's defaults, and
// validates it (a 422 with Marathon's details when invalid).
func finishApp(app *marathon.App, id string) error {
	app.ID = id
	var details []marathon.FieldError
	for i, dep := range app.Dependencies {
		norm, err := marathon.NormalizeID(dep, marathon.ParentID(id))
		var ie *marathon.IDError
		if errors.As(err, &ie) {
			details = append(details, marathon.FieldError{Path: fmt.Sprintf("/dependencies(%d)", i), Errors: []string{ie.Reason}})
			continue
		}
		app.Dependencies[i] = norm
	}
	if len(details) > 0 {
		return &ValidationError{Details: details}
	}
	if errs := marathon.ValidateSizes(app); errs != nil {
		return &ValidationError{Details: errs}
	}
	marathon.ApplyDefaults(app)
	if errs := marathon.Validate(app); errs != nil {
		return &ValidationError{Details: errs}
	}
	return nil
}

// merged is the app that a partial update makes of prev: the body's
// top-level fields replace prev's, the others stay.
func merged(prev *marathon.App, b *appBody, id string) (*marathon.App, error) {
	base, err := json.Marshal(prev)
	if err != nil {
		return nil, err
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(base, &fields); err != nil {
		return nil, err
	}
	// Fields that stand for one another: setting one drops the other.
	for k, alt := range map[string]string{"cmd": "args", "args": "cmd", "ports": "portDefinitions", "portDefinitions": "ports"} {
		if v, ok := b.fields[k]; ok && string(v) != "null" {
			delete(fields, alt)
		}
	}
	for k, v := range b.fields {
		switch k {
		case "id", "version", "versionInfo":
			continue
		}
		fields[k] = v
	}
	data, err := json.Marshal(fields)
	if err != nil {
		return nil, err
	}
	var app marathon.App
	if err := decodeJSON(data, &app); err != nil {
		return nil, err
	}
	return &app, finishApp(&app, id)
}

// fresh is the app a full replacement (or a creation) makes of a body.
func fresh(b *appBody, id string) (*marathon.App, error) {
	app := b.app
	// The body's slices and maps are shared by retries: copy what
	// finishApp rewrites in place.
	app.Dependencies = append([]string(nil), b.app.Dependencies...)
	app.Labels = maps.Clone(b.app.Labels)
	app.Version, app.VersionInfo = "", nil
	return &app, finishApp(&app, id)
}

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
			return nil, &InvalidJSONError{Details: []marathon.FieldError{{Path: "/id", Errors: []string{"error.path.missing"}}}}
		}
		id, err := normalizeAppID(b.app.ID)
		if err != nil {
			return nil, err
		}
		app, err := fresh(b, id)
		if err != nil {
			return nil, err
		}
		return &changeRequest{build: func(st *readmodel.State) (*changeSpec, error) {
			if _, ok := st.Apps[id]; ok {
				return nil, &AppExistsError{ID: id}
			}
			if err := idClash(st, id); err != nil {
				return nil, err
			}
			next := *app
			return &changeSpec{ops: []appOp{{id: id, next: &next, mustBeNew: true}}, group: marathon.ParentID(id), posted: true}, nil
		}, answer: func(p *stagedChange) (int, string, any) {
			tasks := []task{}
			return http.StatusCreated, "/v2/apps" + id, appResponse{
				App: *p.ops[0].next, Deployments: []deploymentRef{{ID: p.deployment.ID}}, Tasks: &tasks,
			}
		}}, nil
	})
}

// updateMode says how PUT and PATCH treat a body.
type updateMode struct {
	partial     bool // merge into the existing app (else replace it)
	allowCreate bool // an unknown app is created (PUT) rather than a 404 (PATCH)
}

// updateOp is the op a body makes of the app it names, as it is now. A
// rollback body (only id and version) restores a stored version, read
// beforehand into rollbacks.
func updateOp(st *readmodel.State, id string, b *appBody, mode updateMode, rollbacks map[string]*marathon.App) (appOp, error) {
	op := appOp{id: id}
	if e, ok := st.Apps[id]; ok {
		op.prev = &e
	}
	if target, ok := rollbacks[id]; ok {
		if op.prev == nil {
			return op, &AppNotFoundError{ID: id}
		}
		next := *target
		vi := deref(target.VersionInfo)
		op.next, op.versionInfo = &next, &vi
		return op, nil
	}
	var err error
	switch {
	case op.prev == nil && !mode.allowCreate:
		return op, &AppNotFoundError{ID: id}
	case op.prev == nil:
		if err := idClash(st, id); err != nil {
			return op, err
		}
		op.next, err = fresh(b, id)
	case !mode.partial:
		op.next, err = fresh(b, id)
	default:
		op.next, err = merged(&op.prev.Rec.App, b, id)
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
		app, err := s.appVersion(c, ids[i], version)
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
		var err error
		if mode.allowCreate {
			if mode.partial, err = boolParam(c, "partialUpdate", true); err != nil {
				return nil, err
			}
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
		return &changeRequest{build: func(st *readmodel.State) (*changeSpec, error) {
			op, err := updateOp(st, id, b, mode, rollbacks)
			if err != nil {
				return nil, err
			}
			created = op.prev == nil
			return &changeSpec{ops: []appOp{op}, group: marathon.ParentID(id), posted: true}, nil
		}, answer: func(p *stagedChange) (int, string, any) {
			if created {
				return http.StatusCreated, "/v2/apps" + id, p.result()
			}
			return http.StatusOK, "", p.result()
		}}, nil
	})
}

// updateApps is PUT and PATCH /v2/apps: an array of (partial) definitions,
// each with its id, changed in one deployment; 200 with its change result.
func (s *Server) updateApps(c echo.Context, mode updateMode) error {
	return s.writeChange(c, false, func() (*changeRequest, error) {
		var err error
		if mode.allowCreate {
			if mode.partial, err = boolParam(c, "partialUpdate", true); err != nil {
				return nil, err
			}
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
		return &changeRequest{build: func(st *readmodel.State) (*changeSpec, error) {
			spec := &changeSpec{group: "/", posted: true}
			for i, b := range bodies {
				op, err := updateOp(st, ids[i], b, mode, rollbacks)
				if err != nil {
					return nil, prefixDetails(err, i)
				}
				spec.ops = append(spec.ops, op)
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
			return nil, &InvalidJSONError{Details: []marathon.FieldError{{Path: fmt.Sprintf("/%d/id", i), Errors: []string{"error.path.missing"}}}}
		}
		if seen[id] {
			return nil, &ValidationError{Details: []marathon.FieldError{{Path: "/", Errors: []string{"Application ids must be unique."}}}}
		}
		ids[i], seen[id] = id, true
	}
	if len(bodies) == 0 {
		return nil, &ValidationError{Details: []marathon.FieldError{{Path: "/", Errors: []string{"must not be empty"}}}}
	}
	return ids, nil
}

// prefixDetails puts the index of an app in a list before its error paths.
func prefixDetails(err error, i int) error {
	var invalid *ValidationError
	if errors.As(err, &invalid) {
		details := make([]marathon.FieldError, len(invalid.Details))
		for j, d := range invalid.Details {
			details[j] = marathon.FieldError{Path: fmt.Sprintf("/%d%s", i, strings.TrimSuffix(d.Path, "/")), Errors: d.Errors}
		}
		return &ValidationError{Details: details}
	}
	return err
}

// deleteApp is DELETE /v2/apps/{id}: delete the app's key at the revision
// read (compare-and-set), and record the deployment that stops it. Its
// force defaults to true, as in Marathon.
func (s *Server) deleteApp(c echo.Context, raw string) error {
	return s.writeAppChange(c, raw, true, func(st *readmodel.State, id string) (*changeSpec, error) {
		e, ok := st.Apps[id]
		if !ok {
			return nil, &AppNotFoundError{ID: id}
		}
		return &changeSpec{ops: []appOp{{id: id, prev: &e}}, group: marathon.ParentID(id)}, nil
	})
}

// restartApp is POST /v2/apps/{id}/restart: a new version whose
// lastConfigChangeAt moves, so that every task is replaced.
func (s *Server) restartApp(c echo.Context, raw string) error {
	return s.writeAppChange(c, raw, false, func(st *readmodel.State, id string) (*changeSpec, error) {
		e, ok := st.Apps[id]
		if !ok {
			return nil, &AppNotFoundError{ID: id}
		}
		next := e.Rec.App
		return &changeSpec{ops: []appOp{{id: id, prev: &e, next: &next, restart: true}}, group: marathon.ParentID(id)}, nil
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
	return &ValidationError{Details: []marathon.FieldError{{Path: "/id", Errors: []string{
		"Groups and Applications may not have the same identifier: " + clash}}}}
}
