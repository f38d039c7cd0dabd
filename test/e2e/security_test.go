package e2e

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestExposedWithoutAuthRefusesToStart: beyond loopback and without
// authentication, the API, NATS and pprof do not start (unless told
// --insecure-no-auth), whichever command serves them.
func TestExposedWithoutAuthRefusesToStart(t *testing.T) {
	bin := drover(t)
	dir := t.TempDir()
	authFile := filepath.Join(dir, "users.json")
	if err := os.WriteFile(authFile, []byte(`{"users":[]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"api", "--nats", "nats://127.0.0.1:1", "--http-addr", fmt.Sprintf("0.0.0.0:%d", freePort(t))},
		{"nats", "--listen", fmt.Sprintf("0.0.0.0:%d", freePort(t)), "--data-dir", filepath.Join(dir, "n")},
		{"standalone", "--http-addr", fmt.Sprintf(":%d", freePort(t)), "--data-dir", filepath.Join(dir, "s")},
		{"standalone", "--nats-addr", fmt.Sprintf("0.0.0.0:%d", freePort(t)), "--http-addr", fmt.Sprintf("127.0.0.1:%d", freePort(t)),
			"--data-dir", filepath.Join(dir, "s2")},
		// pprof has no authentication: beyond loopback it is refused,
		// even beside --auth-file.
		{"--pprof", fmt.Sprintf("0.0.0.0:%d", freePort(t)), "nats", "--listen", fmt.Sprintf("127.0.0.1:%d", freePort(t)),
			"--data-dir", filepath.Join(dir, "n2")},
		{"--pprof", fmt.Sprintf(":%d", freePort(t)), "api", "--auth-file", authFile, "--nats", "nats://127.0.0.1:1",
			"--http-addr", fmt.Sprintf("127.0.0.1:%d", freePort(t))},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
		cancel()
		if err == nil || !strings.Contains(string(out), "refusing to serve") || !strings.Contains(string(out), "--insecure-no-auth") {
			t.Errorf("drover %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// TestSecuredStandalone runs standalone as one would expose it: API users
// from a credentials file over TLS, and its NATS with the configuration of
// drover nats gen-config, which another host's agent joins with its own
// credentials (and nothing more) to take a task.
func TestSecuredStandalone(t *testing.T) {
	requireDocker(t)
	bin := drover(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "nats")
	if out, err := exec.Command(bin, "nats", "gen-config", "--out", conf, "--agents", "host2").CombinedOutput(); err != nil {
		t.Fatalf("gen-config: %v\n%s", err, out)
	}
	hashCmd := exec.Command(bin, "hash-password")
	hashCmd.Stdin = strings.NewReader("correct horse battery\n")
	hash, err := hashCmd.Output()
	if err != nil {
		t.Fatalf("hash-password: %v", err)
	}
	tok, err := exec.Command(bin, "new-token").Output()
	if err != nil {
		t.Fatalf("new-token: %v", err)
	}
	token, tokenHash, _ := strings.Cut(strings.TrimSpace(string(tok)), "\n")
	users := fmt.Sprintf(`{"users":[{"name":"alice","role":"operator","password":%q},{"name":"ci","role":"viewer","tokens":[%q]}],
		"sessionSecret":"0123456789abcdef0123456789abcdef"}`, strings.TrimSpace(string(hash)), tokenHash)
	authFile := filepath.Join(dir, "users.json")
	if err := os.WriteFile(authFile, []byte(users), 0o600); err != nil {
		t.Fatal(err)
	}

	httpAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	natsAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	host := "secured-" + fmt.Sprint(time.Now().UnixNano()%1e6)
	start(t, "standalone", "standalone", "--data-dir", filepath.Join(dir, "data"), "--http-addr", httpAddr,
		"--nats-addr", natsAddr, "--nats-config", filepath.Join(conf, "nats.conf"), "--hostname", host,
		"--auth-file", authFile, "--tls-cert", filepath.Join(conf, "server.pem"), "--tls-key", filepath.Join(conf, "server-key.pem"),
		"--resources", "cpus=1,mem=256,disk=100,ports=[31300-31310]")
	// host2, another machine's agent, with its credentials as flags.
	env := readEnvFile(t, filepath.Join(conf, "roles", "agent-host2.env"))
	start(t, "agent-host2", "agent", "--nats", "tls://"+natsAddr, "--hostname", "host2", "--runtime", "sim",
		"--nats-user", env["DROVER_NATS_USER"], "--nats-password", env["DROVER_NATS_PASSWORD"],
		"--nats-tls-ca", env["DROVER_NATS_TLS_CA"], "--nats-tls-cert", env["DROVER_NATS_TLS_CERT"], "--nats-tls-key", env["DROVER_NATS_TLS_KEY"],
		"--agent-id", env["DROVER_AGENT_ID"], "--no-setup")

	ca, err := os.ReadFile(filepath.Join(conf, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	base := "https://" + httpAddr
	do := func(method, path, body string, auth func(*http.Request)) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if auth != nil {
			auth(req)
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	alice := func(r *http.Request) { r.SetBasicAuth("alice", "correct horse battery") }
	ci := func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token) }
	eventually(t, 30*time.Second, func() error {
		if code, body := do(http.MethodGet, "/v2/ping", "", nil); code != http.StatusOK {
			return fmt.Errorf("ping: %d %s", code, body)
		}
		return nil
	})
	if code, _ := do(http.MethodGet, "/v2/apps", "", nil); code != http.StatusUnauthorized {
		t.Errorf("no credentials: %d", code)
	}
	app := `{"id":"/secured/web","cmd":"sleep 3600","cpus":0.1,"mem":16,"instances":1,"constraints":[["hostname","LIKE","host2"]],
		"container":{"type":"DOCKER","docker":{"image":"httpd"}}}`
	if code, body := do(http.MethodPost, "/v2/apps", app, ci); code != http.StatusForbidden {
		t.Errorf("viewer token wrote: %d %s", code, body)
	}
	if code, body := do(http.MethodPost, "/v2/apps", app, alice); code != http.StatusCreated {
		t.Fatalf("operator POST: %d %s", code, body)
	}
	eventually(t, 30*time.Second, func() error {
		code, body := do(http.MethodGet, "/v2/apps/secured/web/tasks", "", ci)
		var out struct {
			Tasks []struct {
				Host  string `json:"host"`
				State string `json:"state"`
			} `json:"tasks"`
		}
		if code != http.StatusOK || json.Unmarshal([]byte(body), &out) != nil {
			return fmt.Errorf("tasks: %d %s", code, body)
		}
		if len(out.Tasks) != 1 || out.Tasks[0].Host != "host2" || out.Tasks[0].State != "TASK_RUNNING" {
			return fmt.Errorf("tasks %+v, want one running on host2", out.Tasks)
		}
		return nil
	})
}

func readEnvFile(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok && !strings.HasPrefix(k, "#") {
			out[k] = v
		}
	}
	return out
}
