package api

import (
	"net/http"
	"slices"
	"time"

	"github.com/drover/drover/pkg/marathon"
	"github.com/drover/drover/services/api/apierr"
	"github.com/drover/drover/services/api/readmodel"
	"github.com/drover/drover/services/api/view"
	"github.com/labstack/echo/v4"
)

// listVersions is GET /v2/apps/{id}/versions: the app's stored versions,
// newest first, from the read model's version index.
func (s *Server) listVersions(c echo.Context, raw string) error {
	if err := s.awaitReady(c); err != nil {
		return err
	}
	id, err := pathAppID(raw)
	if err != nil {
		return err
	}
	var versions []string
	found := false
	s.rm.Read(func(st *readmodel.State) {
		if _, found = st.Apps[id]; !found {
			return
		}
		versions = appVersionList(st, id)
	})
	if !found {
		return &apierr.AppNotFoundError{ID: id}
	}
	return writeJSON(c, http.StatusOK, map[string][]string{"versions": versions})
}

// appVersionList is an app's distinct versions, newest first.
func appVersionList(st *readmodel.State, id string) []string {
	out := []string{}
	vs := st.Versions[id]
	if vs == nil || vs.Gone {
		return out
	}
	for i := len(vs.Refs) - 1; i >= 0; i-- {
		if v := vs.Refs[i].Version; v != "" && (len(out) == 0 || out[len(out)-1] != v) {
			out = append(out, v)
		}
	}
	return out
}

// getVersion is GET /v2/apps/{id}/versions/{version}: that definition.
func (s *Server) getVersion(c echo.Context, raw, version string) error {
	if err := s.awaitReady(c); err != nil {
		return err
	}
	id, err := pathAppID(raw)
	if err != nil {
		return err
	}
	app, err := s.appAtVersion(c, id, version)
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, app)
}

// appAtVersion reads one stored version of an app, named by its timestamp
// in any ISO-8601 spelling.
func (s *Server) appAtVersion(c echo.Context, id, version string) (*marathon.App, error) {
	want := normalizeVersion(version)
	var (
		rev    uint64
		exists bool
	)
	s.rm.Read(func(st *readmodel.State) {
		_, exists = st.Apps[id]
		vs := st.Versions[id]
		if vs == nil || vs.Gone {
			return
		}
		if i := slices.IndexFunc(vs.Refs, func(r readmodel.VersionRef) bool { return r.Version == want }); i >= 0 {
			rev = vs.Refs[i].Rev
		}
	})
	if !exists {
		return nil, &apierr.AppNotFoundError{ID: id}
	}
	if rev == 0 {
		return nil, &apierr.AppVersionNotFoundError{ID: id, Version: version}
	}
	app, err := s.appAtRevision(c, id, rev)
	if _, gone := err.(*apierr.AppNotFoundError); gone {
		return nil, &apierr.AppVersionNotFoundError{ID: id, Version: version}
	}
	return app, err
}

// normalizeVersion writes a timestamp the way versions are stored.
func normalizeVersion(v string) string {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.000Z0700", "2006-01-02T15:04:05Z0700"} {
		if t, err := time.Parse(layout, v); err == nil {
			return view.FormatTime(t)
		}
	}
	return v
}
