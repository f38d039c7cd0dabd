package docker

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"

	"github.com/docker/docker/api/types/mount"
	"github.com/docker/go-connections/nat"

	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/marathon"
	"github.com/drover/drover/services/agent"
)

func ptr[T any](v T) *T { return &v }

// testHostname is the hostname of the agents of buildFrom.
const testHostname = "host1.example"

// buildFrom is buildSpec of a launch resolved as the agent resolves it, on
// an agent of hostname testHostname: a launch that does not resolve is an
// invalid spec, as the agent reports it.
func buildFrom(agentID, publishIP, taskID string, ls events.LaunchSpec) (containerSpec, error) {
	spec, err := ls.Resolve()
	if err != nil {
		return containerSpec{}, fmt.Errorf("%w: %v", agent.ErrInvalidSpec, err)
	}
	return buildSpec(Config{AgentID: agentID, Hostname: testHostname, PublishIP: publishIP}, taskID, spec)
}

// resolve is the spec a launch runs with; it must resolve.
func resolve(t *testing.T, ls events.LaunchSpec) marathon.TaskSpec {
	t.Helper()
	spec, err := ls.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	return spec
}

// exampleApp is the app of the scenario, examples/test-docker.json.
func exampleApp() marathon.App {
	return marathon.App{
		ID: "/test-docker", Version: "2026-01-01T00:00:00.000Z",
		Cpus: ptr(0.5), Mem: ptr(64.0), Instances: ptr(3),
		Container: &marathon.Container{
			Type: "DOCKER",
			Docker: &marathon.Docker{
				Image: "httpd", Privileged: true, Network: "BRIDGE",
				Parameters: []marathon.Parameter{{Key: "publish", Value: "80:80"}},
			},
			Volumes: []marathon.Volume{{ContainerPath: "/usr/local/apache2/htdocs", HostPath: "/var/nfsshare/htdocs", Mode: "RO"}},
		},
	}
}

func TestBuildSpecExampleApp(t *testing.T) {
	cs, err := buildFrom("host1", "127.0.0.11", "test-docker.1", events.LaunchSpec{App: exampleApp()})
	if err != nil {
		t.Fatal(err)
	}
	if cs.Name != "drover.host1.test-docker.1" || cs.Config.Image != "httpd" || !cs.Host.Privileged || cs.Host.NetworkMode != "bridge" {
		t.Fatalf("spec = %+v / %+v", cs.Config, cs.Host)
	}
	wantBindings := nat.PortMap{"80/tcp": {{HostIP: "127.0.0.11", HostPort: "80"}}}
	if !reflect.DeepEqual(cs.Host.PortBindings, wantBindings) {
		t.Errorf("bindings = %v, want %v", cs.Host.PortBindings, wantBindings)
	}
	if _, ok := cs.Config.ExposedPorts["80/tcp"]; !ok {
		t.Errorf("80/tcp not exposed: %v", cs.Config.ExposedPorts)
	}
	if want := []string{"/var/nfsshare/htdocs:/usr/local/apache2/htdocs:ro"}; !slices.Equal(cs.Host.Binds, want) {
		t.Errorf("binds = %v, want %v", cs.Host.Binds, want)
	}
	if cs.Host.CPUShares != 512 || cs.Host.NanoCPUs != 500_000_000 || cs.Host.Memory != 64<<20 {
		t.Errorf("resources shares %d nanos %d mem %d", cs.Host.CPUShares, cs.Host.NanoCPUs, cs.Host.Memory)
	}
	wantLabels := map[string]string{
		LabelTaskID: "test-docker.1", LabelAppID: "/test-docker", LabelAppVersion: "2026-01-01T00:00:00.000Z",
		LabelAgentID: "host1", LabelPorts: "80/tcp",
	}
	if !reflect.DeepEqual(cs.Config.Labels, wantLabels) {
		t.Errorf("labels = %v, want %v", cs.Config.Labels, wantLabels)
	}
	if cs.Config.Entrypoint != nil || cs.Config.Cmd != nil || cs.Network != nil {
		t.Errorf("entrypoint %v cmd %v network %v", cs.Config.Entrypoint, cs.Config.Cmd, cs.Network)
	}
}

