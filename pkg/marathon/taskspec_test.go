package marathon

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// appJSON is an app as the api stores it: decoded, with Marathon's defaults.
func appJSON(t *testing.T, js string) App {
	t.Helper()
	var a App
	if err := json.Unmarshal([]byte(js), &a); err != nil {
		t.Fatal(err)
	}
	ApplyDefaults(&a)
	return a
}

// TestResolveTaskNetworks: every way of writing an app's network resolves
// to the mode the api reports (App.NetworkMode) and, for USER, a name.
func TestResolveTaskNetworks(t *testing.T) {
	const docker = `"container":{"type":"DOCKER","docker":{"image":"httpd"%s}}`
	tests := []struct {
		name, extra, dockerExtra string
		mode, netName            string
	}{
		{"default is host", ``, ``, NetworkModeHost, ""},
		{"docker.network HOST", ``, `,"network":"HOST"`, NetworkModeHost, ""},
		{"docker.network BRIDGE", ``, `,"network":"BRIDGE"`, NetworkModeBridge, ""},
		{"docker.network NONE", ``, `,"network":"NONE"`, NetworkModeNone, ""},
		{"docker.network USER, ipAddress", `,"ipAddress":{"networkName":"legacy"}`, `,"network":"USER"`, NetworkModeUser, "legacy"},
		{"ipAddress alone (legacy)", `,"ipAddress":{"networkName":"n1"}`, ``, NetworkModeUser, "n1"},
		{"networks container (1.5+)", `,"networks":[{"name":"n1","mode":"container"}]`, ``, NetworkModeUser, "n1"},
		{"networks, mode left out", `,"networks":[{"name":"n1"}]`, ``, NetworkModeUser, "n1"},
		{"networks container/bridge", `,"networks":[{"mode":"container/bridge"}]`, ``, NetworkModeBridge, ""},
		{"networks host", `,"networks":[{"mode":"host"}]`, ``, NetworkModeHost, ""},
		{"networks, the first named", `,"networks":[{"mode":"container"},{"mode":"container","name":"n2"}]`, ``, NetworkModeUser, "n2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := appJSON(t, `{"id":"/a",`+strings.Replace(docker, "%s", tt.dockerExtra, 1)+tt.extra+`}`)
			if errs := Validate(&app); len(errs) > 0 {
				t.Fatalf("validation: %v", errs)
			}
			spec, err := ResolveTask(app)
			if err != nil {
				t.Fatal(err)
			}
			if spec.NetworkMode != tt.mode || spec.NetworkName != tt.netName {
				t.Errorf("network %s %q, want %s %q", spec.NetworkMode, spec.NetworkName, tt.mode, tt.netName)
			}
			if api := app.NetworkMode(); api != spec.NetworkMode {
				t.Errorf("the api reports %s, the task runs on %s", api, spec.NetworkMode)
			}
		})
	}
}

func TestResolveTaskRefuses(t *testing.T) {
	tests := map[string]string{
		"USER without a name":    `{"id":"/a","container":{"docker":{"image":"x","network":"USER"}}}`,
		"container without one":  `{"id":"/a","container":{"docker":{"image":"x"}},"networks":[{"mode":"container"}]}`,
		"unknown docker network": `{"id":"/a","container":{"docker":{"image":"x","network":"OVERLAY"}}}`,
		"unknown network mode":   `{"id":"/a","container":{"docker":{"image":"x"}},"networks":[{"mode":"mesh"}]}`,
		"unknown parameter":      `{"id":"/a","container":{"docker":{"image":"x","parameters":[{"key":"rm","value":""}]}}}`,
		"bad protocol": `{"id":"/a","container":{"docker":{"image":"x","network":"BRIDGE"},
			"portMappings":[{"containerPort":80,"protocol":"icmp"}]}}`,
		"persistent volume": `{"id":"/a","container":{"docker":{"image":"x"},
			"volumes":[{"containerPath":"data","mode":"RW","persistent":{"size":1}}]}}`,
	}
	for name, js := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := ResolveTask(appJSON(t, js)); err == nil {
				t.Fatal("resolved")
			}
		})
	}
}

// TestResolveTaskBridgePorts: port mappings (either place), then the
// publish parameters, one binding per container port.
func TestResolveTaskBridgePorts(t *testing.T) {
	app := appJSON(t, `{"id":"/a","container":{"type":"DOCKER","docker":{"image":"httpd","network":"BRIDGE",
		"parameters":[{"key":"publish","value":"10.0.0.1:8000-8001:80-81"},{"key":"publish","value":"9000-9009:53/udp"},{"key":"publish","value":"7000"}],
		"portMappings":[{"containerPort":443,"name":"https","protocol":"udp,tcp"},{"containerPort":8080,"hostPort":8080}]}}}`)
	spec, err := ResolveTask(app)
	if err != nil {
		t.Fatal(err)
	}
	want := []PortBinding{
		{Name: "https", ContainerPort: 443, Protocols: []string{"udp", "tcp"}},
		{ContainerPort: 8080, HostPort: 8080, Protocols: []string{"tcp"}},
		{ContainerPort: 80, HostPort: 8000, HostIP: "10.0.0.1", Protocols: []string{"tcp"}, Parameter: true},
		{ContainerPort: 81, HostPort: 8001, HostIP: "10.0.0.1", Protocols: []string{"tcp"}, Parameter: true},
		{ContainerPort: 53, HostPort: 9000, HostPortEnd: 9009, Protocols: []string{"udp"}, Parameter: true},
		{ContainerPort: 7000, Protocols: []string{"tcp"}, Parameter: true},
	}
	if !reflect.DeepEqual(spec.Ports, want) {
		t.Fatalf("ports\n%+v\nwant\n%+v", spec.Ports, want)
	}
	if got := spec.HostPortSlots(); !reflect.DeepEqual(got, []int{0, 8080}) {
		t.Errorf("slots %v", got)
	}
	wantPublished := []int{8000, 8001, 9000, 9001, 9002, 9003, 9004, 9005, 9006, 9007, 9008, 9009}
	if !reflect.DeepEqual(spec.PublishedPorts, wantPublished) {
		t.Errorf("published %v", spec.PublishedPorts)
	}
	task := spec.ForTask([]int{31000, 0}, map[string]string{"PORT0": "31000"})
	if task.Ports[0].HostPort != 31000 || task.Ports[1].HostPort != 8080 || spec.Ports[0].HostPort != 0 {
		t.Errorf("assigned: task %+v, app's %+v", task.Ports[:2], spec.Ports[:2])
	}
	if task.Env["PORT0"] != "31000" || spec.Env["PORT0"] != "" {
		t.Errorf("env: task %v, app's %v", task.Env, spec.Env)
	}
}

