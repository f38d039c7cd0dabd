package marathon

import (
	"errors"
	"slices"
	"testing"
)

// defaulted decodes a fixture and applies Marathon's defaults, as the api
// does before assigning ports; "" is no app.
func defaulted(t *testing.T, js string) *App {
	t.Helper()
	if js == "" {
		return nil
	}
	a := decodeApp(t, js)
	ApplyDefaults(a)
	return a
}

func TestAssignServicePorts(t *testing.T) {
	const (
		bridge = `{"id":"/b","container":{"docker":{"image":"x","network":"BRIDGE","portMappings":[`
		user   = `{"id":"/u","networks":[{"mode":"container","name":"n"}],"container":{"docker":{"image":"x"},"portMappings":[`
	)
	small := PortRange{Min: 10000, Max: 10001}
	for _, tt := range []struct {
		name       string
		r          PortRange // DefaultPortRange when zero
		used       []int     // the other apps' service ports
		prev, next string
		want       []int // the service ports after
		fresh      []int // the ones taken from the free ports
	}{
		{name: "new app, port definition 0", next: `{"id":"/a","cmd":"x","portDefinitions":[{"port":0}]}`,
			want: []int{10000}, fresh: []int{10000}},
		{name: "new app, default port definition", next: `{"id":"/a","cmd":"x"}`, want: []int{10000}, fresh: []int{10000}},
		{name: "legacy ports", next: `{"id":"/a","cmd":"x","ports":[0,0]}`, want: []int{10000, 10001}, fresh: []int{10000, 10001}},
		{name: "several zeros beside an explicit port", next: `{"id":"/a","cmd":"x","portDefinitions":[{"port":0},{"port":10001},{"port":0}]}`,
			want: []int{10000, 10001, 10002}, fresh: []int{10000, 10002}},
		{name: "docker port mappings", next: bridge + `{"containerPort":80},{"containerPort":53,"servicePort":10555}]}}}`,
			want: []int{10000, 10555}, fresh: []int{10000}},
		{name: "container port mappings", next: user + `{"containerPort":80,"servicePort":0}]}}`,
			want: []int{10000}, fresh: []int{10000}},
		{name: "other apps' ports are skipped", used: []int{10000, 10002},
			next: `{"id":"/a","cmd":"x","ports":[0,0]}`, want: []int{10001, 10003}, fresh: []int{10001, 10003}},
		{name: "explicit ports are kept even when another app has them", used: []int{10000, 80},
			next: `{"id":"/a","cmd":"x","portDefinitions":[{"port":10000},{"port":80}]}`, want: []int{10000, 80}},
		{name: "update leaving 0 keeps the port", used: []int{10005},
			prev: `{"id":"/a","cmd":"x","portDefinitions":[{"port":10005}]}`,
			next: `{"id":"/a","cmd":"x","portDefinitions":[{"port":0}]}`, want: []int{10005}},
		{name: "update omitting the ports keeps them", used: []int{10005},
			prev: `{"id":"/a","cmd":"x","portDefinitions":[{"port":10005}]}`, next: `{"id":"/a","cmd":"y"}`, want: []int{10005}},
		{name: "update of port mappings keeps them", used: []int{10007, 10008},
			prev: bridge + `{"containerPort":80,"servicePort":10007},{"containerPort":443,"servicePort":10008}]}}}`,
			next: bridge + `{"containerPort":8080},{"containerPort":8443}]}}}`, want: []int{10007, 10008}},
		{name: "update adding a port", used: []int{10000, 10005},
			prev: `{"id":"/a","cmd":"x","portDefinitions":[{"port":10005}]}`,
			next: `{"id":"/a","cmd":"x","ports":[0,0]}`, want: []int{10005, 10001}, fresh: []int{10001}},
		{name: "a port the update lists explicitly is not reused", used: []int{10005, 10006},
			prev: `{"id":"/a","cmd":"x","ports":[10005,10006]}`,
			next: `{"id":"/a","cmd":"x","ports":[10006,0]}`, want: []int{10006, 10005}},
		{name: "a previous port outside the range is not reused", used: []int{80},
			prev: `{"id":"/a","cmd":"x","ports":[80]}`,
			next: `{"id":"/a","cmd":"x","ports":[0]}`, want: []int{10000}, fresh: []int{10000}},
		{name: "the last free port of the range", r: small, used: []int{10000},
			next: `{"id":"/a","cmd":"x","ports":[0]}`, want: []int{10001}, fresh: []int{10001}},
		{name: "no dynamic port", next: `{"id":"/a","cmd":"x","portDefinitions":[]}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.r
			if r == (PortRange{}) {
				r = DefaultPortRange()
			}
			prev, next := defaulted(t, tt.prev), defaulted(t, tt.next)
			before := next.ServicePorts()
			a := ServicePortAssigner{Range: r, Used: func() []int { return tt.used }}
			got, fresh, err := a.Assign(prev, next)
			if err != nil {
				t.Fatalf("Assign: %v", err)
			}
			if ports := got.ServicePorts(); !slices.Equal(ports, tt.want) {
				t.Errorf("service ports = %v, want %v", ports, tt.want)
			}
			if !slices.Equal(fresh, tt.fresh) {
				t.Errorf("fresh = %v, want %v", fresh, tt.fresh)
			}
			if after := next.ServicePorts(); !slices.Equal(after, before) {
				t.Errorf("the definition given changed: %v, was %v", after, before)
			}
		})
	}
}

func TestAssignServicePortsNeverSharesOne(t *testing.T) {
	a := ServicePortAssigner{Range: DefaultPortRange(), Used: func() []int { return []int{10001} }}
	seen := map[int]string{10001: "/other"}
	for _, js := range []string{
		`{"id":"/a","cmd":"x","ports":[0,0]}`,
		`{"id":"/b","cmd":"x","ports":[0]}`,
		`{"id":"/c","container":{"docker":{"image":"x","network":"BRIDGE","portMappings":[{"containerPort":1},{"containerPort":2}]}}}`,
	} {
		app := defaulted(t, js)
		got, _, err := a.Assign(nil, app)
		if err != nil {
			t.Fatalf("Assign %s: %v", app.ID, err)
		}
		for _, p := range got.ServicePorts() {
			if owner, ok := seen[p]; ok {
				t.Errorf("port %d given to %s and %s", p, owner, app.ID)
			}
			seen[p] = app.ID
		}
	}
	if len(seen) != 6 {
		t.Errorf("ports given: %v, want 5 besides 10001", seen)
	}
}

func TestAssignServicePortsExhausted(t *testing.T) {
	a := ServicePortAssigner{Range: PortRange{Min: 10000, Max: 10002}, Used: func() []int { return []int{10001} }}
	_, _, err := a.Assign(nil, defaulted(t, `{"id":"/a","cmd":"x","ports":[0,0,0]}`))
	var exhausted *PortRangeExhaustedError
	if !errors.As(err, &exhausted) || *exhausted != (PortRangeExhaustedError{Min: 10000, Max: 10002}) {
		t.Fatalf("err = %v, want the range exhausted", err)
	}
	if msg := err.Error(); msg != "All ports in the range [10000-10002] are already in use" {
		t.Errorf("message %q", msg)
	}
}

func TestPortRangeValidate(t *testing.T) {
	for _, tt := range []struct {
		r  PortRange
		ok bool
	}{
		{DefaultPortRange(), true},
		{PortRange{Min: 1, Max: 65535}, true},
		{PortRange{Min: 0, Max: 100}, false},
		{PortRange{Min: 100, Max: 65536}, false},
		{PortRange{Min: 20000, Max: 10000}, false},
		{PortRange{Min: 10000, Max: 10000}, false},
	} {
		if err := tt.r.Validate(); (err == nil) != tt.ok {
			t.Errorf("%+v: Validate = %v, want ok %v", tt.r, err, tt.ok)
		}
	}
}
