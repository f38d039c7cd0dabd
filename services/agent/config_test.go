package agent

import (
	"strings"
	"testing"
	"time"

	"github.com/drover/drover/pkg/events"
)

func TestDefaultConfigIsValid(t *testing.T) {
	cfg := DefaultConfig()
	if cfg.Hostname == "" {
		cfg.Hostname = "host1"
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("default config: %v", err)
	}
	if !cfg.Policy.AllowPrivileged || cfg.HeartbeatInterval != time.Second || cfg.KillGrace != 3*time.Second {
		t.Fatalf("defaults = %+v", cfg)
	}
}

func TestConfigDerivesIDAndAddress(t *testing.T) {
	cfg := Config{Hostname: "host1.example.com"}.withDefaults()
	if cfg.AgentID != "host1-example-com" || cfg.Address != "host1.example.com" {
		t.Fatalf("derived id %q address %q", cfg.AgentID, cfg.Address)
	}
	cfg = Config{Hostname: "h", AgentID: "a1", Address: "10.0.0.1"}.withDefaults()
	if cfg.AgentID != "a1" || cfg.Address != "10.0.0.1" {
		t.Fatalf("kept id %q address %q", cfg.AgentID, cfg.Address)
	}
	if cfg.MaxConcurrentChecks != 32 || cfg.MinCheckInterval != time.Second {
		t.Fatalf("check defaults: %d, %s", cfg.MaxConcurrentChecks, cfg.MinCheckInterval)
	}
}

func TestConfigValidate(t *testing.T) {
	ok := DefaultConfig()
	ok.Hostname = "host1"
	tests := []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"no hostname", func(c *Config) { c.Hostname = "" }, "hostname"},
		{"bad id", func(c *Config) { c.AgentID = "a.b" }, "agent id"},
		{"reserved attribute", func(c *Config) { c.Attributes = map[string]string{"hostname": "x"} }, "attribute"},
		{"negative cpus", func(c *Config) { c.Resources.Cpus = -1 }, "negative"},
		{"bad ports", func(c *Config) { c.Resources.Ports = []events.PortRange{{Begin: 2, End: 1}} }, "port range"},
		{"relative prefix", func(c *Config) { c.Policy.HostPathPrefixes = []string{"srv"} }, "prefix"},
		{"fast heartbeat", func(c *Config) { c.HeartbeatInterval = time.Millisecond }, "heartbeat"},
		{"negative grace", func(c *Config) { c.KillGrace = -time.Second }, "grace"},
		{"no workers", func(c *Config) { c.MaxConcurrentCommands = 0 }, "concurrent"},
		{"short ack wait", func(c *Config) { c.CommandAckWait = time.Millisecond }, "ack wait"},
		{"no deliveries", func(c *Config) { c.CommandMaxDeliver = 0 }, "max deliver"},
		{"no check slots", func(c *Config) { c.MaxConcurrentChecks = -1 }, "concurrent checks"},
		{"fast checks", func(c *Config) { c.MinCheckInterval = time.Millisecond }, "check interval"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ok
			tt.change(&cfg)
			err := cfg.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate() = %v, want an error about %q", err, tt.want)
			}
		})
	}
}
