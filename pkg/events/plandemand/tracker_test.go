package plandemand

import (
	"testing"
	"time"

	"github.com/drover/drover/pkg/events"
)

// notice is a PlanDemandNotice's JSON.
func notice(t *testing.T, n events.PlanDemandNotice) []byte {
	t.Helper()
	n.V = events.Version
	data, err := events.Encode(n)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestTrackerHoldsNotices(t *testing.T) {
	const hold = 6 * time.Second
	t0 := time.Unix(1_000_000, 0)
	streams := events.PlanDemandNotice{API: "api1", Instance: "p1", Streams: 1}
	callbacks := events.PlanDemandNotice{API: "api2", Instance: "p2", Callbacks: 2}
	ended := events.PlanDemandNotice{API: "api1", Instance: "p1"}
	type note struct {
		at   time.Duration
		data func(*testing.T) []byte
	}
	of := func(n events.PlanDemandNotice) func(*testing.T) []byte {
		return func(t *testing.T) []byte { return notice(t, n) }
	}
	raw := func(s string) func(*testing.T) []byte { return func(*testing.T) []byte { return []byte(s) } }
	for _, tt := range []struct {
		name      string
		notes     []note
		at        time.Duration
		want      bool
		malformed uint64
	}{
		{name: "nothing heard", at: 0, want: false},
		{name: "a stream's notice", notes: []note{{0, of(streams)}}, at: time.Second, want: true},
		{name: "a callback's notice", notes: []note{{0, of(callbacks)}}, at: time.Second, want: true},
		{name: "held until just before the hold ends", notes: []note{{0, of(streams)}}, at: hold - time.Millisecond, want: true},
		{name: "not after the hold", notes: []note{{0, of(streams)}}, at: hold, want: false},
		{name: "renewed", notes: []note{{0, of(streams)}, {4 * time.Second, of(streams)}}, at: 8 * time.Second, want: true},
		{name: "its end ends it at once", notes: []note{{0, of(streams)}, {time.Second, of(ended)}}, at: time.Second, want: false},
		{name: "one's end leaves another's demand", notes: []note{{0, of(streams)}, {0, of(callbacks)}, {time.Second, of(ended)}}, at: 2 * time.Second, want: true},
		{name: "not JSON", notes: []note{{0, raw("not json")}}, at: 0, want: false, malformed: 1},
		{name: "another version", notes: []note{{0, raw(`{"v":2,"instance":"p1","streams":1}`)}}, at: 0, want: false, malformed: 1},
		{name: "no instance", notes: []note{{0, raw(`{"v":1,"api":"api1","streams":1}`)}}, at: 0, want: false, malformed: 1},
		{name: "malformed after a notice leaves it", notes: []note{{0, of(streams)}, {0, raw("{")}}, at: time.Second, want: true, malformed: 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var hooked uint64
			tr := NewTracker(hold, nil, func() { hooked++ })
			for _, n := range tt.notes {
				tr.Note(n.data(t), t0.Add(n.at))
			}
			if got := tr.Wanted(t0.Add(tt.at)); got != tt.want {
				t.Errorf("Wanted = %v, want %v", got, tt.want)
			}
			if got := tr.Malformed(); got != tt.malformed || hooked != tt.malformed {
				t.Errorf("malformed %d (hook %d), want %d", got, hooked, tt.malformed)
			}
		})
	}
}
