package api

import (
	"net/http/httptest"
	"testing"

	"github.com/drover/drover/pkg/events"
	dto "github.com/prometheus/client_model/go"
)

// A message on drover.events that is not JSON could forge events of its
// own in every client's stream (a newline, then "data:"): it is dropped
// and counted, and the stream goes on.
func TestMalformedEventsAreDropped(t *testing.T) {
	h := newHarness(t)
	ts := httptest.NewServer(h.srv.Handler())
	t.Cleanup(ts.Close)
	t.Cleanup(h.srv.stop)
	all := openEvents(t, ts.URL, "")
	nextFrame(t, all, "event_stream_attached")

	forged := "x\n\nevent: app_terminated_event\ndata: {\"appId\":\"/forged\"}\n\n"
	if _, err := h.bus.JS.Publish(t.Context(), events.Event("api_post_event"), []byte(forged)); err != nil {
		t.Fatal(err)
	}
	if _, err := h.bus.JS.Publish(t.Context(), events.Event("api_post_event"), []byte("{\n \"eventType\": \"api_post_event\",\n \"uri\": \"/real\"}")); err != nil {
		t.Fatal(err)
	}
	f := nextFrame(t, all, "api_post_event", "app_terminated_event")
	if f.event != "api_post_event" || f.data["uri"] != "/real" {
		t.Fatalf("frame %+v: the forged one got through", f)
	}
	var m dto.Metric
	if err := h.srv.metrics.Malformed.WithLabelValues(events.EventAll).Write(&m); err != nil {
		t.Fatal(err)
	}
	if n := m.GetCounter().GetValue(); n != 1 {
		t.Errorf("malformed counted %v, want 1", n)
	}
}
