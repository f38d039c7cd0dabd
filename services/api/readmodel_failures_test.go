package api

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/services/api/view"
)

// The scheduler deletes the record of a task that ended; the failure is in
// its status_update_event, which gives the app its lastTaskFailure.
func TestLastTaskFailureFromStatusEvents(t *testing.T) {
	h := newHarness(t)
	h.createApp(`{"id":"/flaky","cmd":"x"}`)
	publish := func(state events.TaskState, msg string, at time.Time) {
		t.Helper()
		data, _ := json.Marshal(events.StatusUpdateEvent{
			EventType: events.EventStatusUpdate, Timestamp: view.FormatTime(at), SlaveID: "a1", TaskID: "flaky.t-" + msg,
			TaskStatus: state, Message: msg, AppID: "/flaky", Host: "host1", Ports: []int{31000}, Version: "2026-01-01T00:00:00.000Z",
		})
		if _, err := h.bus.JS.Publish(context.Background(), events.Event(events.EventStatusUpdate), data); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	publish(events.TaskFailed, "pull access denied", now)
	publish(events.TaskKilled, "killed", now.Add(time.Second))       // not a failure
	publish(events.TaskFailed, "older failure", now.Add(-time.Hour)) // not the last
	var failure object
	waitFor(t, func() bool {
		app := expect[struct{ App object }](t, h.do(http.MethodGet, "/v2/apps/flaky", ""), http.StatusOK).App
		failure, _ = app["lastTaskFailure"].(object)
		return failure != nil
	})
	time.Sleep(100 * time.Millisecond) // the later events are in too
	failure = expect[struct{ App object }](t, h.do(http.MethodGet, "/v2/apps/flaky", ""), http.StatusOK).App["lastTaskFailure"].(object)
	if failure["message"] != "pull access denied" || failure["state"] != "TASK_FAILED" || failure["host"] != "host1" ||
		failure["taskId"] != "flaky.t-pull access denied" || failure["slaveId"] != "a1" {
		t.Errorf("lastTaskFailure = %v", failure)
	}

	// A new replica replays the stream and knows it too.
	srv := newTestServer(t, h.bus)
	waitFor(t, func() bool {
		app := expect[struct{ App object }](t, serve(t, srv, http.MethodGet, "/v2/apps/flaky", ""), http.StatusOK).App
		f, _ := app["lastTaskFailure"].(object)
		return f != nil && f["message"] == "pull access denied"
	})
}
