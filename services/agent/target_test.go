package agent

import (
	"context"
	"errors"
	"testing"

	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/marathon"
)

func TestHealthTarget(t *testing.T) {
	ptr := func(n int) *int { return &n }
	bridge := CheckSpec{Ports: []CheckPort{{Name: "http", ContainerPort: 80}, {Name: "admin", ContainerPort: 9000}}}
	bridgeTask := events.TaskReport{HostPorts: []int{31000, 31001}, IPAddress: "172.17.0.5"}
	hostNet := CheckSpec{Ports: []CheckPort{{Name: "api"}}}
	hostTask := events.TaskReport{HostPorts: []int{31005}}
	cases := []struct {
		name string
		hc   marathon.HealthCheck
		cs   CheckSpec
		task events.TaskReport
		want string // "" for an error
	}{
		{"http port index", marathon.HealthCheck{Protocol: "HTTP", PortIndex: ptr(1)}, bridge, bridgeTask, "10.0.0.1:31001"},
		{"tcp default index", marathon.HealthCheck{Protocol: "TCP"}, bridge, bridgeTask, "10.0.0.1:31000"},
		{"http fixed port", marathon.HealthCheck{Protocol: "HTTP", Port: ptr(8080)}, bridge, bridgeTask, "10.0.0.1:8080"},
		{"mesos in the container", marathon.HealthCheck{Protocol: "MESOS_HTTP", PortIndex: ptr(1)}, bridge, bridgeTask, "172.17.0.5:9000"},
		{"mesos fixed port in the container", marathon.HealthCheck{Protocol: "MESOS_TCP", Port: ptr(8080)}, bridge, bridgeTask, "172.17.0.5:8080"},
		{"mesos on the host network", marathon.HealthCheck{Protocol: "MESOS_HTTP"}, hostNet, hostTask, "10.0.0.1:31005"},
		{"host network", marathon.HealthCheck{Protocol: "HTTP"}, hostNet, hostTask, "10.0.0.1:31005"},
		{"no host port: the container's", marathon.HealthCheck{Protocol: "HTTP"}, bridge,
			events.TaskReport{HostPorts: []int{0}, IPAddress: "172.17.0.5"}, "172.17.0.5:80"},
		{"index out of range", marathon.HealthCheck{Protocol: "HTTP", PortIndex: ptr(2)}, bridge, bridgeTask, ""},
		{"no ports", marathon.HealthCheck{Protocol: "HTTP"}, CheckSpec{}, events.TaskReport{}, ""},
	}
	for _, c := range cases {
		got, err := healthTarget(c.hc, c.cs, c.task, "10.0.0.1")
		if (c.want == "") != (err != nil) || got != c.want {
			t.Errorf("%s: %q, %v; want %q", c.name, got, err, c.want)
		}
	}
}

func TestReadinessTarget(t *testing.T) {
	cs := CheckSpec{Ports: []CheckPort{{Name: "http", ContainerPort: 80}, {Name: "api", ContainerPort: 8080}}}
	task := events.TaskReport{HostPorts: []int{31000, 31001}, IPAddress: "172.17.0.5"}
	if got, err := readinessTarget(marathon.ReadinessCheck{PortName: "api"}, cs, task, "10.0.0.1"); err != nil || got != "10.0.0.1:31001" {
		t.Fatalf("api: %q, %v", got, err)
	}
	if _, err := readinessTarget(marathon.ReadinessCheck{PortName: "http-api"}, cs, task, "10.0.0.1"); err == nil {
		t.Fatal("an unknown port name has a target")
	}
}

func TestCheckHost(t *testing.T) {
	lookups := 0
	resolve := func(_ context.Context, host string) ([]string, error) {
		lookups++
		if host == "host1.example" {
			return []string{"10.0.0.1"}, nil
		}
		return nil, errors.New("no such host")
	}
	for addr, want := range map[string]string{"": "127.0.0.1", "127.0.0.13": "127.0.0.13", "::1": "::1",
		"host1.example": "host1.example", "nowhere.invalid": "127.0.0.1"} {
		h := newCheckHost(addr)
		h.resolve = resolve
		if got := h.Get(t.Context()); got != want {
			t.Errorf("address %q: checks go to %q, want %q", addr, got, want)
		}
	}
	h := newCheckHost("nowhere.invalid")
	h.resolve = resolve
	lookups = 0
	h.Get(t.Context())
	h.Get(t.Context())
	if lookups != 1 {
		t.Fatalf("%d lookups, want 1 (the verdict is kept)", lookups)
	}
}
