package scheduler

import (
	"cmp"
	"slices"
	"time"
)

// Where NATS leads what the scheduler needs (the Raft side of a master's
// crash). A master runs a scheduler beside a NATS node. When the master
// crashes, every stream and consumer its node led waits nats-server's
// election timeout (random 4-9 s) for a new leader, and the scheduler that
// takes over needs the leader bucket, the instances bucket, the commands
// stream and the agents' consumers at once. So the leading scheduler keeps
// those leaders on the other masters' nodes: then its own master's crash
// loses only followers, and costs what a crashed scheduler costs.
//
// planRaftMoves is the decision, pure; raftPlacer (raftplace_nats.go) takes
// the survey, asks for the moves one at a time and logs them.

// raftGroup is one Raft group as a survey found it: a stream (Consumer
// empty) or a consumer, its leader, and the leader's view of its followers.
type raftGroup struct {
	Stream   string
	Consumer string
	Leader   string
	Peers    []raftPeer
}

// raftPeer is a follower as its leader reports it (jetstream.PeerInfo).
type raftPeer struct {
	Name    string
	Current bool
	Offline bool
	Active  time.Duration // since the leader last heard from it
	Lag     uint64
}

// raftMove hands a group's leadership from one server to another.
type raftMove struct {
	Stream   string
	Consumer string
	From, To string
}

func (g raftGroup) name() string {
	if g.Consumer == "" {
		return "stream " + g.Stream
	}
	return "consumer " + g.Stream + "/" + g.Consumer
}

func (m raftMove) name() string {
	return raftGroup{Stream: m.Stream, Consumer: m.Consumer}.name()
}

// minRaftPeers is the smallest group whose leader is ever moved: with
// fewer than three members a move buys nothing (two cannot lose one and
// keep a quorum) and risks the group.
const minRaftPeers = 3

// planRaftMoves returns the moves that take every group's leadership off
// the server avoid. A group moves only if it has three members at least,
// and only to a follower its leader sees as current, online, not lagging,
// and heard from within maxActive; among those it goes to the server that
// leads fewest of the groups (ties by name), so the moves spread the load
// instead of piling every leader onto one node. A group with no such
// follower stays where it is: a leader on the avoided server is better
// than a leader on a server that may not be there. No avoid, no moves.
func planRaftMoves(groups []raftGroup, avoid string, maxActive time.Duration) []raftMove {
	if avoid == "" {
		return nil
	}
	leads := map[string]int{}
	for _, g := range groups {
		if g.Leader != "" {
			leads[g.Leader]++
		}
	}
	var moves []raftMove
	for _, g := range groups {
		if g.Leader != avoid || len(g.Peers)+1 < minRaftPeers {
			continue
		}
		var to []string
		for _, p := range g.Peers {
			if p.Name != "" && p.Name != avoid && p.Current && !p.Offline && p.Lag == 0 && p.Active <= maxActive {
				to = append(to, p.Name)
			}
		}
		if len(to) == 0 {
			continue
		}
		best := slices.MinFunc(to, func(a, b string) int {
			return cmp.Or(cmp.Compare(leads[a], leads[b]), cmp.Compare(a, b))
		})
		leads[best]++
		leads[avoid]--
		moves = append(moves, raftMove{Stream: g.Stream, Consumer: g.Consumer, From: avoid, To: best})
	}
	return moves
}
