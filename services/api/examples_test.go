package api

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drover/drover/pkg/marathon"
)

// TestMarathonExamplesThroughAPI sends each of Marathon's example bodies in
// ../shared/marathon/apps to the endpoint it is written for: what Marathon
// accepts is accepted, app.json (cmd and args both set) is a 422 on "/".
func TestMarathonExamplesThroughAPI(t *testing.T) {
	dir := filepath.Join(marathonDir(t), "apps")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Skipf("skipping: Marathon's examples folder %s is absent", dir)
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		t.Run(e.Name(), func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			h := newHarness(t)
			body := string(data)
			switch {
			case strings.HasSuffix(e.Name(), "examples__app.json"):
				e := expect[errorBody](t, h.do(http.MethodPost, "/v2/apps", body), http.StatusUnprocessableEntity)
				if !e.has("/", "AppDefinition must either contain one of 'cmd' or 'args', and/or a 'container'.") {
					t.Errorf("422 body %+v", e)
				}
			case strings.HasSuffix(e.Name(), "app_patch.json"):
				var b struct{ ID string }
				b = expect[struct{ ID string }](t, h.do(http.MethodPost, "/v2/apps", `{"id":"/foo","cmd":"sleep 1"}`), http.StatusCreated)
				expect[changeResult](t, h.do(http.MethodPatch, "/v2/apps"+b.ID+"?force=true", body), http.StatusOK)
				if a := h.getApp("/foo"); a["instances"] != 2.0 || a["cmd"] != "sleep 1" {
					t.Errorf("patched %v", a)
				}
			case strings.HasSuffix(e.Name(), "apps_create.json"):
				expect[changeResult](t, h.do(http.MethodPut, "/v2/apps", body), http.StatusOK)
				for _, id := range []string{"/test/sleep60", "/test/sleep120"} {
					checkAppSchema(t, h.getApp(id))
				}
			case strings.HasSuffix(e.Name(), "group.json"):
				expect[changeResult](t, h.do(http.MethodPut, "/v2/groups", body), http.StatusOK)
				g := expect[object](t, h.do(http.MethodGet, "/v2/groups", ""), http.StatusOK)
				if len(g["groups"].([]any)) == 0 {
					t.Errorf("no groups: %v", g)
				}
				checkGroupSchema(t, g)
			default:
				app := expect[object](t, h.do(http.MethodPost, "/v2/apps", body), http.StatusCreated)
				if _, err := marathon.NormalizeID(app["id"].(string), "/"); err != nil {
					t.Errorf("id %v: %v", app["id"], err)
				}
			}
		})
	}
}
