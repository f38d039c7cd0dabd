package docker

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docker/docker/api/types/network"

	"github.com/drover/drover/internal/testutil"
	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/marathon"
	"github.com/drover/drover/services/agent"
)

func TestLaunchBridgeWithReadOnlyVolume(t *testing.T) {
	cli := requireDocker(t)
	id := newAgentID(t)
	r := newRuntime(t, cli, id, "127.0.0.1")
	ctx := t.Context()
	port := freePort(t, "127.0.0.1")
	app := httpdApp(htdocs(t, "hello from drover"))
	app.Container.PortMappings = []marathon.PortMapping{{ContainerPort: 80, HostPort: ptr(0)}}
	spec := events.LaunchSpec{App: app, HostPorts: []int{port}} // PORT0 and the rest: TaskSpec.TaskEnv

	rep, err := r.Launch(ctx, "web.1", resolve(t, spec))
	if err != nil {
		t.Fatalf("Launch: %v", err)
	}
	if rep.State != events.TaskRunning || rep.TaskID != "web.1" || rep.AppID != "/web" || rep.Version != app.Version ||
		!slices.Equal(rep.HostPorts, []int{port}) || rep.IPAddress == "" || rep.ContainerID == "" || rep.StartedAt.IsZero() {
		t.Fatalf("report = %+v", rep)
	}
	if body := httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/", port)); body != "hello from drover" {
		t.Fatalf("body %q", body)
	}

	info, err := cli.ContainerInspect(ctx, rep.ContainerID)
	if err != nil {
		t.Fatal(err)
	}
	mounts := map[string]bool{} // destination -> read-write
	for _, m := range info.Mounts {
		mounts[m.Destination] = m.RW
	}
	if info.Name != "/"+ContainerName(id, "web.1") || info.Config.Labels[LabelAgentID] != id ||
		!maps.Equal(mounts, map[string]bool{"/usr/local/apache2/htdocs": false, "/mnt/mesos/sandbox": true}) ||
		!slices.Contains(info.Config.Env, fmt.Sprintf("PORT0=%d", port)) ||
		info.HostConfig.Memory != 32<<20 || info.HostConfig.NanoCPUs != 1e8 {
		t.Fatalf("container name %s labels %v mounts %+v memory %d", info.Name, info.Config.Labels, info.Mounts, info.HostConfig.Memory)
	}

	again, err := r.Launch(ctx, "web.1", resolve(t, spec))
	if err != nil || again.ContainerID != rep.ContainerID {
		t.Fatalf("second Launch = %+v, %v; want the same container", again, err)
	}
	list, err := r.List(ctx)
	if err != nil || len(list) != 1 || list[0].State != events.TaskRunning || !slices.Equal(list[0].HostPorts, []int{port}) {
		t.Fatalf("List = %+v, %v", list, err)
	}

	if err := r.Kill(ctx, "web.1", time.Second); err != nil {
		t.Fatalf("Kill: %v", err)
	}
	if list, err := r.List(ctx); err != nil || len(list) != 0 {
		t.Fatalf("List after kill = %+v, %v", list, err)
	}
	if err := r.Kill(ctx, "web.1", time.Second); err != nil {
		t.Fatalf("second Kill: %v", err)
	}
}

func TestPullFailureFailsTheLaunch(t *testing.T) {
	cli := requireDocker(t)
	r := newRuntime(t, cli, newAgentID(t), "")
	app := httpdApp(t.TempDir())
	app.Container.Docker.Image = "drover-test/absent:nope"
	_, err := r.Launch(t.Context(), "web.1", resolve(t, events.LaunchSpec{App: app}))
	if err == nil || !strings.Contains(err.Error(), "pull") {
		t.Fatalf("Launch = %v, want a pull error", err)
	}
	if list, _ := r.List(t.Context()); len(list) != 0 {
		t.Fatalf("a failed pull left %+v", list)
	}
}

