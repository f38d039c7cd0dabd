package api

import (
	"fmt"
	"net/http"
	"testing"
)

// TestConformanceConcurrentUpdates: two replicas on one NATS; an app
// created through one is readable through the other at once, and
// concurrent partial updates through both lose nothing: each one answered
// 200 shows in the final app, the others were refused with 409.
func TestConformanceConcurrentUpdates(t *testing.T) {
	h := newHarness(t)
	other := newTestServer(t, h.js.Bus(t))
	h.createApp(`{"id":"/shared","cmd":"x"}`)
	if rec := serve(t, other, http.MethodGet, "/v2/apps/shared", ""); rec.Code != http.StatusOK {
		t.Fatalf("the other replica does not see the app at once: %d %s", rec.Code, rec.Body.String())
	}
	const writers = 8
	type outcome struct {
		label string
		code  int
	}
	results := make(chan outcome, writers)
	for i := range writers {
		srv := h.srv
		if i%2 == 1 {
			srv = other
		}
		go func() {
			label := fmt.Sprintf("w%d", i)
			rec := serve(t, srv, http.MethodPut, "/v2/apps/shared?force=true", `{"labels":{"`+label+`":"x"},"env":{"`+label+`":"y"}}`)
			results <- outcome{label, rec.Code}
		}()
	}
	var applied []string
	for range writers {
		r := <-results
		switch r.code {
		case http.StatusOK:
			applied = append(applied, r.label)
		case http.StatusConflict:
		default:
			t.Errorf("%s: status %d", r.label, r.code)
		}
	}
	app := h.getApp("/shared")
	env := app["env"].(object)
	// Each PUT replaces labels and env (a partial update replaces the
	// fields it names): the last one applied wins, and each one applied
	// was applied whole, after the others.
	if len(applied) == 0 {
		t.Fatal("no update applied")
	}
	t.Logf("%d of %d concurrent updates applied, the others refused with 409", len(applied), writers)
	labels := app["labels"].(object)
	if len(labels) != 1 || len(env) != 1 {
		t.Errorf("labels %v env %v: an update was mixed with another", labels, env)
	}
	versions := expect[struct{ Versions []string }](t, serve(t, other, http.MethodGet, "/v2/apps/shared/versions", ""), http.StatusOK).Versions
	if len(versions) != 1+len(applied) {
		t.Errorf("%d versions for %d updates applied: an update was lost (%v)", len(versions), len(applied), versions)
	}
}
