package api

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/marathon"
	"github.com/drover/drover/services/api/apierr"
	"github.com/drover/drover/services/api/change"
	"github.com/drover/drover/services/api/readmodel"
	"github.com/drover/drover/services/api/view"
	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"github.com/nats-io/nats.go/jetstream"
)

// killParams are the query parameters of the task kill endpoints.
type killParams struct {
	scale, wipe, force bool
}

func parseKillParams(c echo.Context) (killParams, error) {
	var p killParams
	var err error
	if p.scale, err = boolParam(c, "scale", false); err != nil {
		return p, err
	}
	if p.wipe, err = boolParam(c, "wipe", false); err != nil {
		return p, err
	}
	if p.force, err = boolParam(c, "force", false); err != nil {
		return p, err
	}
	if p.scale && p.wipe {
		return p, echo.NewHTTPError(http.StatusBadRequest, "You cannot use scale and wipe at the same time.")
	}
	return p, nil
}

// killAppTasks is DELETE /v2/apps/{id}/tasks?host&scale&wipe&force: kill
// the app's tasks (on one host with host=); {"tasks": [...]} as they were,
// or with scale=true the change result of lowering the app's instances.
func (s *Server) killAppTasks(c echo.Context, raw string) error {
	kp, err := parseKillParams(c)
	if err != nil {
		return err
	}
	if err := s.awaitReady(c); err != nil {
		return err
	}
	id, err := pathAppID(raw)
	if err != nil {
		return err
	}
	host := c.QueryParam("host")
	var victims []events.Instance
	found := false
	s.rm.Read(func(st *readmodel.State) {
		if _, found = st.Apps[id]; !found {
			return
		}
		for _, in := range st.AppInstances(id) {
			if !in.State.Terminal() && (host == "" || in.Host == host) {
				victims = append(victims, in)
			}
		}
	})
	if !found {
		return &apierr.AppNotFoundError{ID: id}
	}
	return s.kill(c, victims, kp, false)
}

// killAppTask is DELETE /v2/apps/{id}/tasks/{taskId}: {"task": ...}, or
// with scale=true a change result.
func (s *Server) killAppTask(c echo.Context, raw, taskID string) error {
	kp, err := parseKillParams(c)
	if err != nil {
		return err
	}
	if err := s.awaitReady(c); err != nil {
		return err
	}
	id, err := pathAppID(raw)
	if err != nil {
		return err
	}
	var (
		victim events.Instance
		found  bool
		known  bool
	)
	s.rm.Read(func(st *readmodel.State) {
		if _, known = st.Apps[id]; !known {
			return
		}
		victim, found = st.Instances[events.InstanceKey(taskID)]
		found = found && victim.AppID == id && !victim.State.Terminal()
	})
	switch {
	case !known:
		return &apierr.AppNotFoundError{ID: id}
	case !found:
		return &apierr.TaskNotFoundError{ID: taskID}
	}
	return s.kill(c, []events.Instance{victim}, kp, true)
}

// killTasks is POST /v2/tasks/delete?scale&wipe&force with {"ids": [...]}:
// kill tasks of any apps. Unknown ids are ignored.
func (s *Server) killTasks(c echo.Context) error {
	kp, err := parseKillParams(c)
	if err != nil {
		return err
	}
	data, err := readBody(c, s.cfg.BodyLimit)
	if err != nil {
		return err
	}
	var body struct {
		IDs []string `json:"ids"`
	}
	if err := decodeJSON(data, &body); err != nil {
		return err
	}
	if err := s.awaitReady(c); err != nil {
		return err
	}
	var victims []events.Instance
	s.rm.Read(func(st *readmodel.State) {
		for _, id := range body.IDs {
			if in, ok := st.Instances[events.InstanceKey(id)]; ok && !in.State.Terminal() {
				if _, app := st.Apps[in.AppID]; app {
					victims = append(victims, in)
				}
			}
		}
	})
	return s.kill(c, victims, kp, false)
}

// kill asks the scheduler leader to kill tasks, after lowering their apps'
// instances by as many when scaling. The api never commands agents.
func (s *Server) kill(c echo.Context, victims []events.Instance, kp killParams, single bool) error {
	slices.SortFunc(victims, func(a, b events.Instance) int { return cmp.Compare(a.TaskID, b.TaskID) })
	byApp := map[string][]string{}
	var apps []string
	for _, in := range victims {
		if byApp[in.AppID] == nil {
			apps = append(apps, in.AppID)
		}
		byApp[in.AppID] = append(byApp[in.AppID], in.TaskID)
	}
	var p *change.Staged
	if kp.scale {
		var err error
		p, err = s.change(c, kp.force, func(st *readmodel.State) (*change.Spec, error) {
			spec := &change.Spec{Group: "/"}
			for _, id := range apps {
				e, ok := st.Apps[id]
				if !ok {
					return nil, &apierr.AppNotFoundError{ID: id}
				}
				next := e.Rec.App
				n := max(0, deref(next.Instances)-len(byApp[id]))
				next.Instances = &n
				spec.Ops = append(spec.Ops, change.Op{ID: id, Prev: &e, Next: &next, Sentenced: byApp[id]})
			}
			if len(apps) == 1 {
				spec.Group = marathon.ParentID(apps[0])
			}
			return spec, nil
		})
		if err != nil {
			return err
		}
	}
	ctx := c.Request().Context()
	for _, id := range apps {
		req := events.SchedulerRequest{
			V: events.Version, ID: uuid.NewString(), Kind: events.RequestKillTasks, AppID: id,
			TaskIDs: byApp[id], Wipe: kp.wipe, At: s.now(),
		}
		if err := s.request(ctx, req); err != nil {
			return err
		}
		s.logger.Info("kill requested", "app", id, "tasks", byApp[id], "scale", kp.scale, "wipe", kp.wipe)
	}
	if p != nil {
		return answerChange(c, p)
	}
	var tasks []view.Task
	s.rm.Read(func(st *readmodel.State) {
		tasks = make([]view.Task, 0, len(victims))
		for _, in := range victims {
			var sp []int
			if e, ok := st.Apps[in.AppID]; ok {
				sp = view.ServicePorts(&e.Rec.App)
			}
			tasks = append(tasks, view.NewTask(in, sp))
		}
	})
	if single {
		return writeJSON(c, http.StatusOK, map[string]view.Task{"task": tasks[0]})
	}
	return writeJSON(c, http.StatusOK, map[string][]view.Task{"tasks": tasks})
}

// request publishes a request for the scheduler leader on its stream,
// with the request id as the message id (a retry is deduplicated).
func (s *Server) request(ctx context.Context, req events.SchedulerRequest) error {
	data, err := events.Encode(req)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.SyncTimeout)
	defer cancel()
	if _, err := s.bus.JS.Publish(ctx, events.SchedulerRequests, data, jetstream.WithMsgID(req.ID)); err != nil {
		return fmt.Errorf("api: request %s: %w", req.Kind, err)
	}
	return nil
}

// splitTaskPath splits "app/id/tasks/<taskId>" into the app and the task.
func splitTaskPath(raw string) (string, string, bool) {
	i := strings.LastIndex(raw, "/tasks/")
	if i < 0 {
		return "", "", false
	}
	app, taskID := raw[:i], raw[i+len("/tasks/"):]
	if app == "" || taskID == "" || strings.Contains(taskID, "/") {
		return "", "", false
	}
	return app, taskID, true
}
