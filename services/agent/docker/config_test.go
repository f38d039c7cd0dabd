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
	}
	for _, tt := range tests {
		c := cfg
		tt.change(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Validate() = %v, want an error about %s", err, tt.want)
		}
	}
}
