package natsauth_test

import (
	"crypto/tls"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drover/drover/internal/natsauth"
	"github.com/nats-io/nats-server/v2/server"
	"golang.org/x/crypto/bcrypt"
)

func TestGenerateWritesAConfigNATSReads(t *testing.T) {
	dir := t.TempDir()
	creds, err := natsauth.Generate(natsauth.GenConfig{Dir: dir, Agents: []string{"host1", "host1", "Host 2"}, BcryptCost: bcrypt.MinCost,
		ServerHosts: []string{"master1", "10.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	var users []string
	for _, c := range creds {
		users = append(users, c.User)
	}
	if got := strings.Join(users, ","); got != "api,scheduler,agent-host1,agent-Host-2" {
		t.Fatalf("users %s", got)
	}
	opts, err := server.ProcessConfigFile(filepath.Join(dir, natsauth.FileConfig))
	if err != nil {
		t.Fatalf("nats-server cannot read the config: %v", err)
	}
	if len(opts.Users) != 4 || opts.TLSConfig == nil || opts.TLSConfig.ClientAuth != tls.RequireAndVerifyClientCert || opts.Cluster.TLSConfig == nil {
		t.Fatalf("options: %d users, tls %v, cluster tls %v", len(opts.Users), opts.TLSConfig, opts.Cluster.TLSConfig != nil)
	}
	for _, u := range opts.Users {
		if !strings.HasPrefix(u.Password, "$2a$") || u.Permissions == nil || u.Permissions.Publish == nil {
			t.Errorf("user %s: password %.4s..., permissions %+v", u.Username, u.Password, u.Permissions)
		}
		for _, s := range u.Permissions.Publish.Allow {
			if strings.Contains(s, `\u`) {
				t.Errorf("user %s: escaped subject %q", u.Username, s)
			}
		}
	}
	for _, f := range []string{natsauth.FileConfig, natsauth.FileCAKey, natsauth.FileServerKey, "roles/api.env", "roles/api-key.pem"} {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s is %v, want 0600", f, st.Mode().Perm())
		}
	}
	env, _ := os.ReadFile(filepath.Join(dir, "roles", "agent-Host-2.env"))
	for _, want := range []string{"DROVER_NATS_USER=agent-Host-2\n", "DROVER_AGENT_ID=Host-2\n", "DROVER_SETUP=false\n", "DROVER_NATS_TLS_CERT=" + dir} {
		if !strings.Contains(string(env), want) {
			t.Errorf("agent env lacks %q:\n%s", want, env)
		}
	}

	// Run again with one more agent: the others keep their credentials.
	again, err := natsauth.Generate(natsauth.GenConfig{Dir: dir, Agents: []string{"host1", "Host 2", "host3"}, BcryptCost: bcrypt.MinCost,
		ServerHosts: []string{"master1", "10.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(again) != 5 || again[0].Password != creds[0].Password || again[2].Password != creds[2].Password || again[4].Password == "" {
		t.Errorf("credentials changed or missing on a second run")
	}
	// Force makes new ones.
	forced, err := natsauth.Generate(natsauth.GenConfig{Dir: dir, Force: true, BcryptCost: bcrypt.MinCost})
	if err != nil {
		t.Fatal(err)
	}
	if forced[0].Password == creds[0].Password {
		t.Error("--force kept the api's password")
	}
}
