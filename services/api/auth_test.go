package api

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drover/drover/internal/testutil"
	"github.com/drover/drover/services/api/auth"
	"golang.org/x/crypto/bcrypt"
)

// writeCredentials writes a credentials file: alice (operator, password
// "alice-pw"), victor (viewer, password "victor-pw"), and the tokens
// "op-token" (operator ci) and "view-token" (viewer grafana).
func writeCredentials(t *testing.T, extra ...auth.CredentialUser) string {
	t.Helper()
	hash := func(pw string) string {
		h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		return string(h)
	}
	f := auth.CredentialsFile{
		Users: append([]auth.CredentialUser{
			{Name: "alice", Role: auth.RoleOperator, Password: hash("alice-pw")},
			{Name: "victor", Role: auth.RoleViewer, Password: hash("victor-pw")},
			{Name: "ci", Role: auth.RoleOperator, Tokens: []string{auth.HashToken("op-token")}},
			{Name: "grafana", Role: auth.RoleViewer, Tokens: []string{auth.HashToken("view-token")}},
		}, extra...),
		SessionSecret: strings.Repeat("s", 40),
	}
	data, _ := json.Marshal(f)
	path := filepath.Join(t.TempDir(), "credentials.json")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func newAuthServer(t *testing.T, mutate func(*Config)) (*harness, *Server) {
	t.Helper()
	h := newHarness(t)
	cfg := DefaultConfig()
	cfg.ID = "auth"
	if mutate != nil {
		mutate(&cfg)
	}
	srv, err := New(cfg, h.bus, testutil.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	waitLoaded(t, srv) // the probes answer 503 until then
	return h, srv
}

func basic(user, pw string) string {
	req, _ := http.NewRequest(http.MethodGet, "/", nil)
	req.SetBasicAuth(user, pw)
	return "Authorization: " + req.Header.Get("Authorization")
}

func message(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	var body struct {
		Message string `json:"message"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("body %q: %v", rec.Body.String(), err)
	}
	return body.Message
}

// Marathon's words for the two refusals, as the guard answers them.
const (
	msgNotAuthenticated = "Not Authenticated"
	msgNotAuthorized    = "Not Authorized to perform this action"
)

const smallApp = `{"id":"/a%s","cmd":"sleep 1","cpus":0.1,"mem":16,"instances":0}`

func TestAuthenticationAndRoles(t *testing.T) {
	path := writeCredentials(t)
	_, srv := newAuthServer(t, func(c *Config) { c.AuthFile, c.EventSubscriber = path, EventSubscriberHTTP })
	app := func(n string) string { return strings.Replace(smallApp, "%s", n, 1) }
	// Subscribing is a write: a viewer may list the callback URLs only.
	sub := subscriptionsPath("http://127.0.0.1:1/cb")

	tests := []struct {
		name    string
		method  string
		path    string
		body    string
		headers []string
		status  int
		message string
	}{
		{"no credentials", "GET", "/v2/apps", "", nil, 401, msgNotAuthenticated},
		{"unknown route, no credentials", "GET", "/v2/nothing", "", nil, 401, msgNotAuthenticated},
		{"probes are public", "GET", "/ping", "", nil, 200, ""},
		{"v2 probe is public", "HEAD", "/v2/ping", "", nil, 200, ""},
		{"metrics need a user", "GET", "/metrics", "", nil, 401, msgNotAuthenticated},
		{"viewer reads", "GET", "/v2/apps", "", []string{basic("victor", "victor-pw")}, 200, ""},
		{"viewer reads metrics", "GET", "/metrics", "", []string{"Authorization: Bearer view-token"}, 200, ""},
		{"prometheus needs a user", "GET", "/metrics/prometheus", "", nil, 401, msgNotAuthenticated},
		{"viewer scrapes prometheus", "GET", "/metrics/prometheus", "", []string{"Authorization: Bearer view-token"}, 200, ""},
		{"viewer may not write", "POST", "/v2/apps", app("1"), []string{basic("victor", "victor-pw")}, 403, msgNotAuthorized},
		{"viewer may not kill", "DELETE", "/v2/apps/a1/tasks", "", []string{basic("victor", "victor-pw")}, 403, msgNotAuthorized},
		{"viewer may not abdicate", "DELETE", "/v2/leader", "", []string{"Authorization: Bearer view-token"}, 403, msgNotAuthorized},
		{"viewer may not subscribe", "POST", sub, "", []string{basic("victor", "victor-pw")}, 403, msgNotAuthorized},
		{"viewer token may not subscribe", "POST", sub, "", []string{"Authorization: token=view-token"}, 403, msgNotAuthorized},
		{"viewer may not unsubscribe", "DELETE", sub, "", []string{"Authorization: Bearer view-token"}, 403, msgNotAuthorized},
		{"subscribing needs a user", "POST", sub, "", nil, 401, msgNotAuthenticated},
		{"viewer lists subscriptions", "GET", "/v2/eventSubscriptions", "", []string{basic("victor", "victor-pw")}, 200, ""},
		{"operator subscribes", "POST", sub, "", []string{basic("alice", "alice-pw")}, 200, ""},
		{"operator unsubscribes", "DELETE", sub, "", []string{"Authorization: Bearer op-token"}, 200, ""},
		{"operator writes", "POST", "/v2/apps", app("2"), []string{basic("alice", "alice-pw")}, 201, ""},
		{"token operator writes", "POST", "/v2/apps", app("3"), []string{"Authorization: Bearer op-token"}, 201, ""},
		{"wrong password", "GET", "/v2/apps", "", []string{basic("alice", "nope")}, 401, msgNotAuthenticated},
		{"unknown user", "GET", "/v2/apps", "", []string{basic("mallory", "alice-pw")}, 401, msgNotAuthenticated},
		{"token as password of another", "GET", "/v2/apps", "", []string{basic("ci", "op-token")}, 401, msgNotAuthenticated},
		{"wrong token", "GET", "/v2/apps", "", []string{"Authorization: Bearer nope"}, 401, msgNotAuthenticated},
		{"empty token", "GET", "/v2/apps", "", []string{"Authorization: Bearer "}, 401, msgNotAuthenticated},
		{"unknown scheme", "GET", "/v2/apps", "", []string{"Authorization: Digest x"}, 401, msgNotAuthenticated},
		// DC/OS clients: "Authorization: token=<token>", a bearer token.
		{"dcos token reads", "GET", "/v2/apps", "", []string{"Authorization: token=view-token"}, 200, ""},
		{"dcos token, any case", "GET", "/v2/apps", "", []string{"Authorization: TOKEN=view-token"}, 200, ""},
		{"dcos token operator writes", "POST", "/v2/apps", app("6"), []string{"Authorization: token=op-token"}, 201, ""},
		{"dcos viewer token may not write", "POST", "/v2/apps", app("7"), []string{"Authorization: token=view-token"}, 403, msgNotAuthorized},
		{"dcos wrong token", "GET", "/v2/apps", "", []string{"Authorization: token=nope"}, 401, msgNotAuthenticated},
		{"dcos empty token", "GET", "/v2/apps", "", []string{"Authorization: token="}, 401, msgNotAuthenticated},
		{"dcos token is not a password", "GET", "/v2/apps", "", []string{"Authorization: token=alice-pw"}, 401, msgNotAuthenticated},
		{"garbage cookie", "GET", "/v2/apps", "", []string{"Cookie: drover_session=abc.def"}, 401, msgNotAuthenticated},
		{"cross-origin write, even with credentials", "POST", "/v2/apps", app("4"),
			[]string{basic("alice", "alice-pw"), "Origin: https://evil.example"}, 403, "Forbidden: cross-origin request"},
		{"same-origin write", "POST", "/v2/apps", app("5"), []string{basic("alice", "alice-pw"), "Origin: http://example.com"}, 201, ""},
		{"cross-site fetch without origin", "DELETE", "/v2/apps/a5", "",
			[]string{basic("alice", "alice-pw"), "Sec-Fetch-Site: cross-site"}, 403, "Forbidden: cross-origin request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := serve(t, srv, tt.method, tt.path, tt.body, tt.headers...)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.status, rec.Body.String())
			}
			if tt.message != "" {
				if got := message(t, rec); got != tt.message {
					t.Errorf("message %q, want %q", got, tt.message)
				}
			}
			if tt.status == 401 && !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Basic realm=") {
				t.Errorf("challenge %q", rec.Header().Get("WWW-Authenticate"))
			}
		})
	}

	// A DC/OS token is a token: the caller is its user.
	me := expect[object](t, serve(t, srv, "GET", "/auth/me", "", "Authorization: token=op-token"), 200)
	if me["method"] != "token" || me["role"] != "operator" {
		t.Errorf("token= caller: %v", me)
	}

	// A page's script gets no Basic challenge (no browser prompt over the
	// UI); a browser opening a page goes to the login form.
	rec := serve(t, srv, "GET", "/v2/apps", "", "Sec-Fetch-Mode: cors")
	if rec.Code != 401 || !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Bearer") {
		t.Errorf("script: %d %q", rec.Code, rec.Header().Get("WWW-Authenticate"))
	}
	rec = serve(t, srv, "GET", "/ui/apps?x=1", "", "Sec-Fetch-Mode: navigate", "Accept: text/html")
	if rec.Code != http.StatusFound || rec.Header().Get("Location") != "/auth/login?next="+url.QueryEscape("/ui/apps?x=1") {
		t.Errorf("navigation: %d to %q", rec.Code, rec.Header().Get("Location"))
	}
}

func TestLoginSession(t *testing.T) {
	path := writeCredentials(t)
	_, srv := newAuthServer(t, func(c *Config) { c.AuthFile = path })

	// The form.
	rec := serve(t, srv, "GET", "/auth/login?next=/ui/", "")
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `name="password"`) || rec.Header().Get("Content-Security-Policy") == "" {
		t.Fatalf("login page: %d %s", rec.Code, rec.Body.String())
	}
	form := func(user, pw, next string) *httptest.ResponseRecorder {
		v := url.Values{"username": {user}, "password": {pw}, "next": {next}}
		req := httptest.NewRequest("POST", "/auth/login", strings.NewReader(v.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", "http://example.com")
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, req)
		return rec
	}
	if rec := form("alice", "wrong", "/ui/"); rec.Code != 401 || !strings.Contains(rec.Body.String(), "Wrong user or password") ||
		len(rec.Result().Cookies()) != 0 {
		t.Fatalf("bad login: %d %v", rec.Code, rec.Result().Cookies())
	}
	rec = form("victor", "victor-pw", "//evil.example/x")
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/" {
		t.Fatalf("login redirect: %d to %q (an open redirect?)", rec.Code, rec.Header().Get("Location"))
	}
	cookies := rec.Result().Cookies()
	if len(cookies) != 1 || cookies[0].Name != auth.SessionCookie || !cookies[0].HttpOnly || cookies[0].SameSite != http.SameSiteStrictMode {
		t.Fatalf("cookie %+v", cookies)
	}
	cookie := "Cookie: " + auth.SessionCookie + "=" + cookies[0].Value
	rec = serve(t, srv, "GET", "/auth/me", "", cookie)
	var id auth.Identity
	if err := json.Unmarshal(rec.Body.Bytes(), &id); err != nil || id != (auth.Identity{User: "victor", Role: auth.RoleViewer, Method: "session"}) {
		t.Fatalf("me: %d %s", rec.Code, rec.Body.String())
	}
	if rec := serve(t, srv, "POST", "/v2/apps", strings.Replace(smallApp, "%s", "x", 1), cookie); rec.Code != 403 {
		t.Errorf("viewer session wrote: %d", rec.Code)
	}
	tampered := strings.Replace(cookies[0].Value, cookies[0].Value[:4], "AAAA", 1)
	if rec := serve(t, srv, "GET", "/v2/apps", "", "Cookie: "+auth.SessionCookie+"="+tampered); rec.Code != 401 {
		t.Errorf("tampered cookie: %d", rec.Code)
	}

	// JSON login, as a script would.
	rec = serve(t, srv, "POST", "/auth/login", `{"username":"alice","password":"alice-pw"}`)
	if rec.Code != 200 || len(rec.Result().Cookies()) != 1 {
		t.Fatalf("JSON login: %d %s", rec.Code, rec.Body.String())
	}
	alice := "Cookie: " + auth.SessionCookie + "=" + rec.Result().Cookies()[0].Value
	if rec := serve(t, srv, "POST", "/v2/apps", strings.Replace(smallApp, "%s", "y", 1), alice, "Origin: http://example.com"); rec.Code != 201 {
		t.Fatalf("operator session: %d %s", rec.Code, rec.Body.String())
	}
	if rec := serve(t, srv, "POST", "/auth/login", `{"username":"alice","password":"x"}`); rec.Code != 401 {
		t.Errorf("JSON login with a wrong password: %d", rec.Code)
	}

	// A changed role or password ends the user's sessions.
	data, _ := os.ReadFile(path)
	var f auth.CredentialsFile
	_ = json.Unmarshal(data, &f)
	f.Users[1].Role = auth.RoleOperator
	data, _ = json.Marshal(f)
	if err := os.WriteFile(path, append(data, '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	srv.guard.Reload()
	if rec := serve(t, srv, "GET", "/v2/apps", "", cookie); rec.Code != 401 {
		t.Errorf("session of a changed user: %d", rec.Code)
	}
	if rec := serve(t, srv, "GET", "/v2/apps", "", alice); rec.Code != 200 {
		t.Errorf("session of an unchanged user: %d", rec.Code)
	}
	// Logout clears the cookie.
	rec = serve(t, srv, "POST", "/auth/logout", "", alice)
	if rec.Code != http.StatusNoContent || len(rec.Result().Cookies()) != 1 || rec.Result().Cookies()[0].MaxAge >= 0 {
		t.Errorf("logout: %d %+v", rec.Code, rec.Result().Cookies())
	}
}

func TestAuthOff(t *testing.T) {
	// Off, listening on every interface (the operator said
	// --insecure-no-auth): anyone is an operator; cross-origin writes are
	// still refused.
	_, srv := newAuthServer(t, nil)
	if rec := serve(t, srv, "GET", "/auth/me", ""); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"method":"none"`) {
		t.Errorf("me: %d %s", rec.Code, rec.Body.String())
	}
	if rec := serve(t, srv, "POST", "/v2/apps", strings.Replace(smallApp, "%s", "1", 1), "Origin: http://evil.example"); rec.Code != 403 {
		t.Errorf("cross-origin write without auth: %d", rec.Code)
	}
	if rec := serve(t, srv, "GET", "/auth/login?next=/ui/", ""); rec.Code != http.StatusFound || rec.Header().Get("Location") != "/ui/" {
		t.Errorf("login page without auth: %d %q", rec.Code, rec.Header().Get("Location"))
	}

	// Off on loopback (standalone): only loopback host names, so that a
	// web page cannot rebind its name to 127.0.0.1 and drive the API.
	_, local := newAuthServer(t, func(c *Config) { c.HTTPAddr = "127.0.0.1:8080" })
	for host, want := range map[string]int{"127.0.0.1:8080": 200, "localhost:8080": 200, "[::1]:8080": 200, "evil.example:8080": 403, "evil.example": 403} {
		req := httptest.NewRequest("GET", "/v2/apps", nil)
		req.Host = host
		rec := httptest.NewRecorder()
		local.Handler().ServeHTTP(rec, req)
		if rec.Code != want {
			t.Errorf("Host %s: %d, want %d", host, rec.Code, want)
		}
	}
}

func TestConfigChecksTheCredentialsFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.json")
	_ = os.WriteFile(path, []byte(`{"users":[]}`), 0o600)
	cfg := DefaultConfig()
	cfg.AuthFile = path
	if err := cfg.Validate(); err == nil {
		t.Error("Validate accepted a bad credentials file")
	}
}

// What a change's audit line and every other log line say: never the
// app's environment (secrets live there), nor a password or token.
func TestSecretsAreNeverLogged(t *testing.T) {
	path := writeCredentials(t)
	h := newHarness(t)
	var buf testutil.SyncBuffer
	cfg := DefaultConfig()
	cfg.AuthFile = path
	srv, err := New(cfg, h.bus, slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	app := `{"id":"/secret","cmd":"sleep 1","cpus":0.1,"mem":16,"instances":0,"env":{"DB_PASSWORD":"s3cr3t-env"}}`
	if rec := serve(t, srv, "POST", "/v2/apps", app, basic("alice", "alice-pw")); rec.Code != 201 {
		t.Fatalf("POST %d %s", rec.Code, rec.Body.String())
	}
	serve(t, srv, "PUT", "/v2/apps/secret", `{"env":{"DB_PASSWORD":"s3cr3t-env-2"},"cpus":"x"}`, basic("alice", "alice-pw"))
	serve(t, srv, "POST", "/v2/apps", app, "Authorization: Bearer op-token")
	serve(t, srv, "GET", "/v2/apps", "", basic("alice", "wrong-pw-logged?"))
	serve(t, srv, "POST", "/auth/login", `{"username":"alice","password":"login-pw-logged?"}`)
	logs := buf.String()
	if !strings.Contains(logs, "msg=change") || !strings.Contains(logs, "user=alice") {
		t.Fatalf("no audit line:\n%s", logs)
	}
	for _, secret := range []string{"s3cr3t", "alice-pw", "op-token", "wrong-pw", "login-pw"} {
		if strings.Contains(logs, secret) {
			t.Errorf("%q logged:\n%s", secret, logs)
		}
	}
}