func TestResolveTaskHostAndUserPorts(t *testing.T) {
	host, err := ResolveTask(appJSON(t, `{"id":"/a","cmd":"serve","requirePorts":true,
		"portDefinitions":[{"port":10000,"name":"api"},{"port":10001,"protocol":"udp"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	want := []PortBinding{{Name: "api", DefinitionPort: 10000, HostPort: 10000, Protocols: []string{"tcp"}},
		{DefinitionPort: 10001, HostPort: 10001, Protocols: []string{"udp"}}}
	if !reflect.DeepEqual(host.Ports, want) || !reflect.DeepEqual(host.HostPortSlots(), []int{10000, 10001}) {
		t.Errorf("host ports %+v slots %v", host.Ports, host.HostPortSlots())
	}
	user, err := ResolveTask(appJSON(t, `{"id":"/a","container":{"docker":{"image":"x"},
		"portMappings":[{"containerPort":80},{"containerPort":81,"hostPort":0}]},"networks":[{"mode":"container","name":"n1"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := user.HostPortSlots(); !reflect.DeepEqual(got, []int{-1, 0}) {
		t.Errorf("user slots %v, want [-1 0]", got)
	}
}

func TestResolveTaskRest(t *testing.T) {
	app := appJSON(t, `{"id":"/a","version":"v1","cmd":"echo $X","cpus":0.5,"mem":64,"tty":true,
		"env":{"X":"1","S":{"secret":"s"}},"labels":{"team":"web"},
		"container":{"docker":{"image":"httpd","privileged":true,"forcePullImage":true,
			"parameters":[{"key":"env","value":"Y=2"},{"key":"label","value":"tier=front"},{"key":"volume","value":"/srv:/srv:ro"},{"key":"user","value":"nobody"}]},
			"volumes":[{"containerPath":"/data","hostPath":"/var/data","mode":"RO"}]},
		"healthChecks":[{"protocol":"tcp"}],"readinessChecks":[{"portName":"http"}]}`)
	spec, err := ResolveTask(app)
	if err != nil {
		t.Fatal(err)
	}
	if spec.AppID != "/a" || spec.Image != "httpd" || !spec.ForcePull || !spec.Privileged || !spec.TTY ||
		spec.Cpus != 0.5 || spec.Mem != 64 || spec.Options.User != "nobody" {
		t.Errorf("spec %+v", spec)
	}
	if !reflect.DeepEqual(spec.Entrypoint, []string{"/bin/sh", "-c"}) || !reflect.DeepEqual(spec.Command, []string{"echo $X"}) {
		t.Errorf("entrypoint %v command %v", spec.Entrypoint, spec.Command)
	}
	if !reflect.DeepEqual(spec.Env, map[string]string{"X": "1"}) || !reflect.DeepEqual(spec.ParamEnv, map[string]string{"Y": "2"}) ||
		!reflect.DeepEqual(spec.Labels, map[string]string{"team": "web", "tier": "front"}) {
		t.Errorf("env %v, parameters' %v, labels %v", spec.Env, spec.ParamEnv, spec.Labels)
	}
	wantVols := []VolumeBind{{Source: "/var/data", Target: "/data", Mode: "ro"}, {Source: "/srv", Target: "/srv", Mode: "ro"}}
	if !reflect.DeepEqual(spec.Volumes, wantVols) {
		t.Errorf("volumes %+v", spec.Volumes)
	}
	if spec.Options.Publish != nil || spec.Options.Env != nil || spec.Options.Labels != nil || spec.Options.Volumes != nil {
		t.Errorf("options keep what moved: %+v", spec.Options)
	}
	if h := spec.HealthChecks; len(h) != 1 || h[0].Protocol != HealthTCP || h[0].PortIndex == nil || app.HealthChecks[0].Protocol != "tcp" {
		t.Errorf("health checks %+v", h)
	}
	if len(spec.ReadinessChecks) != 1 || spec.ChecksLeftOut != nil {
		t.Errorf("readiness %+v, %v", spec.ReadinessChecks, spec.ChecksLeftOut)
	}
	if !reflect.DeepEqual(spec.Access, HostAccessOf(app)) || !spec.Access.Privileged || len(spec.Access.HostPaths) != 2 {
		t.Errorf("access %+v", spec.Access)
	}
}
