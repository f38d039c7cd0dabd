package docker

import (
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/marathon"
)

// TestLaunchedContainerEnv: a Docker task's container has the env
// Marathon and Mesos give it, read back from the daemon: the app's env
// over Marathon's variables, Mesos' MESOS_SANDBOX over the app's, the env
// parameters over all.
func TestLaunchedContainerEnv(t *testing.T) {
	cli := requireDocker(t)
	cfg := DefaultConfig()
	cfg.AgentID, cfg.PublishIP, cfg.Hostname = newAgentID(t), "127.0.0.1", "agent7.example"
	r := newRuntimeWith(t, cli, cfg)
	ctx := t.Context()
	port := freePort(t, "127.0.0.1")
	app := httpdApp(htdocs(t, "env"))
	app.Container.PortMappings = []marathon.PortMapping{{ContainerPort: 80, HostPort: ptr(0), Name: "http"}}
	app.Container.Docker.Parameters = []marathon.Parameter{{Key: "env", Value: "FROM_PARAM=1"}, {Key: "env", Value: "MARATHON_APP_ID=param"}}
	app.Labels = map[string]string{"team": "web", "a.b-c": "x", strings.Repeat("k", 493): "key too long"}
	app.Env = map[string]marathon.EnvValue{"GREETING": {Value: "hi"}, "PORT_HTTP": {Value: "app-wins"}, "MESOS_SANDBOX": {Value: "app-loses"}}

	rep, err := r.Launch(ctx, "env.1", resolve(t, events.LaunchSpec{App: app, HostPorts: []int{port}}))
	if err != nil {
		t.Fatalf("Launch: %v", err)
	}
	info, err := cli.ContainerInspect(ctx, rep.ContainerID)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, kv := range info.Config.Env {
		k, v, _ := strings.Cut(kv, "=")
		got[k] = v
	}
	p := fmt.Sprint(port)
	want := map[string]string{
		"GREETING": "hi", "FROM_PARAM": "1", "PORT_HTTP": "app-wins",
		"HOST": "agent7.example", "MESOS_TASK_ID": "env.1",
		"MESOS_SANDBOX": "/mnt/mesos/sandbox", "MESOS_CONTAINER_NAME": ContainerName(cfg.AgentID, "env.1"),
		"MARATHON_APP_ID": "param", "MARATHON_APP_VERSION": "2026-01-01T00:00:00.000Z",
		"MARATHON_APP_DOCKER_IMAGE": testImage, "MARATHON_APP_ENFORCE_GROUP_ROLE": "FALSE",
		"MARATHON_APP_RESOURCE_CPUS": "0.1", "MARATHON_APP_RESOURCE_MEM": "32.0",
		"MARATHON_APP_RESOURCE_DISK": "0.0", "MARATHON_APP_RESOURCE_GPUS": "0",
		"MARATHON_APP_LABELS": "A_B_C TEAM", "MARATHON_APP_LABEL_A_B_C": "x", "MARATHON_APP_LABEL_TEAM": "web",
		"PORT": p, "PORTS": p, "PORT0": p, "PORT_80": p,
	}
	if path, ok := got["PATH"]; ok {
		want["PATH"] = path // the daemon's default: the scratch image sets none
	}
	if !maps.Equal(got, want) {
		t.Errorf("container env\n%q\nwant\n%q", got, want)
	}
	if err := r.Kill(ctx, "env.1", time.Second); err != nil { // the runtime's cleanup removes it too, on failure
		t.Errorf("Kill: %v", err)
	}
}
