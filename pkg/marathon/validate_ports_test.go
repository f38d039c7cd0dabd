package marathon

import (
	"fmt"
	"strings"
	"testing"
)

func TestValidateContainer(t *testing.T) {
	runValidationCases(t, []validationCase{
		{name: "test-docker", js: `{"id":"/test-docker","cpus":0.5,"mem":64,"instances":3,
			"constraints":[["hostname","UNIQUE"]],
			"container":{"type":"DOCKER","docker":{"image":"httpd","privileged":true,"network":"BRIDGE",
				"parameters":[{"key":"publish","value":"80:80"}]},
			"volumes":[{"containerPath":"/usr/local/apache2/htdocs","hostPath":"/var/nfsshare/htdocs","mode":"RO"}]}}`},
		{name: "mesos container with docker image", js: `{"id":"/a","container":{"type":"MESOS","docker":{"image":"x"}}}`},

		{name: "no image", js: `{"id":"/a","container":{"docker":{"image":""}}}`, path: "/container/docker/image", msg: msgNotEmpty},
		{name: "docker type without docker", js: `{"id":"/a","cmd":"x","container":{"type":"DOCKER"}}`,
			path: "/container/docker", msg: msgNotEmpty},
		{name: "bad type", js: `{"id":"/a","cmd":"x","container":{"type":"RKT","docker":{"image":"x"}}}`,
			path: "/container/type", msg: "is not one of (DOCKER,MESOS)"},
		{name: "bad network", js: `{"id":"/a","container":{"docker":{"image":"x","network":"bridge"}}}`,
			path: "/container/docker/network", msg: "is not one of (BRIDGE,HOST,NONE,USER)"},
		{name: "empty parameter key", js: `{"id":"/a","container":{"docker":{"image":"x","parameters":[{"key":"","value":"v"}]}}}`,
			path: "/container/docker/parameters(0)/key", msg: msgNotEmpty},
		{name: "unknown parameter", js: `{"id":"/a","container":{"docker":{"image":"x","parameters":[{"key":"no-such-flag","value":"v"}]}}}`,
			path: "/container/docker/parameters(0)/key", msg: unknownParam("no-such-flag")},
		{name: "pull config", js: `{"id":"/a","container":{"docker":{"image":"x","pullConfig":{"secret":"s"}}}}`,
			path: "/container/docker/pullConfig", msg: "pullConfig is not supported with Docker containerizer"},
		{name: "volume mode", js: `{"id":"/a","container":{"docker":{"image":"x"},"volumes":[{"containerPath":"/c","hostPath":"/h","mode":"RX"}]}}`,
			path: "/container/volumes(0)/mode", msg: "is not one of (RO,RW)"},
		{name: "volume without host path", js: `{"id":"/a","container":{"docker":{"image":"x"},"volumes":[{"containerPath":"/c"}]}}`,
			path: "/container/volumes(0)/hostPath", msg: msgNotEmpty},
		{name: "volume without container path", js: `{"id":"/a","container":{"docker":{"image":"x"},"volumes":[{"hostPath":"/h"}]}}`,
			path: "/container/volumes(0)/containerPath", msg: msgNotEmpty},
		{name: "persistent volume", js: `{"id":"/a","container":{"docker":{"image":"x"},"volumes":[{"containerPath":"d","persistent":{"size":10}}]}}`,
			path: "/container/volumes(0)/persistent", msg: msgUnsupported},
	})
}

