package metaplace

import (
	"slices"
	"time"
)

// State is what Decide looks at: this node, the meta group as this node
// sees it, and where the leading scheduler is.
type State struct {
	Self   string // this node's server name
	Leader bool   // this node leads the meta group
	Size   int    // the meta group's members, this node included
	// Peers are the other members as this node, leading, reports them.
	Peers []Peer
	// Avoid is the NATS server on the leading scheduler's master, from the
	// leader record; "" when unknown (no leader, or a scheduler that named
	// none).
	Avoid string
	// LastTry is when this node last asked to step down; Now is now.
	LastTry, Now time.Time
}

// Peer is a member of the meta group as its leader reports it
// (server.PeerInfo).
type Peer struct {
	Name    string
	Current bool
	Offline bool
	Pending bool // being added to or removed from the group
	Active  time.Duration
	Lag     uint64
}

// Policy bounds the moves.
type Policy struct {
	// MinInterval is the least time between two stepdowns of this node.
	MinInterval time.Duration
	// MaxActive is how recently a peer must have been heard from to lead.
	MaxActive time.Duration
}

// DefaultPolicy: at most one stepdown every 5 s, onto a peer heard from
// within 2 s (the raft placement's bound, services/scheduler).
var DefaultPolicy = Policy{MinInterval: 5 * time.Second, MaxActive: 2 * time.Second}

// MinPeers is the smallest meta group whose leader is ever moved: with
// fewer than three members a move buys nothing and risks the group.
const MinPeers = 3

// Decision says whether to step down, and to whom.
type Decision struct {
	To     string // the peer to hand the meta leadership to; "" stay
	Reason string // why, for the log
}

// Move says whether the decision is to step down.
func (d Decision) Move() bool { return d.To != "" }

// Reasons a node stays.
const (
	ReasonNotLeader  = "this node does not lead the meta group"
	ReasonNoAvoid    = "no leading scheduler named its NATS server"
	ReasonElsewhere  = "the leading scheduler is on another master"
	ReasonSmall      = "the meta group has fewer than 3 members"
	ReasonPaced      = "a stepdown was asked for less than the minimum interval ago"
	ReasonNoPeer     = "no other member is current, online, caught up and heard from recently"
	ReasonMoveToPeer = "the leading scheduler is on this node's master"
)

// Decide says whether this node should hand the meta leadership over: only
// while it leads, the leading scheduler is on its master, the group has
// three members at least, the last try was MinInterval ago or more, and a
// peer is fit to lead (current, online, not pending, no lag, heard from
// within MaxActive). Among fit peers it picks the first by name, so that
// every node would pick alike.
func Decide(st State, p Policy) Decision {
	switch {
	case !st.Leader:
		return Decision{Reason: ReasonNotLeader}
	case st.Avoid == "":
		return Decision{Reason: ReasonNoAvoid}
	case st.Avoid != st.Self:
		return Decision{Reason: ReasonElsewhere}
	case st.Size < MinPeers || len(st.Peers)+1 < MinPeers:
		return Decision{Reason: ReasonSmall}
	case !st.LastTry.IsZero() && st.Now.Sub(st.LastTry) < p.MinInterval:
		return Decision{Reason: ReasonPaced}
	}
	var fit []string
	for _, peer := range st.Peers {
		if peer.Name != "" && peer.Name != st.Self && peer.Current && !peer.Offline && !peer.Pending &&
			peer.Lag == 0 && peer.Active <= p.MaxActive {
			fit = append(fit, peer.Name)
		}
	}
	if len(fit) == 0 {
		return Decision{Reason: ReasonNoPeer}
	}
	return Decision{To: slices.Min(fit), Reason: ReasonMoveToPeer}
}
