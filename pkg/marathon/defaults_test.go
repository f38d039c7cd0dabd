package marathon

import (
	"encoding/json"
	"testing"
)

// decodeApp decodes a fixture, failing the test on error.
func decodeApp(t *testing.T, js string) *App {
	t.Helper()
	var a App
	if err := json.Unmarshal([]byte(js), &a); err != nil {
		t.Fatalf("decode %s: %v", js, err)
	}
	return &a
}

// roundTrip encodes an app and decodes it as a generic JSON object.
func roundTrip(t *testing.T, a *App) map[string]any {
	t.Helper()
	b, err := json.Marshal(a)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("decode: %v", err)
	}
	return m
}

func TestApplyDefaultsCommandApp(t *testing.T) {
	a := decodeApp(t, `{"id":"/sleep","cmd":"sleep 100"}`)
	ApplyDefaults(a)
	m := roundTrip(t, a)
	want := map[string]any{
		"cpus": 1.0, "mem": 128.0, "disk": 0.0, "gpus": 0.0, "instances": 1.0,
		"backoffSeconds": 1.0, "backoffFactor": 1.15, "maxLaunchDelaySeconds": 300.0,
		"killSelection": "YOUNGEST_FIRST", "requirePorts": false, "executor": "",
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %v, want %v", k, m[k], v)
		}
	}
	for _, k := range []string{"constraints", "healthChecks", "dependencies", "fetch", "readinessChecks"} {
		if arr, ok := m[k].([]any); !ok || len(arr) != 0 {
			t.Errorf("%s = %#v, want []", k, m[k])
		}
	}
	for _, k := range []string{"env", "labels"} {
		if obj, ok := m[k].(map[string]any); !ok || len(obj) != 0 {
			t.Errorf("%s = %#v, want {}", k, m[k])
		}
	}
	us := m["upgradeStrategy"].(map[string]any)
	if us["minimumHealthCapacity"] != 1.0 || us["maximumOverCapacity"] != 1.0 {
		t.Errorf("upgradeStrategy = %v", us)
	}
	ur := m["unreachableStrategy"].(map[string]any)
	if ur["inactiveAfterSeconds"] != 0.0 || ur["expungeAfterSeconds"] != 0.0 {
		t.Errorf("unreachableStrategy = %v", ur)
	}
	pds := m["portDefinitions"].([]any)
	if len(pds) != 1 || pds[0].(map[string]any)["port"] != 0.0 || pds[0].(map[string]any)["protocol"] != "tcp" {
		t.Errorf("portDefinitions = %v, want one {port 0, tcp}", pds)
	}
	if m["container"] != nil || m["args"] != nil {
		t.Errorf("container = %v, args = %v; want null", m["container"], m["args"])
	}
}

func TestApplyDefaultsKeepsWhatIsSet(t *testing.T) {
	a := decodeApp(t, `{"id":"/a","cmd":"x","cpus":0.5,"mem":64,"instances":0,"env":{"A":"1"},
		"upgradeStrategy":{"minimumHealthCapacity":0.5},"killSelection":"OLDEST_FIRST",
		"maxLaunchDelaySeconds":3600,"portDefinitions":[]}`)
	ApplyDefaults(a)
	if *a.Cpus != 0.5 || *a.Mem != 64 || *a.Instances != 0 || a.Env["A"].Value != "1" {
		t.Errorf("explicit values overwritten: cpus %v mem %v instances %v env %v", *a.Cpus, *a.Mem, *a.Instances, a.Env)
	}
	if a.UpgradeStrategy.MinimumHealthCapacity != 0.5 || a.UpgradeStrategy.MaximumOverCapacity != 1 {
		t.Errorf("upgradeStrategy = %+v, want {0.5 1}", *a.UpgradeStrategy)
	}
	if a.KillSelection != KillOldestFirst || *a.MaxLaunchDelaySeconds != 3600 {
		t.Errorf("killSelection %q maxLaunchDelay %v", a.KillSelection, *a.MaxLaunchDelaySeconds)
	}
	if len(a.PortDefinitions) != 0 {
		t.Errorf("explicit empty portDefinitions became %v", a.PortDefinitions)
	}
}

func TestApplyDefaultsBridgeContainer(t *testing.T) {
	a := decodeApp(t, `{"id":"/web","container":{"docker":{"image":"httpd","network":"BRIDGE",
		"portMappings":[{"containerPort":80},{"containerPort":53,"protocol":"udp","hostPort":5353}]},
		"volumes":[{"containerPath":"/data","hostPath":"/srv"}]}}`)
	ApplyDefaults(a)
	c := a.Container
	if c.Type != ContainerDocker || c.Volumes[0].Mode != VolumeRW || c.Docker.Parameters == nil {
		t.Errorf("container defaults: type %q mode %q parameters %v", c.Type, c.Volumes[0].Mode, c.Docker.Parameters)
	}
	pm := c.Docker.PortMappings
	if pm[0].Protocol != "tcp" || pm[0].HostPort == nil || *pm[0].HostPort != 0 {
		t.Errorf("port mapping 0 = %+v, want tcp and host port 0", pm[0])
	}
	if pm[1].Protocol != "udp" || *pm[1].HostPort != 5353 {
		t.Errorf("port mapping 1 = %+v, want udp 5353", pm[1])
	}
	if a.PortDefinitions == nil || len(a.PortDefinitions) != 0 {
		t.Errorf("bridge app portDefinitions = %#v, want []", a.PortDefinitions)
	}
	if a.NetworkMode() != NetworkModeBridge {
		t.Errorf("NetworkMode = %q", a.NetworkMode())
	}
}

