package api

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/marathon"
	"github.com/drover/drover/services/api/apierr"
	"github.com/drover/drover/services/api/readmodel"
	"github.com/drover/drover/services/api/view"
	"github.com/labstack/echo/v4"
)

// Groups are derived from app ids: a group exists while an app lies under
// it, and its version is the latest of theirs. Drover stores apps only, so
// an empty group is not kept, and a group's dependencies are kept on its
// apps (each app of the group depends on what the group depends on).

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
			return "", &apierr.ValidationError{Details: []marathon.FieldError{{Path: "/id", Errors: []string{ie.Reason}}}}
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
		return &apierr.GroupNotFoundError{ID: "/" + raw}
	}
	emb := view.ParseGroupEmbeds(c.QueryParams()["embed"])
	var (
		g  view.Group
		ok bool
	)
	s.rm.Read(func(st *readmodel.State) { g, ok = view.GroupTree(st, id, emb) })
	if !ok {
		return &apierr.GroupNotFoundError{ID: id}
	}
	return writeJSON(c, http.StatusOK, g)
}

// groupVersions is GET /v2/groups/{id}/versions: the versions of the
// group's apps, newest first (a plain array, as Marathon answers).
func (s *Server) groupVersions(c echo.Context, raw string) error {
	id, err := groupID(raw, "/")
	if err != nil {
		return &apierr.GroupNotFoundError{ID: raw}
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
		return &apierr.GroupNotFoundError{ID: id}
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
		return &apierr.GroupNotFoundError{ID: raw}
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
	var g view.Group
	s.rm.Read(func(st *readmodel.State) {
		g = view.BuildGroup(st, id, entries, view.GroupEmbeds{Groups: true, Apps: true, Pods: true})
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
		return nil, &apierr.GroupNotFoundError{ID: id}
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
