package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/drover/drover/pkg/marathon"
	"github.com/drover/drover/services/api/apierr"
	"github.com/drover/drover/services/api/change"
	"github.com/drover/drover/services/api/readmodel"
	"github.com/labstack/echo/v4"
)

// groupBody is a group as POST and PUT /v2/groups take it.
type groupBody struct {
	ID           *string           `json:"id"`
	Apps         []json.RawMessage `json:"apps"`
	Groups       []json.RawMessage `json:"groups"`
	Dependencies []string          `json:"dependencies"`
	ScaleBy      *float64          `json:"scaleBy"`
	Version      *string           `json:"version"`
	fields       map[string]json.RawMessage
}

func decodeGroupBody(data []byte) (*groupBody, error) {
	var g groupBody
	if err := decodeJSON(data, &g); err != nil {
		return nil, err
	}
	if err := decodeJSON(data, &g.fields); err != nil {
		return nil, err
	}
	return &g, nil
}

// groupTarget is what a group body asks for under the group it names.
type groupTarget struct {
	apps []*marathon.App
	// keep says, for a current app under the group, whether the body
	// leaves it alone (the body does not list its part of the tree).
	keep func(appID string) bool
}

// target resolves a group body at id: its apps (ids relative to their
// group, dependencies and the group's dependencies pushed down to them),
// finished and validated; path is the JSON path of the body for details.
func (g *groupBody) target(id, path string) (*groupTarget, error) {
	t := &groupTarget{}
	var details []marathon.FieldError
	for i, raw := range g.Apps {
		p := fmt.Sprintf("%s/apps(%d)", path, i)
		b, err := decodeAppBody(bytes.TrimSpace(raw))
		if err != nil {
			return nil, prefixPath(err, p)
		}
		appID, err := marathon.NormalizeID(b.app.ID, id)
		if err != nil {
			details = append(details, marathon.FieldError{Path: p + "/id", Errors: []string{idReasonOf(err)}})
			continue
		}
		app := b.app
		for _, d := range g.Dependencies {
			if !slices.Contains(app.Dependencies, d) {
				app.Dependencies = append(app.Dependencies, d)
			}
		}
		if err := finishApp(&app, appID); err != nil {
			return nil, prefixPath(err, p)
		}
		t.apps = append(t.apps, &app)
	}
	var subs []subTarget
	for i, raw := range g.Groups {
		p := fmt.Sprintf("%s/groups(%d)", path, i)
		sb, err := decodeGroupBody(bytes.TrimSpace(raw))
		if err != nil {
			return nil, prefixPath(err, p)
		}
		if sb.ID == nil {
			return nil, &apierr.InvalidJSONError{Details: []marathon.FieldError{{Path: p + "/id", Errors: []string{"error.path.missing"}}}}
		}
		sid, err := marathon.NormalizeID(*sb.ID, id)
		if err != nil {
			details = append(details, marathon.FieldError{Path: p + "/id", Errors: []string{idReasonOf(err)}})
			continue
		}
		for _, d := range g.Dependencies {
			if !slices.Contains(sb.Dependencies, d) {
				sb.Dependencies = append(sb.Dependencies, d)
			}
		}
		st, err := sb.target(sid, p)
		if err != nil {
			return nil, err
		}
		t.apps = append(t.apps, st.apps...)
		subs = append(subs, subTarget{sid, st})
	}
	if len(details) > 0 {
		return nil, &apierr.ValidationError{Details: details}
	}
	seen := map[string]bool{}
	for _, a := range t.apps {
		if seen[a.ID] {
			return nil, &apierr.ValidationError{Details: []marathon.FieldError{{Path: path + "/", Errors: []string{
				fmt.Sprintf("Groups and Applications may not have the same identifier: %s", a.ID)}}}}
		}
		seen[a.ID] = true
	}
	_, hasApps := g.fields["apps"]
	_, hasGroups := g.fields["groups"]
	t.keep = keeper(id, hasApps, hasGroups, subs)
	return t, nil
}

