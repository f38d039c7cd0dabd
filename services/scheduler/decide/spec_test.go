package decide

import (
	"reflect"
	"strings"
	"testing"

	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/marathon"
)

func intp(i int) *int { return &i }

func TestHostPortSlots(t *testing.T) {
	yes := true
	tests := []struct {
		name string
		app  marathon.App
		want []int
	}{
		{"BRIDGE: a mapping without host port gets any, a fixed one itself", marathon.App{Container: &marathon.Container{
			Docker: &marathon.Docker{Network: "BRIDGE"}, PortMappings: []marathon.PortMapping{{ContainerPort: 80}, {ContainerPort: 81, HostPort: intp(8081)}, {ContainerPort: 82, HostPort: intp(0)}}}},
			[]int{0, 8081, 0}},
		{"BRIDGE: deprecated docker.portMappings", marathon.App{Container: &marathon.Container{
			Docker: &marathon.Docker{Network: "BRIDGE", PortMappings: []marathon.PortMapping{{ContainerPort: 80}}}}}, []int{0}},
		{"USER: no host port unless asked", marathon.App{Networks: []marathon.Network{{Mode: "container", Name: "n"}}, Container: &marathon.Container{
			Docker: &marathon.Docker{}, PortMappings: []marathon.PortMapping{{ContainerPort: 80}, {ContainerPort: 81, HostPort: intp(0)}}}}, []int{-1, 0}},
		{"HOST: port definitions are dynamic", marathon.App{PortDefinitions: []marathon.PortDefinition{{Port: 10000}, {Port: 0}}}, []int{0, 0}},
		{"HOST with requirePorts: fixed", marathon.App{RequirePorts: &yes, PortDefinitions: []marathon.PortDefinition{{Port: 10000}}}, []int{10000}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := taskSpec(tt.app).HostPortSlots(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("slots = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestAssignPortsAndLaunch(t *testing.T) {
	app := marathon.App{ID: "/grp/web", Version: "v1", Container: &marathon.Container{Docker: &marathon.Docker{Image: "httpd", Network: "USER"},
		PortMappings: []marathon.PortMapping{{ContainerPort: 80}, {ContainerPort: 81, HostPort: intp(0)}}},
		Networks: []marathon.Network{{Mode: "container", Name: "n"}}}
	ports := assignPorts(taskSpec(app), []int{31005})
	if !reflect.DeepEqual(ports, []int{0, 31005}) {
		t.Fatalf("ports = %v, want [0 31005]", ports)
	}
	id := newTaskID(app.ID)
	if !strings.HasPrefix(id, "grp_web.instance-") || !strings.HasSuffix(id, "._app.1") {
		t.Errorf("task id %q is not Marathon's shape", id)
	}
	if cmd := LaunchCommand(1, app, &events.Instance{TaskID: id, AppID: app.ID, Host: "host1", HostPorts: ports}); cmd.Launch.Env != nil ||
		!reflect.DeepEqual(cmd.Launch.HostPorts, ports) {
		t.Errorf("launch %+v: the agent gives the task its env (marathon.TaskSpec.TaskEnv)", cmd.Launch)
	}
}

func TestPublishedPortsAreReserved(t *testing.T) {
	app := marathon.App{Container: &marathon.Container{Docker: &marathon.Docker{Parameters: []marathon.Parameter{
		{Key: "publish", Value: "80:80"}, {Key: "publish", Value: "127.0.0.1:9000-9001:9000-9001/udp"}, {Key: "publish", Value: "8080"}}}}}
	if got := taskSpec(app).PublishedPorts; !reflect.DeepEqual(got, []int{80, 9000, 9001}) {
		t.Errorf("published = %v, want [80 9000 9001]", got)
	}
}