func TestInvalidSpecIsNotLaunched(t *testing.T) {
	cli := requireDocker(t)
	r := newRuntime(t, cli, newAgentID(t), "")
	spec := resolve(t, events.LaunchSpec{App: httpdApp(t.TempDir())})
	spec.Image = " "
	_, err := r.Launch(t.Context(), "web.1", spec)
	if !errors.Is(err, agent.ErrInvalidSpec) || !strings.Contains(err.Error(), "no docker image") {
		t.Fatalf("Launch = %v", err)
	}
	if list, _ := r.List(t.Context()); len(list) != 0 {
		t.Fatalf("an invalid spec left %+v", list)
	}
}

func TestInvalidSpecErrorIsTyped(t *testing.T) {
	_, err := buildSpec(Config{AgentID: "a", Hostname: "h"}, "bad/id", marathon.TaskSpec{})
	if !errors.Is(err, agent.ErrInvalidSpec) {
		t.Fatalf("error %v", err)
	}
}

func TestReadPullOutput(t *testing.T) {
	ok := `{"status":"Pulling from library/httpd"}` + "\n" + `{"status":"Download complete"}`
	if err := readPullOutput(strings.NewReader(ok)); err != nil {
		t.Fatalf("ok stream: %v", err)
	}
	bad := `{"status":"Pulling"}{"errorDetail":{"message":"manifest unknown"},"error":"manifest unknown"}`
	if err := readPullOutput(strings.NewReader(bad)); err == nil || err.Error() != "manifest unknown" {
		t.Fatalf("error stream: %v", err)
	}
}

// TestLaunchOnAUserNetwork: an app on a container network (Marathon 1.5+
// networks) joins that Docker network, and reports its address there; an
// app whose network this host lacks fails to launch (TASK_FAILED, not an
// invalid spec: the network may come) saying which network is missing.
func TestLaunchOnAUserNetwork(t *testing.T) {
	cli := requireDocker(t)
	ctx := t.Context()
	name := "drover-test-net-" + newAgentID(t)
	if _, err := cli.NetworkCreate(ctx, name, network.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { // after the runtime's cleanup has removed the containers
		if err := cli.NetworkRemove(context.Background(), name); err != nil {
			t.Errorf("remove network %s: %v", name, err)
		}
	})
	r := newRuntime(t, cli, newAgentID(t), "")
	app := httpdApp(htdocs(t, "on a user network"))
	app.Container.Docker.Network = ""
	app.Networks = []marathon.Network{{Mode: "container", Name: name}}
	app.Container.PortMappings = []marathon.PortMapping{{ContainerPort: 80, Name: "http"}}

	rep, err := r.Launch(ctx, "web.1", resolve(t, events.LaunchSpec{App: app}))
	if err != nil {
		t.Fatalf("Launch: %v", err)
	}
	info, err := cli.ContainerInspect(ctx, rep.ContainerID)
	if err != nil {
		t.Fatal(err)
	}
	ep := info.NetworkSettings.Networks[name]
	if string(info.HostConfig.NetworkMode) != name || ep == nil || ep.IPAddress == "" || rep.IPAddress != ep.IPAddress {
		t.Fatalf("network mode %q, networks %v, reported address %q; want the task on %s",
			info.HostConfig.NetworkMode, slices.Collect(maps.Keys(info.NetworkSettings.Networks)), rep.IPAddress, name)
	}

	missing := app
	missing.Networks = []marathon.Network{{Mode: "container", Name: name + "-absent"}}
	_, err = r.Launch(ctx, "web.2", resolve(t, events.LaunchSpec{App: missing}))
	if err == nil || errors.Is(err, agent.ErrInvalidSpec) || !strings.Contains(err.Error(), `network "`+name+`-absent" does not exist`) {
		t.Fatalf("Launch on a missing network = %v", err)
	}
	if list, _ := r.List(ctx); len(list) != 1 || list[0].TaskID != "web.1" {
		t.Fatalf("tasks %+v, want web.1 alone", list)
	}
}

