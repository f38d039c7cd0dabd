package marathon

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// appSeeds are app definitions of the kinds Marathon users post: the
// scenario's privileged bridge app, a plain command, health and readiness
// checks over named ports, a user network, a rolling-upgrade strategy,
// constraints of every operator, docker parameters, and a few broken ones.
var appSeeds = []string{
	`{"id":"test-docker","cpus":0.5,"mem":64,"instances":3,"constraints":[["hostname","UNIQUE"]],
	  "container":{"type":"DOCKER","docker":{"image":"httpd","privileged":true,"network":"BRIDGE",
	  "parameters":[{"key":"publish","value":"80:80"}]},
	  "volumes":[{"containerPath":"/usr/local/apache2/htdocs","hostPath":"/var/nfsshare/htdocs","mode":"RO"}]}}`,
	`{"id":"/tools/sleeper","cmd":"sleep 3600","cpus":0.01,"mem":16,"instances":2}`,
	`{"id":"/web/api","cmd":"python3 -m http.server $PORT0","cpus":0.25,"mem":128,"disk":10,
	  "portDefinitions":[{"port":0,"protocol":"tcp","name":"http","labels":{"VIP_0":"/web:80"}}],
	  "healthChecks":[{"protocol":"MESOS_HTTP","path":"/health","portIndex":0,"gracePeriodSeconds":30,"intervalSeconds":5,
	  "timeoutSeconds":2,"maxConsecutiveFailures":3},{"protocol":"COMMAND","command":{"value":"curl -f localhost:$PORT0"}}],
	  "readinessChecks":[{"name":"ready","protocol":"HTTP","path":"/ready","portName":"http","intervalSeconds":3,
	  "timeoutSeconds":1,"httpStatusCodesForReady":[200,204],"preserveLastResponse":false}],
	  "upgradeStrategy":{"minimumHealthCapacity":0.5,"maximumOverCapacity":0.2},
	  "unreachableStrategy":{"inactiveAfterSeconds":60,"expungeAfterSeconds":120},
	  "env":{"MODE":"prod","SECRET_REF":{"secret":"db"}},"labels":{"team":"web"},"dependencies":["../db"]}`,
	`{"id":"/net/svc","instances":1,"cpus":0.1,"mem":32,"networks":[{"mode":"container","name":"overlay1"}],
	  "container":{"type":"DOCKER","docker":{"image":"registry.example.com/team/svc:1.4","forcePullImage":true},
	  "portMappings":[{"containerPort":8080,"hostPort":0,"protocol":"tcp,udp","name":"api"},{"containerPort":9090}]},
	  "constraints":[["rack","GROUP_BY","3"],["zone","LIKE","eu-.*"],["hostname","MAX_PER","2"],["disk","IS","ssd"],
	  ["rack","UNLIKE","r9"],["hostname","CLUSTER","host1"]],"acceptedResourceRoles":["*"]}`,
	`{"id":"/params","cmd":"run","cpus":1,"mem":256,"container":{"type":"DOCKER","docker":{"image":"busybox","network":"HOST",
	  "parameters":[{"key":"env","value":"A=1"},{"key":"label","value":"x=y"},{"key":"volume","value":"/srv/a:/a:ro,Z"},
	  {"key":"cap-add","value":"NET_ADMIN"},{"key":"ulimit","value":"nofile=1024:2048"},{"key":"memory-swap","value":"1g"},
	  {"key":"tmpfs","value":"/run:rw,size=64m"},{"key":"device","value":"/dev/fuse:/dev/fuse:rwm"},{"key":"publish","value":"127.0.0.1:8000-8001:80-81/udp"},
	  {"key":"add-host","value":"db:10.0.0.5"},{"key":"log-opt","value":"max-size=10m"},{"key":"init","value":"true"}]}},
	  "args":["--port","$PORT0"],"ports":[0,0],"requirePorts":false,"backoffSeconds":2,"backoffFactor":1.5,"maxLaunchDelaySeconds":60}`,
	`{"id":"/bad","cpus":-1,"mem":"lots","instances":-3,"cmd":"x","args":["y"]}`,
	`{"id":"Not/Canonical/..","container":{"type":"MESOS"}}`,
	`{"id":"/x","cmd":"x","healthChecks":[{"protocol":"TCP","portIndex":7}],"constraints":[["hostname"],["a","B","c","d"]]}`,
	`{"id":"/y","cmd":"y","upgradeStrategy":{"minimumHealthCapacity":2},"container":{"docker":{"image":""}},"secrets":{"s":{"source":"x"}}}`,
	`{}`, `[]`, `null`, `{"id":5}`, `{"id":"/z","env":{"A":5}}`,
	`{"id":"/` + strings.Repeat("a", 511) + `","cmd":"x"}`, `{"id":"/` + strings.Repeat("ab/", 200) + `","cmd":"x"}`,
	`{"id":"/many","cmd":"x","healthChecks":[` + strings.Repeat(`{"protocol":"TCP"},`, 32) + `{"protocol":"TCP"}]}`,
}

