package marathon

import (
	"fmt"
	"maps"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

const envTaskID = "web.instance-b6ff5fa5-7714-11e7-a55c-5ecf1c4671f6._app.1"

// taskEnvOf is the env a task of the app (as the api stores it) gets with
// these host ports, run as a command task or, with container set, in Docker.
func taskEnvOf(t *testing.T, js string, hostPorts []int, container string) map[string]string {
	t.Helper()
	spec, err := ResolveTask(appJSON(t, js))
	if err != nil {
		t.Fatal(err)
	}
	c := TaskContext{TaskID: envTaskID, Host: "host.mega.corp", Sandbox: "/var/lib/drover/sandbox/t1", Container: container}
	if container != "" {
		c.Sandbox = DockerSandbox
	}
	return spec.ForTask(hostPorts, nil).TaskEnv(c)
}

// withPrefix is the part of env whose names start with one of the prefixes.
func withPrefix(env map[string]string, prefixes ...string) map[string]string {
	out := map[string]string{}
	for k, v := range env {
		for _, p := range prefixes {
			if strings.HasPrefix(k, p) {
				out[k] = v
			}
		}
	}
	return out
}

// TestTaskEnvWhole: every variable of a command task and of a Docker
// task, as Marathon's TaskBuilderTest ("TaskContextEnv all fields",
// "AppContextEnvironment") and Mesos set them.
func TestTaskEnvWhole(t *testing.T) {
	cmd := taskEnvOf(t, `{"id":"/test","version":"2015-02-03T12:30:00.000Z","cmd":"serve",
		"cpus":10,"mem":256,"disk":128,"labels":{"LABEL1":"VALUE1","LABEL2":"VALUE2"},
		"portDefinitions":[{"port":8080,"name":"http"},{"port":8081}]}`, []int{1000, 1001}, "")
	want := map[string]string{
		"MESOS_TASK_ID": envTaskID, "HOST": "host.mega.corp", "MESOS_SANDBOX": "/var/lib/drover/sandbox/t1",
		"MARATHON_APP_ID": "/test", "MARATHON_APP_VERSION": "2015-02-03T12:30:00.000Z",
		"MARATHON_APP_RESOURCE_CPUS": "10.0", "MARATHON_APP_RESOURCE_MEM": "256.0",
		"MARATHON_APP_RESOURCE_DISK": "128.0", "MARATHON_APP_RESOURCE_GPUS": "0",
		"MARATHON_APP_ENFORCE_GROUP_ROLE": "FALSE",
		"MARATHON_APP_LABELS":             "LABEL1 LABEL2",
		"MARATHON_APP_LABEL_LABEL1":       "VALUE1", "MARATHON_APP_LABEL_LABEL2": "VALUE2",
		"PORT": "1000", "PORTS": "1000,1001", "PORT0": "1000", "PORT1": "1001",
		"PORT_8080": "1000", "PORT_8081": "1001", "PORT_HTTP": "1000",
	}
	if !reflect.DeepEqual(cmd, want) {
		t.Errorf("command task env\n%v\nwant\n%v", cmd, want)
	}

	docker := taskEnvOf(t, `{"id":"/test","version":"2015-02-03T12:30:00.000Z",
		"versionInfo":{"lastScalingAt":"2015-02-04T00:00:00.000Z","lastConfigChangeAt":"2015-02-03T12:30:00.000Z"},
		"cpus":0.1,"mem":32,"container":{"type":"DOCKER","docker":{"image":"myregistry/myimage:version","network":"BRIDGE"},
		"portMappings":[{"containerPort":80,"hostPort":0,"name":"web"}]}}`, []int{31005}, "drover-a1-t1")
	want = map[string]string{
		"MESOS_TASK_ID": envTaskID, "HOST": "host.mega.corp",
		"MESOS_SANDBOX": "/mnt/mesos/sandbox", "MESOS_CONTAINER_NAME": "drover-a1-t1",
		"MARATHON_APP_ID": "/test", "MARATHON_APP_VERSION": "2015-02-03T12:30:00.000Z",
		"MARATHON_APP_DOCKER_IMAGE":  "myregistry/myimage:version",
		"MARATHON_APP_RESOURCE_CPUS": "0.1", "MARATHON_APP_RESOURCE_MEM": "32.0",
		"MARATHON_APP_RESOURCE_DISK": "0.0", "MARATHON_APP_RESOURCE_GPUS": "0",
		"MARATHON_APP_ENFORCE_GROUP_ROLE": "FALSE", "MARATHON_APP_LABELS": "",
		"PORT": "31005", "PORTS": "31005", "PORT0": "31005", "PORT_80": "31005", "PORT_WEB": "31005",
	}
	if !reflect.DeepEqual(docker, want) {
		t.Errorf("docker task env\n%v\nwant\n%v", docker, want)
	}
}

// TestTaskEnvPorts: the PORT variables, against EnvironmentHelperTest and
// TaskBuilderTest, on each network.
func TestTaskEnvPorts(t *testing.T) {
	const bridge = `{"id":"/b","container":{"docker":{"image":"x","network":"BRIDGE"},"portMappings":%s}}`
	const user = `{"id":"/u","networks":[{"mode":"container","name":"dcos"}],"container":{"docker":{"image":"x"},"portMappings":%s}}`
	tests := []struct {
		name      string
		js        string
		hostPorts []int
		want      map[string]string
	}{
		{"no ports: none of the variables", `{"id":"/a","cmd":"x","portDefinitions":[]}`, nil, map[string]string{}},
		{"NONE network: none of the variables", `{"id":"/a","container":{"docker":{"image":"x","network":"NONE"}}}`, nil, map[string]string{}},
		{"host: the default port definition (PortsEnv: no PORT_0)", `{"id":"/a","cmd":"x"}`, []int{1001},
			map[string]string{"PORT": "1001", "PORTS": "1001", "PORT0": "1001", "PORT_1001": "1001"}},
		{"host: named port definitions of port 0 (PortsNamedEnv)", `{"id":"/a","cmd":"x","portDefinitions":[{"port":0,"name":"http"},{"port":0,"name":"https"}]}`,
			[]int{1001, 1002}, map[string]string{"PORT": "1001", "PORTS": "1001,1002", "PORT0": "1001", "PORT1": "1002",
				"PORT_1001": "1001", "PORT_1002": "1002", "PORT_HTTP": "1001", "PORT_HTTPS": "1002"}},
		{"host: declared ports, some named (DeclaredPortsEnvNamed)", `{"id":"/a","cmd":"x",
			"portDefinitions":[{"port":80,"name":"http"},{"port":8080},{"port":443,"name":"https"}]}`, []int{1001, 1002, 1003},
			map[string]string{"PORT": "1001", "PORTS": "1001,1002,1003", "PORT0": "1001", "PORT1": "1002", "PORT2": "1003",
				"PORT_80": "1001", "PORT_8080": "1002", "PORT_443": "1003", "PORT_HTTP": "1001", "PORT_HTTPS": "1003"}},
		{"host: requirePorts keeps the order", `{"id":"/a","cmd":"x","requirePorts":true,"portDefinitions":[{"port":25552},{"port":25551}]}`,
			[]int{25552, 25551}, map[string]string{"PORT": "25552", "PORTS": "25552,25551", "PORT0": "25552", "PORT1": "25551",
				"PORT_25552": "25552", "PORT_25551": "25551"}},
		{"host: a Docker app's port definitions", `{"id":"/a","container":{"docker":{"image":"x","network":"HOST"}},"portDefinitions":[{"port":10000,"name":"api"}]}`,
			[]int{31000}, map[string]string{"PORT": "31000", "PORTS": "31000", "PORT0": "31000", "PORT_10000": "31000", "PORT_API": "31000"}},
		{"bridge: host ports, by container port and name", fmt.Sprintf(bridge,
			`[{"containerPort":8080,"hostPort":0,"name":"http"},{"containerPort":8081,"hostPort":0,"name":"jabber"}]`), []int{1000, 1001},
			map[string]string{"PORT": "1000", "PORTS": "1000,1001", "PORT0": "1000", "PORT1": "1001",
				"PORT_8080": "1000", "PORT_8081": "1001", "PORT_HTTP": "1000", "PORT_JABBER": "1001"}},
		{"bridge: a fixed host port; container port 0 takes the host's", fmt.Sprintf(bridge,
			`[{"containerPort":81,"hostPort":8081},{"containerPort":0,"hostPort":0}]`), []int{8081, 31002},
			map[string]string{"PORT": "8081", "PORTS": "8081,31002", "PORT0": "8081", "PORT1": "31002", "PORT_81": "8081", "PORT_31002": "31002"}},
		{"bridge: publish parameters are not Marathon's ports", `{"id":"/b","container":{"docker":{"image":"x","network":"BRIDGE",
			"parameters":[{"key":"publish","value":"9000:90"}]},"portMappings":[{"containerPort":80}]}}`, []int{31000},
			map[string]string{"PORT": "31000", "PORTS": "31000", "PORT0": "31000", "PORT_80": "31000"}},
		{"user: no host port, the container port (PortsEnvWithOnlyMappingsAndUserNetworking)", fmt.Sprintf(user,
			`[{"containerPort":8080,"name":"http"},{"containerPort":100,"hostPort":0},{"containerPort":200,"hostPort":25002},{"containerPort":400}]`),
			[]int{0, 25000, 25002, 0},
			map[string]string{"PORT": "25000", "PORTS": "25000,25002", "PORT0": "8080", "PORT1": "25000", "PORT2": "25002", "PORT3": "400",
				"PORT_8080": "8080", "PORT_HTTP": "8080", "PORT_100": "25000", "PORT_200": "25002", "PORT_400": "400"}},
		{"user: only container ports: PORTS empty, no PORT", fmt.Sprintf(user, `[{"containerPort":8080}]`), []int{0},
			map[string]string{"PORTS": "", "PORT0": "8080", "PORT_8080": "8080"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := withPrefix(taskEnvOf(t, tt.js, tt.hostPorts, ""), "PORT")
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ports env\n%v\nwant\n%v", got, tt.want)
			}
		})
	}
}

