package docker

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/go-connections/nat"

	"github.com/drover/drover/pkg/events"
)

// reportOf describes a task from its container. killing says the agent is
// stopping it, so that its end is TASK_KILLED rather than a failure.
func reportOf(c container.InspectResponse, killing bool) events.TaskReport {
	var labels map[string]string
	if c.Config != nil {
		labels = c.Config.Labels
	}
	r := events.TaskReport{
		TaskID:  labels[LabelTaskID],
		AppID:   labels[LabelAppID],
		Version: labels[LabelAppVersion],
	}
	if c.ContainerJSONBase == nil || c.State == nil {
		r.State = events.TaskUnknown
		return r
	}
	r.ContainerID = c.ID
	r.State, r.Message = stateOf(c.State, killing)
	if t, err := time.Parse(time.RFC3339Nano, c.State.StartedAt); err == nil && t.Year() > 1 {
		r.StartedAt = t
	}
	if r.State.Terminal() {
		return r
	}
	if hp := labels[LabelHostPorts]; hp != "" {
		r.HostPorts = splitInts(hp)
	} else if c.NetworkSettings != nil {
		r.HostPorts = hostPorts(splitList(labels[LabelPorts]), c.NetworkSettings.Ports)
	}
	r.IPAddress = ipAddress(c)
	return r
}

// stateOf maps a container's state onto a task state and message.
func stateOf(s *container.State, killing bool) (events.TaskState, string) {
	switch s.Status {
	case container.StateCreated:
		if s.Error != "" {
			return events.TaskFailed, s.Error
		}
		return events.TaskStaging, ""
	case container.StateRunning, container.StatePaused, container.StateRestarting:
		if killing {
			return events.TaskKilling, ""
		}
		return events.TaskRunning, ""
	case container.StateRemoving:
		return events.TaskKilling, ""
	}
	return exitState(s.ExitCode, s.OOMKilled, killing, s.Error)
}

// exitState is the state of a task whose container exited.
func exitState(code int, oom, killing bool, errMsg string) (events.TaskState, string) {
	switch {
	case killing:
		return events.TaskKilled, ""
	case oom:
		return events.TaskFailed, fmt.Sprintf("out of memory (exit code %d)", code)
	case errMsg != "":
		return events.TaskFailed, errMsg
	case code == 0:
		return events.TaskFinished, ""
	default:
		return events.TaskFailed, fmt.Sprintf("exit code %d", code)
	}
}

// hostPorts are the host ports bound to the container ports, in order; a
// container port without a binding reports 0.
func hostPorts(order []string, bound nat.PortMap) []int {
	if len(order) == 0 {
		return nil
	}
	out := make([]int, 0, len(order))
	for _, p := range order {
		port := 0
		for _, b := range bound[nat.Port(p)] {
			if n, err := strconv.Atoi(b.HostPort); err == nil {
				port = n
				break
			}
		}
		out = append(out, port)
	}
	return out
}

// ipAddress is the container's address on its network.
func ipAddress(c container.InspectResponse) string {
	if c.NetworkSettings == nil {
		return ""
	}
	nets := c.NetworkSettings.Networks
	if c.HostConfig != nil {
		if ep := nets[string(c.HostConfig.NetworkMode)]; ep != nil && ep.IPAddress != "" {
			return ep.IPAddress
		}
		if c.HostConfig.NetworkMode == "default" {
			if ep := nets["bridge"]; ep != nil && ep.IPAddress != "" {
				return ep.IPAddress
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(nets)) {
		if ep := nets[name]; ep != nil && ep.IPAddress != "" {
			return ep.IPAddress
		}
	}
	return ""
}

// finishedAt is when a container exited, or the zero time.
func finishedAt(s *container.State) time.Time {
	if s == nil {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s.FinishedAt)
	if err != nil || t.Year() <= 1 {
		return time.Time{}
	}
	return t
}

// exitCodeOf reads the exitCode attribute of a die event.
func exitCodeOf(attrs map[string]string) int {
	n, err := strconv.Atoi(strings.TrimSpace(attrs["exitCode"]))
	if err != nil {
		return -1
	}
	return n
}
