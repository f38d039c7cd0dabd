package api

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/marathon"
	"github.com/drover/drover/services/api/readmodel"
	"github.com/labstack/echo/v4"
)

// timeLayout is how Marathon writes timestamps: ISO-8601, UTC, milliseconds.
const timeLayout = "2006-01-02T15:04:05.000Z"

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// task is a task as Marathon's /v2 API shows it.
type task struct {
	ID                 string         `json:"id"`
	AppID              string         `json:"appId"`
	Host               string         `json:"host"`
	SlaveID            string         `json:"slaveId"`
	State              string         `json:"state"`
	StagedAt           string         `json:"stagedAt,omitempty"`
	StartedAt          string         `json:"startedAt,omitempty"`
	Version            string         `json:"version"`
	Ports              []int          `json:"ports"`
	ServicePorts       []int          `json:"servicePorts"`
	IPAddresses        []ipAddress    `json:"ipAddresses"`
	HealthCheckResults []healthResult `json:"healthCheckResults"`
	LocalVolumes       []any          `json:"localVolumes"`
}

// healthResult is one health check's state of a task, in Marathon's shape.
type healthResult struct {
	InstanceID          string  `json:"instanceId"`
	Alive               bool    `json:"alive"`
	ConsecutiveFailures int     `json:"consecutiveFailures"`
	FirstSuccess        *string `json:"firstSuccess"`
	LastSuccess         *string `json:"lastSuccess"`
	LastFailure         *string `json:"lastFailure"`
	LastFailureCause    *string `json:"lastFailureCause"`
}

func optTime(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := formatTime(t)
	return &s
}

func newHealthResults(in events.Instance) []healthResult {
	out := make([]healthResult, 0, len(in.Health))
	for _, h := range in.Health {
		r := healthResult{
			InstanceID: in.TaskID, Alive: h.Alive, ConsecutiveFailures: h.ConsecutiveFailures,
			FirstSuccess: optTime(h.FirstSuccess), LastSuccess: optTime(h.LastSuccess), LastFailure: optTime(h.LastFailure),
		}
		if h.LastFailureCause != "" {
			cause := h.LastFailureCause
			r.LastFailureCause = &cause
		}
		out = append(out, r)
	}
	return out
}

type ipAddress struct {
	IPAddress string `json:"ipAddress"`
	Protocol  string `json:"protocol"`
}

// taskFailure is an app's lastTaskFailure.
type taskFailure struct {
	AppID     string `json:"appId"`
	Host      string `json:"host"`
	Message   string `json:"message"`
	State     string `json:"state"`
	TaskID    string `json:"taskId"`
	Timestamp string `json:"timestamp"`
	Version   string `json:"version"`
	SlaveID   string `json:"slaveId"`
}

// newTask renders an instance record; servicePorts are its app's.
func newTask(in events.Instance, servicePorts []int) task {
	t := task{
		ID:                 in.TaskID,
		AppID:              in.AppID,
		Host:               in.Host,
		SlaveID:            in.AgentID,
		State:              string(in.State),
		Version:            in.Version,
		Ports:              append([]int{}, in.HostPorts...),
		ServicePorts:       append([]int{}, servicePorts...),
		IPAddresses:        []ipAddress{},
		HealthCheckResults: newHealthResults(in),
		LocalVolumes:       []any{},
	}
	if !in.StagedAt.IsZero() {
		t.StagedAt = formatTime(in.StagedAt)
	}
	if !in.StartedAt.IsZero() {
		t.StartedAt = formatTime(in.StartedAt)
	}
	if in.IPAddress != "" {
		t.IPAddresses = append(t.IPAddresses, ipAddress{IPAddress: in.IPAddress, Protocol: "IPv4"})
	}
	return t
}

func newTaskFailure(in events.Instance) *taskFailure {
	return &taskFailure{
		AppID: in.AppID, Host: in.Host, Message: in.Message, State: string(in.State), TaskID: in.TaskID,
		Timestamp: formatTime(in.UpdatedAt), Version: in.Version, SlaveID: in.AgentID,
	}
}

// servicePorts are an app's service ports: its port mappings' on a
// container network, else its port definitions'.
func servicePorts(a *marathon.App) []int {
	var out []int
	if a.NetworkMode() != marathon.NetworkModeHost {
		for _, pm := range a.PortMappingList() {
			out = append(out, pm.ServicePort)
		}
		return out
	}
	for _, pd := range a.PortDefinitions {
		out = append(out, pd.Port)
	}
	return out
}

// appTasks is an app's live tasks: its instances not in a terminal state.
func appTasks(s *readmodel.State, a *marathon.App) []task {
	sp := servicePorts(a)
	out := []task{}
	for _, in := range s.AppInstances(a.ID) {
		if !in.State.Terminal() {
			out = append(out, newTask(in, sp))
		}
	}
	return out
}

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
	var tasks []task
	var text string
	s.rm.Read(func(st *readmodel.State) {
		apps := st.SortedApps()
		if asText {
			text = endpoints(st, apps)
			return
		}
		tasks = []task{}
		for _, e := range apps {
			for _, t := range appTasks(st, &e.Rec.App) {
				if want == nil || want[events.TaskState(t.State)] {
					tasks = append(tasks, t)
				}
			}
		}
	})
	if asText {
		return c.String(http.StatusOK, text)
	}
	return writeJSON(c, http.StatusOK, map[string][]task{"tasks": tasks})
}

// wantsText reports whether a client asks for text/plain rather than JSON.
func wantsText(r *http.Request) bool {
	accept := r.Header.Get(echo.HeaderAccept)
	return strings.Contains(accept, echo.MIMETextPlain) && !strings.Contains(accept, echo.MIMEApplicationJSON)
}

// endpoints is Marathon's text listing of tasks: per app and service port,
// "<app id with / as _>\t<service port>\t<host>:<host port>\t..." over its
// running tasks, or "<app>\t \t<host>\t..." for an app without ports.
func endpoints(st *readmodel.State, apps []readmodel.AppEntry) string {
	var b strings.Builder
	for _, e := range apps {
		a := &e.Rec.App
		id := strings.ReplaceAll(strings.TrimPrefix(a.ID, "/"), "/", "_")
		var running []events.Instance
		for _, in := range st.AppInstances(a.ID) {
			if in.State == events.TaskRunning {
				running = append(running, in)
			}
		}
		ports := servicePorts(a)
		if len(ports) == 0 {
			hosts := make([]string, 0, len(running))
			for _, in := range running {
				hosts = append(hosts, in.Host)
			}
			slices.Sort(hosts)
			b.WriteString(id + "\t \t")
			for _, h := range hosts {
				b.WriteString(h + "\t")
			}
			b.WriteString("\n")
			continue
		}
		for i, port := range ports {
			addrs := make([]string, 0, len(running))
			for _, in := range running {
				hostPort := 0
				if i < len(in.HostPorts) {
					hostPort = in.HostPorts[i]
				}
				addrs = append(addrs, in.Host+":"+strconv.Itoa(hostPort))
			}
			slices.Sort(addrs)
			b.WriteString(id + "\t" + strconv.Itoa(port) + "\t")
			for _, addr := range addrs {
				b.WriteString(addr + "\t")
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}
