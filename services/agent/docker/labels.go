package docker

import (
	"fmt"
	"strconv"
	"strings"
)

// Labels Drover puts on every container it creates.
const (
	LabelTaskID     = "drover.task-id"
	LabelAppID      = "drover.app-id"
	LabelAppVersion = "drover.app-version"
	LabelAgentID    = "drover.agent-id"
	// LabelPorts lists the container ports whose host ports a task reports,
	// in order ("80/tcp,53/udp"): its port mappings, then its publish parameters.
	LabelPorts = "drover.ports"
	// LabelHostPorts lists the host ports of a task on the host network.
	LabelHostPorts = "drover.host-ports"
	// LabelChecks holds the task's agent.CheckSpec as JSON, when its app
	// has health or readiness checks, so that a restarted agent keeps
	// checking the task.
	LabelChecks = "drover.checks"
)

// ContainerName is the name of a task's container: drover.<agentId>.<taskId>.
func ContainerName(agentID, taskID string) string { return "drover." + agentID + "." + taskID }

// validTaskID reports whether a task id can stand in a container name,
// and name its sandbox's directory: no separators, no dot names.
func validTaskID(id string) error {
	if id == "" || len(id) > 200 || id == "." || id == ".." {
		return fmt.Errorf("task id %q: want 1 to 200 characters", id)
	}
	for _, r := range id {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '.', r == '-':
		default:
			return fmt.Errorf("task id %q: want letters, digits, '_', '.' or '-'", id)
		}
	}
	return nil
}

func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}

func splitInts(s string) []int {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if n, err := strconv.Atoi(strings.TrimSpace(f)); err == nil {
			out = append(out, n)
		}
	}
	return out
}

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}