func TestBuildSpecPortMappings(t *testing.T) {
	tests := []struct {
		name      string
		mappings  []marathon.PortMapping
		docker    bool // in the deprecated container.docker.portMappings
		assigned  []int
		publishIP string
		want      nat.PortMap
		order     string
	}{
		{
			name:     "assigned host ports win",
			mappings: []marathon.PortMapping{{ContainerPort: 80, HostPort: ptr(0)}, {ContainerPort: 443, HostPort: ptr(0)}},
			assigned: []int{31000, 31001},
			want:     nat.PortMap{"80/tcp": {{HostPort: "31000"}}, "443/tcp": {{HostPort: "31001"}}},
			order:    "80/tcp,443/tcp",
		},
		{
			name:      "fixed and random host ports, deprecated place",
			mappings:  []marathon.PortMapping{{ContainerPort: 8080, HostPort: ptr(8080)}, {ContainerPort: 9090}},
			docker:    true,
			publishIP: "127.0.0.12",
			want:      nat.PortMap{"8080/tcp": {{HostIP: "127.0.0.12", HostPort: "8080"}}, "9090/tcp": {{HostIP: "127.0.0.12"}}},
			order:     "8080/tcp,9090/tcp",
		},
		{
			name:     "both protocols, container port from host port",
			mappings: []marathon.PortMapping{{ContainerPort: 0, HostPort: ptr(5353), Protocol: "udp,tcp"}},
			want:     nat.PortMap{"5353/udp": {{HostPort: "5353"}}, "5353/tcp": {{HostPort: "5353"}}},
			order:    "5353/udp",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := exampleApp()
			app.Container.Docker.Parameters = nil
			if tt.docker {
				app.Container.Docker.PortMappings = tt.mappings
			} else {
				app.Container.PortMappings = tt.mappings
			}
			cs, err := buildFrom("a", tt.publishIP, "t", events.LaunchSpec{App: app, HostPorts: tt.assigned})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(cs.Host.PortBindings, tt.want) {
				t.Errorf("bindings = %v, want %v", cs.Host.PortBindings, tt.want)
			}
			if got := cs.Config.Labels[LabelPorts]; got != tt.order {
				t.Errorf("ports label %q, want %q", got, tt.order)
			}
		})
	}
}

func TestBuildSpecPublishParameters(t *testing.T) {
	app := exampleApp()
	app.Container.Docker.Parameters = []marathon.Parameter{
		{Key: "publish", Value: "10.0.0.1:8000-8001:80-81"},
		{Key: "publish", Value: "9000-9009:53/udp"},
		{Key: "publish", Value: "7000"},
	}
	cs, err := buildFrom("a", "127.0.0.11", "t", events.LaunchSpec{App: app})
	if err != nil {
		t.Fatal(err)
	}
	want := nat.PortMap{
		"80/tcp":   {{HostIP: "10.0.0.1", HostPort: "8000"}},
		"81/tcp":   {{HostIP: "10.0.0.1", HostPort: "8001"}},
		"53/udp":   {{HostIP: "127.0.0.11", HostPort: "9000-9009"}},
		"7000/tcp": {{HostIP: "127.0.0.11"}},
	}
	if !reflect.DeepEqual(cs.Host.PortBindings, want) {
		t.Errorf("bindings = %v, want %v", cs.Host.PortBindings, want)
	}
	if got := cs.Config.Labels[LabelPorts]; got != "80/tcp,81/tcp,53/udp,7000/tcp" {
		t.Errorf("ports label %q", got)
	}
}