// subTarget is a subgroup's target, under its id.
type subTarget struct {
	id string
	t  *groupTarget
}

// keeper is a target's keep: an app directly under the group is left alone
// when the body has no apps, one deeper when the body has no groups or it
// lies under a subgroup that keeps it.
func keeper(id string, hasApps, hasGroups bool, subs []subTarget) func(appID string) bool {
	prefix := strings.TrimSuffix(id, "/") + "/"
	return func(appID string) bool {
		rest, ok := strings.CutPrefix(appID, prefix)
		if !ok {
			return true
		}
		seg, _, nested := strings.Cut(rest, "/")
		if !nested {
			return !hasApps
		}
		if !hasGroups {
			return true
		}
		for _, s := range subs {
			if s.id == prefix+seg {
				return s.t.keep(appID)
			}
		}
		return false
	}
}

func idReasonOf(err error) string {
	var ie *marathon.IDError
	if errors.As(err, &ie) {
		return ie.Reason
	}
	return err.Error()
}

// prefixPath puts a JSON path before the paths of an error's details.
func prefixPath(err error, prefix string) error {
	var invalid *apierr.ValidationError
	var bad *apierr.InvalidJSONError
	fix := func(ds []marathon.FieldError) []marathon.FieldError {
		out := make([]marathon.FieldError, len(ds))
		for i, d := range ds {
			out[i] = marathon.FieldError{Path: prefix + strings.TrimSuffix(d.Path, "/"), Errors: d.Errors}
		}
		return out
	}
	switch {
	case errors.As(err, &invalid):
		return &apierr.ValidationError{Details: fix(invalid.Details)}
	case errors.As(err, &bad):
		return &apierr.InvalidJSONError{Details: fix(bad.Details)}
	}
	return err
}

// groupOps are the ops that make the apps under a group what a target
// asks: create or replace the target's apps, delete the others the body
// covers. An app whose definition does not change is left alone.
func groupOps(st *readmodel.State, id string, t *groupTarget) []change.Op {
	var ops []change.Op
	wanted := map[string]bool{}
	for _, a := range t.apps {
		wanted[a.ID] = true
		next := *a
		op := change.Op{ID: a.ID, Next: &next}
		if e, ok := st.Apps[a.ID]; ok {
			op.Prev = &e
			if !change.ConfigChanged(&e.Rec.App, a) && deref(e.Rec.App.Instances) == deref(a.Instances) {
				continue
			}
		}
		ops = append(ops, op)
	}
	for _, e := range st.AppsUnder(id) {
		if !wanted[e.Rec.App.ID] && !t.keep(e.Rec.App.ID) {
			ops = append(ops, change.Op{ID: e.Rec.App.ID, Prev: &e})
		}
	}
	return ops
}

// groupPathAndBody reads a group request: the id from the path, else from
// the body (relative to the root).
func (s *Server) groupPathAndBody(c echo.Context) (string, *groupBody, error) {
	data, err := readBody(c, s.cfg.BodyLimit)
	if err != nil {
		return "", nil, err
	}
	g, err := decodeGroupBody(bytes.TrimSpace(data))
	if err != nil {
		return "", nil, err
	}
	raw := wildcardPath(c)
	base := "/"
	if raw != "" {
		if base, err = groupID(raw, "/"); err != nil {
			return "", nil, err
		}
	}
	id := base
	if g.ID != nil && *g.ID != "" {
		if id, err = groupID(*g.ID, base); err != nil {
			return "", nil, err
		}
	}
	for i, d := range g.Dependencies {
		norm, err := marathon.NormalizeID(d, marathon.ParentID(id))
		if err != nil {
			return "", nil, &apierr.ValidationError{Details: []marathon.FieldError{{Path: fmt.Sprintf("/dependencies(%d)", i), Errors: []string{idReasonOf(err)}}}}
		}
		g.Dependencies[i] = norm
	}
	return id, g, nil
}