func TestApplyDefaultsUserNetworkLeavesHostPort(t *testing.T) {
	a := decodeApp(t, `{"id":"/u","networks":[{"mode":"container","name":"dcos"}],
		"container":{"docker":{"image":"x"},"portMappings":[{"containerPort":80}]}}`)
	ApplyDefaults(a)
	if hp := a.Container.PortMappings[0].HostPort; hp != nil {
		t.Errorf("USER network host port = %d, want unset", *hp)
	}
	if a.NetworkMode() != NetworkModeUser {
		t.Errorf("NetworkMode = %q", a.NetworkMode())
	}
}

func TestApplyDefaultsHealthChecks(t *testing.T) {
	a := decodeApp(t, `{"id":"/h","cmd":"x","healthChecks":[
		{},
		{"protocol":"TCP","port":8080,"maxConsecutiveFailures":0,"gracePeriodSeconds":0},
		{"protocol":"COMMAND","command":{"value":"true"}}]}`)
	ApplyDefaults(a)
	hc := a.HealthChecks
	if hc[0].Protocol != HealthHTTP || hc[0].Path != "/" || hc[0].PortIndex == nil || *hc[0].PortIndex != 0 {
		t.Errorf("hc0 = %+v", hc[0])
	}
	if hc[0].GracePeriodSeconds != 300 || hc[0].IntervalSeconds != 60 || hc[0].TimeoutSeconds != 20 || hc[0].MaxConsecutiveFailures != 3 {
		t.Errorf("hc0 numbers = %+v", hc[0])
	}
	if hc[1].PortIndex != nil || hc[1].Path != "" || hc[1].MaxConsecutiveFailures != 0 || hc[1].GracePeriodSeconds != 0 {
		t.Errorf("hc1 = %+v: explicit zeros and port must stay", hc[1])
	}
	if hc[2].PortIndex != nil {
		t.Errorf("COMMAND check got a port index")
	}
}

func TestApplyDefaultsMigratesPorts(t *testing.T) {
	a := decodeApp(t, `{"id":"/p","cmd":"x","ports":[1980,0]}`)
	ApplyDefaults(a)
	if a.Ports != nil || len(a.PortDefinitions) != 2 || a.PortDefinitions[0].Port != 1980 || a.PortDefinitions[1].Protocol != "tcp" {
		t.Errorf("ports %v portDefinitions %+v", a.Ports, a.PortDefinitions)
	}
}

func TestApplyDefaultsSingleInstance(t *testing.T) {
	a := decodeApp(t, `{"id":"/s","cmd":"x","labels":{"MARATHON_SINGLE_INSTANCE_APP":"true"}}`)
	ApplyDefaults(a)
	if *a.UpgradeStrategy != (UpgradeStrategy{}) {
		t.Errorf("single-instance upgradeStrategy = %+v, want {0 0}", *a.UpgradeStrategy)
	}
	if errs := Validate(a); errs != nil {
		t.Errorf("Validate = %v", errs)
	}
}

func TestApplyDefaultsNil(t *testing.T) {
	ApplyDefaults(nil) // must not panic
}

func TestNetworkMode(t *testing.T) {
	tests := []struct {
		js   string
		want string
	}{
		{`{"id":"/a"}`, NetworkModeHost},
		{`{"id":"/a","container":{"docker":{"image":"x"}}}`, NetworkModeHost},
		{`{"id":"/a","container":{"docker":{"image":"x","network":"NONE"}}}`, NetworkModeNone},
		{`{"id":"/a","networks":[{"mode":"host"}]}`, NetworkModeHost},
		{`{"id":"/a","networks":[{"mode":"container/bridge"}]}`, NetworkModeBridge},
		{`{"id":"/a","networks":[{}]}`, NetworkModeUser},
		{`{"id":"/a","ipAddress":{}}`, NetworkModeUser},
	}
	for _, tt := range tests {
		if got := decodeApp(t, tt.js).NetworkMode(); got != tt.want {
			t.Errorf("%s: NetworkMode = %q, want %q", tt.js, got, tt.want)
		}
	}
}

func TestApplyDefaultsDropsBridgePorts(t *testing.T) {
	a := decodeApp(t, `{"id":"/p","ports":[5000],"container":{"docker":{"image":"registry","network":"BRIDGE",
		"portMappings":[{"containerPort":5000,"servicePort":5000}]}}}`)
	ApplyDefaults(a)
	if a.Ports != nil || len(a.PortDefinitions) != 0 {
		t.Errorf("ports %v portDefinitions %+v, want none", a.Ports, a.PortDefinitions)
	}
	if errs := Validate(a); errs != nil {
		t.Errorf("Validate = %v", errs)
	}
}
