package docker

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drover/drover/internal/testutil"
	"github.com/drover/drover/pkg/marathon"
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

// TestSandboxRootOptional: a default sandbox root the agent cannot make (as
// one that is not root cannot make /var/lib/drover/docker-sandboxes; here,
// a path through a file) leaves the runtime without sandboxes, saying so
// at Warn and how to have them, and a launch with URIs to fetch says why
// it fails; the same root named by the operator fails New.
func TestSandboxRootOptional(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.AgentID, cfg.SandboxRoot = "a", filepath.Join(file, "docker-sandboxes")
	if r, err := New(cfg, testutil.Logger(t)); err == nil || !strings.Contains(err.Error(), "sandbox root") {
		if r != nil {
			r.Close()
		}
		t.Fatalf("New with a root named that cannot be made: %v", err)
	}
	var logs testutil.SyncBuffer
	cfg.SandboxRootOptional = true
	r, err := New(cfg, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatalf("New with a default root that cannot be made: %v", err)
	}
	defer r.Close()
	if r.cfg.SandboxRoot != "" {
		t.Errorf("sandbox root %q, want none", r.cfg.SandboxRoot)
	}
	if l := logs.String(); !strings.Contains(l, "level=WARN") || !strings.Contains(l, "Docker tasks get no sandbox") || !strings.Contains(l, "--docker-sandbox-dir") {
		t.Errorf("the log says %q", l)
	}
	spec := marathon.TaskSpec{AppID: "/app", Fetch: []marathon.FetchURI{{URI: "https://example.com/conf.tgz"}}}
	if err := r.prepareSandbox(t.Context(), "t.1", spec); err == nil || !strings.Contains(err.Error(), "its sandbox root "+cfg.SandboxRoot+" could not be used") {
		t.Errorf("a launch with URIs to fetch: %v", err)
	}
}