// A launch sent again of a task that runs adopts its container, even when
// the app forces a pull that would fail (no registry here): the container
// is looked for before the pull.
func TestForcePullLaunchSentAgainAdopts(t *testing.T) {
	cli := requireDocker(t)
	r := newRuntime(t, cli, newAgentID(t), "")
	spec := resolve(t, events.LaunchSpec{App: httpdApp(t.TempDir())})
	rep, err := r.Launch(t.Context(), "web.1", spec)
	if err != nil {
		t.Fatalf("Launch: %v", err)
	}
	t.Cleanup(func() { _ = r.Kill(context.Background(), "web.1", time.Second) })
	spec.ForcePull = true
	again, err := r.Launch(t.Context(), "web.1", spec)
	if err != nil || again.ContainerID != rep.ContainerID || again.State != events.TaskRunning {
		t.Fatalf("Launch sent again with forcePullImage = %+v, %v; want the running container %s", again, err, rep.ContainerID)
	}
}

// fakeDaemon answers the Docker calls of a launch whose container does
// not start: create works, start fails, and remove fails unless removable.
func fakeDaemon(t *testing.T, removable bool) (host string, removes *atomic.Int32) {
	t.Helper()
	removes = &atomic.Int32{}
	const id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Api-Version", "1.41")
		w.Header().Set("Content-Type", "application/json")
		p := req.URL.Path
		switch {
		case strings.HasSuffix(p, "/_ping"):
			_, _ = w.Write([]byte("OK"))
		case req.Method == http.MethodPost && strings.HasSuffix(p, "/containers/create"):
			w.WriteHeader(http.StatusCreated)
			_, _ = fmt.Fprintf(w, `{"Id":%q,"Warnings":[]}`, id)
		case req.Method == http.MethodPost && strings.HasSuffix(p, "/containers/"+id+"/start"):
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte(`{"message":"OCI runtime create failed: no such executable"}`))
		case req.Method == http.MethodDelete && strings.HasSuffix(p, "/containers/"+id):
			removes.Add(1)
			if removable {
				w.WriteHeader(http.StatusNoContent)
				return
			}
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte(`{"message":"driver failed to remove the container's filesystem: device or resource busy"}`))
		default:
			t.Errorf("unexpected Docker call %s %s", req.Method, p)
			w.WriteHeader(http.StatusNotImplemented)
		}
	}))
	t.Cleanup(srv.Close)
	return "tcp://" + strings.TrimPrefix(srv.URL, "http://"), removes
}

// TestStartFailureKeepsTheSandboxOfAContainerLeft: a container that does
// not start is removed, and its sandbox with it; one whose removal fails
// is left, and keeps its sandbox, the source of its mount.
func TestStartFailureKeepsTheSandboxOfAContainerLeft(t *testing.T) {
	for _, removable := range []bool{true, false} {
		host, removes := fakeDaemon(t, removable)
		cfg := DefaultConfig()
		cfg.AgentID, cfg.Host, cfg.SandboxRoot = "fake", host, t.TempDir()
		r, err := New(cfg, testutil.Logger(t))
		if err != nil {
			t.Fatal(err)
		}
		app := sandboxApp(nil)
		app.Container.PortMappings = nil
		_, err = r.Launch(t.Context(), "nostart.1", resolve(t, events.LaunchSpec{App: app}))
		r.Close()
		if err == nil || !strings.Contains(err.Error(), "docker: start: ") || removes.Load() != 1 {
			t.Fatalf("removable %v: Launch = %v after %d removals; want a start failure, one removal", removable, err, removes.Load())
		}
		if there := exists(r.sandbox("nostart.1")); there == removable {
			t.Errorf("container removed %v: its sandbox there %v, want %v", removable, there, !removable)
		}
	}
}