func TestBuildSpecNetworks(t *testing.T) {
	tests := []struct {
		name     string
		network  string
		networks []marathon.Network
		ipAddr   string
		want     string
	}{
		{name: "default is host", want: "host"},
		{name: "HOST", network: "HOST", want: "host"},
		{name: "NONE", network: "none", want: "none"},
		{name: "USER with networks", network: "USER", networks: []marathon.Network{{Mode: "container", Name: "backend"}}, want: "backend"},
		{name: "USER with ipAddress", network: "USER", ipAddr: `{"networkName":"legacy"}`, want: "legacy"},
		{name: "networks bridge", networks: []marathon.Network{{Mode: "container/bridge"}}, want: "bridge"},
		{name: "networks host", networks: []marathon.Network{{Mode: "host"}}, want: "host"},
		{name: "networks container", networks: []marathon.Network{{Mode: "container", Name: "overlay1"}}, want: "overlay1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := exampleApp()
			app.Container.Docker.Network = tt.network
			app.Networks = tt.networks
			if tt.ipAddr != "" {
				app.IPAddress = json.RawMessage(tt.ipAddr)
			}
			cs, err := buildFrom("a", "", "t", events.LaunchSpec{App: app, HostPorts: []int{31000}})
			if err != nil {
				t.Fatal(err)
			}
			if string(cs.Host.NetworkMode) != tt.want {
				t.Fatalf("network mode %q, want %q", cs.Host.NetworkMode, tt.want)
			}
			user := tt.want != "host" && tt.want != "none" && tt.want != "bridge"
			if user != (cs.Network != nil && cs.Network.EndpointsConfig[tt.want] != nil) {
				t.Errorf("networking config %+v", cs.Network)
			}
			if tt.want == "host" || tt.want == "none" {
				if cs.Host.PortBindings != nil {
					t.Errorf("bindings on %s network: %v", tt.want, cs.Host.PortBindings)
				}
			}
			if tt.want == "host" && cs.Config.Labels[LabelHostPorts] != "31000" {
				t.Errorf("host ports label %q", cs.Config.Labels[LabelHostPorts])
			}
		})
	}
}