// TestTaskEnvPicksContainerPorts: a mapping with neither a host nor a
// container port gets a port no other mapping uses, above 1024, named by
// itself, listed after the host ports; the same for the same task.
func TestTaskEnvPicksContainerPorts(t *testing.T) {
	js := `{"id":"/u","networks":[{"mode":"container","name":"vnet"}],"container":{"docker":{"image":"x"},"portMappings":[
		{"containerPort":0,"name":"jabber"},{"containerPort":100,"hostPort":0},{"containerPort":0,"hostPort":25001},{"containerPort":0}]}}`
	env := taskEnvOf(t, js, []int{0, 25000, 25001, 0}, "")
	p0, p3 := env["PORT0"], env["PORT3"]
	for _, p := range []string{p0, p3} {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1025 || n > 65535 || p == "25000" || p == "25001" || p == "100" || env["PORT_"+p] != p {
			t.Errorf("picked port %q: env %v", p, env)
		}
	}
	if p0 == p3 || env["PORT_JABBER"] != p0 || env["PORT1"] != "25000" || env["PORT_100"] != "25000" ||
		env["PORT2"] != "25001" || env["PORT_25001"] != "25001" || env["PORT"] != "25000" ||
		env["PORTS"] != "25000,25001,"+p0+","+p3 {
		t.Errorf("env %v", withPrefix(env, "PORT"))
	}
	if again := taskEnvOf(t, js, []int{0, 25000, 25001, 0}, ""); !maps.Equal(again, env) {
		t.Errorf("built twice: %v, then %v", withPrefix(env, "PORT"), withPrefix(again, "PORT"))
	}
}