// An app definition, whatever its bytes: decoding, defaults, validation,
// docker parameters and host access never panic; and a definition found
// valid stays valid once written and read back (what the api stores is
// what the scheduler and the agents read).
func FuzzAppDefinition(f *testing.F) {
	for _, s := range appSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var a App
		if err := json.Unmarshal(data, &a); err != nil {
			return
		}
		id, err := NormalizeID(a.ID, "/")
		if err != nil {
			return
		}
		a.ID = id
		for i, dep := range a.Dependencies {
			if d, err := NormalizeID(dep, ParentID(id)); err == nil {
				a.Dependencies[i] = d
			}
		}
		ApplyDefaults(&a)
		errs := Validate(&a)
		_ = HostAccessOf(a)
		_ = a.NetworkMode()
		_ = a.PortMappingList()
		if a.Container != nil && a.Container.Docker != nil {
			_, _ = ParseDockerParameters(a.Container.Docker.Parameters)
		}
		// Resolved, valid or not, a task of it gets an env: never a panic.
		spec, _ := ResolveTask(a)
		_ = spec.ForTask([]int{31000, 0, 31001}, nil).TaskEnv(TaskContext{TaskID: "t", Host: "h", Sandbox: DockerSandbox, Container: "c"})
		if errs != nil {
			return
		}
		if len(a.ID) > MaxIDLength || ValidateSizes(&a) != nil {
			t.Fatalf("valid past a limit: id of %d characters, %v", len(a.ID), ValidateSizes(&a))
		}
		stored, err := json.Marshal(a)
		if err != nil {
			t.Fatalf("a valid app does not encode: %v", err)
		}
		var back App
		if err := json.Unmarshal(stored, &back); err != nil {
			t.Fatalf("a valid app does not decode back: %v\n%s", err, stored)
		}
		ApplyDefaults(&back)
		if errs := Validate(&back); errs != nil {
			t.Fatalf("a valid app is invalid read back: %v\n%s", errs, stored)
		}
	})
}

