package scheduler

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/drover/drover/internal/testutil"
)

func TestConfigAPIAddress(t *testing.T) {
	for _, tt := range []struct {
		addr string
		want string // "" when valid
	}{
		{"", ""}, // the default: Hostname:8080
		{"master1:8080", ""},
		{"10.0.0.5:80", ""},
		{"[fd00::1]:8443", ""},
		{"master1", "is not host:port"},
		{":8080", "has no host"},
		{"master1:0", "bad port"},
		{"master1:http", "bad port"},
		{"master1:70000", "bad port"},
	} {
		cfg := DefaultConfig()
		cfg.APIAddress = tt.addr
		err := cfg.Validate()
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%q: %v", tt.addr, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "api address")):
			t.Errorf("%q: error %v, want one saying %q", tt.addr, err, tt.want)
		}
	}
	cfg := DefaultConfig()
	cfg.Hostname = "master2"
	if got := cfg.apiAddress(); got != "master2:8080" {
		t.Errorf("default api address %q, want master2:8080", got)
	}
}

// TestLeaderRecordsAPIAddress: the lock names where clients reach the API
// beside the leader; /v2/leader reports it.
func TestLeaderRecordsAPIAddress(t *testing.T) {
	for _, tt := range []struct{ given, want string }{{"", "a:8080"}, {"api.example.com:9090", "api.example.com:9090"}} {
		js := testutil.RunJetStream(t)
		s := startSchedulerWith(t, js, "a", func(c *Config) { c.APIAddress = tt.given })
		testutil.Eventually(t, 5*time.Second, 20*time.Millisecond, func() error {
			if s.Epoch() == 0 {
				return errors.New("not leading")
			}
			return nil
		})
		if rec := readLeader(t, js); rec.APIAddress != tt.want || rec.Hostname != "a" {
			t.Errorf("given %q: record %+v, want apiAddress %q", tt.given, rec, tt.want)
		}
	}
}

// TestLeaderRecordsColocatedNATS: the lock names the NATS server on the
// leader's master, so the NATS nodes keep the meta leader off it
// (internal/metaplace); a scheduler given none names none.
func TestLeaderRecordsColocatedNATS(t *testing.T) {
	for _, want := range []string{"n2", ""} {
		js := testutil.RunJetStream(t)
		s := startSchedulerWith(t, js, "a", func(c *Config) { c.ColocatedNATS = want })
		testutil.Eventually(t, 5*time.Second, 20*time.Millisecond, func() error {
			if s.Epoch() == 0 {
				return errors.New("not leading")
			}
			return nil
		})
		if rec := readLeader(t, js); rec.NATSServer != want {
			t.Errorf("colocated %q: record %+v", want, rec)
		}
	}
}
