package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/drover/drover/internal/testutil"
	"github.com/drover/drover/services/agent"
	"github.com/drover/drover/services/agent/command"
	"github.com/drover/drover/services/agent/docker"
)

// knownHosts resolves the names it holds, and counts its lookups.
type knownHosts struct {
	names   map[string][]string
	lookups int
}

func (k *knownHosts) LookupHost(_ context.Context, name string) ([]string, error) {
	k.lookups++
	if a, ok := k.names[name]; ok {
		return a, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

func TestCheckHostname(t *testing.T) {
	r := &knownHosts{names: map[string][]string{"host1.example.com": {"10.0.0.11"}}}
	var buf testutil.SyncBuffer
	logger := slog.New(slog.NewTextHandler(&buf, nil))
	bad := agent.Config{Hostname: "host1"}

	if err := checkHostname(t.Context(), r, agent.Config{Hostname: "host1.example.com"}, "refuse", logger); err != nil {
		t.Errorf("resolvable, refuse: %v", err)
	}
	if err := checkHostname(t.Context(), r, bad, "warn", logger); err != nil {
		t.Errorf("warn must go on: %v", err)
	}
	if log := buf.String(); !strings.Contains(log, "level=WARN") || !strings.Contains(log, "does not resolve") ||
		!strings.Contains(log, "hostname=host1") {
		t.Errorf("warning not logged clearly:\n%s", log)
	}
	err := checkHostname(t.Context(), r, bad, "refuse", logger)
	if !errors.Is(err, agent.ErrUnresolvable) || !strings.Contains(err.Error(), `"host1"`) || !strings.Contains(err.Error(), "--hostname") {
		t.Errorf("refuse: %v", err)
	}
	before := r.lookups
	if err := checkHostname(t.Context(), r, bad, "off", logger); err != nil || r.lookups != before {
		t.Errorf("off: %v, %d lookups", err, r.lookups-before)
	}
}

func TestHostnameCheckFlag(t *testing.T) {
	c, err := parse(t, nil, "agent", "--hostname", "h1")
	if err != nil {
		t.Fatal(err)
	}
	if c.Agent.HostnameCheck != "warn" {
		t.Errorf("default %q, want warn", c.Agent.HostnameCheck)
	}
	if _, err := parse(t, nil, "agent", "--hostname", "h1", "--hostname-check", "maybe"); err == nil {
		t.Error("--hostname-check maybe accepted")
	}
	c, err = parse(t, map[string]string{"DROVER_HOSTNAME_CHECK": "refuse"}, "agent", "--hostname", "h1")
	if err != nil || c.Agent.HostnameCheck != "refuse" {
		t.Errorf("DROVER_HOSTNAME_CHECK: %v %q", err, c.Agent.HostnameCheck)
	}
}

func TestDockerSandboxFlags(t *testing.T) {
	root := func(args []string, cc *command.Config, defaultRoot string) (string, error) {
		t.Helper()
		c, err := parse(t, nil, append([]string{"agent", "--hostname", "h1"}, args...)...)
		if err != nil {
			t.Fatal(err)
		}
		_, dc, err := c.Agent.agentFlags.config()
		if err != nil {
			t.Fatal(err)
		}
		err = c.Agent.withDockerSandboxes(&dc, cc, defaultRoot)
		return dc.SandboxRoot, err
	}
	if got, err := root(nil, nil, docker.DefaultSandboxRoot); err != nil || got != "/var/lib/drover/docker-sandboxes" {
		t.Errorf("default: %q, %v", got, err)
	}
	if got, err := root(nil, nil, "/data/docker-sandboxes"); err != nil || got != "/data/docker-sandboxes" {
		t.Errorf("standalone's default: %q, %v", got, err)
	}
	wd, _ := os.Getwd()
	if got, err := root([]string{"--docker-sandbox-dir", "rel/dir"}, nil, docker.DefaultSandboxRoot); err != nil || got != filepath.Join(wd, "rel/dir") {
		t.Errorf("a relative --docker-sandbox-dir: %q, %v", got, err)
	}
	if got, err := root([]string{"--no-docker-sandboxes", "--docker-sandbox-dir", "/x"}, nil, docker.DefaultSandboxRoot); err != nil || got != "" {
		t.Errorf("--no-docker-sandboxes: %q, %v", got, err)
	}
	cc := &command.Config{SandboxRoot: "/var/lib/drover/sandboxes"}
	for _, dir := range []string{"/var/lib/drover/sandboxes", "/var/lib/drover/sandboxes/docker", "/var/lib/drover"} {
		if _, err := root([]string{"--docker-sandbox-dir", dir}, cc, docker.DefaultSandboxRoot); err == nil || !strings.Contains(err.Error(), "apart") {
			t.Errorf("--docker-sandbox-dir %s beside --sandbox-dir %s: %v", dir, cc.SandboxRoot, err)
		}
	}
	if got, err := root(nil, cc, docker.DefaultSandboxRoot); err != nil || got != docker.DefaultSandboxRoot {
		t.Errorf("the default beside the command runtime's: %q, %v", got, err)
	}

	// The default may fall back to no sandboxes (an agent that is not
	// root cannot make it); a directory named, by flag or environment, may not.
	optional := func(env map[string]string, args ...string) bool {
		t.Helper()
		c, err := parse(t, env, append([]string{"agent", "--hostname", "h1"}, args...)...)
		if err != nil {
			t.Fatal(err)
		}
		_, dc, err := c.Agent.agentFlags.config()
		if err == nil {
			err = c.Agent.withDockerSandboxes(&dc, nil, docker.DefaultSandboxRoot)
		}
		if err != nil {
			t.Fatal(err)
		}
		return dc.SandboxRootOptional
	}
	if !optional(nil) {
		t.Error("the default root is not optional")
	}
	if optional(nil, "--docker-sandbox-dir", "/srv/sandboxes") || optional(map[string]string{"DROVER_DOCKER_SANDBOX_DIR": "/srv/sandboxes"}) {
		t.Error("a root named is optional")
	}
	if optional(nil, "--no-docker-sandboxes") {
		t.Error("--no-docker-sandboxes: optional")
	}
}

// TestFetchAllowLocalFlag: Docker apps' fetches are kept off the host's
// loopback and link-local addresses unless --fetch-allow-local, in the
// agent and in standalone.
func TestFetchAllowLocalFlag(t *testing.T) {
	for _, args := range [][]string{{"agent", "--hostname", "h1"}, {"standalone", "--hostname", "h1", "--data-dir", t.TempDir()}} {
		for _, allow := range []bool{false, true} {
			a := args
			if allow {
				a = append(slices.Clone(args), "--fetch-allow-local")
			}
			c, err := parse(t, nil, a...)
			if err != nil {
				t.Fatal(err)
			}
			f := c.Agent.agentFlags
			if args[0] == "standalone" {
				f = c.Standalone.agentFlags
			}
			_, dc, err := f.config()
			if err != nil || dc.FetchAllowLocal != allow {
				t.Errorf("%v: FetchAllowLocal %v, %v; want %v", a, dc.FetchAllowLocal, err, allow)
			}
		}
	}
}
