package agent_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/drover/drover/pkg/marathon"
	"github.com/drover/drover/services/agent"
	"github.com/drover/drover/services/agent/memruntime"
)

// hostMem is a memruntime standing for the host command runtime.
type hostMem struct{ *memruntime.Runtime }

func (h hostMem) Has(taskID string) bool { _, ok := h.Task(taskID); return ok }

func TestRoutedRuntime(t *testing.T) {
	containers, commands := memruntime.New(), hostMem{memruntime.New()}
	r := &agent.Routed{Containers: containers, Commands: commands}
	evs := r.Events(t.Context())
	docker := marathon.TaskSpec{AppID: "/web", Image: "httpd", Command: []string{"httpd"}}
	host := marathon.TaskSpec{AppID: "/cmd", Entrypoint: []string{"/bin/sh", "-c"}, Command: []string{"sleep 1"}}
	if _, err := r.Launch(t.Context(), "web.1", docker); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Launch(t.Context(), "cmd.1", host); err != nil {
		t.Fatal(err)
	}
	if _, ok := containers.Task("web.1"); !ok {
		t.Error("the docker task is not in the container runtime")
	}
	if !commands.Has("cmd.1") {
		t.Error("the host command is not in the command runtime")
	}
	tasks, err := r.List(t.Context())
	if err != nil || len(tasks) != 2 || tasks[0].TaskID != "cmd.1" || tasks[1].TaskID != "web.1" {
		t.Fatalf("list %+v %v, want both tasks by id", tasks, err)
	}
	if err := r.Kill(t.Context(), "cmd.1", time.Second); err != nil {
		t.Fatal(err)
	}
	if commands.Kills() != 1 || containers.Kills() != 0 {
		t.Errorf("kills: commands %d, containers %d; want the command's runtime to kill it", commands.Kills(), containers.Kills())
	}
	seen := map[string]bool{}
	deadline := time.After(10 * time.Second)
	for !seen["web.1"] || !seen["cmd.1"] {
		select {
		case ev := <-evs:
			seen[ev.Task.TaskID] = true
		case <-deadline:
			t.Fatalf("events of %v only, want both runtimes'", seen)
		}
	}

	off := &agent.Routed{Containers: memruntime.New()}
	_, err = off.Launch(t.Context(), "cmd.2", host)
	if !errors.Is(err, agent.ErrInvalidSpec) || !strings.Contains(err.Error(), "--allow-host-commands") {
		t.Errorf("a host command without a command runtime: %v", err)
	}
	if tasks, _ := off.List(t.Context()); len(tasks) != 0 {
		t.Errorf("tasks %+v", tasks)
	}
}

// ReadSandbox: a stand-in sandbox with one file, stdout, of "hello\n".
func (h hostMem) ReadSandbox(_ context.Context, taskID, path string, offset, length int64) (agent.SandboxChunk, error) {
	if !h.Has(taskID) || path != "stdout" {
		return agent.SandboxChunk{}, agent.ErrSandboxNotFound
	}
	data := []byte("hello\n")
	if offset < 0 {
		offset = max(int64(len(data))-length, 0)
	}
	offset = min(offset, int64(len(data)))
	return agent.SandboxChunk{Data: data[offset:min(offset+length, int64(len(data)))], Offset: offset, Size: int64(len(data))}, nil
}

// containerMem is a memruntime standing for a container runtime with
// sandboxes, each holding one file, stdout, of "container\n".
type containerMem struct{ *memruntime.Runtime }

func (c containerMem) ReadSandbox(_ context.Context, taskID, path string, _, _ int64) (agent.SandboxChunk, error) {
	if _, ok := c.Task(taskID); !ok || path != "stdout" {
		return agent.SandboxChunk{}, agent.ErrSandboxNotFound
	}
	return agent.SandboxChunk{Data: []byte("container\n"), Size: 10}, nil
}

// TestRoutedReadSandbox: a read goes to the runtime that holds the task;
// one whose runtime keeps no sandboxes is ErrNoSandbox.
func TestRoutedReadSandbox(t *testing.T) {
	containers, commands := containerMem{memruntime.New()}, hostMem{memruntime.New()}
	docker := marathon.TaskSpec{AppID: "/web", Image: "httpd", Command: []string{"httpd"}}
	host := marathon.TaskSpec{AppID: "/cmd", Entrypoint: []string{"/bin/sh", "-c"}, Command: []string{"sleep 1"}}
	for _, r := range []*agent.Routed{{Containers: containers, Commands: commands}, {Containers: containers.Runtime, Commands: commands}} {
		if _, err := r.Launch(t.Context(), "web.1", docker); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Launch(t.Context(), "cmd.1", host); err != nil {
			t.Fatal(err)
		}
		if got, err := r.ReadSandbox(t.Context(), "cmd.1", "stdout", 0, 100); err != nil || string(got.Data) != "hello\n" {
			t.Errorf("the host command's stdout: %q, %v", got.Data, err)
		}
	}
	with := &agent.Routed{Containers: containers, Commands: commands}
	if got, err := with.ReadSandbox(t.Context(), "web.1", "stdout", 0, 100); err != nil || string(got.Data) != "container\n" {
		t.Errorf("the container's stdout: %q, %v", got.Data, err)
	}
	if _, err := with.ReadSandbox(t.Context(), "web.1", "other", 0, 100); !errors.Is(err, agent.ErrSandboxNotFound) {
		t.Errorf("a file not in the container's sandbox: %v", err)
	}
	without := &agent.Routed{Containers: containers.Runtime, Commands: commands}
	if _, err := without.ReadSandbox(t.Context(), "web.1", "stdout", 0, 100); !errors.Is(err, agent.ErrNoSandbox) {
		t.Errorf("a container runtime without sandboxes: %v", err)
	}
	if _, err := (&agent.Routed{Containers: containers}).ReadSandbox(t.Context(), "web.1", "stdout", 0, 100); err != nil {
		t.Errorf("without host commands, the container's sandbox: %v", err)
	}
}
