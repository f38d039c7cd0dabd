package api

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/drover/drover/internal/testutil"
	"github.com/drover/drover/services/api/change"
)

// sseFrame is one server-sent event.
type sseFrame struct {
	event string
	data  map[string]any
}

// openEvents connects to /v2/events and returns its frames as they come.
func openEvents(t *testing.T, base, query string) <-chan sseFrame {
	t.Helper()
	resp, _ := testutil.OpenEvents(t, base, query)
	frames := make(chan sseFrame, 100)
	go func() {
		defer resp.Body.Close()
		defer close(frames)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		var f sseFrame
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				f.event = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				_ = json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &f.data)
			case line == "" && f.event != "":
				frames <- f
				f = sseFrame{}
			}
		}
	}()
	return frames
}

// nextFrame waits for the next frame of one of the given types.
func nextFrame(t *testing.T, frames <-chan sseFrame, types ...string) sseFrame {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case f, ok := <-frames:
			if !ok {
				t.Fatal("event stream closed")
			}
			for _, typ := range types {
				if f.event == typ {
					return f
				}
			}
		case <-deadline:
			t.Fatalf("no %v event within 5s", types)
		}
	}
}

func TestEventStream(t *testing.T) {
	h := newHarness(t)
	ts := httptest.NewServer(h.srv.Handler())
	t.Cleanup(ts.Close)
	t.Cleanup(h.srv.stop) // end the streams before the server closes

	all := openEvents(t, ts.URL, "")
	first := nextFrame(t, all, "event_stream_attached", "api_post_event")
	if first.event != "event_stream_attached" || first.data["remoteAddress"] != "127.0.0.1" || first.data["eventType"] != "event_stream_attached" {
		t.Errorf("first frame %+v", first)
	}
	filtered := openEvents(t, ts.URL, "?event_type=api_post_event&event_type=app_terminated_event")
	// The filtered stream is attached once its consumer exists; its own
	// attached event is on the unfiltered stream.
	nextFrame(t, all, "event_stream_attached")

	h.createApp(`{"id":"/evented","cmd":"sleep 1"}`)
	for _, typ := range []string{"deployment_info", "group_change_success", "api_post_event"} {
		f := nextFrame(t, all, typ)
		if f.data["eventType"] != typ || f.data["timestamp"] == nil {
			t.Errorf("%s frame %+v", typ, f)
		}
	}
	f := nextFrame(t, filtered, "api_post_event", "deployment_info", "group_change_success")
	if f.event != "api_post_event" || f.data["appDefinition"].(map[string]any)["id"] != "/evented" || f.data["uri"] != "/v2/apps" {
		t.Errorf("filtered frame %+v", f)
	}
	h.finishDeployments()
	expect[change.Result](t, h.do(http.MethodDelete, "/v2/apps/evented", ""), http.StatusOK)
	f = nextFrame(t, filtered, "api_post_event", "deployment_info", "app_terminated_event")
	if f.event != "app_terminated_event" || f.data["appId"] != "/evented" {
		t.Errorf("filtered frame %+v", f)
	}
	e := expect[errorBody](t, h.do(http.MethodGet, "/v2/events?event_type=a.b", ""), http.StatusBadRequest)
	if e.Message != "Invalid event type 'a.b'" {
		t.Errorf("message %q", e.Message)
	}
}
