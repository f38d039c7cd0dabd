package metaplace

import (
	"fmt"
	"testing"
	"time"

	"github.com/drover/drover/pkg/events"
)

func TestDecide(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	fit := func(name string) Peer { return Peer{Name: name, Current: true, Active: 100 * time.Millisecond} }
	base := func() State {
		return State{Self: "n1", Leader: true, Size: 3, Peers: []Peer{fit("n3"), fit("n2")}, Avoid: "n1", Now: now}
	}
	tests := []struct {
		name   string
		change func(*State)
		to     string
		reason string
	}{
		{"leader beside the leading scheduler moves to the first fit peer", func(*State) {}, "n2", ReasonMoveToPeer},
		{"not the meta leader", func(s *State) { s.Leader = false }, "", ReasonNotLeader},
		{"no leader record", func(s *State) { s.Avoid = "" }, "", ReasonNoAvoid},
		{"the leading scheduler is elsewhere", func(s *State) { s.Avoid = "n2" }, "", ReasonElsewhere},
		{"two members", func(s *State) { s.Size, s.Peers = 2, s.Peers[:1] }, "", ReasonSmall},
		{"three members said but one peer known", func(s *State) { s.Peers = s.Peers[:1] }, "", ReasonSmall},
		{"size unknown", func(s *State) { s.Size = 0 }, "", ReasonSmall},
		{"paced", func(s *State) { s.LastTry = now.Add(-time.Second) }, "", ReasonPaced},
		{"a try long enough ago", func(s *State) { s.LastTry = now.Add(-DefaultPolicy.MinInterval) }, "n2", ReasonMoveToPeer},
		{"n2 not current", func(s *State) { s.Peers[1].Current = false }, "n3", ReasonMoveToPeer},
		{"n2 offline", func(s *State) { s.Peers[1].Offline = true }, "n3", ReasonMoveToPeer},
		{"n2 pending", func(s *State) { s.Peers[1].Pending = true }, "n3", ReasonMoveToPeer},
		{"n2 lagging", func(s *State) { s.Peers[1].Lag = 3 }, "n3", ReasonMoveToPeer},
		{"n2 silent", func(s *State) { s.Peers[1].Active = 3 * time.Second }, "n3", ReasonMoveToPeer},
		{"no peer fit", func(s *State) { s.Peers[0].Current, s.Peers[1].Offline = false, true }, "", ReasonNoPeer},
		{"never onto itself or a nameless peer", func(s *State) { s.Peers = []Peer{fit("n1"), fit("")} }, "", ReasonNoPeer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := base()
			tt.change(&st)
			d := Decide(st, DefaultPolicy)
			if d.To != tt.to || d.Reason != tt.reason || d.Move() != (tt.to != "") {
				t.Fatalf("Decide = %+v, want to %q (%s)", d, tt.to, tt.reason)
			}
		})
	}
}

func TestLeaderFollow(t *testing.T) {
	rec := func(epoch int, server string) string {
		return fmt.Sprintf(`{"v":1,"schedulerId":"s","hostname":"m","natsServer":%q,"epoch":%d}`, server, epoch)
	}
	del := map[string][]string{"KV-Operation": {"DEL"}}
	purge := map[string][]string{"KV-Operation": {"PURGE"}}
	type msg struct {
		subject, reply string
		hdr            map[string][]string
		data           string
	}
	write := func(data string) msg { return msg{subject: events.LeaderKeySubject, data: data} }
	tests := []struct {
		name    string
		msgs    []msg
		want    string
		wantErr bool // the last message is refused
	}{
		{"the leader's record", []msg{write(rec(7, "n1"))}, "n1", false},
		{"a standby's attempt to take the lock does not count", []msg{write(rec(7, "n1")), write(rec(0, "n2"))}, "n1", false},
		{"an ended term's renewal does not count", []msg{write(rec(9, "n3")), write(rec(7, "n1"))}, "n3", false},
		{"a new term counts", []msg{write(rec(7, "n1")), write(rec(9, "n3"))}, "n3", false},
		{"a record from before natsServer", []msg{write(rec(7, "n1")), write(`{"v":1,"epoch":8}`)}, "", false},
		{"a deletion", []msg{write(rec(7, "n1")), {subject: events.LeaderKeySubject, hdr: del}}, "", false},
		{"a purge", []msg{write(rec(7, "n1")), {subject: events.LeaderKeySubject, hdr: purge}}, "", false},
		{"after a deletion, an ended term's renewal does not count", []msg{write(rec(7, "n1")), {subject: events.LeaderKeySubject, hdr: del}, write(rec(6, "n2"))}, "", false},
		{"not JSON", []msg{write(rec(7, "n1")), write(`{"v":1,"natsServer":`)}, "n1", true},
		{"a wrong type", []msg{write(`{"v":1,"natsServer":7,"epoch":8}`)}, "", true},
		{"another version", []msg{write(`{"v":2,"natsServer":"n1","epoch":8}`)}, "", true},
		{"empty", []msg{write("")}, "", true},
		{"a push consumer's delivery", []msg{{subject: events.LeaderKeySubject, reply: events.JSAckPrefix + "x", data: rec(8, "n2")}}, "", true},
		{"another subject", []msg{{subject: "$KV.leader.other", data: rec(8, "n2")}}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f LeaderFollow
			var err error
			for _, m := range tt.msgs {
				_, err = f.Observe(m.subject, m.reply, m.hdr, []byte(m.data))
			}
			if f.Avoid != tt.want || (err != nil) != tt.wantErr {
				t.Fatalf("Avoid = %q, last error %v; want %q, error %v", f.Avoid, err, tt.want, tt.wantErr)
			}
		})
	}
}
