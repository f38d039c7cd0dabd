package api

import (
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("default config: %v", err)
	}
	tests := map[string]func(*Config){
		"no port":          func(c *Config) { c.HTTPAddr = "localhost" },
		"bad port":         func(c *Config) { c.HTTPAddr = ":http-alt" },
		"port range":       func(c *Config) { c.HTTPAddr = ":70000" },
		"body limit":       func(c *Config) { c.BodyLimit = 0 },
		"negative timeout": func(c *Config) { c.ReadTimeout = -time.Second },
		"sync timeout":     func(c *Config) { c.SyncTimeout = 0 },
		"no id":            func(c *Config) { c.ID = "" },
	}
	for name, mutate := range tests {
		cfg := DefaultConfig()
		mutate(&cfg)
		if err := cfg.Validate(); err == nil {
			t.Errorf("%s: Validate accepted it", name)
		}
	}
	cfg := DefaultConfig()
	cfg.HTTPAddr = "127.0.0.1:0"
	if err := cfg.Validate(); err != nil {
		t.Errorf("port 0: %v", err)
	}
}
