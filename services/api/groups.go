package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"

	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/marathon"
	"github.com/drover/drover/services/api/readmodel"
	"github.com/labstack/echo/v4"
)

// Groups are derived from app ids: a group exists while an app lies under
// it, and its version is the latest of theirs. Drover stores apps only, so
// an empty group is not kept, and a group's dependencies are kept on its
// apps (each app of the group depends on what the group depends on).

// GroupNotFoundError is a request for a group that does not exist.
type GroupNotFoundError struct{ ID string }

func (e *GroupNotFoundError) Error() string { return fmt.Sprintf("Group '%s' does not exist", e.ID) }

// GroupExistsError is a POST of a group that exists.
type GroupExistsError struct{ ID string }

func (e *GroupExistsError) Error() string {
	return fmt.Sprintf("Group %s is already created. Use PUT to change this group.", e.ID)
}

// epochVersion is the version of a root group no app ever changed.
const epochVersion = "1970-01-01T00:00:00.000Z"

// groupJSON is a group as /v2/groups shows it.
type groupJSON struct {
	ID           string       `json:"id"`
	Apps         *[]any       `json:"apps,omitempty"`
	Groups       *[]groupJSON `json:"groups,omitempty"`
	Pods         *[]any       `json:"pods,omitempty"`
	Dependencies []string     `json:"dependencies"`
	Version      string       `json:"version"`
}

// groupEmbeds says what a group response carries.
type groupEmbeds struct {
	groups, apps, pods bool
	appInfo            bool // apps with counts, deployments (and emb)
	emb                embeds
}

func parseGroupEmbeds(values []string) groupEmbeds {
	if len(values) == 0 {
		return groupEmbeds{groups: true, apps: true, pods: true}
	}
	var g groupEmbeds
	for _, v := range values {
		for item := range strings.SplitSeq(v, ",") {
			switch item = strings.TrimSpace(item); item {
			case "group.groups":
				g.groups = true
			case "group.apps":
				g.apps = true
			case "group.pods":
				g.pods = true
			case "group.apps.tasks", "group.apps.counts", "group.apps.deployments", "group.apps.lastTaskFailure",
				"group.apps.failures", "group.apps.taskStats", "group.apps.readiness":
				g.apps, g.appInfo = true, true
			}
		}
	}
	g.emb = parseEmbeds(values)
	return g
}

// groupTree renders the group id from the apps under it. Called with the
// read lock held; ok is false when no app lies under a group other than root.
func groupTree(st *readmodel.State, id string, emb groupEmbeds) (groupJSON, bool) {
	apps := st.AppsUnder(id)
	if len(apps) == 0 && id != "/" {
		return groupJSON{}, false
	}
	return buildGroup(st, id, apps, emb), true
}

// buildGroup renders a group from the apps under it, sorted by id.
func buildGroup(st *readmodel.State, id string, apps []readmodel.AppEntry, emb groupEmbeds) groupJSON {
	g := groupJSON{ID: id, Dependencies: []string{}, Version: epochVersion}
	if id == "/" && st.ChangedAt != "" {
		g.Version = st.ChangedAt
	}
	var direct []any
	var subs []groupJSON
	prefix := strings.TrimSuffix(id, "/") + "/"
	for i := 0; i < len(apps); {
		a := apps[i].Rec.App
		g.Version = max(g.Version, a.Version)
		rest := strings.TrimPrefix(a.ID, prefix)
		seg, _, nested := strings.Cut(rest, "/")
		if !nested {
			if emb.appInfo {
				direct = append(direct, newAppResponse(st, apps[i], emb.emb))
			} else {
				direct = append(direct, a)
			}
			i++
			continue
		}
		sub := prefix + seg
		j := i
		for j < len(apps) && strings.HasPrefix(apps[j].Rec.App.ID, sub+"/") {
			j++
		}
		sg := buildGroup(st, sub, apps[i:j], emb)
		g.Version = max(g.Version, sg.Version)
		subs = append(subs, sg)
		i = j
	}
	if emb.apps {
		if direct == nil {
			direct = []any{}
		}
		g.Apps = &direct
	}
	if emb.groups {
		if subs == nil {
			subs = []groupJSON{}
		}
		g.Groups = &subs
	}
	if emb.pods {
		g.Pods = &[]any{}
	}
	return g
}

