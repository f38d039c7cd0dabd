package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/drover/drover/internal/natsauth"
)

// natsUsersDir is where standalone keeps the NATS credentials of its own
// roles (under --data-dir) when it makes them itself: with --auth-file and
// no --nats-config.
const natsUsersDir = "nats-users"

// loadOrMakeUsers gives each role a NATS user and password, kept in
// dir/<role>.env (the directory 0700, the files 0600, as gen-config's role
// files): the same on every start, so that a process outside (`drover
// api --no-setup`, a script, the nats CLI) can use them as root does.
func loadOrMakeUsers(dir string, roles []*role) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("nats users: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("nats users: %w", err)
	}
	for _, r := range roles {
		r.user = "standalone-" + r.name
		file := filepath.Join(dir, r.name+".env")
		env, err := readEnvFile(file)
		if err == nil && env["DROVER_NATS_USER"] == r.user && env["DROVER_NATS_PASSWORD"] != "" {
			r.password = env["DROVER_NATS_PASSWORD"]
			if err := os.Chmod(file, 0o600); err != nil {
				return fmt.Errorf("nats users: %w", err)
			}
			continue
		}
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("nats users: %w", err)
		}
		r.password = randomPassword()
		var b bytes.Buffer
		fmt.Fprintf(&b, "# NATS credentials of drover standalone's %s (NATS user %q), made by drover standalone.\n", r.role, r.user)
		fmt.Fprintf(&b, "# Secret: keep it 0600. Load it with `set -a; . %s; set +a`.\n", filepath.Base(file))
		fmt.Fprintf(&b, "DROVER_NATS_USER=%s\nDROVER_NATS_PASSWORD=%s\n", r.user, r.password)
		switch r.role {
		case natsauth.RoleAgent:
			fmt.Fprintf(&b, "DROVER_AGENT_ID=%s\nDROVER_SETUP=false\n", r.agentID)
		case natsauth.RoleAPI:
			b.WriteString("DROVER_SETUP=false\n")
		}
		if err := os.WriteFile(file, b.Bytes(), 0o600); err != nil {
			return fmt.Errorf("nats users: %w", err)
		}
	}
	return nil
}

// readEnvFile reads KEY=VALUE lines.
func readEnvFile(file string) (map[string]string, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			out[k] = v
		}
	}
	return out, sc.Err()
}

// warnOpenNATS says loudly that NATS takes anyone while the API asks for
// credentials (--insecure-open-nats).
func warnOpenNATS(logger *slog.Logger, addr string) {
	for range 3 {
		logger.Warn("!!! INSECURE: the API authenticates its users, but NATS on " + addr + " takes anyone (--insecure-open-nats): " +
			"any local user can write apps straight into the bus and run privileged containers. See docs/SECURITY.md.")
	}
}