// Docker parameters, whatever their keys and values: never a panic; a
// parameter accepted gives values in range.
func FuzzDockerParameters(f *testing.F) {
	for _, p := range [][2]string{
		{"publish", "80:80"}, {"publish", "127.0.0.1:8000-8010:80-90/udp"}, {"publish", "[::1]::53/sctp"}, {"publish", "65536:1"},
		{"env", "A=b"}, {"env", "NOVALUE"}, {"label", "k=v"}, {"volume", "/srv:/data:ro,Z"}, {"volume", "named:/x"},
		{"volume", "/a:/b:/c:/d"}, {"cap-add", "SYS_ADMIN"}, {"cap-drop", "ALL"}, {"add-host", "db:10.0.0.1"},
		{"add-host", "v6:::1"}, {"user", "1000:1000"}, {"workdir", "/app"}, {"hostname", "h"}, {"log-driver", "json-file"},
		{"log-opt", "max-size=10m"}, {"ulimit", "nofile=1024:4096"}, {"ulimit", "core=-1"}, {"dns", "8.8.8.8"},
		{"dns-search", "example.com"}, {"memory-swap", "-1"}, {"memory-swap", "2g"}, {"shm-size", "64m"}, {"init", "true"},
		{"read-only", "false"}, {"tmpfs", "/run:rw,noexec"}, {"security-opt", "no-new-privileges"}, {"sysctl", "net.core.somaxconn=1024"},
		{"device", "/dev/sda:/dev/xvda:rwm"}, {"stop-signal", "SIGINT"}, {"--publish", "8080:80"}, {"privileged", "true"}, {"", ""},
	} {
		f.Add(p[0], p[1])
	}
	f.Fuzz(func(t *testing.T, key, value string) {
		opts, err := ParseDockerParameters([]Parameter{{Key: key, Value: value}})
		for _, pe := range ParameterErrors(err) {
			_ = pe.Path()
		}
		if err != nil {
			return
		}
		for _, p := range opts.Publish {
			if p.ContainerPort < 1 || p.ContainerPort > 65535 || p.HostPort < 0 || p.HostPort > 65535 ||
				p.ContainerPortEnd < p.ContainerPort || p.ContainerPortEnd > 65535 || (p.HostPort > 0 && p.HostPortEnd < p.HostPort) {
				t.Fatalf("publish %q gave %+v", value, p)
			}
		}
		for _, v := range opts.Volumes {
			if v.Target == "" || v.Target[0] != '/' {
				t.Fatalf("volume %q gave target %q", value, v.Target)
			}
		}
		_ = HostAccessOf(App{Container: &Container{Docker: &Docker{Image: "x", Parameters: []Parameter{{Key: key, Value: value}}}}})
	})
}

// An id of any length and a list of any size: an id is valid only within
// MaxIDLength, a list only within its limit, whatever its elements.
func FuzzIDAndListSizes(f *testing.F) {
	f.Add("a", uint16(1), uint8(0))
	f.Add("web", uint16(32), uint8(1))
	f.Add("x", uint16(33), uint8(1))
	f.Add("ab", uint16(300), uint8(2))
	f.Add("z", uint16(1025), uint8(3))
	f.Fuzz(func(t *testing.T, seg string, n uint16, which uint8) {
		segs := int(n%700) + 1
		raw := "/" + strings.Repeat(seg+"/", segs)
		if id, err := NormalizeID(raw, "/"); err == nil && len(id) > MaxIDLength {
			t.Fatalf("NormalizeID accepted an id of %d characters", len(id))
		} else if err != nil && len(raw) <= MaxIDLength && idSegment.MatchString(seg) && seg != "." && seg != ".." {
			if !slices.Contains(reservedIDSegments, seg) {
				t.Fatalf("NormalizeID refused %q: %v", raw, err)
			}
		}
		count := int(n % 2000)
		a := App{ID: "/a", Cmd: new(string)}
		*a.Cmd = "x"
		var path string
		var max int
		switch which % 4 {
		case 0:
			a.HealthChecks, path, max = make([]HealthCheck, count), "/healthChecks", MaxHealthChecks
		case 1:
			a.Constraints, path, max = make([]Constraint, count), "/constraints", MaxConstraints
		case 2:
			a.Env, path, max = map[string]EnvValue{}, "/env", MaxEnv
			for i := range count {
				a.Env[fmt.Sprint("E", i)] = EnvValue{Value: "v"}
			}
		case 3:
			a.Dependencies, path, max = make([]string, count), "/dependencies", MaxDependencies
		}
		refused := false
		for _, e := range ValidateSizes(&a) {
			refused = refused || e.Path == path
		}
		if refused != (count > max) {
			t.Fatalf("%s of %d (limit %d): refused %v", path, count, max, refused)
		}
	})
}
