package api

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/drover/drover/pkg/deployplan"
	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/marathon"
	"github.com/drover/drover/services/api/readmodel"
	"github.com/labstack/echo/v4"
)

// appResponse is an app as the /v2/apps reads show it: the definition,
// then its task counts, deployments and, when embedded, tasks and last failure.
type appResponse struct {
	marathon.App
	TasksStaged     int             `json:"tasksStaged"`
	TasksRunning    int             `json:"tasksRunning"`
	TasksHealthy    int             `json:"tasksHealthy"`
	TasksUnhealthy  int             `json:"tasksUnhealthy"`
	Deployments     []deploymentRef `json:"deployments"`
	Tasks           *[]task         `json:"tasks,omitempty"`
	LastTaskFailure *taskFailure    `json:"lastTaskFailure,omitempty"`
	// TaskStats and ReadinessCheckResults come with apps.taskStats and
	// apps.readiness.
	TaskStats             map[string]taskStats `json:"taskStats,omitempty"`
	ReadinessCheckResults *[]readinessCheck    `json:"readinessCheckResults,omitempty"`
}

// taskStats is Marathon's statistics of one set of an app's tasks.
type taskStats struct {
	Stats struct {
		Counts struct {
			Staged    int `json:"staged"`
			Running   int `json:"running"`
			Healthy   int `json:"healthy"`
			Unhealthy int `json:"unhealthy"`
		} `json:"counts"`
		LifeTime *struct {
			AverageSeconds float64 `json:"averageSeconds"`
			MedianSeconds  float64 `json:"medianSeconds"`
		} `json:"lifeTime,omitempty"`
	} `json:"stats"`
}

type deploymentRef struct {
	ID string `json:"id"`
}

// embeds says which optional parts an app response carries.
type embeds struct {
	tasks, lastTaskFailure, taskStats, readiness bool
}

// parseEmbeds reads ?embed= (repeatable). Counts and deployments are always
// embedded, as in Marathon; apps.failures is the deprecated tasks+failure.
func parseEmbeds(values []string) embeds {
	var e embeds
	for _, v := range values {
		for item := range strings.SplitSeq(v, ",") {
			switch strings.TrimSpace(item) {
			case "apps.tasks", "app.tasks", "group.apps.tasks":
				e.tasks = true
			case "apps.lastTaskFailure", "app.lastTaskFailure":
				e.lastTaskFailure = true
			case "apps.failures", "app.failures":
				e.tasks, e.lastTaskFailure = true, true
			case "apps.taskStats", "app.taskStats", "group.apps.taskStats":
				e.taskStats = true
			case "apps.readiness", "app.readiness", "group.apps.readiness":
				e.readiness = true
			}
		}
	}
	return e
}

func newAppResponse(s *readmodel.State, e readmodel.AppEntry, emb embeds) appResponse {
	a := e.Rec.App
	r := appResponse{App: a, Deployments: []deploymentRef{}}
	instances := s.AppInstances(a.ID)
	for _, in := range instances {
		switch in.State {
		case events.TaskStaging, events.TaskStarting:
			r.TasksStaged++
		case events.TaskRunning:
			r.TasksRunning++
		}
		if h := in.Healthy(); h != nil && !in.State.Terminal() {
			if *h {
				r.TasksHealthy++
			} else {
				r.TasksUnhealthy++
			}
		}
	}
	if emb.taskStats {
		r.TaskStats = newTaskStats(&a, instances, time.Now())
	}
	if emb.readiness {
		rc := readinessResults(s, a.ID)
		r.ReadinessCheckResults = &rc
	}
	for _, d := range s.AppDeployments(a.ID) {
		r.Deployments = append(r.Deployments, deploymentRef{ID: d.ID})
	}
	if emb.tasks {
		tasks := appTasks(s, &a)
		r.Tasks = &tasks
	}
	if f, ok := s.Failures[a.ID]; ok && emb.lastTaskFailure {
		r.LastTaskFailure = newTaskFailure(f)
	}
	return r
}

// appFilter is GET /v2/apps' ?id=, ?cmd= and ?label= filters.
type appFilter struct {
	id, cmd string
	labels  labelSelector
}

func (f appFilter) matches(a *marathon.App) bool {
	if f.id != "" && !strings.Contains(strings.ToLower(a.ID), strings.ToLower(f.id)) {
		return false
	}
	if f.cmd != "" && (a.Cmd == nil || !strings.Contains(strings.ToLower(*a.Cmd), strings.ToLower(f.cmd))) {
		return false
	}
	return f.labels.matches(a.Labels)
}

