package api

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/services/api/view"
)

func TestConformanceQueue(t *testing.T) {
	h := newHarness(t)
	h.createApp(`{"id":"/q","cmd":"x","instances":3}`)
	now := time.Now()
	data, _ := events.Encode(events.QueueEntry{V: events.Version, AppID: "/q", Count: 2, Since: now, DelayUntil: now.Add(30 * time.Second),
		Rejected: map[string]int{"InsufficientCpus": 2, "UnfulfilledConstraint": 1, "DockerUnavailable": 1}, Agents: 5, UpdatedAt: now})
	if _, err := h.bus.Queue.Put(context.Background(), "q", data); err != nil {
		t.Fatal(err)
	}
	var q []object
	waitFor(t, func() bool {
		q = expect[map[string][]object](t, h.do(http.MethodGet, "/v2/queue", ""), http.StatusOK)["queue"]
		return len(q) == 1
	})
	item := q[0]
	if item["count"] != 2.0 || item["app"].(object)["id"] != "/q" || item["since"] != view.FormatTime(now) {
		t.Errorf("queue item %v", item)
	}
	if d := item["delay"].(object); d["overdue"] != false || d["timeLeftSeconds"].(float64) < 29 {
		t.Errorf("delay %v", d)
	}
	sum := item["processedOffersSummary"].(object)
	if sum["processedOffersCount"] != 5.0 || sum["unusedOffersCount"] != 4.0 {
		t.Errorf("summary %v", sum)
	}
	got := map[string][2]float64{}
	for _, r := range sum["rejectSummaryLastOffers"].([]any) {
		r := r.(object)
		got[r["reason"].(string)] = [2]float64{r["declined"].(float64), r["processed"].(float64)}
	}
	for reason, want := range map[string][2]float64{
		"DockerUnavailable": {1, 5}, "UnfulfilledConstraint": {1, 4}, "InsufficientCpus": {2, 3},
		"InsufficientMemory": {0, 1}, "InsufficientDisk": {0, 1}, "InsufficientPorts": {0, 1}, "DeclinedByPolicy": {0, 4},
		"AgentUnreachable": {0, 5}, "UnfulfilledRole": {0, 4},
	} {
		if got[reason] != want {
			t.Errorf("%s: declined/processed %v, want %v", reason, got[reason], want)
		}
	}
	if e := expect[map[string][]object](t, h.do(http.MethodGet, "/v2/queue?embed=lastUnusedOffers", ""), http.StatusOK)["queue"][0]; e["lastUnusedOffers"] == nil {
		t.Errorf("embed=lastUnusedOffers: %v", e)
	}
	rec := h.do(http.MethodDelete, "/v2/queue/q/delay", "")
	if rec.Code != http.StatusNoContent {
		t.Errorf("reset delay: %d %s", rec.Code, rec.Body.String())
	}
	if r := h.requests(); len(r) != 1 || r[0].Kind != events.RequestResetDelay || r[0].AppID != "/q" {
		t.Errorf("requests %+v", r)
	}
	e := expect[errorBody](t, h.do(http.MethodDelete, "/v2/queue/nope/delay", ""), http.StatusNotFound)
	if e.Message != "Application /nope not found in tasks queue." {
		t.Errorf("message %q", e.Message)
	}
}

// TestSilentMajorityHoldIsShown: replacements held by the scheduler's
// silent-majority brake show in /v2/queue under their own reason, first,
// and in the cluster view's count.
func TestSilentMajorityHoldIsShown(t *testing.T) {
	h := newHarness(t)
	h.createApp(`{"id":"/held","cmd":"x","instances":3}`)
	now := time.Now()
	data, _ := events.Encode(events.QueueEntry{V: events.Version, AppID: "/held", Count: 2, Since: now,
		Rejected: map[string]int{"SilentMajority": 3}, Agents: 4, UpdatedAt: now})
	if _, err := h.bus.Queue.Put(context.Background(), "held", data); err != nil {
		t.Fatal(err)
	}
	var q []object
	waitFor(t, func() bool {
		q = expect[map[string][]object](t, h.do(http.MethodGet, "/v2/queue", ""), http.StatusOK)["queue"]
		return len(q) == 1
	})
	first := q[0]["processedOffersSummary"].(object)["rejectSummaryLastOffers"].([]any)[0].(object)
	if first["reason"] != "SilentMajority" || first["declined"] != 3.0 {
		t.Errorf("first reason %v, want SilentMajority declined by 3", first)
	}
	var held struct{ HeldReplacements int }
	waitFor(t, func() bool {
		held = expect[struct{ HeldReplacements int }](t, h.do(http.MethodGet, "/v2/drover/cluster", ""), http.StatusOK)
		return held.HeldReplacements == 2
	})
}
