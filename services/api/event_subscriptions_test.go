package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/drover/drover/internal/testutil"
)

// callbackSink is an HTTP callback subscriber: it records every event
// POSTed to it.
type callbackSink struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []object
}

func newCallbackSink(t *testing.T) *callbackSink {
	t.Helper()
	s := &callbackSink{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev object
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" || json.NewDecoder(r.Body).Decode(&ev) != nil {
			http.Error(w, "want a POST of JSON", http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.got = append(s.got, ev)
		s.mu.Unlock()
	}))
	t.Cleanup(s.srv.Close)
	return s
}

// events are the events received so far.
func (s *callbackSink) events() []object {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.got)
}

// has reports whether an event of the type with field == value came.
func (s *callbackSink) has(eventType, field, value string) bool {
	return slices.ContainsFunc(s.events(), func(ev object) bool {
		return ev["eventType"] == eventType && fieldOf(ev, field) == value
	})
}

// fieldOf is a top-level string field, or appDefinition.id for "appId".
func fieldOf(ev object, field string) string {
	if field == "appDefinition.id" {
		def, _ := ev["appDefinition"].(map[string]any)
		s, _ := def["id"].(string)
		return s
	}
	s, _ := ev[field].(string)
	return s
}

// waitFor waits, generously, until the sink got an event.
func (s *callbackSink) waitFor(t *testing.T, eventType, field, value string) {
	t.Helper()
	testutil.Eventually(t, 30*time.Second, 20*time.Millisecond, func() error {
		if s.has(eventType, field, value) {
			return nil
		}
		return fmt.Errorf("no %s with %s=%s at %s; got %d events", eventType, field, value, s.srv.URL, len(s.events()))
	})
}

func subscriptionsPath(callbackURL string) string {
	return "/v2/eventSubscriptions?callbackUrl=" + url.QueryEscape(callbackURL)
}

// TestEventSubscriptionsOff: without --event-subscriber http_callback, as
// in Marathon by default, every /v2/eventSubscriptions request is a 400
// that says how to turn it on.
func TestEventSubscriptionsOff(t *testing.T) {
	h := newHarness(t)
	for _, method := range []string{http.MethodGet, http.MethodPost, http.MethodDelete} {
		e := expect[errorBody](t, h.do(method, subscriptionsPath("http://127.0.0.1:1/cb"), ""), http.StatusBadRequest)
		if e.Message != msgNoCallbacks {
			t.Errorf("%s: message %q", method, e.Message)
		}
	}
}

// TestEventSubscriptions: callbacks through the real handlers. A URL
// subscribed gets its subscribe_event and then every event (an
// api_post_event); a dead subscriber delays nobody; an unsubscribed URL
// gets neither its unsubscribe_event nor anything after it.
func TestEventSubscriptions(t *testing.T) {
	js := testutil.RunJetStream(t)
	bus := js.Bus(t)
	cfg := DefaultConfig()
	cfg.ID, cfg.EventSubscriber = "test", EventSubscriberHTTP
	cfg.Callbacks.Timeout, cfg.Callbacks.Retries = 2*time.Second, 0
	srv, err := New(cfg, bus, testutil.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	h := &harness{t: t, js: js, bus: bus, srv: srv}

	a, b := newCallbackSink(t), newCallbackSink(t)
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close() // nothing listens there any more

	ev := expect[object](t, h.do(http.MethodPost, subscriptionsPath(a.srv.URL), ""), http.StatusOK)
	if ev["eventType"] != "subscribe_event" || ev["callbackUrl"] != a.srv.URL || ev["clientIp"] == nil || ev["timestamp"] == nil {
		t.Errorf("subscribe answered %v", ev)
	}
	a.waitFor(t, "subscribe_event", "callbackUrl", a.srv.URL)
	expect[object](t, h.do(http.MethodPost, subscriptionsPath(dead.URL), ""), http.StatusOK)
	expect[object](t, h.do(http.MethodPost, subscriptionsPath(b.srv.URL), ""), http.StatusOK)
	expect[object](t, h.do(http.MethodPost, subscriptionsPath(b.srv.URL), ""), http.StatusOK) // again: still one
	list := expect[struct {
		CallbackURLs []string `json:"callbackUrls"`
	}](t, h.do(http.MethodGet, "/v2/eventSubscriptions", ""), http.StatusOK)
	want := []string{a.srv.URL, b.srv.URL, dead.URL}
	slices.Sort(want)
	if !slices.Equal(list.CallbackURLs, want) {
		t.Errorf("callbackUrls %v, want %v", list.CallbackURLs, want)
	}

	h.createApp(`{"id":"/called","cmd":"sleep 1"}`)
	a.waitFor(t, "api_post_event", "appDefinition.id", "/called")
	b.waitFor(t, "api_post_event", "appDefinition.id", "/called")

	ev = expect[object](t, h.do(http.MethodDelete, subscriptionsPath(a.srv.URL), ""), http.StatusOK)
	if ev["eventType"] != "unsubscribe_event" || ev["callbackUrl"] != a.srv.URL {
		t.Errorf("unsubscribe answered %v", ev)
	}
	b.waitFor(t, "unsubscribe_event", "callbackUrl", a.srv.URL)
	h.createApp(`{"id":"/called-again","cmd":"sleep 1"}`)
	b.waitFor(t, "api_post_event", "appDefinition.id", "/called-again")
	// b got both; what a got was decided with b's, so nothing more comes.
	if a.has("unsubscribe_event", "callbackUrl", a.srv.URL) || a.has("api_post_event", "appDefinition.id", "/called-again") {
		t.Errorf("an unsubscribed URL got events: %v", a.events())
	}
	list = expect[struct {
		CallbackURLs []string `json:"callbackUrls"`
	}](t, h.do(http.MethodGet, "/v2/eventSubscriptions", ""), http.StatusOK)
	if slices.Contains(list.CallbackURLs, a.srv.URL) || !slices.Contains(list.CallbackURLs, b.srv.URL) {
		t.Errorf("callbackUrls %v after unsubscribing %s", list.CallbackURLs, a.srv.URL)
	}

	// Bad callback URLs are Marathon's 422 on callbackUrl.
	for _, bad := range []string{"", "not a url", "ftp://example.com/cb", "/relative", "http://"} {
		e := expect[errorBody](t, h.do(http.MethodPost, subscriptionsPath(bad), ""), http.StatusUnprocessableEntity)
		if len(e.Details) != 1 || e.Details[0].Path != "/callbackUrl" || len(e.Details[0].Errors) != 1 {
			t.Errorf("%q: %+v", bad, e)
		}
	}
	expect[errorBody](t, h.do(http.MethodDelete, "/v2/eventSubscriptions", ""), http.StatusUnprocessableEntity)
}