func TestBuildSpecCommandEnvLabelsAndParameters(t *testing.T) {
	app := exampleApp()
	app.Cmd = ptr("echo $GREETING")
	app.Env = map[string]marathon.EnvValue{"GREETING": {Value: "hi"}, "PORT0": {Value: "1"}, "DB_PASSWORD": {Secret: "db"}}
	app.Labels = map[string]string{"team": "web", LabelAgentID: "forged"}
	app.Cpus, app.Mem = ptr(0.001), ptr(4.0)
	app.Container.Docker.Parameters = []marathon.Parameter{
		{Key: "env", Value: "FROM_PARAM=1"}, {Key: "label", Value: "tier=front"},
		{Key: "volume", Value: "/srv:/srv:ro"}, {Key: "volume", Value: "/cache"},
		{Key: "cap-add", Value: "NET_ADMIN"}, {Key: "add-host", Value: "db:10.0.0.5"},
		{Key: "user", Value: "nobody"}, {Key: "workdir", Value: "/app"}, {Key: "hostname", Value: "web"},
		{Key: "log-driver", Value: "json-file"}, {Key: "log-opt", Value: "max-size=1m"},
		{Key: "ulimit", Value: "nofile=1024:2048"}, {Key: "memory-swap", Value: "-1"}, {Key: "shm-size", Value: "1m"},
		{Key: "init", Value: "true"}, {Key: "read-only", Value: "true"}, {Key: "device", Value: "/dev/fuse"},
	}
	cs, err := buildFrom("a", "", "t", events.LaunchSpec{App: app})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cs.Config.Entrypoint, []string{"/bin/sh", "-c"}) || !slices.Equal(cs.Config.Cmd, []string{"echo $GREETING"}) {
		t.Errorf("entrypoint %v cmd %v", cs.Config.Entrypoint, cs.Config.Cmd)
	}
	wantEnv := []string{"FROM_PARAM=1", "GREETING=hi", "HOST=" + testHostname,
		"MARATHON_APP_DOCKER_IMAGE=httpd", "MARATHON_APP_ENFORCE_GROUP_ROLE=FALSE", "MARATHON_APP_ID=/test-docker",
		"MARATHON_APP_LABELS=DROVER_AGENT_ID TEAM", "MARATHON_APP_LABEL_DROVER_AGENT_ID=forged", "MARATHON_APP_LABEL_TEAM=web",
		"MARATHON_APP_RESOURCE_CPUS=0.001", "MARATHON_APP_RESOURCE_DISK=0.0", "MARATHON_APP_RESOURCE_GPUS=0", "MARATHON_APP_RESOURCE_MEM=4.0",
		"MARATHON_APP_VERSION=2026-01-01T00:00:00.000Z", "MESOS_CONTAINER_NAME=" + ContainerName("a", "t"),
		"MESOS_SANDBOX=/mnt/mesos/sandbox", "MESOS_TASK_ID=t", "PORT0=1"}
	if !slices.Equal(cs.Config.Env, wantEnv) {
		t.Errorf("env\n%q\nwant\n%q\n(secrets skipped, the app's PORT0 wins, no ports assigned)", cs.Config.Env, wantEnv)
	}
	if l := cs.Config.Labels; l["team"] != "web" || l["tier"] != "front" || l[LabelAgentID] != "a" {
		t.Errorf("labels %v", l)
	}
	h := cs.Host
	if !slices.Equal(h.Binds, []string{"/var/nfsshare/htdocs:/usr/local/apache2/htdocs:ro", "/srv:/srv:ro"}) {
		t.Errorf("binds %v", h.Binds)
	}
	if _, ok := cs.Config.Volumes["/cache"]; !ok {
		t.Errorf("anonymous volume missing: %v", cs.Config.Volumes)
	}
	if h.CPUShares != 2 || h.Memory != 0 || h.MemorySwap != -1 || h.ShmSize != 1<<20 {
		t.Errorf("shares %d memory %d swap %d shm %d", h.CPUShares, h.Memory, h.MemorySwap, h.ShmSize)
	}
	if !slices.Equal(h.CapAdd, []string{"NET_ADMIN"}) || !slices.Equal(h.ExtraHosts, []string{"db:10.0.0.5"}) ||
		cs.Config.User != "nobody" || cs.Config.WorkingDir != "/app" || cs.Config.Hostname != "web" ||
		h.LogConfig.Type != "json-file" || h.LogConfig.Config["max-size"] != "1m" ||
		len(h.Ulimits) != 1 || h.Ulimits[0].Hard != 2048 || h.Init == nil || !*h.Init || !h.ReadonlyRootfs ||
		len(h.Devices) != 1 || h.Devices[0].PathOnHost != "/dev/fuse" {
		t.Errorf("parameters not mapped: config %+v host %+v", cs.Config, h)
	}

	app.Cmd, app.Args = nil, []string{"-addr", ":8080"}
	cs, err = buildFrom("a", "", "t", events.LaunchSpec{App: app})
	if err != nil {
		t.Fatal(err)
	}
	if cs.Config.Entrypoint != nil || !slices.Equal(cs.Config.Cmd, []string{"-addr", ":8080"}) {
		t.Errorf("args: entrypoint %v cmd %v", cs.Config.Entrypoint, cs.Config.Cmd)
	}
}

