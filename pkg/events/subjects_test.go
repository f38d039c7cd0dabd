package events

import (
	"errors"
	"strings"
	"testing"
)

func TestAgentSubjectsRoundTrip(t *testing.T) {
	for _, tt := range []struct {
		build func(string) string
		parse func(string) (string, error)
		want  string
	}{
		{AgentHeartbeat, ParseAgentHeartbeat, "drover.agent.host-1.heartbeat"},
		{AgentCommand, ParseAgentCommand, "drover.agent.host-1.cmd"},
		{AgentStatus, ParseAgentStatus, "drover.agent.host-1.status"},
		{AgentSandbox, ParseAgentSandbox, "drover.agent.host-1.sandbox"},
	} {
		subject := tt.build("host-1")
		if subject != tt.want {
			t.Errorf("subject = %q, want %q", subject, tt.want)
		}
		id, err := tt.parse(subject)
		if err != nil || id != "host-1" {
			t.Errorf("parse(%q) = %q, %v; want host-1", subject, id, err)
		}
	}
}

func TestParseRejectsForeignSubjects(t *testing.T) {
	for _, s := range []string{
		"", "drover.agent..heartbeat", "drover.agent.a.b.heartbeat", "drover.agent.host-1.cmd",
		"drover.agent.*.heartbeat", "drover.agent.>", "other.agent.x.heartbeat", "drover.agent.x.heartbeat.extra",
	} {
		if id, err := ParseAgentHeartbeat(s); !errors.Is(err, ErrBadSubject) {
			t.Errorf("ParseAgentHeartbeat(%q) = %q, %v; want ErrBadSubject", s, id, err)
		}
	}
}

func TestEventSubjects(t *testing.T) {
	if s := Event(EventStatusUpdate); s != "drover.events.status_update_event" {
		t.Errorf("Event = %q", s)
	}
	if typ, err := ParseEvent("drover.events.deployment_success"); err != nil || typ != EventDeploymentSuccess {
		t.Errorf("ParseEvent = %q, %v", typ, err)
	}
	for _, s := range []string{"drover.events.", "drover.events.a.b", "drover.event.x"} {
		if _, err := ParseEvent(s); !errors.Is(err, ErrBadSubject) {
			t.Errorf("ParseEvent(%q) err = %v, want ErrBadSubject", s, err)
		}
	}
}

func TestAgentIDs(t *testing.T) {
	for id, ok := range map[string]bool{"host1": true, "a_b-C9": true, "": false, "a.b": false, "a b": false, "*": false, ">": false} {
		if ValidAgentID(id) != ok {
			t.Errorf("ValidAgentID(%q) = %v, want %v", id, !ok, ok)
		}
	}
	if got := AgentIDFromHostname("node1.example.com"); got != "node1-example-com" || !ValidAgentID(got) {
		t.Errorf("AgentIDFromHostname = %q", got)
	}
}

func TestKeys(t *testing.T) {
	if k := AppKey("/grp/web"); k != "grp/web" || AppIDFromKey(k) != "/grp/web" {
		t.Errorf("AppKey round trip: %q", k)
	}
	if err := ValidKey("grp/web.v1"); err != nil {
		t.Error(err)
	}
	for _, k := range []string{"", ".a", "a.", "a..b", "a b", "a*"} {
		if ValidKey(k) == nil {
			t.Errorf("ValidKey(%q) accepted", k)
		}
	}
	if k := PortClaimKey(10000); k != "p10000" || ValidKey(k) != nil {
		t.Errorf("PortClaimKey(10000) = %q", k)
	}
	if p, err := PortFromClaimKey("p10000"); err != nil || p != 10000 {
		t.Errorf("PortFromClaimKey(p10000) = %d, %v", p, err)
	}
	for _, k := range []string{"", "p", "10000", "p0", "p010000", "p+1", "p70000", "px", "q10000"} {
		if p, err := PortFromClaimKey(k); err == nil {
			t.Errorf("PortFromClaimKey(%q) = %d, want an error", k, p)
		}
	}
}

func TestSandboxReadValidate(t *testing.T) {
	ok := SandboxRead{V: Version, TaskID: "t.1", Path: "stdout", Offset: -1, Length: SandboxTail}
	if err := ok.Validate(); err != nil {
		t.Fatalf("%+v: %v", ok, err)
	}
	for _, p := range []string{"", "/etc/passwd", "..", "../x", "a/../../x", "a//b", "./stdout", "a/", "x\x00y", strings.Repeat("a", SandboxPathMax+1)} {
		r := ok
		r.Path = p
		if err := r.Validate(); err == nil {
			t.Errorf("path %q accepted", p)
		}
	}
	for _, n := range []int64{-1, SandboxMaxRead + 1} {
		r := ok
		r.Length = n
		if err := r.Validate(); err == nil {
			t.Errorf("length %d accepted", n)
		}
	}
	if err := (SandboxRead{V: Version, Path: "stdout"}).Validate(); err == nil {
		t.Error("no task id accepted")
	}
}
