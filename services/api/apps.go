package api

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/drover/drover/pkg/deployplan"
	"github.com/drover/drover/pkg/marathon"
	"github.com/drover/drover/services/api/apierr"
	"github.com/drover/drover/services/api/labels"
	"github.com/drover/drover/services/api/listcache"
	"github.com/drover/drover/services/api/readmodel"
	"github.com/drover/drover/services/api/view"
	"github.com/labstack/echo/v4"
)

// appFilter is GET /v2/apps' ?id=, ?cmd= and ?label= filters.
type appFilter struct {
	id, cmd string
	labels  labels.Selector
}

func (f appFilter) matches(a *marathon.App) bool {
	if f.id != "" && !strings.Contains(strings.ToLower(a.ID), strings.ToLower(f.id)) {
		return false
	}
	if f.cmd != "" && (a.Cmd == nil || !strings.Contains(strings.ToLower(*a.Cmd), strings.ToLower(f.cmd))) {
		return false
	}
	return f.labels.Matches(a.Labels)
}

// listApps is GET /v2/apps: {"apps": [...]}, sorted by id.
func (s *Server) listApps(c echo.Context) error {
	sel, err := labels.ParseSelector(c.QueryParam("label"))
	if err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "Invalid label selector: "+c.QueryParam("label")).SetInternal(err)
	}
	filter := appFilter{id: c.QueryParam("id"), cmd: c.QueryParam("cmd"), labels: sel}
	emb := view.ParseEmbeds(c.QueryParams()["embed"])
	if err := s.awaitReady(c); err != nil {
		return err
	}
	build := func() ([]byte, error) {
		apps := []view.AppResponse{}
		s.rm.Read(func(st *readmodel.State) {
			for _, e := range st.SortedApps() {
				if filter.matches(&e.Rec.App) {
					apps = append(apps, view.NewAppResponse(st, e, emb))
				}
			}
		})
		return listcache.EncodeJSON(map[string][]view.AppResponse{"apps": apps})
	}
	if emb.TaskStats {
		data, err := build() // it depends on the clock
		if err != nil {
			return err
		}
		return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, data)
	}
	key := fmt.Sprintf("%s\x00%s\x00%s\x00%+v", filter.id, filter.cmd, c.QueryParam("label"), emb)
	e, err := s.lists.Get(s.rm.Generation(), key, build)
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Add(echo.HeaderVary, echo.HeaderAcceptEncoding)
	body := e.Data
	if acceptsGzip(c.Request()) {
		h.Set(echo.HeaderContentEncoding, "gzip")
		body = e.Gzip()
	}
	// Its length up front: one write, no chunked framing.
	h.Set(echo.HeaderContentLength, strconv.Itoa(len(body)))
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, body)
}

// acceptsGzip reports whether a request's Accept-Encoding allows gzip.
func acceptsGzip(r *http.Request) bool {
	for _, v := range r.Header.Values(echo.HeaderAcceptEncoding) {
		for part := range strings.SplitSeq(v, ",") {
			coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
			if strings.EqualFold(strings.TrimSpace(coding), "gzip") && strings.ReplaceAll(params, " ", "") != "q=0" {
				return true
			}
		}
	}
	return false
}

// appPath routes GET /v2/apps/{id...}: an app, an app's tasks, or a
// group's apps ("/v2/apps/grp/*") and their tasks.
func (s *Server) appPath(c echo.Context) error {
	raw := wildcardPath(c)
	if raw == "" {
		return s.listApps(c)
	}
	if rest, ok := strings.CutSuffix(raw, "/tasks"); ok {
		return s.appTasks(c, rest)
	}
	if err := s.awaitReady(c); err != nil {
		return err
	}
	// A single app (or /grp/*) always comes with its tasks and last
	// failure; ?embed= may add taskStats and readiness.
	all := view.ParseEmbeds(c.QueryParams()["embed"])
	all.Tasks, all.LastTaskFailure = true, true
	if prefix, ok := groupPattern(raw); ok {
		apps := []view.AppResponse{}
		s.rm.Read(func(st *readmodel.State) {
			for _, e := range st.SortedApps() {
				if deployplan.InGroup(e.Rec.App.ID, prefix) {
					apps = append(apps, view.NewAppResponse(st, e, all))
				}
			}
		})
		return writeJSON(c, http.StatusOK, map[string][]view.AppResponse{"*": apps})
	}
	id, err := pathAppID(raw)
	if err != nil {
		return err
	}
	var resp view.AppResponse
	found := false
	s.rm.Read(func(st *readmodel.State) {
		if e, ok := st.Apps[id]; ok {
			resp, found = view.NewAppResponse(st, e, all), true
		}
	})
	if !found {
		return &apierr.AppNotFoundError{ID: id}
	}
	return writeJSON(c, http.StatusOK, map[string]view.AppResponse{"app": resp})
}

// appTasks is GET /v2/apps/{id}/tasks (and /v2/apps/grp/*/tasks).
func (s *Server) appTasks(c echo.Context, raw string) error {
	if err := s.awaitReady(c); err != nil {
		return err
	}
	selected := func(st *readmodel.State) ([]readmodel.AppEntry, error) {
		if prefix, ok := groupPattern(raw); ok {
			return slices.DeleteFunc(st.SortedApps(), func(e readmodel.AppEntry) bool { return !deployplan.InGroup(e.Rec.App.ID, prefix) }), nil
		}
		id, err := pathAppID(raw)
		if err != nil {
			return nil, err
		}
		if e, ok := st.Apps[id]; ok {
			return []readmodel.AppEntry{e}, nil
		}
		return nil, &apierr.AppNotFoundError{ID: id}
	}
	asText := wantsText(c.Request())
	tasks := []view.Task{}
	var text string
	var err error
	s.rm.Read(func(st *readmodel.State) {
		var apps []readmodel.AppEntry
		if apps, err = selected(st); err != nil {
			return
		}
		if asText {
			text = view.Endpoints(st, apps)
			return
		}
		for _, e := range apps {
			tasks = append(tasks, view.AppTasks(st, &e.Rec.App)...)
		}
	})
	switch {
	case err != nil:
		return err
	case asText:
		return c.String(http.StatusOK, text)
	}
	return writeJSON(c, http.StatusOK, map[string][]view.Task{"tasks": tasks})
}

// wildcardPath is the unescaped "*" of a route, without surrounding slashes.
func wildcardPath(c echo.Context) string {
	raw := c.Param("*")
	if u, err := url.PathUnescape(raw); err == nil {
		raw = u
	}
	return strings.Trim(raw, "/")
}

// pathAppID normalises an app id taken from a URL; an id that cannot be
// an app's is an app that does not exist.
func pathAppID(raw string) (string, error) {
	id, err := marathon.NormalizeID(raw, "/")
	if err != nil {
		return "", &apierr.AppNotFoundError{ID: "/" + strings.Trim(raw, "/")}
	}
	return id, nil
}

// groupPattern recognises "grp/*" (and "*"): the apps under a group.
func groupPattern(raw string) (string, bool) {
	rest, ok := strings.CutSuffix(raw, "*")
	if !ok {
		return "", false
	}
	rest = strings.Trim(rest, "/")
	if rest == "" {
		return "/", true
	}
	id, err := marathon.NormalizeID(rest, "/")
	if err != nil {
		return "", false
	}
	return id, true
}
