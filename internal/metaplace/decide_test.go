package metaplace

import (
	"testing"
	"time"
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

func TestRecordAvoid(t *testing.T) {
	del := func(op string) map[string][]string { return map[string][]string{"KV-Operation": {op}} }
	tests := []struct {
		name    string
		hdr     map[string][]string
		data    string
		want    string
		wantErr bool
	}{
		{"a record naming its server", nil, `{"v":1,"schedulerId":"s1","hostname":"m1","natsServer":"n1","epoch":7}`, "n1", false},
		{"a record from before natsServer", nil, `{"v":1,"schedulerId":"s1","hostname":"m1","epoch":7}`, "", false},
		{"a deletion", del("DEL"), "", "", false},
		{"a purge", del("PURGE"), "", "", false},
		{"not JSON", nil, `{"v":1,"natsServer":`, "", true},
		{"a wrong type", nil, `{"v":1,"natsServer":7}`, "", true},
		{"another version", nil, `{"v":2,"natsServer":"n1"}`, "", true},
		{"empty", nil, "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := RecordAvoid(tt.hdr, []byte(tt.data))
			if got != tt.want || (err != nil) != tt.wantErr {
				t.Fatalf("RecordAvoid = %q, %v; want %q, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}
