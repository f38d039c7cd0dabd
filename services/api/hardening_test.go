package api

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/drover/drover/internal/testutil"
)

// An app id past NATS' 4,096-byte control line used to make NATS close the
// api's connection for good: every /v2 route then answered 503. Such ids,
// in every place a client gives one, are 422 on /id, and the api serves on.
func TestLongIDsAreRefusedAndTheAPIServesOn(t *testing.T) {
	h := newHarness(t)
	long := "/" + strings.Repeat("a", 4100)
	// An id in a URL that cannot be an app's is an app that does not
	// exist, as for any other invalid id there.
	for _, m := range []string{http.MethodPut, http.MethodPatch, http.MethodGet, http.MethodDelete} {
		expect[errorBody](t, h.do(m, "/v2/apps"+long, `{"cmd":"sleep 1"}`), http.StatusNotFound)
	}
	for _, c := range []struct{ method, path, body, errPath string }{
		{http.MethodPost, "/v2/apps", fmt.Sprintf(`{"id":%q,"cmd":"sleep 1"}`, long), "/id"},
		{http.MethodPut, "/v2/apps", fmt.Sprintf(`[{"id":%q,"cmd":"sleep 1"}]`, long), "/0/id"},
		{http.MethodPost, "/v2/groups", fmt.Sprintf(`{"id":"/g","apps":[{"id":%q,"cmd":"sleep 1"}]}`, long), ""},
		{http.MethodPut, "/v2/groups" + long, `{"apps":[{"id":"a","cmd":"sleep 1"}]}`, ""},
		// 512 characters is the limit: one more is refused.
		{http.MethodPost, "/v2/apps", fmt.Sprintf(`{"id":"/%s","cmd":"sleep 1"}`, strings.Repeat("b", 512)), "/id"},
	} {
		rec := h.do(c.method, c.path, c.body)
		e := expect[errorBody](t, rec, http.StatusUnprocessableEntity)
		if c.errPath != "" && !e.has(c.errPath, "must not be longer than 512 characters") {
			t.Errorf("%s %.40s: details %+v, want %s too long", c.method, c.path, e.Details, c.errPath)
		}
		if !strings.Contains(rec.Body.String(), "must not be longer than 512 characters") {
			t.Errorf("%s %.40s: %s", c.method, c.path, rec.Body.String())
		}
	}
	expect[object](t, h.do(http.MethodGet, "/v2/apps", ""), http.StatusOK)
	if rec := h.do(http.MethodGet, "/ping", ""); rec.Code != http.StatusOK {
		t.Errorf("ping %d", rec.Code)
	}
	// The longest id allowed is written and read back.
	ok := "/" + strings.Repeat("c", 511)
	h.createApp(fmt.Sprintf(`{"id":%q,"cmd":"sleep 1"}`, ok))
	expect[object](t, h.do(http.MethodGet, "/v2/apps"+ok, ""), http.StatusOK)
}

// /ping answers 503 while the api cannot serve: its NATS connection closed.
func TestPingUnavailableWhenNATSIsClosed(t *testing.T) {
	js := testutil.RunJetStream(t)
	bus := js.Bus(t)
	srv := newTestServer(t, bus)
	if rec := serve(t, srv, http.MethodGet, "/ping", ""); rec.Code != http.StatusOK {
		t.Fatalf("ping %d before closing", rec.Code)
	}
	bus.JS.Conn().Close()
	for _, m := range []string{http.MethodGet, http.MethodHead} {
		if rec := serve(t, srv, m, "/ping", ""); rec.Code != http.StatusServiceUnavailable {
			t.Errorf("%s /ping %d after the connection closed, want 503", m, rec.Code)
		}
	}
}
