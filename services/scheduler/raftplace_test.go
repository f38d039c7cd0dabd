package scheduler

import (
	"slices"
	"testing"
	"time"
)

func TestPlanRaftMoves(t *testing.T) {
	fit := func(name string) raftPeer { return raftPeer{Name: name, Current: true, Active: 100 * time.Millisecond} }
	behind := func(name string) raftPeer { p := fit(name); p.Current = false; return p }
	lagging := func(name string) raftPeer { p := fit(name); p.Lag = 3; return p }
	offline := func(name string) raftPeer { p := fit(name); p.Offline = true; return p }
	silent := func(name string) raftPeer { p := fit(name); p.Active = 5 * time.Second; return p }
	stream := func(name, leader string, peers ...raftPeer) raftGroup {
		return raftGroup{Stream: name, Leader: leader, Peers: peers}
	}
	for _, tc := range []struct {
		name   string
		groups []raftGroup
		avoid  string
		want   []raftMove
	}{
		{name: "no colocated server: nothing moves",
			groups: []raftGroup{stream("KV_leader", "n1", fit("n2"), fit("n3"))}},
		{name: "led elsewhere: nothing moves", avoid: "n1",
			groups: []raftGroup{stream("KV_leader", "n2", fit("n1"), fit("n3"))}},
		{name: "led here: moves to the follower leading fewest", avoid: "n1",
			groups: []raftGroup{stream("KV_leader", "n1", fit("n2"), fit("n3")), stream("KV_apps", "n2", fit("n1"), fit("n3"))},
			want:   []raftMove{{Stream: "KV_leader", From: "n1", To: "n3"}}},
		{name: "ties go by name", avoid: "n1",
			groups: []raftGroup{stream("KV_leader", "n1", fit("n3"), fit("n2"))},
			want:   []raftMove{{Stream: "KV_leader", From: "n1", To: "n2"}}},
		{name: "moves spread over the others", avoid: "n1",
			groups: []raftGroup{
				stream("A", "n1", fit("n2"), fit("n3")),
				stream("B", "n1", fit("n2"), fit("n3")),
				{Stream: "DROVER_COMMANDS", Consumer: "agent-x", Leader: "n1", Peers: []raftPeer{fit("n2"), fit("n3")}},
			},
			want: []raftMove{{Stream: "A", From: "n1", To: "n2"}, {Stream: "B", From: "n1", To: "n3"},
				{Stream: "DROVER_COMMANDS", Consumer: "agent-x", From: "n1", To: "n2"}}},
		{name: "never onto a follower not current", avoid: "n1",
			groups: []raftGroup{stream("KV_leader", "n1", behind("n2"), fit("n3"))},
			want:   []raftMove{{Stream: "KV_leader", From: "n1", To: "n3"}}},
		{name: "never onto a lagging, offline or silent follower", avoid: "n1",
			groups: []raftGroup{stream("KV_leader", "n1", lagging("n2"), offline("n3")), stream("KV_instances", "n1", silent("n2"), lagging("n3"))}},
		{name: "a group of two never moves", avoid: "n1",
			groups: []raftGroup{stream("KV_leader", "n1", fit("n2"))}},
		{name: "a group of one never moves", avoid: "n1",
			groups: []raftGroup{stream("KV_leader", "n1")}},
		{name: "no leader (electing): nothing moves", avoid: "n1",
			groups: []raftGroup{stream("KV_leader", "", fit("n1"), fit("n2"))}},
		{name: "a follower named like the avoided server is not a target", avoid: "n1",
			groups: []raftGroup{stream("KV_leader", "n1", fit("n1"), behind("n2"), fit(""))}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := planRaftMoves(tc.groups, tc.avoid, time.Second)
			if !slices.Equal(got, tc.want) {
				t.Errorf("moves = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestConfigColocatedNATS(t *testing.T) {
	cfg := DefaultConfig()
	cfg.ColocatedNATS = "n1"
	if err := cfg.Validate(); err != nil {
		t.Errorf("colocated NATS n1: %v", err)
	}
	cfg.ColocatedNATS = "n 1"
	if err := cfg.Validate(); err == nil {
		t.Error("a colocated NATS server name with a space passed validation")
	}
}