func TestValidatePorts(t *testing.T) {
	runValidationCases(t, []validationCase{
		{name: "bridge mappings", js: `{"id":"/a","container":{"docker":{"image":"x","network":"BRIDGE",
			"portMappings":[{"containerPort":80,"name":"http"},{"containerPort":53,"protocol":"udp,tcp"}]}}}`},
		{name: "canonical bridge", js: `{"id":"/a","networks":[{"mode":"container/bridge"}],
			"container":{"docker":{"image":"x"},"portMappings":[{"containerPort":80,"hostPort":0}]}}`},
		{name: "host ports", js: `{"id":"/a","cmd":"x","portDefinitions":[{"port":8080,"name":"web"},{"port":0},{"port":0}]}`},

		{name: "mapping on host network", js: `{"id":"/a","container":{"docker":{"image":"x","network":"HOST",
			"portMappings":[{"containerPort":80}]}}}`, path: "/", msg: msgHostPortMapping},
		{name: "mapping on default network", js: `{"id":"/a","container":{"docker":{"image":"x"},"portMappings":[{"containerPort":80}]}}`,
			path: "/", msg: msgHostPortMapping},
		{name: "definitions on bridge", js: `{"id":"/a","portDefinitions":[{"port":0}],
			"container":{"docker":{"image":"x","network":"BRIDGE"}}}`, path: "/", msg: msgPortDefsNonHost},
		{name: "both mapping lists", js: `{"id":"/a","container":{"docker":{"image":"x","network":"BRIDGE",
			"portMappings":[{"containerPort":80}]},"portMappings":[{"containerPort":81}]}}`,
			path: "/container", msg: "cannot specify both portMappings and docker.portMappings"},
		{name: "network and networks", js: `{"id":"/a","networks":[{"mode":"host"}],"container":{"docker":{"image":"x","network":"HOST"}}}`,
			path: "/", msg: "must not specify both container.docker.network and networks"},
		{name: "bad networks mode", js: `{"id":"/a","cmd":"x","networks":[{"mode":"bridge"}]}`,
			path: "/networks(0)/mode", msg: "is not one of (container,container/bridge,host)"},
		{name: "mixed networks", js: `{"id":"/a","networks":[{"mode":"host"},{"mode":"container","name":"n"}],"container":{"docker":{"image":"x"}}}`,
			path: "/networks", msg: "host networking may not be combined with other networks"},
		{name: "container port range", js: `{"id":"/a","container":{"docker":{"image":"x","network":"BRIDGE",
			"portMappings":[{"containerPort":70000}]}}}`, path: "/container/docker/portMappings(0)/containerPort",
			msg: "got 70000, expected 65535 or less"},
		{name: "host port range", js: `{"id":"/a","networks":[{"mode":"container/bridge"}],"container":{"docker":{"image":"x"},
			"portMappings":[{"containerPort":80,"hostPort":-1}]}}`, path: "/container/portMappings(0)/hostPort",
			msg: "got -1, expected 0 or more"},
		{name: "mapping protocol", js: `{"id":"/a","container":{"docker":{"image":"x","network":"BRIDGE",
			"portMappings":[{"containerPort":80,"protocol":"sctp"}]}}}`, path: "/container/docker/portMappings(0)/protocol",
			msg: "is not one of (tcp,udp,udp,tcp)"},
		{name: "mapping names", js: `{"id":"/a","container":{"docker":{"image":"x","network":"BRIDGE",
			"portMappings":[{"containerPort":80,"name":"web"},{"containerPort":81,"name":"web"}]}}}`,
			path: "/container/docker/portMappings", msg: "Port names must be unique."},
		{name: "mapping name pattern", js: `{"id":"/a","container":{"docker":{"image":"x","network":"BRIDGE",
			"portMappings":[{"containerPort":80,"name":"Web"}]}}}`, path: "/container/docker/portMappings(0)/name",
			msg: "must fully match regular expression '^[a-z][a-z0-9-]*$'"},
		{name: "definition ports unique", js: `{"id":"/a","cmd":"x","portDefinitions":[{"port":80},{"port":80}]}`,
			path: "/portDefinitions", msg: "Ports must be unique."},
		{name: "definition names unique", js: `{"id":"/a","cmd":"x","portDefinitions":[{"port":0,"name":"a"},{"port":0,"name":"a"}]}`,
			path: "/portDefinitions", msg: "Port names must be unique."},
		{name: "definition port range", js: `{"id":"/a","cmd":"x","portDefinitions":[{"port":65536}]}`,
			path: "/portDefinitions(0)/port", msg: "got 65536, expected 65535 or less"},
		{name: "ports and definitions", js: `{"id":"/a","cmd":"x","ports":[1],"portDefinitions":[{"port":2}]}`,
			path: "/", msg: "cannot specify both ports and port definitions"},
		{name: "ip address and ports", js: `{"id":"/a","cmd":"x","ipAddress":{},"portDefinitions":[{"port":2}]}`,
			path: "/", msg: "cannot specify both an IP address and port"},
		{name: "unnamed container network", js: `{"id":"/a","networks":[{}],"container":{"docker":{"image":"x"}}}`,
			path: "/networks", msg: msgNetworkNameMissing},
		{name: "unnamed USER network", js: `{"id":"/a","container":{"docker":{"image":"x","network":"USER"}}}`,
			path: "/networks", msg: msgNetworkNameMissing},
		{name: "ip address without network name", js: `{"id":"/a","cmd":"x","ipAddress":{}}`,
			path: "/networks", msg: msgNetworkNameMissing},
		{name: "named container network", js: `{"id":"/a","networks":[{"mode":"container","name":"n"}],"container":{"docker":{"image":"x"}}}`},
		{name: "ip address with network name", js: `{"id":"/a","cmd":"x","ipAddress":{"networkName":"n"}}`},
		{name: "ip discovery on docker", js: `{"id":"/a","ipAddress":{"discovery":{"ports":[]}},"container":{"docker":{"image":"x"}}}`,
			path: "/ipAddress", msg: "ipAddress/discovery is not allowed for Docker containers"},
	})
}

