package api

import (
	"net/http"
	"strings"

	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/services/api/readmodel"
	"github.com/drover/drover/services/api/view"
	"github.com/labstack/echo/v4"
)

// statusFilter is the task states GET /v2/tasks?status= asks for; nil for all.
func statusFilter(values []string) map[events.TaskState]bool {
	var want map[events.TaskState]bool
	for _, v := range values {
		var st events.TaskState
		switch strings.ToLower(v) {
		case "running":
			st = events.TaskRunning
		case "staging":
			st = events.TaskStaging
		default:
			continue // Marathon ignores what it does not know
		}
		if want == nil {
			want = map[events.TaskState]bool{}
		}
		want[st] = true
	}
	return want
}

// listTasks is GET /v2/tasks: every live task, or the endpoints as text.
func (s *Server) listTasks(c echo.Context) error {
	if err := s.awaitReady(c); err != nil {
		return err
	}
	want := statusFilter(c.QueryParams()["status"])
	asText := wantsText(c.Request())
	var tasks []view.Task
	var text string
	s.rm.Read(func(st *readmodel.State) {
		apps := st.SortedApps()
		if asText {
			text = view.Endpoints(st, apps)
			return
		}
		tasks = []view.Task{}
		for _, e := range apps {
			for _, t := range view.AppTasks(st, &e.Rec.App) {
				if want == nil || want[events.TaskState(t.State)] {
					tasks = append(tasks, t)
				}
			}
		}
	})
	if asText {
		return c.String(http.StatusOK, text)
	}
	return writeJSON(c, http.StatusOK, map[string][]view.Task{"tasks": tasks})
}

// wantsText reports whether a client asks for text/plain rather than JSON.
func wantsText(r *http.Request) bool {
	accept := r.Header.Get(echo.HeaderAccept)
	return strings.Contains(accept, echo.MIMETextPlain) && !strings.Contains(accept, echo.MIMEApplicationJSON)
}
