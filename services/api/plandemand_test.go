package api

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/drover/drover/internal/testutil"
	"github.com/drover/drover/pkg/events"
	"github.com/nats-io/nats.go"
)

// recorder keeps the messages of one subject, decoded by the test.
type recorder struct {
	mu  sync.Mutex
	all [][]byte
}

// record subscribes to subject on a connection of its own.
func record(t *testing.T, js *testutil.JetStream, subject string) *recorder {
	t.Helper()
	nc := js.Connect(t)
	r := &recorder{}
	if _, err := nc.Subscribe(subject, func(m *nats.Msg) {
		r.mu.Lock()
		r.all = append(r.all, m.Data)
		r.mu.Unlock()
	}); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return r
}

// notices are the plan demand notices recorded so far.
func (r *recorder) notices(t *testing.T) []events.PlanDemandNotice {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]events.PlanDemandNotice, 0, len(r.all))
	for _, data := range r.all {
		n, err := events.Decode[events.PlanDemandNotice](data)
		if err != nil {
			t.Fatalf("notice %s: %v", data, err)
		}
		out = append(out, n)
	}
	return out
}

// plan is the plan of the recorded deployment event of a deployment, with
// whether its event came yet.
func (r *recorder) plan(t *testing.T, deploymentID string) (map[string]any, bool) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, data := range r.all {
		var ev struct {
			ID   string         `json:"id"`
			Plan map[string]any `json:"plan"`
		}
		if err := json.Unmarshal(data, &ev); err != nil {
			t.Fatalf("event %s: %v", data, err)
		}
		if ev.Plan["id"] == deploymentID {
			return ev.Plan, true
		}
	}
	return nil, false
}

// waitPlan waits for a deployment's event and says whether its plan is full.
func (r *recorder) waitPlan(t *testing.T, deploymentID string) (full bool) {
	t.Helper()
	testutil.Eventually(t, 5*time.Second, 5*time.Millisecond, func() error {
		plan, ok := r.plan(t, deploymentID)
		if !ok {
			return fmt.Errorf("no event of deployment %s", deploymentID)
		}
		_, original := plan["original"]
		_, target := plan["target"]
		if original != target {
			t.Fatalf("plan %v: original without target, or the reverse", plan)
		}
		full = original
		return nil
	})
	return full
}

// attach opens /v2/events with a query, reads it until detach, and
// fails the test unless it is a 200.
func attach(t *testing.T, base, query string) (detach func()) {
	t.Helper()
	resp, cancel := testutil.OpenEvents(t, base, query)
	go func() { defer resp.Body.Close(); _, _ = io.Copy(io.Discard, resp.Body) }()
	return cancel
}

// TestEventStreamsAnnouncePlanDemand: a stream that takes deployment events
// in the full format is counted before its headers come and announced on
// drover.plans.demand; a light one, or one without deployment events, is
// not.
func TestEventStreamsAnnouncePlanDemand(t *testing.T) {
	for _, tc := range []struct {
		query string
		full  bool
	}{
		{"", true},
		{"?event_type=deployment_info", true},
		{"?event_type=status_update_event,deployment_step_success", true},
		{"?event_type=deployment_success&plan-format=full", true},
		{"?plan-format=light", false},
		{"?event_type=deployment_info&plan-format=light", false},
		{"?event_type=status_update_event", false},
		{"?event_type=status_update_event&event_type=api_post_event", false},
	} {
		t.Run(tc.query, func(t *testing.T) {
			h := newHarness(t)
			ts := httptest.NewServer(h.srv.Handler())
			t.Cleanup(ts.Close)
			t.Cleanup(h.srv.stop)
			heard := record(t, h.js, events.PlanDemand)

			attach(t, ts.URL, tc.query)
			if got := h.srv.fullPlans(); got != tc.full {
				t.Errorf("once the headers came, full plans wanted = %v, want %v", got, tc.full)
			}
			// A full stream after it: the first notice counts it alone if
			// the stream under test was not counted.
			attach(t, ts.URL, "?event_type=deployment_info")
			want := 1
			if tc.full {
				want = 2
			}
			testutil.Eventually(t, 5*time.Second, 5*time.Millisecond, func() error {
				for _, n := range heard.notices(t) {
					if n.API != "test" || n.Instance == "" {
						t.Fatalf("notice %+v, want one of replica test", n)
					}
					if n.Streams == want {
						return nil
					}
					if n.Streams > want {
						t.Fatalf("notice %+v, want %d streams", n, want)
					}
				}
				return fmt.Errorf("notices %+v, want one of %d streams", heard.notices(t), want)
			})
		})
	}
}

// TestEventStreamDemandEndsWithIt: a full stream's demand ends when it
// detaches; the replica says so, and its deployments are light again.
func TestEventStreamDemandEndsWithIt(t *testing.T) {
	h := newHarness(t)
	ts := httptest.NewServer(h.srv.Handler())
	t.Cleanup(ts.Close)
	t.Cleanup(h.srv.stop)
	heard := record(t, h.js, events.PlanDemand)
	infos := record(t, h.js, events.Event(events.EventDeploymentInfo))

	detach := attach(t, ts.URL, "")
	id := h.createApp(`{"id":"/attached","cmd":"sleep 1"}`)["deployments"].([]any)[0].(object)["id"].(string)
	if !infos.waitPlan(t, id) {
		t.Error("deployment_info light while a full stream is attached")
	}
	detach()
	testutil.Eventually(t, 5*time.Second, 5*time.Millisecond, func() error {
		got := heard.notices(t)
		if len(got) == 0 || got[len(got)-1].Wants() {
			return fmt.Errorf("notices %+v, want the end last", got)
		}
		if h.srv.fullPlans() {
			return fmt.Errorf("full plans still wanted")
		}
		return nil
	})
	id = h.createApp(`{"id":"/detached","cmd":"sleep 1"}`)["deployments"].([]any)[0].(object)["id"].(string)
	if infos.waitPlan(t, id) {
		t.Error("deployment_info full after the only stream detached")
	}
}

