package docker

import (
	"slices"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/go-connections/nat"

	"github.com/drover/drover/pkg/events"
)

func inspected(status string, exit int, labels map[string]string) container.InspectResponse {
	return container.InspectResponse{
		ContainerJSONBase: &container.ContainerJSONBase{
			ID:         "abc",
			State:      &container.State{Status: status, ExitCode: exit, StartedAt: "2026-01-02T03:04:05.123456789Z", FinishedAt: "0001-01-01T00:00:00Z"},
			HostConfig: &container.HostConfig{NetworkMode: "bridge"},
		},
		Config: &container.Config{Labels: labels},
		NetworkSettings: &container.NetworkSettings{
			NetworkSettingsBase: container.NetworkSettingsBase{Ports: nat.PortMap{
				"80/tcp":  {{HostIP: "127.0.0.11", HostPort: "31000"}},
				"53/udp":  {{HostIP: "127.0.0.11", HostPort: "31001"}},
				"443/tcp": nil,
			}},
			Networks: map[string]*network.EndpointSettings{"bridge": {IPAddress: "172.17.0.5"}},
		},
	}
}

func TestReportOf(t *testing.T) {
	labels := map[string]string{LabelTaskID: "web.1", LabelAppID: "/web", LabelAppVersion: "v1", LabelPorts: "80/tcp,53/udp,443/tcp"}
	r := reportOf(inspected("running", 0, labels), false)
	want := events.TaskReport{
		TaskID: "web.1", AppID: "/web", Version: "v1", State: events.TaskRunning, ContainerID: "abc",
		HostPorts: []int{31000, 31001, 0}, IPAddress: "172.17.0.5",
		StartedAt: time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC),
	}
	if r.TaskID != want.TaskID || r.AppID != want.AppID || r.Version != want.Version || r.State != want.State ||
		!slices.Equal(r.HostPorts, want.HostPorts) || r.IPAddress != want.IPAddress || !r.StartedAt.Equal(want.StartedAt) {
		t.Fatalf("report = %+v\nwant     %+v", r, want)
	}
	if r := reportOf(inspected("running", 0, labels), true); r.State != events.TaskKilling {
		t.Fatalf("killing: %s", r.State)
	}
	hostNet := map[string]string{LabelTaskID: "web.2", LabelHostPorts: "31005,31006"}
	if r := reportOf(inspected("running", 0, hostNet), false); !slices.Equal(r.HostPorts, []int{31005, 31006}) {
		t.Fatalf("host network ports %v", r.HostPorts)
	}
	if r := reportOf(container.InspectResponse{}, false); r.State != events.TaskUnknown {
		t.Fatalf("empty inspection: %s", r.State)
	}
}

func TestStateOf(t *testing.T) {
	tests := []struct {
		state   container.State
		killing bool
		want    events.TaskState
		msg     string
	}{
		{container.State{Status: "created"}, false, events.TaskStaging, ""},
		{container.State{Status: "created", Error: "port is already allocated"}, false, events.TaskFailed, "port is already allocated"},
		{container.State{Status: "running"}, false, events.TaskRunning, ""},
		{container.State{Status: "paused"}, false, events.TaskRunning, ""},
		{container.State{Status: "running"}, true, events.TaskKilling, ""},
		{container.State{Status: "removing"}, false, events.TaskKilling, ""},
		{container.State{Status: "exited", ExitCode: 0}, false, events.TaskFinished, ""},
		{container.State{Status: "exited", ExitCode: 1}, false, events.TaskFailed, "exit code 1"},
		{container.State{Status: "exited", ExitCode: 137}, true, events.TaskKilled, ""},
		{container.State{Status: "exited", ExitCode: 137, OOMKilled: true}, false, events.TaskFailed, "out of memory (exit code 137)"},
		{container.State{Status: "dead", ExitCode: 2}, false, events.TaskFailed, "exit code 2"},
	}
	for _, tt := range tests {
		got, msg := stateOf(&tt.state, tt.killing)
		if got != tt.want || msg != tt.msg {
			t.Errorf("stateOf(%+v, killing %v) = %s %q, want %s %q", tt.state, tt.killing, got, msg, tt.want, tt.msg)
		}
	}
}

func TestIPAddressPrefersTheTaskNetwork(t *testing.T) {
	c := inspected("running", 0, nil)
	c.HostConfig.NetworkMode = "backend"
	c.NetworkSettings.Networks["backend"] = &network.EndpointSettings{IPAddress: "10.1.0.2"}
	if ip := ipAddress(c); ip != "10.1.0.2" {
		t.Fatalf("ip %q", ip)
	}
	c.HostConfig.NetworkMode = "host"
	c.NetworkSettings.Networks = map[string]*network.EndpointSettings{"host": {}}
	if ip := ipAddress(c); ip != "" {
		t.Fatalf("host network ip %q", ip)
	}
}

func TestFinishedAtAndExitCode(t *testing.T) {
	if !finishedAt(&container.State{FinishedAt: "0001-01-01T00:00:00Z"}).IsZero() || !finishedAt(nil).IsZero() {
		t.Fatal("zero finish time not zero")
	}
	if got := finishedAt(&container.State{FinishedAt: "2026-01-02T03:04:05Z"}); got.Year() != 2026 {
		t.Fatalf("finishedAt = %v", got)
	}
	if exitCodeOf(map[string]string{"exitCode": "137"}) != 137 || exitCodeOf(nil) != -1 {
		t.Fatal("exitCodeOf")
	}
}
