package main

import (
	"strings"
	"testing"

	"github.com/alecthomas/kong"
)

func parse(t *testing.T, env map[string]string, args ...string) (*cli, error) {
	t.Helper()
	for k, v := range env {
		t.Setenv(k, v)
	}
	var c cli
	p, err := kong.New(&c, kong.Name("drover"), kong.DefaultEnvars("DROVER"), kong.Exit(func(int) {}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Parse(args)
	return &c, err
}

func TestEveryFlagHasAnEnvironmentTwin(t *testing.T) {
	c, err := parse(t, map[string]string{"DROVER_HTTP_ADDR": "127.0.0.1:9999", "DROVER_NATS_ADDR": "", "DROVER_HOSTNAME": "h1"},
		"standalone", "--data-dir", "/tmp/x")
	if err != nil {
		t.Fatal(err)
	}
	if c.Standalone.HTTPAddr != "127.0.0.1:9999" || c.Standalone.Hostname != "h1" || c.Standalone.NATSAddr != "" {
		t.Errorf("env not applied: http %q hostname %q nats %q", c.Standalone.HTTPAddr, c.Standalone.Hostname, c.Standalone.NATSAddr)
	}
	c, err = parse(t, map[string]string{"DROVER_NATS": "nats://n1:4222", "DROVER_RESOURCES": "cpus=2"}, "agent", "--hostname", "h2")
	if err != nil {
		t.Fatal(err)
	}
	if c.Agent.NATS != "nats://n1:4222" || c.Agent.Resources != "cpus=2" {
		t.Errorf("agent env not applied: %+v", c.Agent)
	}
}

func TestAgentFlagsRefuseBadInput(t *testing.T) {
	for _, tt := range []struct {
		flags agentFlags
		want  string
	}{
		{agentFlags{Hostname: "h", Resources: "cpus=lots"}, "--resources"},
		{agentFlags{Hostname: "h", Attributes: "rack"}, "--attributes"},
		{agentFlags{Hostname: "h", AgentID: "a.b"}, "agent id"},
	} {
		tt.flags.HeartbeatInterval = 1e9
		tt.flags.PrivilegedMode = "auto"
		if _, _, err := tt.flags.config(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("config(%+v) error = %v, want one naming %s", tt.flags, err, tt.want)
		}
	}
}

func TestAgentFlagsDetectMissingResources(t *testing.T) {
	cfg, dc, err := agentFlags{Hostname: "node1.example.com", Address: "127.0.0.5", Resources: "ports=[1000-1010]",
		HeartbeatInterval: 1e9, PrivilegedMode: "auto"}.config()
	if err != nil {
		t.Fatal(err)
	}
	r := cfg.Resources
	if r.Cpus <= 0 || r.Mem <= 0 || r.Disk != 10000 || len(r.Ports) != 1 || r.Ports[0].Begin != 1000 {
		t.Errorf("resources = %+v", r)
	}
	if dc.AgentID != "node1-example-com" || dc.PublishIP != "127.0.0.5" {
		t.Errorf("docker config = agent %q publish %q", dc.AgentID, dc.PublishIP)
	}
}

func TestLocalPortFlags(t *testing.T) {
	c, err := parse(t, nil, "api", "--local_port_min", "11000", "--local-port-max", "12000")
	if err != nil {
		t.Fatal(err)
	}
	cfg := c.API.apiFlags.config(":8080")
	if cfg.LocalPortMin != 11000 || cfg.LocalPortMax != 12000 {
		t.Errorf("range %d-%d, want 11000-12000", cfg.LocalPortMin, cfg.LocalPortMax)
	}
	c, err = parse(t, nil, "standalone", "--data-dir", "/tmp/x")
	if err != nil {
		t.Fatal(err)
	}
	if cfg := c.Standalone.apiFlags.config("127.0.0.1:8080"); cfg.LocalPortMin != 10000 || cfg.LocalPortMax != 20000 {
		t.Errorf("default range %d-%d, want Marathon's 10000-20000", cfg.LocalPortMin, cfg.LocalPortMax)
	}
	c, err = parse(t, nil, "api", "--local-port-min", "20000", "--local-port-max", "10000")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.API.apiFlags.config(":8080").Validate(); err == nil || !strings.Contains(err.Error(), "--local-port-min") {
		t.Errorf("reversed range: Validate = %v, want an error naming --local-port-min", err)
	}
}
