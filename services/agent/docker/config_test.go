package docker

import (
	"strings"
	"testing"
)

func TestConfigValidate(t *testing.T) {
	cfg := DefaultConfig()
	cfg.AgentID = "host1"
	if err := cfg.Validate(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	cfg.SandboxRoot = DefaultSandboxRoot
	if err := cfg.Validate(); err != nil {
		t.Fatalf("valid config with sandboxes: %v", err)
	}
	tests := []struct {
		change func(*Config)
		want   string
	}{
		{func(c *Config) { c.AgentID = "" }, "agent id"},
		{func(c *Config) { c.Hostname = "" }, "hostname"},
		{func(c *Config) { c.AgentID = "a.b" }, "agent id"},
		{func(c *Config) { c.PublishIP = "host1" }, "publish IP"},
		{func(c *Config) { c.PullTimeout = 0 }, "pull timeout"},
		{func(c *Config) { c.Privileged = "yes" }, "privileged"},
		{func(c *Config) { c.RemoveDelay = 0 }, "remove delay"},
		{func(c *Config) { c.EventsBackoffMax = 0 }, "backoff"},
		{func(c *Config) { c.SandboxRoot = "sandboxes" }, "sandbox root"},
		{func(c *Config) { c.Fetch.MaxBytes = 0 }, "fetch limits"},
	}
	for _, tt := range tests {
		c := cfg
		tt.change(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Validate() = %v, want an error about %s", err, tt.want)
		}
	}
}
