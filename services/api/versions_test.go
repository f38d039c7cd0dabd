package api

import (
	"net/http"
	"testing"

	"github.com/drover/drover/services/api/change"
)

func TestConformanceVersionsAndRollback(t *testing.T) {
	h := newHarness(t)
	h.createApp(`{"id":"/v","cmd":"one"}`)
	h.finishDeployments()
	first := h.getApp("/v")
	expect[change.Result](t, h.do(http.MethodPut, "/v2/apps/v", `{"cmd":"two"}`), http.StatusOK)
	h.finishDeployments()
	v := expect[struct{ Versions []string }](t, h.do(http.MethodGet, "/v2/apps/v/versions", ""), http.StatusOK)
	if len(v.Versions) != 2 || v.Versions[1] != first["version"] || v.Versions[0] <= v.Versions[1] {
		t.Fatalf("versions %v (first %v)", v.Versions, first["version"])
	}
	old := expect[object](t, h.do(http.MethodGet, "/v2/apps/v/versions/"+v.Versions[1], ""), http.StatusOK)
	if old["cmd"] != "one" || old["id"] != "/v" {
		t.Errorf("old version %v", old)
	}
	e := expect[errorBody](t, h.do(http.MethodGet, "/v2/apps/v/versions/2001-01-01T00:00:00.000Z", ""), http.StatusNotFound)
	if e.Message != "App '/v' does not exist in version 2001-01-01T00:00:00.000Z" {
		t.Errorf("message %q", e.Message)
	}
	expect[errorBody](t, h.do(http.MethodGet, "/v2/apps/nope/versions", ""), http.StatusNotFound)

	// Rollback: a body of id and version.
	res := expect[change.Result](t, h.do(http.MethodPut, "/v2/apps/v", `{"id":"/v","version":"`+v.Versions[1]+`"}`), http.StatusOK)
	app := h.getApp("/v")
	if app["cmd"] != "one" || app["version"] != res.Version {
		t.Errorf("after rollback %v", app)
	}
	// The first version's tasks are the ones to run again.
	if app["versionInfo"].(object)["lastConfigChangeAt"] != first["versionInfo"].(object)["lastConfigChangeAt"] {
		t.Errorf("rollback versionInfo %v, want lastConfigChangeAt %v", app["versionInfo"], first["versionInfo"])
	}
	expect[errorBody](t, h.do(http.MethodPut, "/v2/apps/v?force=true", `{"version":"2001-01-01T00:00:00.000Z"}`), http.StatusNotFound)
}

// TestVersionIndexFromHistory: a replica started later builds its version
// index from the apps bucket's history, deletes included.
func TestVersionIndexFromHistory(t *testing.T) {
	h := newHarness(t)
	h.createApp(`{"id":"/hist","cmd":"one"}`)
	expect[change.Result](t, h.do(http.MethodPut, "/v2/apps/hist?force=true", `{"cmd":"two"}`), http.StatusOK)
	expect[change.Result](t, h.do(http.MethodPut, "/v2/apps/hist?force=true", `{"instances":2}`), http.StatusOK)
	h.createApp(`{"id":"/gone","cmd":"x"}`)
	expect[change.Result](t, h.do(http.MethodDelete, "/v2/apps/gone", ""), http.StatusOK)
	want := expect[struct{ Versions []string }](t, h.do(http.MethodGet, "/v2/apps/hist/versions", ""), http.StatusOK).Versions

	later := newTestServer(t, h.js.Bus(t))
	got := expect[struct{ Versions []string }](t, serve(t, later, http.MethodGet, "/v2/apps/hist/versions", ""), http.StatusOK).Versions
	if len(got) != 3 || !equalJSON(t, got, want) {
		t.Errorf("versions on a later replica %v, want %v", got, want)
	}
	expect[errorBody](t, serve(t, later, http.MethodGet, "/v2/apps/gone/versions", ""), http.StatusNotFound)
	// Once created again, an app's history starts over.
	h.finishDeployments()
	h.createApp(`{"id":"/gone","cmd":"y"}`)
	if v := expect[struct{ Versions []string }](t, serve(t, later, http.MethodGet, "/v2/apps/gone/versions", ""), http.StatusOK).Versions; len(v) != 1 {
		t.Errorf("versions of a re-created app %v", v)
	}
}