// TestTaskEnvLabels: which labels Marathon exports, and under which names
// ("TaskContextEnv will provide label env safety").
func TestTaskEnvLabels(t *testing.T) {
	emoji := "\U0001F600" // two UTF-16 units
	tests := []struct {
		name   string
		labels map[string]string
		want   map[string]string
	}{
		{"none", map[string]string{}, map[string]string{"MARATHON_APP_LABELS": ""}},
		{"names escaped and upper-cased", map[string]string{
			"label": "VALUE1", "label-with-invalid-chars": "VALUE2", `other--label\--\a`: "VALUE3", "a_-b": "v", "": "empty key"},
			map[string]string{"MARATHON_APP_LABELS": " A__B LABEL LABEL_WITH_INVALID_CHARS OTHER_LABEL_A",
				"MARATHON_APP_LABEL_": "empty key", "MARATHON_APP_LABEL_A__B": "v", "MARATHON_APP_LABEL_LABEL": "VALUE1",
				"MARATHON_APP_LABEL_LABEL_WITH_INVALID_CHARS": "VALUE2", "MARATHON_APP_LABEL_OTHER_LABEL_A": "VALUE3"}},
		{"non-ASCII runs are one '_'", map[string]string{"café.crème": "x", "team": ""},
			map[string]string{"MARATHON_APP_LABELS": "CAF_CR_ME TEAM", "MARATHON_APP_LABEL_CAF_CR_ME": "x", "MARATHON_APP_LABEL_TEAM": ""}},
		{"keys that make one name: the last key wins", map[string]string{"a-b": "1", "a.b": "2", "A_B": "3"},
			map[string]string{"MARATHON_APP_LABELS": "A_B", "MARATHON_APP_LABEL_A_B": "2"}},
		{"keys below 493 units, values below 512", map[string]string{
			strings.Repeat("k", 492): "kept", strings.Repeat("l", 493): "too long a key",
			"value": strings.Repeat("v", 511), "long": strings.Repeat("v", 512),
			strings.Repeat(emoji, 246): "kept: 492 units", strings.Repeat(emoji, 247): "494 units, 247 runes",
			"emoji": strings.Repeat(emoji, 256)},
			map[string]string{"MARATHON_APP_LABELS": strings.Repeat("K", 492) + " VALUE _",
				"MARATHON_APP_LABEL_" + strings.Repeat("K", 492): "kept", "MARATHON_APP_LABEL_VALUE": strings.Repeat("v", 511),
				"MARATHON_APP_LABEL__": "kept: 492 units"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec, err := ResolveTask(App{ID: "/a", Labels: tt.labels})
			if err != nil {
				t.Fatal(err)
			}
			got := withPrefix(spec.TaskEnv(TaskContext{TaskID: "t"}), "MARATHON_APP_LABEL")
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("labels env\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

// TestTaskEnvOverrides: the app's env wins over Marathon's variables
// ("user defined variables override automatic port variables"); in a
// container Mesos' MESOS_SANDBOX wins over it; the env parameters win
// over everything, as docker run's last --env.
func TestTaskEnvOverrides(t *testing.T) {
	const env = `"env":{"PORT0":"1","PORTS":"ports","PORT_8080":"port8080","HOST":"mine","MESOS_TASK_ID":"mine",
		"MARATHON_APP_ID":"mine","MESOS_SANDBOX":"mine","MESOS_CONTAINER_NAME":"mine","PLAIN":"p"}`
	cmd := taskEnvOf(t, `{"id":"/a","cmd":"x","portDefinitions":[{"port":8080}],`+env+`}`, []int{31000}, "")
	for k, v := range map[string]string{"PORT0": "1", "PORTS": "ports", "PORT_8080": "port8080", "PORT": "31000", "HOST": "mine",
		"MESOS_TASK_ID": "mine", "MARATHON_APP_ID": "mine", "MESOS_SANDBOX": "mine", "MESOS_CONTAINER_NAME": "mine", "PLAIN": "p"} {
		if cmd[k] != v {
			t.Errorf("command task: %s=%q, want %q", k, cmd[k], v)
		}
	}
	docker := taskEnvOf(t, `{"id":"/a","container":{"docker":{"image":"x","network":"BRIDGE",
		"parameters":[{"key":"env","value":"PLAIN=param"},{"key":"env","value":"HOST=param"},{"key":"env","value":"MESOS_SANDBOX=param"}]},
		"portMappings":[{"containerPort":8080}]},`+env+`}`, []int{31000}, "drover-a-t")
	for k, v := range map[string]string{"PORT0": "1", "PORT_8080": "port8080", "PORT": "31000", "MESOS_TASK_ID": "mine",
		"MESOS_CONTAINER_NAME": "drover-a-t", "MESOS_SANDBOX": "param", "HOST": "param", "PLAIN": "param"} {
		if docker[k] != v {
			t.Errorf("docker task: %s=%q, want %q", k, docker[k], v)
		}
	}
}

// TestTaskEnvAppVars: the image only for a DOCKER container, the version
// the task runs, doubles as the JVM prints them.
func TestTaskEnvAppVars(t *testing.T) {
	tests := []struct {
		name string
		js   string
		want map[string]string
	}{
		{"MESOS container of a Docker image: no image variable", `{"id":"/a","cpus":0.25,"mem":0,"disk":10000000,
			"container":{"type":"MESOS","docker":{"image":"busybox"}}}`,
			map[string]string{"MARATHON_APP_RESOURCE_CPUS": "0.25", "MARATHON_APP_RESOURCE_MEM": "0.0", "MARATHON_APP_RESOURCE_DISK": "1.0E7"}},
		{"scaled since: the last configuration change", `{"id":"/a","cmd":"x","version":"2020-01-02T00:00:00.000Z",
			"versionInfo":{"lastScalingAt":"2020-01-02T00:00:00.000Z","lastConfigChangeAt":"2020-01-01T00:00:00.000Z"}}`,
			map[string]string{"MARATHON_APP_VERSION": "2020-01-01T00:00:00.000Z", "MARATHON_APP_RESOURCE_CPUS": "1.0", "MARATHON_APP_RESOURCE_MEM": "128.0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := taskEnvOf(t, tt.js, nil, "")
			if _, ok := env["MARATHON_APP_DOCKER_IMAGE"]; ok {
				t.Errorf("image variable set: %v", env)
			}
			for k, v := range tt.want {
				if env[k] != v {
					t.Errorf("%s=%q, want %q", k, env[k], v)
				}
			}
		})
	}
}

func TestJavaDouble(t *testing.T) {
	for f, want := range map[float64]string{0: "0.0", 1: "1.0", 0.1: "0.1", 0.001: "0.001", 128: "128.0", 1e-4: "1.0E-4",
		1.5e-5: "1.5E-5", 9999999: "9999999.0", 1e7: "1.0E7", 1.25e21: "1.25E21", -2: "-2.0"} {
		if got := javaDouble(f); got != want {
			t.Errorf("javaDouble(%v) = %q, want %q", f, got, want)
		}
	}
}
