package view

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/marathon"
	"github.com/drover/drover/services/api/readmodel"
)

// FormatTime is how Marathon writes timestamps: ISO-8601, UTC, milliseconds.
func FormatTime(t time.Time) string { return t.UTC().Format(events.TimeFormat) }

// Task is a task as Marathon's /v2 API shows it. What Marathon leaves out
// when it has nothing to say is left out (conformance_test.go
// TestConformanceOmittedWhenEmpty): healthCheckResults until a check
// has a result (clients read a present list as "results in": go-marathon's
// ApplicationOK and marathon-lb take an empty one for healthy), slaveId,
// version, stagedAt and startedAt when unknown (optional in Marathon's
// RAML). The lists Marathon 1.6+ always writes (ports, servicePorts,
// ipAddresses, localVolumes) are always written, [] when empty.
type Task struct {
	ID                 string         `json:"id"`
	AppID              string         `json:"appId"`
	Host               string         `json:"host"`
	SlaveID            string         `json:"slaveId,omitempty"`
	State              string         `json:"state"`
	StagedAt           string         `json:"stagedAt,omitempty"`
	StartedAt          string         `json:"startedAt,omitempty"`
	Version            string         `json:"version,omitempty"`
	Ports              []int          `json:"ports"`
	ServicePorts       []int          `json:"servicePorts"`
	IPAddresses        []ipAddress    `json:"ipAddresses"`
	HealthCheckResults []healthResult `json:"healthCheckResults,omitempty"`
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
	s := FormatTime(t)
	return &s
}

// newHealthResults are a task's health results: nil (left out) when it
// has none yet.
func newHealthResults(in events.Instance) []healthResult {
	if len(in.Health) == 0 {
		return nil
	}
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

// taskFailure is an app's lastTaskFailure; slaveId is optional there.
type taskFailure struct {
	AppID     string `json:"appId"`
	Host      string `json:"host"`
	Message   string `json:"message"`
	State     string `json:"state"`
	TaskID    string `json:"taskId"`
	Timestamp string `json:"timestamp"`
	Version   string `json:"version"`
	SlaveID   string `json:"slaveId,omitempty"`
}

// NewTask renders an instance record; servicePorts are its app's.
func NewTask(in events.Instance, servicePorts []int) Task {
	t := Task{
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
		t.StagedAt = FormatTime(in.StagedAt)
	}
	if !in.StartedAt.IsZero() {
		t.StartedAt = FormatTime(in.StartedAt)
	}
	if in.IPAddress != "" {
		t.IPAddresses = append(t.IPAddresses, ipAddress{IPAddress: in.IPAddress, Protocol: "IPv4"})
	}
	return t
}

func newTaskFailure(in events.Instance) *taskFailure {
	return &taskFailure{
		AppID: in.AppID, Host: in.Host, Message: in.Message, State: string(in.State), TaskID: in.TaskID,
		Timestamp: FormatTime(in.UpdatedAt), Version: in.Version, SlaveID: in.AgentID,
	}
}

// ServicePorts are an app's service ports: its port mappings' on a
// container network, else its port definitions'.
func ServicePorts(a *marathon.App) []int { return a.ServicePorts() }

// AppTasks is an app's live tasks: its instances not in a terminal state.
func AppTasks(s *readmodel.State, a *marathon.App) []Task {
	sp := ServicePorts(a)
	out := []Task{}
	for _, in := range s.AppInstances(a.ID) {
		if !in.State.Terminal() {
			out = append(out, NewTask(in, sp))
		}
	}
	return out
}

// Endpoints is Marathon's text listing of tasks: per app and service port,
// "<app id with / as _>\t<service port>\t<host>:<host port>\t..." over its
// running tasks, or "<app>\t \t<host>\t..." for an app without ports.
func Endpoints(st *readmodel.State, apps []readmodel.AppEntry) string {
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
		ports := ServicePorts(a)
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
