package main

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drover/drover/internal/natsauth"
	"github.com/drover/drover/internal/natsutil"
)

// Standalone's own NATS credentials are kept 0600 in a 0700 directory and
// are the same on the next start.
func TestLoadOrMakeUsersKeepsCredentialsPrivateAndStable(t *testing.T) {
	dir := filepath.Join(t.TempDir(), natsUsersDir)
	mk := func() []*role {
		return []*role{{name: "api", role: natsauth.RoleAPI}, {name: "agent", role: natsauth.RoleAgent, agentID: "h1"}}
	}
	first := mk()
	if err := loadOrMakeUsers(dir, first); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(dir)
	if err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("dir mode %v %v, want 0700", st.Mode().Perm(), err)
	}
	for _, r := range first {
		if r.user != "standalone-"+r.name || len(r.password) < 20 {
			t.Errorf("%s: user %q password %q", r.name, r.user, r.password)
		}
		st, err := os.Stat(filepath.Join(dir, r.name+".env"))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s.env mode %v %v, want 0600", r.name, st.Mode().Perm(), err)
		}
	}
	env, err := readEnvFile(filepath.Join(dir, "agent.env"))
	if err != nil || env["DROVER_AGENT_ID"] != "h1" || env["DROVER_NATS_PASSWORD"] != first[1].password {
		t.Errorf("agent.env: %v %v", env, err)
	}
	second := mk()
	if err := loadOrMakeUsers(dir, second); err != nil {
		t.Fatal(err)
	}
	for i := range first {
		if first[i].password != second[i].password {
			t.Errorf("%s: password changed across starts", first[i].name)
		}
	}
}

// drover api|scheduler|agent without NATS credentials, on a NATS that asks
// for none, warn at start.
func TestConnectWithoutCredentialsToOpenNATSWarns(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	ns, err := natsutil.StartServer(natsutil.ServerConfig{Name: "t", Listen: "127.0.0.1:-1", DataDir: t.TempDir()}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	var logs strings.Builder
	nc, err := natsFlags{NATS: ns.ClientURL()}.connect("t", slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	nc.Close()
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "NATS without authentication") {
		t.Errorf("no warning: %s", logs.String())
	}
}