// unknownParam is the refusal of an unknown docker parameter: it names it.
func unknownParam(key string) string {
	return fmt.Sprintf("unknown docker parameter %q: Drover supports %s", key, strings.Join(SupportedParameters(), ", "))
}

// Two mappings of one fixed host port (same protocol) can never be placed:
// the app waited for ever as InsufficientPorts. A 422 instead; the same
// port over tcp and udp, and ports 0 (any), stay allowed.
func TestDuplicateFixedHostPort(t *testing.T) {
	app := func(pms ...PortMapping) *App {
		a := &App{ID: "/p", Container: &Container{Type: "DOCKER", Docker: &Docker{Image: "x", Network: NetworkModeBridge}, PortMappings: pms}}
		ApplyDefaults(a)
		return a
	}
	hp := func(p int) *int { return &p }
	dup := app(PortMapping{ContainerPort: 80, HostPort: hp(8080)}, PortMapping{ContainerPort: 81, HostPort: hp(8080)})
	if errs := Validate(dup); !hasFieldError(errs, "/container/portMappings(1)/hostPort",
		"must be unique: /container/portMappings(0) has hostPort 8080 (tcp) already") {
		t.Errorf("duplicate host port: %v", errs)
	}
	both := app(PortMapping{ContainerPort: 80, HostPort: hp(8080), Protocol: "udp,tcp"}, PortMapping{ContainerPort: 81, HostPort: hp(8080), Protocol: "udp"})
	if errs := Validate(both); len(errs) == 0 {
		t.Error("duplicate udp host port accepted")
	}
	for _, ok := range []*App{
		app(PortMapping{ContainerPort: 80, HostPort: hp(8080), Protocol: "tcp"}, PortMapping{ContainerPort: 80, HostPort: hp(8080), Protocol: "udp"}),
		app(PortMapping{ContainerPort: 80, HostPort: hp(0)}, PortMapping{ContainerPort: 81, HostPort: hp(0)}),
		app(PortMapping{ContainerPort: 80}, PortMapping{ContainerPort: 81}),
	} {
		if errs := Validate(ok); errs != nil {
			t.Errorf("%+v: %v", ok.Container.PortMappings, errs)
		}
	}
}
