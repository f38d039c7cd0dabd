package api

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/drover/drover/internal/testutil"
	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/events/natsbus"
	"github.com/nats-io/nats.go/jetstream"
)

func TestPing(t *testing.T) {
	h := newHarness(t)
	waitLoaded(t, h.srv) // /ping is 503 until then
	for _, path := range []string{"/ping", "/v2/ping"} {
		rec := h.do(http.MethodGet, path, "")
		if rec.Code != http.StatusOK || rec.Body.String() != "pong" {
			t.Errorf("%s: %d %q", path, rec.Code, rec.Body.String())
		}
		if ct := rec.Header().Get("Content-Type"); ct != "text/plain; charset=UTF-8" {
			t.Errorf("%s: content type %q", path, ct)
		}
		if rec := h.do(http.MethodHead, path, ""); rec.Code != http.StatusOK {
			t.Errorf("HEAD %s: %d", path, rec.Code)
		}
	}
}

func TestInfo(t *testing.T) {
	h := newHarness(t)
	info := expect[object](t, h.do(http.MethodGet, "/v2/info", ""), http.StatusOK)
	want := object{
		"name": "drover", "version": MarathonVersion, "drover_version": "1.2.3", "buildref": "unknown",
		"elected": false, "leader": nil, "frameworkId": nil,
		"zookeeper_config": object{"zk": nil},
		"http_config":      object{"http_port": 8080.0, "https_port": nil, "assets_path": nil},
	}
	for k, v := range want {
		if !equalJSON(t, info[k], v) {
			t.Errorf("%s = %v, want %v", k, info[k], v)
		}
	}
	mc := info["marathon_config"].(object)
	if mc["master"] != "nats://127.0.0.1:4222" || mc["hostname"] != "master1" || mc["ha"] != true {
		t.Errorf("marathon_config = %v", mc)
	}
	// Marathon's defaults, and what Drover has no counterpart of as null.
	for k, v := range map[string]any{"local_port_min": 10000.0, "local_port_max": 20000.0, "mesos_leader_ui_url": nil} {
		if got, ok := mc[k]; !ok || got != v {
			t.Errorf("marathon_config.%s = %v (present %t), want %v", k, got, ok, v)
		}
	}
	if got, ok := info["event_subscriber"]; !ok || got != nil {
		t.Errorf("event_subscriber = %v (present %t), want null: callbacks are off", got, ok)
	}

	h.putLeaderRecord(events.LeaderRecord{V: events.Version, SchedulerID: "s1", Hostname: "sched1", APIAddress: "api1:9090", Epoch: 1})
	waitFor(t, func() bool {
		info = expect[object](t, h.do(http.MethodGet, "/v2/info", ""), http.StatusOK)
		return info["elected"] == true
	})
	if info["leader"] != "api1:9090" {
		t.Errorf("leader = %v, want the recorded api address", info["leader"])
	}
}

