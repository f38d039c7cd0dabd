package auth

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drover/drover/internal/testutil"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/bcrypt"
)

// writeCredentials writes a credentials file: alice (operator, password
// "alice-pw"), victor (viewer, password "victor-pw"), and the tokens
// "op-token" (operator ci) and "view-token" (viewer grafana).
func writeCredentials(t *testing.T) string {
	t.Helper()
	hash := func(pw string) string {
		h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		return string(h)
	}
	f := CredentialsFile{
		Users: []CredentialUser{
			{Name: "alice", Role: RoleOperator, Password: hash("alice-pw")},
			{Name: "victor", Role: RoleViewer, Password: hash("victor-pw")},
			{Name: "ci", Role: RoleOperator, Tokens: []string{HashToken("op-token")}},
			{Name: "grafana", Role: RoleViewer, Tokens: []string{HashToken("view-token")}},
		},
		SessionSecret: strings.Repeat("s", 40),
	}
	data, _ := json.Marshal(f)
	path := filepath.Join(t.TempDir(), "credentials.json")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// guarded is a Guard in front of a few routes that answer 200.
type guarded struct {
	e    *echo.Echo
	auth *authenticator
}

func newGuarded(credentials string, logger *slog.Logger) *guarded {
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	g := New(Options{
		CredentialsFile: credentials, ListenAddr: ":8080", Logger: logger,
		Register: prometheus.NewRegistry().MustRegister,
		ReadJSON: func(c echo.Context, limit int64, v any) error {
			data, err := io.ReadAll(io.LimitReader(c.Request().Body, limit))
			if err != nil {
				return err
			}
			return json.Unmarshal(data, v)
		},
		WriteJSON: func(c echo.Context, status int, v any) error { return c.JSON(status, v) },
	})
	e := echo.New()
	g.Register(e)
	ok := func(c echo.Context) error { return c.String(http.StatusOK, "ok") }
	for _, path := range []string{"/v2/ping", "/v2/info", "/v2/apps"} {
		e.GET(path, ok)
	}
	return &guarded{e: e, auth: g.auth}
}

func serve(t *testing.T, srv *guarded, method, path, body string, headers ...string) *httptest.ResponseRecorder {
	t.Helper()
	return testutil.Serve(t, srv.e, method, path, body, headers...)
}

func basic(user, pw string) string {
	req, _ := http.NewRequest(http.MethodGet, "/", nil)
	req.SetBasicAuth(user, pw)
	return "Authorization: " + req.Header.Get("Authorization")
}

func TestCredentialsFileIsChecked(t *testing.T) {
	hash, _ := bcrypt.GenerateFromPassword([]byte("x"), bcrypt.MinCost)
	for name, body := range map[string]string{
		"not JSON":          `{`,
		"unknown field":     `{"users":[{"name":"a","role":"operator","password":"` + string(hash) + `"}],"admins":[]}`,
		"no users":          `{"users":[]}`,
		"plain password":    `{"users":[{"name":"a","role":"operator","password":"hunter2"}]}`,
		"bad role":          `{"users":[{"name":"a","role":"root","password":"` + string(hash) + `"}]}`,
		"twice":             `{"users":[{"name":"a","role":"viewer","tokens":["` + HashToken("1") + `"]},{"name":"a","role":"viewer","tokens":["` + HashToken("2") + `"]}]}`,
		"plain token":       `{"users":[{"name":"a","role":"viewer","tokens":["my-token"]}]}`,
		"shared token":      `{"users":[{"name":"a","role":"viewer","tokens":["` + HashToken("1") + `"]},{"name":"b","role":"operator","tokens":["` + HashToken("1") + `"]}]}`,
		"no secret at all":  `{"users":[{"name":"a","role":"viewer"}]}`,
		"colon in name":     `{"users":[{"name":"a:b","role":"viewer","tokens":["` + HashToken("1") + `"]}]}`,
		"short secret":      `{"users":[{"name":"a","role":"viewer","tokens":["` + HashToken("1") + `"]}],"sessionSecret":"short"}`,
		"bad session ttl":   `{"users":[{"name":"a","role":"viewer","tokens":["` + HashToken("1") + `"]}],"sessionTTL":"1s"}`,
		"trailing garbage?": `{"users":[{"name":"a","role":"viewer","tokens":["` + HashToken("1") + `"]}],"sessionTTL":"forever"}`,
	} {
		if _, err := parseCredentials([]byte(body)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// Concurrent requests with the same basic credentials cost one bcrypt
// computation, not one each.
func TestPasswordChecksAreShared(t *testing.T) {
	path := writeCredentials(t)
	srv := newGuarded(path, nil)
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if rec := serve(t, srv, "GET", "/v2/ping", "", basic("alice", "alice-pw")); rec.Code != 200 {
				t.Errorf("ping %d", rec.Code)
			}
			if rec := serve(t, srv, "GET", "/v2/info", "", basic("alice", "alice-pw")); rec.Code != 200 {
				t.Errorf("info %d", rec.Code)
			}
		}()
	}
	wg.Wait()
	srv.auth.mu.Lock()
	defer srv.auth.mu.Unlock()
	if n := srv.auth.bcrypts.Load(); n != 1 || len(srv.auth.verified) != 1 || len(srv.auth.inflight) != 0 {
		t.Errorf("%d bcrypt computations, %d verified, %d in flight; want 1, 1, 0", n, len(srv.auth.verified), len(srv.auth.inflight))
	}
}

// Password guessing is braked per user and per source: after 10 wrong
// passwords for alice, even her right password (not verified lately) is
// 429 with Retry-After and not checked; tokens, sessions and a password
// verified lately are not slowed; the brake is logged.
func TestPasswordGuessingIsBraked(t *testing.T) {
	path := writeCredentials(t)
	var buf testutil.SyncBuffer
	srv := newGuarded(path, slog.New(slog.NewTextHandler(&buf, nil)))
	// The brake's clock stands still: on a loaded machine the test may take
	// longer than a bucket takes to earn a token back.
	t0 := time.Now()
	srv.auth.brake.now = func() time.Time { return t0 }
	// victor's password succeeds once: remembered.
	if rec := serve(t, srv, "GET", "/v2/apps", "", basic("victor", "victor-pw")); rec.Code != 200 {
		t.Fatalf("victor: %d", rec.Code)
	}
	// A session of alice's, made before the guessing.
	login := serve(t, srv, "POST", "/auth/login", `{"username":"alice","password":"alice-pw"}`)
	if login.Code != 200 {
		t.Fatalf("login %d", login.Code)
	}
	cookie := "Cookie: " + strings.Split(login.Header().Get("Set-Cookie"), ";")[0]
	srv.auth.mu.Lock()
	clear(srv.auth.verified) // alice's password: not verified lately
	srv.auth.mu.Unlock()

	for i := range 10 {
		if rec := serve(t, srv, "GET", "/v2/apps", "", basic("alice", fmt.Sprintf("guess-%d", i))); rec.Code != 401 {
			t.Fatalf("guess %d: %d", i, rec.Code)
		}
	}
	before := srv.auth.bcrypts.Load()
	rec := serve(t, srv, "GET", "/v2/apps", "", basic("alice", "alice-pw"))
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") == "" {
		t.Errorf("11th try: %d, Retry-After %q", rec.Code, rec.Header().Get("Retry-After"))
	}
	if rec := serve(t, srv, "POST", "/auth/login", `{"username":"alice","password":"alice-pw"}`); rec.Code != http.StatusTooManyRequests {
		t.Errorf("login while braked: %d", rec.Code)
	}
	if n := srv.auth.bcrypts.Load(); n != before {
		t.Errorf("%d bcrypt computations while braked", n-before)
	}
	for name, hdr := range map[string]string{"token": "Authorization: Bearer op-token", "session": cookie,
		"password verified lately": basic("victor", "victor-pw")} {
		if rec := serve(t, srv, "GET", "/v2/apps", "", hdr); rec.Code != 200 {
			t.Errorf("%s while alice is braked: %d", name, rec.Code)
		}
	}
	if !strings.Contains(buf.String(), "password guessing") {
		t.Errorf("the brake is not logged:\n%s", buf.String())
	}
	// Another user from the same source: braked once the source has
	// failed 20 times.
	for i := range 10 {
		serve(t, srv, "GET", "/v2/apps", "", basic(fmt.Sprintf("nobody%d", i), "x"))
	}
	if rec := serve(t, srv, "GET", "/v2/apps", "", basic("nobody-else", "x")); rec.Code != http.StatusTooManyRequests {
		t.Errorf("source after 20 failures: %d", rec.Code)
	}
}