// groupID normalises a group id from a path or body; "" and "/" are the root.
func groupID(raw, base string) (string, error) {
	if strings.Trim(raw, "/") == "" {
		if strings.HasPrefix(raw, "/") || raw == "" {
			return "/", nil
		}
	}
	id, err := marathon.NormalizeID(raw, base)
	if err != nil {
		var ie *marathon.IDError
		if errors.As(err, &ie) {
			return "", &ValidationError{Details: []marathon.FieldError{{Path: "/id", Errors: []string{ie.Reason}}}}
		}
		return "", err
	}
	return id, nil
}

// groupGET is GET /v2/groups[/{id}][/versions[/{version}]].
func (s *Server) groupGET(c echo.Context) error {
	raw := wildcardPath(c)
	if err := s.awaitReady(c); err != nil {
		return err
	}
	if rest, ok := strings.CutSuffix("/"+raw, "/versions"); ok {
		return s.groupVersions(c, rest)
	}
	if i := strings.LastIndex("/"+raw, "/versions/"); i >= 0 {
		return s.groupAtVersion(c, raw[:max(i-1, 0)], raw[i+len("versions/"):])
	}
	id, err := groupID(raw, "/")
	if err != nil {
		return &GroupNotFoundError{ID: "/" + raw}
	}
	emb := parseGroupEmbeds(c.QueryParams()["embed"])
	var (
		g  groupJSON
		ok bool
	)
	s.rm.Read(func(st *readmodel.State) { g, ok = groupTree(st, id, emb) })
	if !ok {
		return &GroupNotFoundError{ID: id}
	}
	return writeJSON(c, http.StatusOK, g)
}

// groupVersions is GET /v2/groups/{id}/versions: the versions of the
// group's apps, newest first (a plain array, as Marathon answers).
func (s *Server) groupVersions(c echo.Context, raw string) error {
	id, err := groupID(raw, "/")
	if err != nil {
		return &GroupNotFoundError{ID: raw}
	}
	versions := []string{}
	found := id == "/"
	s.rm.Read(func(st *readmodel.State) {
		seen := map[string]bool{}
		for _, e := range st.AppsUnder(id) {
			found = true
			for _, v := range appVersionList(st, e.Rec.App.ID) {
				if !seen[v] {
					seen[v] = true
					versions = append(versions, v)
				}
			}
		}
	})
	if !found {
		return &GroupNotFoundError{ID: id}
	}
	slices.SortFunc(versions, func(a, b string) int { return strings.Compare(b, a) })
	return writeJSON(c, http.StatusOK, versions)
}

// groupAtVersion is GET /v2/groups/{id}/versions/{version}: the group as
// its current apps were at that version (apps deleted since are not
// shown).
func (s *Server) groupAtVersion(c echo.Context, raw, version string) error {
	id, err := groupID(raw, "/")
	if err != nil {
		return &GroupNotFoundError{ID: raw}
	}
	apps, err := s.groupApps(c, id, normalizeVersion(version))
	if err != nil {
		return err
	}
	var entries []readmodel.AppEntry
	for _, a := range apps {
		if a != nil {
			entries = append(entries, readmodel.AppEntry{Rec: events.AppRecord{App: *a}})
		}
	}
	slices.SortFunc(entries, func(a, b readmodel.AppEntry) int { return strings.Compare(a.Rec.App.ID, b.Rec.App.ID) })
	var g groupJSON
	s.rm.Read(func(st *readmodel.State) {
		g = buildGroup(st, id, entries, groupEmbeds{groups: true, apps: true, pods: true})
	})
	g.Version = normalizeVersion(version)
	return writeJSON(c, http.StatusOK, g)
}

