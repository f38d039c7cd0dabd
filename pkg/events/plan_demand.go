package events

import "time"

// Deployment events carry their plan's original and target (the whole
// cluster's apps, twice: O(apps) bytes per event) only while someone
// receives them: an open /v2/events stream that takes deployment events
// without ?plan-format=light, or an HTTP callback subscription. Every api
// replica with such a consumer says so on PlanDemand at once and every
// PlanDemandEvery while it lasts; the api replicas and the schedulers hold
// each notice for PlanDemandHold (package plandemand).
const (
	PlanDemandEvery = 2 * time.Second
	PlanDemandHold  = 3 * PlanDemandEvery
)

// PlanDemandNotice is an api replica's notice on PlanDemand: how many of
// its consumers receive full plans. One with neither streams nor callbacks
// says its demand ended (it has none to renew).
type PlanDemandNotice struct {
	V int `json:"v"`
	// API is the replica's id (--id), for people; Instance is random per
	// process, so that two replicas given one id stay apart.
	API      string `json:"api"`
	Instance string `json:"instance"`
	// Streams is the replica's open /v2/events streams that take full
	// plans; Callbacks the callback URLs it posts events to.
	Streams   int       `json:"streams,omitempty"`
	Callbacks int       `json:"callbacks,omitempty"`
	At        time.Time `json:"at"`
}

// Wants reports whether the notice announces demand (rather than its end).
func (n PlanDemandNotice) Wants() bool { return n.Streams > 0 || n.Callbacks > 0 }