func TestBuildSpecInvalid(t *testing.T) {
	tests := []struct {
		name   string
		taskID string
		change func(*marathon.App)
	}{
		{"bad task id", "a/b", func(*marathon.App) {}},
		{"no container", "t", func(a *marathon.App) { a.Container = nil }},
		{"no image", "t", func(a *marathon.App) { a.Container.Docker.Image = " " }},
		{"unknown parameter", "t", func(a *marathon.App) { a.Container.Docker.Parameters = []marathon.Parameter{{Key: "rm"}} }},
		{"unknown network", "t", func(a *marathon.App) { a.Container.Docker.Network = "OVERLAY" }},
		{"user network without name", "t", func(a *marathon.App) { a.Container.Docker.Network = "USER" }},
		{"persistent volume", "t", func(a *marathon.App) {
			a.Container.Volumes = []marathon.Volume{{ContainerPath: "data", Mode: "RW", Persistent: json.RawMessage(`{"size":10}`)}}
		}},
		{"relative host path", "t", func(a *marathon.App) { a.Container.Volumes[0].HostPath = "htdocs" }},
		{"bad volume mode", "t", func(a *marathon.App) { a.Container.Volumes[0].Mode = "RX" }},
		{"bad protocol", "t", func(a *marathon.App) {
			a.Container.PortMappings = []marathon.PortMapping{{ContainerPort: 80, Protocol: "icmp"}}
		}},
		{"no container port", "t", func(a *marathon.App) {
			a.Container.PortMappings = []marathon.PortMapping{{ContainerPort: 0}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := exampleApp()
			tt.change(&app)
			_, err := buildFrom("a", "", tt.taskID, events.LaunchSpec{App: app})
			if !errors.Is(err, agent.ErrInvalidSpec) {
				t.Fatalf("error %v, want ErrInvalidSpec", err)
			}
		})
	}
}

// TestBuildSpecNetworkAsTheAPIReadsIt: an app the api accepts and reports
// on a USER network joins that network, whichever way the definition names
// it (it used to run on the host network).
func TestBuildSpecNetworkAsTheAPIReadsIt(t *testing.T) {
	for name, js := range map[string]string{
		"networks, Marathon 1.5+": `{"id":"/n","container":{"type":"DOCKER","docker":{"image":"httpd"}},"networks":[{"name":"n1","mode":"container"}]}`,
		"networks, mode left out": `{"id":"/n","container":{"type":"DOCKER","docker":{"image":"httpd"}},"networks":[{"name":"n1"}]}`,
		"ipAddress, legacy":       `{"id":"/n","container":{"type":"DOCKER","docker":{"image":"httpd"}},"ipAddress":{"networkName":"n1"}}`,
	} {
		t.Run(name, func(t *testing.T) {
			var app marathon.App
			if err := json.Unmarshal([]byte(js), &app); err != nil {
				t.Fatal(err)
			}
			marathon.ApplyDefaults(&app)
			if errs := marathon.Validate(&app); len(errs) > 0 {
				t.Fatalf("validation: %v", errs)
			}
			if mode := app.NetworkMode(); mode != marathon.NetworkModeUser {
				t.Fatalf("the api reports network %s, want USER", mode)
			}
			cs, err := buildFrom("a", "", "t", events.LaunchSpec{App: app})
			if err != nil {
				t.Fatal(err)
			}
			if cs.Host.NetworkMode != "n1" || cs.Network == nil || cs.Network.EndpointsConfig["n1"] == nil {
				t.Fatalf("network mode %q, networking %+v; want network n1", cs.Host.NetworkMode, cs.Network)
			}
		})
	}
}

// TestBuildSpecFromTaskSpec: the adapter maps a resolved spec, written
// here by hand, on each network mode.
func TestBuildSpecFromTaskSpec(t *testing.T) {
	ports := []marathon.PortBinding{
		{Name: "http", ContainerPort: 80, HostPort: 31000, Protocols: []string{"tcp"}},
		{ContainerPort: 53, HostPort: 9000, HostPortEnd: 9001, HostIP: "10.0.0.1", Protocols: []string{"udp", "tcp"}},
	}
	wantBindings := nat.PortMap{
		"80/tcp": {{HostIP: "127.0.0.1", HostPort: "31000"}},
		"53/udp": {{HostIP: "10.0.0.1", HostPort: "9000-9001"}}, "53/tcp": {{HostIP: "10.0.0.1", HostPort: "9000-9001"}},
	}
	tests := []struct {
		mode, name, wantMode string
		bindings             nat.PortMap
		labels               map[string]string
	}{
		{marathon.NetworkModeHost, "", "host", nil, map[string]string{LabelHostPorts: "31000,0"}},
		{marathon.NetworkModeNone, "", "none", nil, map[string]string{}},
		{marathon.NetworkModeBridge, "", "bridge", wantBindings, map[string]string{LabelPorts: "80/tcp,53/udp"}},
		{marathon.NetworkModeUser, "n1", "n1", wantBindings, map[string]string{LabelPorts: "80/tcp,53/udp"}},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			spec := marathon.TaskSpec{AppID: "/a", Image: "httpd", NetworkMode: tt.mode, NetworkName: tt.name,
				Ports: ports, HostPorts: []int{31000, 0}}
			cs, err := buildSpec(Config{AgentID: "a", Hostname: testHostname, PublishIP: "127.0.0.1"}, "t", spec)
			if err != nil {
				t.Fatal(err)
			}
			if string(cs.Host.NetworkMode) != tt.wantMode || !reflect.DeepEqual(cs.Host.PortBindings, tt.bindings) {
				t.Errorf("network %q bindings %v", cs.Host.NetworkMode, cs.Host.PortBindings)
			}
			for k, v := range tt.labels {
				if cs.Config.Labels[k] != v {
					t.Errorf("label %s = %q, want %q", k, cs.Config.Labels[k], v)
				}
			}
			if user := tt.mode == marathon.NetworkModeUser; user != (cs.Network != nil && cs.Network.EndpointsConfig[tt.name] != nil) {
				t.Errorf("networking config %+v", cs.Network)
			}
		})
	}
	if _, err := buildSpec(Config{AgentID: "a", Hostname: testHostname}, "t", marathon.TaskSpec{Image: "httpd", NetworkMode: marathon.NetworkModeUser}); !errors.Is(err, agent.ErrInvalidSpec) {
		t.Errorf("a user network without a name: %v", err)
	}
}

