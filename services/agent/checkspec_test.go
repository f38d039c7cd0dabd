package agent

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/marathon"
)

// resolved is the spec a launch runs with, unrunnable or not.
func resolved(ls events.LaunchSpec) marathon.TaskSpec {
	s, _ := ls.Resolve()
	return s
}

func appFrom(t *testing.T, js string) marathon.App {
	t.Helper()
	var a marathon.App
	if err := json.Unmarshal([]byte(js), &a); err != nil {
		t.Fatal(err)
	}
	return a
}

func TestCheckSpecOfBridge(t *testing.T) {
	app := appFrom(t, `{"id":"/web","container":{"type":"DOCKER","docker":{"image":"httpd","network":"BRIDGE",
		"parameters":[{"key":"publish","value":"8080-8081:80-81"}]},
		"portMappings":[{"containerPort":443,"name":"https"},{"containerPort":0,"hostPort":0,"name":"any"}]},
		"healthChecks":[{"protocol":"MESOS_HTTP","portIndex":2},{"path":"/healthz"}],
		"readinessChecks":[{"portName":"https","protocol":"HTTPS"}]}`)
	cs, err := CheckSpecOf(resolved(events.LaunchSpec{App: app}))
	if err != nil {
		t.Fatal(err)
	}
	wantPorts := []CheckPort{{Name: "https", ContainerPort: 443}, {Name: "any"}, {ContainerPort: 80}, {ContainerPort: 81}}
	if !reflect.DeepEqual(cs.Ports, wantPorts) {
		t.Fatalf("ports %+v, want %+v", cs.Ports, wantPorts)
	}
	if h := cs.HealthChecks[1]; h.Protocol != "HTTP" || h.Path != "/healthz" || h.PortIndex == nil || *h.PortIndex != 0 ||
		h.IntervalSeconds != 60 || h.GracePeriodSeconds != 300 {
		t.Fatalf("defaults: %+v", h)
	}
	if len(cs.ReadinessChecks) != 1 || cs.ReadinessChecks[0].PortName != "https" || cs.ReadinessChecks[0].IntervalSeconds != 30 {
		t.Fatalf("readiness %+v", cs.ReadinessChecks)
	}
	// The Docker runtime keeps it in a label: it reads back the same.
	b, err := json.Marshal(cs)
	if err != nil {
		t.Fatal(err)
	}
	var back CheckSpec
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, cs) {
		t.Fatalf("round trip: %+v, %v\nwant %+v", back, err, cs)
	}
}

func TestCheckSpecOfHostAndNone(t *testing.T) {
	app := appFrom(t, `{"id":"/api","cmd":"serve","portDefinitions":[{"port":0,"name":"api"},{"port":0}],
		"healthChecks":[{"protocol":"TCP","portIndex":1}]}`)
	cs, err := CheckSpecOf(resolved(events.LaunchSpec{App: app}))
	if err != nil {
		t.Fatal(err)
	}
	if want := []CheckPort{{Name: "api"}, {}}; !reflect.DeepEqual(cs.Ports, want) {
		t.Fatalf("ports %+v, want %+v", cs.Ports, want)
	}
	none, err := CheckSpecOf(resolved(events.LaunchSpec{App: appFrom(t, `{"id":"/x","cmd":"x","portDefinitions":[{"port":0}]}`)}))
	if err != nil || !none.Empty() || none.Ports != nil {
		t.Fatalf("no checks: %+v, %v", none, err)
	}
	bad := appFrom(t, `{"id":"/x","cmd":"x","healthChecks":[{"protocol":"TCP"}],"readinessChecks":["ready"]}`)
	if cs, err := CheckSpecOf(resolved(events.LaunchSpec{App: bad})); err == nil || len(cs.HealthChecks) != 1 {
		t.Fatalf("bad readiness check: %+v, %v", cs, err)
	}
}
