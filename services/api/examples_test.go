package api

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drover/drover/pkg/marathon"
	"github.com/drover/drover/services/api/change"
)

// exampleDir holds our own example apps, which pkg/marathon's
// TestMarathonExamples also reads (and documents); exampleRefusals says where
// and why each invalid-*.json is refused.
var (
	exampleDir      = filepath.Join("..", "..", "pkg", "marathon", "testdata", "apps")
	exampleRefusals = filepath.Join("..", "..", "pkg", "marathon", "testdata", "refusals.json")
)

// TestMarathonExamplesThroughAPI sends each example to the endpoint it is
// written for, by its name: app-*.json to POST /v2/apps (201, the app reads
// back under its id and matches the app schema), apps-*.json to PUT
// /v2/apps (200, each app reads back), group-*.json to PUT /v2/groups (200,
// every app reads back, the tree matches the group schema), patch-*.json as
// a PATCH of an app created for it (200, the patched fields change, the
// others stay), and invalid-*.json to POST /v2/apps: a 422 naming the field
// path and message of refusals.json.
func TestMarathonExamplesThroughAPI(t *testing.T) {
	entries, err := os.ReadDir(exampleDir)
	if err != nil {
		t.Fatal(err)
	}
	var refusals map[string]struct{ Path, Message string }
	data, err := os.ReadFile(exampleRefusals)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &refusals); err != nil {
		t.Fatalf("%s: %v", exampleRefusals, err)
	}
	ran := 0
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".json") {
			continue
		}
		ran++
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(exampleDir, name))
			if err != nil {
				t.Fatal(err)
			}
			h := newHarness(t)
			body := string(data)
			switch kind, _, _ := strings.Cut(name, "-"); kind {
			case "invalid":
				want, ok := refusals[name]
				if !ok {
					t.Fatalf("no refusal for %s in %s", name, exampleRefusals)
				}
				e := expect[errorBody](t, h.do(http.MethodPost, "/v2/apps", body), http.StatusUnprocessableEntity)
				if !e.has(want.Path, want.Message) {
					t.Errorf("422 body %+v, want %s: %q", e, want.Path, want.Message)
				}
			case "patch":
				var patch object
				if err := json.Unmarshal(data, &patch); err != nil {
					t.Fatal(err)
				}
				id := patch["id"].(string)
				h.createApp(`{"id":"` + id + `","cmd":"sleep 1"}`)
				expect[change.Result](t, h.do(http.MethodPatch, "/v2/apps"+id+"?force=true", body), http.StatusOK)
				a := h.getApp(id)
				for k, v := range patch {
					if !equalJSON(t, a[k], v) {
						t.Errorf("patched %s = %v, want %v", k, a[k], v)
					}
				}
				if a["cmd"] != "sleep 1" {
					t.Errorf("PATCH changed cmd: %v", a["cmd"])
				}
				checkAppSchema(t, a)
			case "apps":
				var apps []struct{ ID string }
				if err := json.Unmarshal(data, &apps); err != nil {
					t.Fatal(err)
				}
				expect[change.Result](t, h.do(http.MethodPut, "/v2/apps", body), http.StatusOK)
				for _, a := range apps {
					checkAppSchema(t, h.getApp(a.ID))
				}
			case "group":
				expect[change.Result](t, h.do(http.MethodPut, "/v2/groups", body), http.StatusOK)
				g := expect[object](t, h.do(http.MethodGet, "/v2/groups", ""), http.StatusOK)
				if len(groupAppIDs(g)) == 0 {
					t.Errorf("no app in the groups: %v", g)
				}
				for _, id := range groupAppIDs(g) {
					checkAppSchema(t, h.getApp(id))
				}
				checkGroupSchema(t, g)
			case "app":
				app := expect[object](t, h.do(http.MethodPost, "/v2/apps", body), http.StatusCreated)
				id, _ := app["id"].(string)
				if norm, err := marathon.NormalizeID(id, "/"); err != nil || norm != id {
					t.Errorf("id %v: normalised %q, %v", app["id"], norm, err)
				}
				checkAppSchema(t, app)
				checkAppSchema(t, h.getApp(id))
			default:
				t.Fatalf("%s: a name must start with app-, apps-, group-, patch- or invalid-", name)
			}
		})
	}
	if ran == 0 {
		t.Fatalf("no example in %s", exampleDir)
	}
}

// groupAppIDs are the ids of the apps of a group tree, at every level.
func groupAppIDs(g object) []string {
	var ids []string
	for _, a := range asList(g["apps"]) {
		if m, ok := a.(object); ok {
			if id, ok := m["id"].(string); ok {
				ids = append(ids, id)
			}
		}
	}
	for _, sub := range asList(g["groups"]) {
		if m, ok := sub.(object); ok {
			ids = append(ids, groupAppIDs(m)...)
		}
	}
	return ids
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}
