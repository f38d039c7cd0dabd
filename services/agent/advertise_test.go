package agent

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"
)

// hosts is a resolver that knows the names it holds.
type hosts map[string][]string

func (h hosts) LookupHost(_ context.Context, name string) ([]string, error) {
	if a, ok := h[name]; ok {
		return a, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

func TestCheckAdvertised(t *testing.T) {
	r := hosts{"host1.example.com": {"10.0.0.11"}, "empty.example.com": {}}
	for _, tt := range []struct {
		name     string
		hostname string
		address  string
		want     []string // each in the error; none: no error
	}{
		{"resolvable hostname", "host1.example.com", "", nil},
		{"an IP needs no lookup", "10.0.0.11", "", nil},
		{"IPv6", "fd00::11", "", nil},
		{"hostname resolves, address an IP", "host1.example.com", "10.0.0.11", nil},
		{"unresolvable hostname", "host1", "", []string{`hostname "host1" does not resolve`, "no such host", "task", "--hostname"}},
		{"unresolvable hostname, address an IP", "host1", "10.0.0.11", []string{`hostname "host1" does not resolve`}},
		{"no address for it", "empty.example.com", "", []string{`hostname "empty.example.com" does not resolve`, "no address"}},
		{"unresolvable address", "host1.example.com", "ports.nowhere", []string{`address "ports.nowhere" does not resolve`, "--address"}},
		{"both", "a.nowhere", "b.nowhere", []string{`hostname "a.nowhere"`, `address "b.nowhere"`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckAdvertised(t.Context(), r, Config{Hostname: tt.hostname, Address: tt.address}, time.Second)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("error %v", err)
				}
				return
			}
			if !errors.Is(err, ErrUnresolvable) {
				t.Fatalf("error %v, want ErrUnresolvable", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if tt.name == "unresolvable hostname, address an IP" && strings.Contains(err.Error(), "address \"") {
				t.Errorf("an IP address blamed: %v", err)
			}
		})
	}
}

// TestCheckAdvertisedRealResolver: this machine's resolver answers for
// localhost (from /etc/hosts), and for a name under .invalid, which never
// resolves (RFC 6761), it fails: at once, or at the timeout without a
// network. Either way an error, whatever the machine's load.
func TestCheckAdvertisedRealResolver(t *testing.T) {
	if err := CheckAdvertised(t.Context(), net.DefaultResolver, Config{Hostname: "localhost"}, 5*time.Second); err != nil {
		t.Errorf("localhost: %v", err)
	}
	err := CheckAdvertised(t.Context(), net.DefaultResolver, Config{Hostname: "drover-agent.invalid"}, 2*time.Second)
	if !errors.Is(err, ErrUnresolvable) {
		t.Errorf("drover-agent.invalid: %v", err)
	}
}