// listApps is GET /v2/apps: {"apps": [...]}, sorted by id.
func (s *Server) listApps(c echo.Context) error {
	labels, err := parseLabelSelector(c.QueryParam("label"))
	if err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "Invalid label selector: "+c.QueryParam("label")).SetInternal(err)
	}
	filter := appFilter{id: c.QueryParam("id"), cmd: c.QueryParam("cmd"), labels: labels}
	emb := parseEmbeds(c.QueryParams()["embed"])
	if err := s.awaitReady(c); err != nil {
		return err
	}
	build := func() ([]byte, error) {
		apps := []appResponse{}
		s.rm.Read(func(st *readmodel.State) {
			for _, e := range st.SortedApps() {
				if filter.matches(&e.Rec.App) {
					apps = append(apps, newAppResponse(st, e, emb))
				}
			}
		})
		return encodeJSON(map[string][]appResponse{"apps": apps})
	}
	if emb.taskStats {
		data, err := build() // it depends on the clock
		if err != nil {
			return err
		}
		return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, data)
	}
	key := fmt.Sprintf("%s\x00%s\x00%s\x00%+v", filter.id, filter.cmd, c.QueryParam("label"), emb)
	e, err := s.lists.get(s.rm.Generation(), key, build)
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Add(echo.HeaderVary, echo.HeaderAcceptEncoding)
	body := e.data
	if acceptsGzip(c.Request()) {
		h.Set(echo.HeaderContentEncoding, "gzip")
		body = e.gzip()
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
	all := parseEmbeds(c.QueryParams()["embed"])
	all.tasks, all.lastTaskFailure = true, true
	if prefix, ok := groupPattern(raw); ok {
		apps := []appResponse{}
		s.rm.Read(func(st *readmodel.State) {
			for _, e := range st.SortedApps() {
				if deployplan.InGroup(e.Rec.App.ID, prefix) {
					apps = append(apps, newAppResponse(st, e, all))
				}
			}
		})
		return writeJSON(c, http.StatusOK, map[string][]appResponse{"*": apps})
	}
	id, err := pathAppID(raw)
	if err != nil {
		return err
	}
	var resp appResponse
	found := false
	s.rm.Read(func(st *readmodel.State) {
		if e, ok := st.Apps[id]; ok {
			resp, found = newAppResponse(st, e, all), true
		}
	})
	if !found {
		return &AppNotFoundError{ID: id}
	}
	return writeJSON(c, http.StatusOK, map[string]appResponse{"app": resp})
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
		return nil, &AppNotFoundError{ID: id}
	}
	asText := wantsText(c.Request())
	tasks := []task{}
	var text string
	var err error
	s.rm.Read(func(st *readmodel.State) {
		var apps []readmodel.AppEntry
		if apps, err = selected(st); err != nil {
			return
		}
		if asText {
			text = endpoints(st, apps)
			return
		}
		for _, e := range apps {
			tasks = append(tasks, appTasks(st, &e.Rec.App)...)
		}
	})
	switch {
	case err != nil:
		return err
	case asText:
		return c.String(http.StatusOK, text)
	}
	return writeJSON(c, http.StatusOK, map[string][]task{"tasks": tasks})
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
		return "", &AppNotFoundError{ID: "/" + strings.Trim(raw, "/")}
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

// newTaskStats is Marathon's taskStats of an app's live tasks: all of
// them, those with its latest config, those with an older one, and those
// started after its last scaling. A set without tasks is left out.
func newTaskStats(a *marathon.App, instances []events.Instance, now time.Time) map[string]taskStats {
	config := deployplan.ConfigVersion(a)
	scaledAt := a.Version
	if a.VersionInfo != nil && a.VersionInfo.LastScalingAt != "" {
		scaledAt = a.VersionInfo.LastScalingAt
	}
	sets := map[string]func(events.Instance) bool{
		"totalSummary":            func(events.Instance) bool { return true },
		"withLatestConfig":        func(in events.Instance) bool { return in.Version == config },
		"withOutdatedConfig":      func(in events.Instance) bool { return in.Version != config },
		"startedAfterLastScaling": func(in events.Instance) bool { return formatTime(in.StagedAt) >= scaledAt },
	}
	out := map[string]taskStats{}
	for name, in := range sets {
		var ts taskStats
		var lives []float64
		for _, i := range instances {
			if i.State.Terminal() || !in(i) {
				continue
			}
			switch i.State {
			case events.TaskStaging, events.TaskStarting:
				ts.Stats.Counts.Staged++
			case events.TaskRunning:
				ts.Stats.Counts.Running++
			}
			if h := i.Healthy(); h != nil {
				if *h {
					ts.Stats.Counts.Healthy++
				} else {
					ts.Stats.Counts.Unhealthy++
				}
			}
			if !i.StartedAt.IsZero() {
				lives = append(lives, now.Sub(i.StartedAt).Seconds())
			}
		}
		c := ts.Stats.Counts
		if c.Staged+c.Running == 0 && len(lives) == 0 {
			continue
		}
		if len(lives) > 0 {
			slices.Sort(lives)
			sum := 0.0
			for _, l := range lives {
				sum += l
			}
			ts.Stats.LifeTime = &struct {
				AverageSeconds float64 `json:"averageSeconds"`
				MedianSeconds  float64 `json:"medianSeconds"`
			}{sum / float64(len(lives)), lives[len(lives)/2]}
		}
		out[name] = ts
	}
	return out
}