// groupApps is, for every app now under a group, its definition at a
// version: nil for an app created after it.
func (s *Server) groupApps(c echo.Context, id, version string) (map[string]*marathon.App, error) {
	revs := map[string]uint64{}
	found := false
	s.rm.Read(func(st *readmodel.State) {
		for _, e := range st.AppsUnder(id) {
			found = true
			revs[e.Rec.App.ID] = 0
			if vs := st.Versions[e.Rec.App.ID]; vs != nil {
				for _, r := range vs.Refs {
					if r.Version <= version {
						revs[e.Rec.App.ID] = r.Rev
					}
				}
			}
		}
	})
	if !found {
		return nil, &GroupNotFoundError{ID: id}
	}
	out := map[string]*marathon.App{}
	for appID, rev := range revs {
		out[appID] = nil
		if rev == 0 {
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
	type sub struct {
		id string
		t  *groupTarget
	}
	var subs []sub
	for i, raw := range g.Groups {
		p := fmt.Sprintf("%s/groups(%d)", path, i)
		sb, err := decodeGroupBody(bytes.TrimSpace(raw))
		if err != nil {
			return nil, prefixPath(err, p)
		}
		if sb.ID == nil {
			return nil, &InvalidJSONError{Details: []marathon.FieldError{{Path: p + "/id", Errors: []string{"error.path.missing"}}}}
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
		subs = append(subs, sub{sid, st})
	}
	if len(details) > 0 {
		return nil, &ValidationError{Details: details}
	}
	seen := map[string]bool{}
	for _, a := range t.apps {
		if seen[a.ID] {
			return nil, &ValidationError{Details: []marathon.FieldError{{Path: path + "/", Errors: []string{
				fmt.Sprintf("Groups and Applications may not have the same identifier: %s", a.ID)}}}}
		}
		seen[a.ID] = true
	}
	_, hasApps := g.fields["apps"]
	_, hasGroups := g.fields["groups"]
	prefix := strings.TrimSuffix(id, "/") + "/"
	t.keep = func(appID string) bool {
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
	return t, nil
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
	var invalid *ValidationError
	var bad *InvalidJSONError
	fix := func(ds []marathon.FieldError) []marathon.FieldError {
		out := make([]marathon.FieldError, len(ds))
		for i, d := range ds {
			out[i] = marathon.FieldError{Path: prefix + strings.TrimSuffix(d.Path, "/"), Errors: d.Errors}
		}
		return out
	}
	switch {
	case errors.As(err, &invalid):
		return &ValidationError{Details: fix(invalid.Details)}
	case errors.As(err, &bad):
		return &InvalidJSONError{Details: fix(bad.Details)}
	}
	return err
}

// groupOps are the ops that make the apps under a group what a target
// asks: create or replace the target's apps, delete the others the body
// covers. An app whose definition does not change is left alone.
func groupOps(st *readmodel.State, id string, t *groupTarget) []appOp {
	var ops []appOp
	wanted := map[string]bool{}
	for _, a := range t.apps {
		wanted[a.ID] = true
		next := *a
		op := appOp{id: a.ID, next: &next}
		if e, ok := st.Apps[a.ID]; ok {
			op.prev = &e
			if !configChanged(&e.Rec.App, a) && deref(e.Rec.App.Instances) == deref(a.Instances) {
				continue
			}
		}
		ops = append(ops, op)
	}
	for _, e := range st.AppsUnder(id) {
		if !wanted[e.Rec.App.ID] && !t.keep(e.Rec.App.ID) {
			ops = append(ops, appOp{id: e.Rec.App.ID, prev: &e})
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
			return "", nil, &ValidationError{Details: []marathon.FieldError{{Path: fmt.Sprintf("/dependencies(%d)", i), Errors: []string{idReasonOf(err)}}}}
		}
		g.Dependencies[i] = norm
	}
	return id, g, nil
}

// groupPOST is POST /v2/groups[/{id}]: create a group and its apps; 409
// when it exists. 201 with the change result.
func (s *Server) groupPOST(c echo.Context) error {
	return s.writeChange(c, false, func() (*changeRequest, error) {
		id, g, err := s.groupPathAndBody(c)
		if err != nil {
			return nil, err
		}
		if id == "/" {
			return nil, &GroupExistsError{ID: id}
		}
		t, err := g.target(id, "")
		if err != nil {
			return nil, err
		}
		return &changeRequest{build: func(st *readmodel.State) (*changeSpec, error) {
			if len(st.AppsUnder(id)) > 0 {
				return nil, &GroupExistsError{ID: id}
			}
			if _, ok := st.Apps[id]; ok {
				return nil, &GroupExistsError{ID: id}
			}
			return &changeSpec{ops: groupOps(st, id, t), group: id, posted: true}, nil
		}, answer: func(p *stagedChange) (int, string, any) {
			return http.StatusCreated, "/v2/groups" + id, p.result()
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
		var build changeBuild
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
func (s *Server) groupRollback(c echo.Context, id, version string) (changeBuild, error) {
	targets, err := s.groupApps(c, id, normalizeVersion(version))
	if err != nil {
		return nil, err
	}
	return func(st *readmodel.State) (*changeSpec, error) {
		spec := &changeSpec{group: id}
		for appID, target := range targets {
			e, ok := st.Apps[appID]
			if !ok {
				continue
			}
			op := appOp{id: appID, prev: &e}
			if target != nil {
				if target.Version == e.Rec.App.Version {
					continue
				}
				next := *target
				vi := deref(target.VersionInfo)
				op.next, op.versionInfo = &next, &vi
			}
			spec.ops = append(spec.ops, op)
		}
		slices.SortFunc(spec.ops, func(a, b appOp) int { return strings.Compare(a.id, b.id) })
		return spec, nil
	}, nil
}

// groupScale builds the change that scales a group's apps by a body's
// scaleBy, which must come alone (beside the id).
func groupScale(id string, g *groupBody) (changeBuild, error) {
	for k := range g.fields {
		if k != "scaleBy" && k != "id" {
			return nil, &ValidationError{Details: []marathon.FieldError{{Path: "/scaleBy", Errors: []string{"scaleBy may only be combined with the 'id' field."}}}}
		}
	}
	factor := *g.ScaleBy
	if factor < 0 || math.IsNaN(factor) || math.IsInf(factor, 0) {
		return nil, &ValidationError{Details: []marathon.FieldError{{Path: "/scaleBy", Errors: []string{gotMinMsg(factor)}}}}
	}
	return func(st *readmodel.State) (*changeSpec, error) {
		apps := st.AppsUnder(id)
		if len(apps) == 0 {
			return nil, &GroupNotFoundError{ID: id}
		}
		spec := &changeSpec{group: id}
		for _, e := range apps {
			next := e.Rec.App
			n := int(math.Ceil(float64(deref(next.Instances)) * factor))
			next.Instances = &n
			spec.ops = append(spec.ops, appOp{id: e.Rec.App.ID, prev: &e, next: &next})
		}
		return spec, nil
	}, nil
}

// groupReplace builds the change that makes a group what a body describes.
func groupReplace(id string, g *groupBody) (changeBuild, error) {
	t, err := g.target(id, "")
	if err != nil {
		return nil, err
	}
	return func(st *readmodel.State) (*changeSpec, error) {
		if _, ok := st.Apps[id]; ok {
			return nil, &ValidationError{Details: []marathon.FieldError{{Path: "/id", Errors: []string{
				fmt.Sprintf("Groups and Applications may not have the same identifier: %s", id)}}}}
		}
		return &changeSpec{ops: groupOps(st, id, t), group: id, posted: true}, nil
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
			return nil, &GroupNotFoundError{ID: "/" + raw}
		}
		return &changeRequest{build: func(st *readmodel.State) (*changeSpec, error) {
			apps := st.AppsUnder(id)
			if len(apps) == 0 && id != "/" {
				return nil, &GroupNotFoundError{ID: id}
			}
			spec := &changeSpec{group: id}
			for _, e := range apps {
				spec.ops = append(spec.ops, appOp{id: e.Rec.App.ID, prev: &e})
			}
			return spec, nil
		}}, nil
	})
}
