package e2e

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// TestStandaloneAuthFileLocksNATS: with --auth-file alone, the embedded NATS
// on loopback takes no client without a user (a local user wrote a
// privileged app straight into the apps bucket before); standalone's own
// services connect as users of their roles, whose credentials it keeps 0600
// in its data directory. --insecure-open-nats leaves NATS open, loudly.
func TestStandaloneAuthFileLocksNATS(t *testing.T) {
	requireDocker(t)
	bin := drover(t)
	dir := t.TempDir()
	tok, err := exec.Command(bin, "new-token").Output()
	if err != nil {
		t.Fatalf("new-token: %v", err)
	}
	token, tokenHash, _ := strings.Cut(strings.TrimSpace(string(tok)), "\n")
	authFile := filepath.Join(dir, "users.json")
	users := fmt.Sprintf(`{"users":[{"name":"ci","role":"operator","tokens":[%q]}]}`, tokenHash)
	if err := os.WriteFile(authFile, []byte(users), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(name string, extra ...string) (natsURL, base, data string, p *process) {
		httpAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
		natsAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
		data = filepath.Join(dir, name)
		p = start(t, name, append([]string{"standalone", "--data-dir", data, "--http-addr", httpAddr, "--nats-addr", natsAddr,
			"--auth-file", authFile, "--hostname", name, "--resources", "cpus=1,mem=256,disk=100,ports=[31320-31330]"}, extra...)...)
		base = "http://" + httpAddr
		eventually(t, 30*time.Second, func() error {
			resp, err := http.Get(base + "/ping")
			if err != nil {
				return err
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("ping %d", resp.StatusCode)
			}
			return nil
		})
		return "nats://" + natsAddr, base, data, p
	}

	natsURL, base, data, _ := run("locked")
	if nc, err := nats.Connect(natsURL, nats.Timeout(3*time.Second)); err == nil {
		nc.Close()
		t.Fatal("the embedded NATS took a client without credentials beside --auth-file")
	} else if !strings.Contains(strings.ToLower(err.Error()), "authorization") {
		t.Errorf("anonymous connect: %v, want an authorization violation", err)
	}
	envFile := filepath.Join(data, "nats-users", "api.env")
	if st, err := os.Stat(envFile); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("%s: %v %v, want mode 0600", envFile, st, err)
	}
	env := readEnvFile(t, envFile)
	nc, err := nats.Connect(natsURL, nats.UserInfo(env["DROVER_NATS_USER"], env["DROVER_NATS_PASSWORD"]),
		nats.CustomInboxPrefix("_INBOX."+env["DROVER_NATS_USER"]), nats.Timeout(3*time.Second))
	if err != nil {
		t.Fatalf("connect with the api's credentials: %v", err)
	}
	nc.Close()
	// The api, scheduler and agent run as their users: a write goes through.
	req, _ := http.NewRequest(http.MethodPost, base+"/v2/apps", strings.NewReader(`{"id":"/locked/app","cmd":"sleep 60","instances":0}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Errorf("POST as operator: %d", resp.StatusCode)
	}

	natsURL, _, _, p := run("open", "--insecure-open-nats")
	nc, err = nats.Connect(natsURL, nats.Timeout(3*time.Second))
	if err != nil {
		t.Fatalf("--insecure-open-nats: anonymous connect refused: %v", err)
	}
	nc.Close()
	logs, _ := os.ReadFile(p.log)
	if !strings.Contains(string(logs), "!!! INSECURE") || !strings.Contains(string(logs), "--insecure-open-nats") {
		t.Errorf("no loud warning with --insecure-open-nats:\n%s", tail(logs, 3000))
	}
}
