package docker

import (
	"path"
	"slices"
	"strings"
	"testing"

	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/marathon"
)

// A command, whatever its bytes, mapped onto a container: never a panic;
// and the container asks the host for nothing the agent's policy check
// did not see (marathon.HostAccessOf): privileges only for an app judged
// privileged, binds only of the host paths it judged, each bind one
// unambiguous SOURCE:TARGET[:MODE].
func FuzzBuildSpec(f *testing.F) {
	for _, s := range []string{
		`{"v":1,"id":"c1","epoch":2,"kind":"launch","taskId":"web.instance-1._app.1","appId":"/web","launch":{"app":{"id":"/web","cpus":0.5,"mem":64,
		  "container":{"type":"DOCKER","docker":{"image":"httpd","privileged":true,"network":"BRIDGE","parameters":[{"key":"publish","value":"80:80"}]},
		  "volumes":[{"containerPath":"/usr/local/apache2/htdocs","hostPath":"/var/nfsshare/htdocs","mode":"RO"}],
		  "portMappings":[{"containerPort":8080,"hostPort":0}]}},"hostPorts":[31000],"env":{"PORT0":"31000","HOST":"h1"}}}`,
		`{"v":1,"kind":"launch","taskId":"t.1","launch":{"app":{"id":"/p","cmd":"sleep 1","container":{"docker":{"image":"busybox","network":"HOST",
		  "parameters":[{"key":"volume","value":"/srv/data:/data:ro"},{"key":"cap-add","value":"NET_BIND_SERVICE"},{"key":"device","value":"/dev/fuse"},
		  {"key":"tmpfs","value":"/run"},{"key":"env","value":"A=1"}]}},"portDefinitions":[{"port":0}],
		  "healthChecks":[{"protocol":"HTTP","portIndex":0}],"readinessChecks":[{"protocol":"HTTP","portName":"x"}]},"hostPorts":[31001]}}`,
		`{"v":1,"kind":"launch","taskId":"u.1","launch":{"app":{"id":"/u","args":["a"],"networks":[{"mode":"container","name":"n"}],
		  "container":{"docker":{"image":"x/y:1"},"portMappings":[{"containerPort":53,"protocol":"udp,tcp"}],
		  "volumes":[{"containerPath":"/c","hostPath":"/srv/a:/etc","mode":"RW"}]}}}}`,
		`{"v":1,"kind":"launch","taskId":"../../x","launch":{"app":{"id":"/z","container":{"docker":{"image":"z"}}}}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cmd, err := events.Decode[events.Command](data)
		if err != nil || cmd.Launch == nil {
			return
		}
		spec, err := buildFrom("agent-1", "127.0.0.1", cmd.TaskID, *cmd.Launch)
		if err != nil {
			return
		}
		ha := marathon.HostAccessOf(cmd.Launch.App)
		h := spec.Host
		if !ha.Privileged && (h.Privileged || len(h.Resources.Devices) > 0 || len(h.CapAdd) > 0 && slices.ContainsFunc(h.CapAdd, notDefaultCap)) {
			t.Fatalf("privileges for an app not judged privileged: privileged %v devices %v caps %v", h.Privileged, h.Resources.Devices, h.CapAdd)
		}
		for _, b := range h.Binds {
			parts := strings.Split(b, ":")
			if len(parts) < 2 || len(parts) > 3 {
				t.Fatalf("ambiguous bind %q", b)
			}
			if path.IsAbs(parts[0]) && !slices.Contains(ha.HostPaths, path.Clean(parts[0])) {
				t.Fatalf("bind %q of a host path the policy did not see (%v)", b, ha.HostPaths)
			}
		}
	})
}

func notDefaultCap(c string) bool {
	return marathon.HostAccessOf(marathon.App{Container: &marathon.Container{Docker: &marathon.Docker{
		Parameters: []marathon.Parameter{{Key: "cap-add", Value: c}}}}}).Privileged
}
