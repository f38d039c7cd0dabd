package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/drover/drover/internal/testutil"
	"github.com/drover/drover/pkg/events"
	"github.com/nats-io/nats.go"
)

// deploymentTypes are the event types that carry a plan.
var deploymentTypes = []string{events.EventDeploymentInfo, events.EventDeploymentStepOK, events.EventDeploymentSuccess}

// planEvent is a deployment event's type and whether its plan is full.
type planEvent struct {
	eventType string
	full      bool
}

// plansOf are the events of a deployment among SSE lines ("event: t",
// "data: {...}") or NATS messages (type, then payload), in order.
func plansOf(t *testing.T, pairs [][2]string, deploymentID string) []planEvent {
	t.Helper()
	var out []planEvent
	for _, p := range pairs {
		var ev struct {
			Plan map[string]any `json:"plan"`
		}
		if err := json.Unmarshal([]byte(p[1]), &ev); err != nil {
			t.Fatalf("%s: %v: %s", p[0], err, p[1])
		}
		if ev.Plan["id"] != deploymentID {
			continue
		}
		_, original := ev.Plan["original"]
		_, target := ev.Plan["target"]
		if original != target {
			t.Fatalf("%s: original %v, target %v", p[0], original, target)
		}
		out = append(out, planEvent{p[0], original})
	}
	return out
}

// ssePairs are the (type, data) pairs of SSE lines.
func ssePairs(l *lines) [][2]string {
	var out [][2]string
	all := l.snapshot()
	for i, line := range all {
		if t, ok := strings.CutPrefix(line, "event: "); ok && i+1 < len(all) {
			out = append(out, [2]string{t, strings.TrimPrefix(all[i+1], "data: ")})
		}
	}
	return out
}

// follow opens /v2/events with a query and keeps its lines.
func follow(t *testing.T, base, query string) *lines {
	t.Helper()
	resp, _ := testutil.OpenEvents(t, base, query)
	l := &lines{}
	go func() { defer resp.Body.Close(); l.follow(resp.Body) }()
	return l
}

// deploy posts an app and returns the deployment it started.
func deploy(t *testing.T, base, id string) string {
	t.Helper()
	resp, err := http.Post(base+"/v2/apps", "application/json", strings.NewReader(
		`{"id":"`+id+`","instances":1,"cpus":0.1,"mem":16,"container":{"type":"DOCKER","docker":{"image":"httpd"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var app struct {
		Deployments []struct {
			ID string `json:"id"`
		} `json:"deployments"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&app); err != nil || resp.StatusCode != http.StatusCreated || len(app.Deployments) != 1 {
		t.Fatalf("POST %s: %d, %+v, %v", id, resp.StatusCode, app, err)
	}
	return app.Deployments[0].ID
}

// waitPlans waits until a deployment's deployment_success is among pairs,
// and returns its events.
func waitPlans(t *testing.T, pairs func() [][2]string, deploymentID string) []planEvent {
	t.Helper()
	var got []planEvent
	testutil.Eventually(t, 20*time.Second, 20*time.Millisecond, func() error {
		got = plansOf(t, pairs(), deploymentID)
		for _, e := range got {
			if e.eventType == events.EventDeploymentSuccess {
				return nil
			}
		}
		return fmt.Errorf("no deployment_success of %s: %+v", deploymentID, got)
	})
	return got
}

// TestDeploymentPlansFollowEventStreams deploys through the api onto a real
// scheduler and agent: with nobody to receive them, the deployment events
// on NATS are light; a client that attaches a full /v2/events stream and
// deploys at once gets every event of that deployment (the api's
// deployment_info, the scheduler's deployment_step_success and
// deployment_success) with the plan's original and target, and a light
// stream beside it gets them light.
func TestDeploymentPlansFollowEventStreams(t *testing.T) {
	js := testutil.RunJetStream(t)
	ts := serveAPI(t, js)
	startScheduler(t, js)
	startAgent(t, js, "h1")

	onNATS := &lines{}
	nc := js.Connect(t)
	for _, typ := range deploymentTypes {
		if _, err := nc.Subscribe(events.Event(typ), func(m *nats.Msg) {
			t, _ := events.ParseEvent(m.Subject)
			onNATS.mu.Lock()
			onNATS.all = append(onNATS.all, t, string(m.Data))
			onNATS.mu.Unlock()
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	natsPairs := func() [][2]string {
		all := onNATS.snapshot()
		var out [][2]string
		for i := 0; i+1 < len(all); i += 2 {
			out = append(out, [2]string{all[i], all[i+1]})
		}
		return out
	}
	wantAll := func(what string, got []planEvent, full bool) {
		t.Helper()
		types := map[string]bool{}
		for _, e := range got {
			types[e.eventType] = true
			if e.full != full {
				t.Errorf("%s: %s full = %v, want %v", what, e.eventType, e.full, full)
			}
		}
		for _, typ := range deploymentTypes {
			if !types[typ] {
				t.Errorf("%s: no %s among %+v", what, typ, got)
			}
		}
	}

	light := deploy(t, ts.URL, "/light")
	wantAll("nobody attached, on NATS", waitPlans(t, natsPairs, light), false)

	query := "?event_type=" + strings.Join(deploymentTypes, ",")
	fullStream := follow(t, ts.URL, query)
	lightStream := follow(t, ts.URL, query+"&plan-format=light")
	full := deploy(t, ts.URL, "/full")
	wantAll("a full stream attached, on NATS", waitPlans(t, natsPairs, full), true)
	wantAll("the full stream", waitPlans(t, func() [][2]string { return ssePairs(fullStream) }, full), true)
	wantAll("the light stream", waitPlans(t, func() [][2]string { return ssePairs(lightStream) }, full), false)
}
