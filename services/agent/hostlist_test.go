package agent_test

import (
	"errors"
	"testing"
	"time"

	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/marathon"
	"github.com/drover/drover/services/agent/memruntime"
)

// TestHostCommandsListedWhileDockerIsDown: with Docker down, the
// heartbeat's list is stale, but its host commands are listed afresh
// (HostTasksListedAt), so the scheduler can tell one that ended or went.
func TestHostCommandsListedWhileDockerIsDown(t *testing.T) {
	h := newHarness(t, func(h *harness) { h.host = memruntime.New() })
	h.send(launchCmd("web.1", 1))
	h.waitStatus("web.1", events.TaskRunning)
	cmd := "sleep 1000"
	h.send(events.Command{Kind: events.CommandLaunch, TaskID: "cmd.1", AppID: "/cmd", Epoch: 1, Launch: &events.LaunchSpec{
		App: marathon.App{ID: "/cmd", Version: "2026-01-01T00:00:00.000Z", Cmd: &cmd}}})
	h.waitStatus("cmd.1", events.TaskRunning)
	if _, ok := h.host.Task("cmd.1"); !ok {
		t.Fatal("the host command is not on the host runtime")
	}
	h.waitHeartbeat("both tasks, host commands listed", func(hb events.Heartbeat) bool {
		return !hb.TasksStale && !hb.HostTasksListedAt.IsZero() && hasTask(hb, "web.1", events.TaskRunning) && hasTask(hb, "cmd.1", events.TaskRunning)
	})

	h.rt.SetDown(errors.New("cannot connect to the docker daemon"))
	down := time.Now()
	h.waitHeartbeat("docker down, the host command listed since", func(hb events.Heartbeat) bool {
		return !hb.Docker.Healthy && hb.TasksStale && hb.HostTasksListedAt.After(down) && hasTask(hb, "cmd.1", events.TaskRunning)
	})
	if err := h.host.Exit("cmd.1", 0); err != nil {
		t.Fatal(err)
	}
	ended := time.Now()
	hb := h.waitHeartbeat("the host command's end, docker down", func(hb events.Heartbeat) bool {
		return hb.HostTasksListedAt.After(ended) && hasTask(hb, "cmd.1", events.TaskFinished)
	})
	if hb.Docker.Healthy || !hb.TasksStale || !hasTask(hb, "web.1", events.TaskRunning) {
		t.Errorf("heartbeat %+v: want Docker down, the list stale, web.1 as last listed", hb)
	}
}