// TestBuildSpecSandbox: with a sandbox root, the task's sandbox,
// <root>/<agentId>/<taskId>, is bind-mounted read-write at
// /mnt/mesos/sandbox, as a mount (a source the daemon does not see fails
// the create); the app's own mount there wins; without a root, nothing is
// mounted. MESOS_SANDBOX names the mount either way.
func TestBuildSpecSandbox(t *testing.T) {
	cfg := Config{AgentID: "host1", Hostname: testHostname, SandboxRoot: "/var/lib/drover/docker-sandboxes"}
	app := exampleApp()
	app.Fetch = []json.RawMessage{json.RawMessage(`{"uri":"https://example.com/conf.tgz"}`)}
	cs, err := buildSpec(cfg, "test-docker.1", resolve(t, events.LaunchSpec{App: app}))
	if err != nil {
		t.Fatal(err)
	}
	want := []mount.Mount{{Type: mount.TypeBind, Source: "/var/lib/drover/docker-sandboxes/host1/test-docker.1", Target: "/mnt/mesos/sandbox"}}
	if !reflect.DeepEqual(cs.Host.Mounts, want) {
		t.Errorf("mounts %+v, want %+v", cs.Host.Mounts, want)
	}
	if got := sandboxDir(cfg.SandboxRoot, "host1", "test-docker.1"); got != want[0].Source {
		t.Errorf("sandboxDir = %q, want the mount's source", got)
	}
	if want := []string{"/var/nfsshare/htdocs:/usr/local/apache2/htdocs:ro"}; !slices.Equal(cs.Host.Binds, want) {
		t.Errorf("the app's volumes changed: %v", cs.Host.Binds)
	}
	if !slices.Contains(cs.Config.Env, "MESOS_SANDBOX=/mnt/mesos/sandbox") {
		t.Errorf("env %v", cs.Config.Env)
	}

	for name, change := range map[string]func(*marathon.App){
		"volume": func(a *marathon.App) {
			a.Container.Volumes = append(a.Container.Volumes, marathon.Volume{HostPath: "/srv/mine", ContainerPath: "/mnt/mesos/sandbox/", Mode: "RW"})
		},
		"volume parameter": func(a *marathon.App) {
			a.Container.Docker.Parameters = append(a.Container.Docker.Parameters, marathon.Parameter{Key: "volume", Value: "/srv/mine:/mnt/mesos/sandbox"})
		},
		"tmpfs": func(a *marathon.App) {
			a.Container.Docker.Parameters = append(a.Container.Docker.Parameters, marathon.Parameter{Key: "tmpfs", Value: "/mnt/mesos/sandbox:size=64m"})
		},
		// Above it: the sandbox would be mounted inside the app's own.
		"volume at /mnt": func(a *marathon.App) {
			a.Container.Volumes = append(a.Container.Volumes, marathon.Volume{HostPath: "/srv/mnt", ContainerPath: "/mnt", Mode: "RW"})
		},
		"volume at /mnt/mesos/": func(a *marathon.App) {
			a.Container.Volumes = append(a.Container.Volumes, marathon.Volume{HostPath: "/srv/mesos", ContainerPath: "/mnt/mesos/", Mode: "RO"})
		},
		"volume parameter at /mnt/mesos": func(a *marathon.App) {
			a.Container.Docker.Parameters = append(a.Container.Docker.Parameters, marathon.Parameter{Key: "volume", Value: "/srv/mesos:/mnt/mesos:ro"})
		},
		"named volume at /mnt": func(a *marathon.App) {
			a.Container.Docker.Parameters = append(a.Container.Docker.Parameters, marathon.Parameter{Key: "volume", Value: "data:/mnt"})
		},
		"tmpfs at /mnt": func(a *marathon.App) {
			a.Container.Docker.Parameters = append(a.Container.Docker.Parameters, marathon.Parameter{Key: "tmpfs", Value: "/mnt"})
		},
	} {
		app := exampleApp()
		change(&app)
		cs, err := buildSpec(cfg, "test-docker.1", resolve(t, events.LaunchSpec{App: app}))
		if err != nil || len(cs.Host.Mounts) != 0 {
			t.Errorf("the app's own %s: mounts %+v, %v; want only the app's", name, cs.Host.Mounts, err)
		}
	}
	// Beside it, or under it, the app's own mount leaves the sandbox's.
	for _, target := range []string{"/mnt/data", "/mnt/mesos/sandboxes", "/mnt/mesos/sandbox/data", "/mn"} {
		app := exampleApp()
		app.Container.Volumes = append(app.Container.Volumes, marathon.Volume{HostPath: "/srv/x", ContainerPath: target, Mode: "RW"})
		cs, err := buildSpec(cfg, "test-docker.1", resolve(t, events.LaunchSpec{App: app}))
		if err != nil || !reflect.DeepEqual(cs.Host.Mounts, want) {
			t.Errorf("the app's volume at %s: mounts %+v, %v; want the sandbox's too", target, cs.Host.Mounts, err)
		}
	}

	cfg.SandboxRoot = ""
	cs, err = buildSpec(cfg, "test-docker.1", resolve(t, events.LaunchSpec{App: exampleApp()}))
	if err != nil || len(cs.Host.Mounts) != 0 || !slices.Contains(cs.Config.Env, "MESOS_SANDBOX=/mnt/mesos/sandbox") {
		t.Errorf("without a sandbox root: mounts %+v, env %v, %v", cs.Host.Mounts, cs.Config.Env, err)
	}
	for _, bad := range []string{"..", "."} {
		if _, err := buildSpec(Config{AgentID: "host1", Hostname: testHostname, SandboxRoot: "/r"}, bad, resolve(t, events.LaunchSpec{App: exampleApp()})); !errors.Is(err, agent.ErrInvalidSpec) {
			t.Errorf("task id %q, which would name the agent's sandboxes: %v", bad, err)
		}
	}
}
