package agent

import (
	"bytes"
	"context"

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

// CheckSpecOf is the check spec of a task launched from spec: its checks
// (health checks with the api's defaults) and the name and container port
// of each of its ports. The error is spec.ChecksLeftOut: readiness checks
// that could not be read, and are not in the check spec.
func CheckSpecOf(spec marathon.TaskSpec) (CheckSpec, error) {
	cs := CheckSpec{HealthChecks: spec.HealthChecks, ReadinessChecks: spec.ReadinessChecks}
	if !cs.Empty() {
		for _, p := range spec.Ports {
			cs.Ports = append(cs.Ports, CheckPort{Name: p.Name, ContainerPort: p.ContainerPort})
		}
	}
	return cs, spec.ChecksLeftOut
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

// MaxExecOutput is how much of a command's output Exec keeps (ExecOutput).
const MaxExecOutput = 4 << 10

// ExecOutput collects a command's stdout and stderr for an ExecResult: the
// first MaxExecOutput bytes written to it; the rest is discarded.
type ExecOutput struct {
	buf bytes.Buffer
}

func (b *ExecOutput) Write(p []byte) (int, error) {
	if room := MaxExecOutput - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (b *ExecOutput) String() string { return b.buf.String() }

// CheckRecaller is a Runtime that keeps each task's CheckSpec with the task
// (the Docker runtime: in a container label), so that an agent restarted
// keeps checking the tasks it adopts.
type CheckRecaller interface {
	// RecallChecks is the check spec the task was launched with; empty
	// when it has none.
	RecallChecks(ctx context.Context, taskID string) (CheckSpec, error)
}
