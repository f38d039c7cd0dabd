package agent

import (
	"context"
	"slices"
	"strings"

	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/marathon"
)

// CheckSpec is what the agent needs to check a task's health and readiness:
// its app's checks, and the name and container port of each of its ports,
// index-aligned with the task's host ports. The agent takes it from a
// launch's spec; a runtime that keeps it with the task (CheckRecaller) gives
// it back to an agent that restarted and adopted the task.
type CheckSpec struct {
	HealthChecks    []marathon.HealthCheck    `json:"healthChecks,omitempty"`
	ReadinessChecks []marathon.ReadinessCheck `json:"readinessChecks,omitempty"`
	Ports           []CheckPort               `json:"ports,omitempty"`
}

// CheckPort is one port of a task: its name (port mapping or port
// definition), and its port inside the container (0: the host port).
type CheckPort struct {
	Name          string `json:"name,omitempty"`
	ContainerPort int    `json:"containerPort,omitempty"`
}

// Empty reports whether there is nothing to check.
func (c CheckSpec) Empty() bool { return len(c.HealthChecks) == 0 && len(c.ReadinessChecks) == 0 }

// CheckSpecOf is the check spec of a task launched from spec. Health checks
// get the defaults the api fills (protocol HTTP, path "/", port index 0).
// The error is for readiness checks that cannot be read; the spec returned
// holds what could be.
func CheckSpecOf(spec events.LaunchSpec) (CheckSpec, error) {
	app := spec.App
	cs := CheckSpec{HealthChecks: slices.Clone(app.HealthChecks)}
	for i := range cs.HealthChecks {
		h := &cs.HealthChecks[i]
		h.Protocol = strings.ToUpper(h.Protocol)
		if h.Protocol == "" {
			h.Protocol = marathon.HealthHTTP
		}
		if h.Path == "" {
			h.Path = "/"
		}
		if h.Port == nil && h.PortIndex == nil {
			zero := 0
			h.PortIndex = &zero
		}
	}
	rcs, err := marathon.ParseReadinessChecks(app.ReadinessChecks)
	cs.ReadinessChecks = rcs
	if !cs.Empty() {
		cs.Ports = checkPorts(app)
	}
	return cs, err
}

// checkPorts lists an app's ports in the order of its tasks' host ports:
// the port definitions on the host network; elsewhere the port mappings,
// then the container ports of the publish parameters.
func checkPorts(app marathon.App) []CheckPort {
	var out []CheckPort
	switch strings.ToUpper(app.NetworkMode()) {
	case marathon.NetworkModeHost:
		for _, pd := range app.PortDefinitions {
			out = append(out, CheckPort{Name: pd.Name})
		}
	case marathon.NetworkModeNone:
	default:
		for _, pm := range app.PortMappingList() {
			out = append(out, CheckPort{Name: pm.Name, ContainerPort: pm.ContainerPort})
		}
		if app.Container == nil || app.Container.Docker == nil {
			break
		}
		opts, err := marathon.ParseDockerParameters(app.Container.Docker.Parameters)
		if err != nil {
			break
		}
		for _, p := range opts.Publish {
			for port := p.ContainerPort; port <= max(p.ContainerPort, p.ContainerPortEnd); port++ {
				out = append(out, CheckPort{ContainerPort: port})
			}
		}
	}
	return out
}

// Execer is a Runtime that can run a command inside a task's container, as
// COMMAND health checks need. Without it, they fail.
type Execer interface {
	// Exec runs cmd in the task's container until it exits or ctx is done.
	// The error is for a command that could not be run or waited for.
	Exec(ctx context.Context, taskID string, cmd []string) (ExecResult, error)
}

// ExecResult is how a command run by Exec ended.
type ExecResult struct {
	ExitCode int
	Output   string // the start of its stdout and stderr
}

// CheckRecaller is a Runtime that keeps each task's CheckSpec with the task
// (the Docker runtime: in a container label), so that an agent restarted
// keeps checking the tasks it adopts.
type CheckRecaller interface {
	// RecallChecks is the check spec the task was launched with; empty
	// when it has none.
	RecallChecks(ctx context.Context, taskID string) (CheckSpec, error)
}