// TestInfoVersionIsNumeric: clients compare /v2/info's version as
// Marathon's, numerically, whatever Drover's own build is.
func TestInfoVersionIsNumeric(t *testing.T) {
	parts := strings.Split(MarathonVersion, ".")
	if len(parts) != 3 {
		t.Fatalf("version %q is not major.minor.patch", MarathonVersion)
	}
	for _, p := range parts {
		if _, err := strconv.Atoi(p); err != nil {
			t.Errorf("version %q: %q is not a number", MarathonVersion, p)
		}
	}
	js := testutil.RunJetStream(t)
	bus := js.Bus(t)
	cfg := DefaultConfig() // Version "dev", as an unreleased build
	cfg.ID = "test"
	srv, err := New(cfg, bus, testutil.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	info := expect[object](t, serve(t, srv, http.MethodGet, "/v2/info", ""), http.StatusOK)
	if info["version"] != MarathonVersion || info["drover_version"] != "dev" {
		t.Errorf("version %v, drover_version %v", info["version"], info["drover_version"])
	}
}

// TestInfoFollowsTheConfig: the service port range and the event
// subscriber are the api's own, as Marathon 1.4 reported its flags
// (event_subscriber beside marathon_config, as go-marathon's Info reads it).
func TestInfoFollowsTheConfig(t *testing.T) {
	js := testutil.RunJetStream(t)
	cfg := DefaultConfig()
	cfg.ID, cfg.EventSubscriber = "test", EventSubscriberHTTP
	cfg.LocalPortMin, cfg.LocalPortMax = 12000, 12999
	srv, err := New(cfg, js.Bus(t), testutil.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	info := expect[object](t, serve(t, srv, http.MethodGet, "/v2/info", ""), http.StatusOK)
	mc := info["marathon_config"].(object)
	if mc["local_port_min"] != 12000.0 || mc["local_port_max"] != 12999.0 {
		t.Errorf("local ports %v-%v, want 12000-12999", mc["local_port_min"], mc["local_port_max"])
	}
	if !equalJSON(t, info["event_subscriber"], object{"type": "http_callback", "http_endpoints": nil}) {
		t.Errorf("event_subscriber = %v", info["event_subscriber"])
	}
}

func TestLeader(t *testing.T) {
	h := newHarness(t)
	rec := h.do(http.MethodGet, "/v2/leader", "")
	if e := expect[errorBody](t, rec, http.StatusNotFound); e.Message != "There is no leader" {
		t.Errorf("message %q", e.Message)
	}
	if v := rec.Header().Get(HeaderLeader); v != "" {
		t.Errorf("%s = %q without a leader", HeaderLeader, v)
	}

	h.putLeaderRecord(events.LeaderRecord{V: events.Version, SchedulerID: "s1", Hostname: "sched1", APIAddress: "sched1.example.com:8080", Epoch: 1})
	waitFor(t, func() bool { return h.do(http.MethodGet, "/v2/leader", "").Code == http.StatusOK })
	rec = h.do(http.MethodGet, "/v2/leader", "")
	if got := expect[map[string]string](t, rec, http.StatusOK); got["leader"] != "sched1.example.com:8080" {
		t.Errorf("leader = %v, want host:port", got)
	}
	// Every response names the leader, errors and pings included.
	for _, path := range []string{"/v2/leader", "/ping", "/v2/apps", "/v2/unknown", "/v2/apps/nope"} {
		if v := h.do(http.MethodGet, path, "").Header().Get(HeaderLeader); v != "http://sched1.example.com:8080" {
			t.Errorf("%s: %s = %q", path, HeaderLeader, v)
		}
	}

	// A record from a scheduler that does not say where its api is: its
	// host, with this replica's port.
	h.putLeader("sched2")
	waitFor(t, func() bool {
		return expect[map[string]string](t, h.do(http.MethodGet, "/v2/leader", ""), http.StatusOK)["leader"] == "sched2:8080"
	})
	if v := h.do(http.MethodGet, "/ping", "").Header().Get(HeaderLeader); v != "http://sched2:8080" {
		t.Errorf("%s = %q", HeaderLeader, v)
	}

	if err := h.bus.Leader.Delete(context.Background(), events.LeaderKey); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return h.do(http.MethodGet, "/v2/leader", "").Code == http.StatusNotFound })
}

// TestLeaderURLScheme: a replica serving HTTPS names the leader by https.
func TestLeaderURLScheme(t *testing.T) {
	rec := events.LeaderRecord{Hostname: "m1", APIAddress: "m1:8443"}
	for _, tt := range []struct {
		cert, want string
	}{{"", "http://m1:8443"}, {"/etc/drover/cert.pem", "https://m1:8443"}} {
		s := &Server{cfg: Config{TLSCertFile: tt.cert}, port: 8443}
		if got := s.leaderURL(rec); got != tt.want {
			t.Errorf("cert %q: %q, want %q", tt.cert, got, tt.want)
		}
	}
	s := &Server{port: 8443}
	if got := s.leaderURL(events.LeaderRecord{Hostname: "fd00::1"}); got != "http://[fd00::1]:8443" {
		t.Errorf("IPv6 host without api address: %q", got)
	}
}

func TestLeaderExpiresWithoutRenewal(t *testing.T) {
	js := testutil.RunJetStream(t)
	jsc, err := jetstream.New(js.Connect(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg := events.DefaultConfig()
	cfg.LeaderTTL = 500 * time.Millisecond
	bus, err := natsbus.Setup(t.Context(), jsc, cfg)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, js: js, bus: bus, srv: newTestServer(t, bus)}
	h.putLeader("sched1")
	waitFor(t, func() bool { return h.do(http.MethodGet, "/v2/leader", "").Code == http.StatusOK })
	waitFor(t, func() bool { return h.do(http.MethodGet, "/v2/leader", "").Code == http.StatusNotFound })
	if v := h.do(http.MethodGet, "/ping", "").Header().Get(HeaderLeader); v != "" {
		t.Errorf("%s = %q after expiry", HeaderLeader, v)
	}
}