// TestAPIDeploymentEventsFollowPlanDemand: the api's own deployment events
// (deployment_info with a change, deployment_failed with a cancellation)
// are full only while someone receives full plans: a full stream on this
// replica, or on another (heard through its notice).
func TestAPIDeploymentEventsFollowPlanDemand(t *testing.T) {
	for _, tc := range []struct {
		name  string
		query string // a stream on this replica; "-" for none
		other string // a stream on another replica; "" for none
		full  bool
	}{
		{name: "nobody", query: "-", full: false},
		{name: "a light stream", query: "?plan-format=light", full: false},
		{name: "a stream without deployment events", query: "?event_type=api_post_event", full: false},
		{name: "a full stream", query: "?event_type=deployment_failed", full: true},
		{name: "a full stream on another replica", query: "-", other: "?event_type=deployment_info", full: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			ts := httptest.NewServer(h.srv.Handler())
			t.Cleanup(ts.Close)
			t.Cleanup(h.srv.stop)
			infos := record(t, h.js, events.Event(events.EventDeploymentInfo))
			failures := record(t, h.js, events.Event(events.EventDeploymentFailed))
			if tc.query != "-" {
				attach(t, ts.URL, tc.query)
			}
			if tc.other != "" {
				other := newTestServer(t, h.bus)
				ots := httptest.NewServer(other.Handler())
				t.Cleanup(ots.Close)
				t.Cleanup(other.stop)
				attach(t, ots.URL, tc.other)
				// Heard through NATS, not at once: the edge of a
				// client that writes through another replica.
				testutil.Eventually(t, 5*time.Second, 5*time.Millisecond, func() error {
					if !h.srv.fullPlans() {
						return fmt.Errorf("the other replica's stream not heard of")
					}
					return nil
				})
			}

			id := h.createApp(`{"id":"/web","cmd":"sleep 1"}`)["deployments"].([]any)[0].(object)["id"].(string)
			if full := infos.waitPlan(t, id); full != tc.full {
				t.Errorf("deployment_info full = %v, want %v", full, tc.full)
			}
			rec := h.do(http.MethodDelete, "/v2/deployments/"+id+"?force=true", "")
			if rec.Code != http.StatusAccepted {
				t.Fatalf("cancel: %d %s", rec.Code, rec.Body.String())
			}
			if full := failures.waitPlan(t, id); full != tc.full {
				t.Errorf("deployment_failed full = %v, want %v", full, tc.full)
			}
		})
	}
}

// TestCallbackSubscriberMakesPlanDemand: Marathon posts full plans to HTTP
// callbacks, so a subscribed URL is demand: announced with the answer to
// the subscription, and the deployment events after it carry full plans,
// to the URL too; its removal ends the demand.
func TestCallbackSubscriberMakesPlanDemand(t *testing.T) {
	js := testutil.RunJetStream(t)
	bus := js.Bus(t)
	cfg := DefaultConfig()
	cfg.ID, cfg.EventSubscriber = "test", EventSubscriberHTTP
	srv, err := New(cfg, bus, testutil.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	h := &harness{t: t, js: js, bus: bus, srv: srv}
	waitLoaded(t, srv)
	heard := record(t, js, events.PlanDemand)
	infos := record(t, js, events.Event(events.EventDeploymentInfo))

	id := h.createApp(`{"id":"/before","cmd":"sleep 1"}`)["deployments"].([]any)[0].(object)["id"].(string)
	if infos.waitPlan(t, id) {
		t.Error("deployment_info full before any callback")
	}

	sink := newCallbackSink(t)
	expect[object](t, h.do(http.MethodPost, subscriptionsPath(sink.srv.URL), ""), http.StatusOK)
	if !srv.fullPlans() {
		t.Error("no full plans wanted once the subscription was answered")
	}
	testutil.Eventually(t, 5*time.Second, 5*time.Millisecond, func() error {
		for _, n := range heard.notices(t) {
			if n.Callbacks == 1 && n.Streams == 0 {
				return nil
			}
		}
		return fmt.Errorf("notices %+v, want one of 1 callback", heard.notices(t))
	})
	id = h.createApp(`{"id":"/after","cmd":"sleep 1"}`)["deployments"].([]any)[0].(object)["id"].(string)
	if !infos.waitPlan(t, id) {
		t.Error("deployment_info light with a callback subscribed")
	}
	sink.waitFor(t, events.EventDeploymentInfo, "eventType", events.EventDeploymentInfo)
	for _, ev := range sink.events() {
		if plan, _ := ev["plan"].(map[string]any); ev["eventType"] == events.EventDeploymentInfo && plan["id"] == id {
			if plan["original"] == nil || plan["target"] == nil {
				t.Errorf("the callback got a light plan: %v", plan)
			}
		}
	}

	expect[object](t, h.do(http.MethodDelete, subscriptionsPath(sink.srv.URL), ""), http.StatusOK)
	testutil.Eventually(t, 3*events.PlanDemandEvery, 10*time.Millisecond, func() error {
		got := heard.notices(t)
		if len(got) == 0 || got[len(got)-1].Wants() || srv.fullPlans() {
			return fmt.Errorf("notices %+v, want the end last, and no full plans wanted", got)
		}
		return nil
	})
}
