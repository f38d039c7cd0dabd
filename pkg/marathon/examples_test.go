package marathon

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The example apps in testdata/apps are our own definitions, covering what
// Marathon users write: docker BRIDGE, HOST and USER networks (and the
// networks list), port mappings and port definitions, health checks of every
// protocol, readiness checks, constraints of every operator, volumes, env,
// labels, fetch and uris, upgrade and unreachable strategies, kill
// selection, an app list with dependencies, a nested group and a plain cmd
// app. services/api posts the same files to its endpoints.
//
// A file's name says what it is:
//
//	app-*.json      one valid app (POST /v2/apps)
//	apps-*.json     a list of valid apps (PUT /v2/apps)
//	group-*.json    a group with its apps and groups (PUT /v2/groups)
//	patch-*.json    a PATCH body, not a whole definition
//	invalid-*.json  one app Marathon refuses; testdata/refusals.json names
//	                the field path and message it is refused with

// exampleRefusal is where and why an invalid example is refused.
type exampleRefusal struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

// exampleFiles lists testdata/apps and reads testdata/refusals.json; it
// fails when an invalid-*.json has no refusal or a refusal no file.
func exampleFiles(t *testing.T) (dir string, names []string, refusals map[string]exampleRefusal) {
	t.Helper()
	dir = filepath.Join("testdata", "apps")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join("testdata", "refusals.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &refusals); err != nil {
		t.Fatalf("refusals.json: %v", err)
	}
	seen := map[string]bool{}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".json") {
			continue
		}
		names = append(names, name)
		seen[name] = true
		if _, ok := refusals[name]; strings.HasPrefix(name, "invalid-") != ok {
			t.Errorf("%s: invalid-*.json files and refusals.json entries must match", name)
		}
	}
	for name := range refusals {
		if !seen[name] {
			t.Errorf("refusals.json names %s, which is not in %s", name, dir)
		}
	}
	if len(names) == 0 {
		t.Fatalf("no example in %s", dir)
	}
	return dir, names, refusals
}

func TestMarathonExamples(t *testing.T) {
	dir, names, refusals := exampleFiles(t)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			if strings.HasPrefix(name, "patch-") {
				t.Skip("a PATCH body (id and the fields to change), not an app definition")
			}
			data, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			apps := exampleApps(t, data, "/")
			if len(apps) == 0 {
				t.Fatal("no app in the file")
			}
			want, refused := refusals[name]
			for _, a := range apps {
				errs := Validate(a)
				switch {
				case !refused && errs != nil:
					t.Errorf("%s: Validate = %v, want valid", a.ID, errs)
				case refused && !hasFieldError(errs, want.Path, want.Message):
					t.Errorf("%s: Validate = %v, want %s: %q", a.ID, errs, want.Path, want.Message)
				}
				if !refused {
					checkExampleRoundTrip(t, a)
				}
			}
		})
	}
}

// checkExampleRoundTrip encodes an app (defaults applied), decodes it,
// applies the defaults again and encodes it: both encodings must match, and
// the decoded app must still be valid.
func checkExampleRoundTrip(t *testing.T, a *App) {
	t.Helper()
	first, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	var b App
	if err := json.Unmarshal(first, &b); err != nil {
		t.Fatalf("%s: decode own encoding: %v", a.ID, err)
	}
	ApplyDefaults(&b)
	second, err := json.Marshal(&b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first, second) {
		t.Errorf("%s: round trip changed the app:\n%s\n%s", a.ID, first, second)
	}
	if errs := Validate(&b); errs != nil {
		t.Errorf("%s: round-tripped app invalid: %v", a.ID, errs)
	}
}

// exampleApps reads an app, an array of apps (PUT /v2/apps) or a group
// (with its apps and groups), normalising ids and applying defaults.
func exampleApps(t *testing.T, data []byte, base string) []*App {
	t.Helper()
	data = bytes.TrimSpace(data)
	if len(data) > 0 && data[0] == '[' {
		var list []json.RawMessage
		if err := json.Unmarshal(data, &list); err != nil {
			t.Fatal(err)
		}
		var apps []*App
		for _, raw := range list {
			apps = append(apps, exampleApps(t, raw, base)...)
		}
		return apps
	}
	var group struct {
		ID     string            `json:"id"`
		Apps   []json.RawMessage `json:"apps"`
		Groups []json.RawMessage `json:"groups"`
	}
	if err := json.Unmarshal(data, &group); err != nil {
		t.Fatal(err)
	}
	if group.Apps != nil || group.Groups != nil {
		gid := base
		if group.ID != "" && group.ID != "/" {
			var err error
			if gid, err = NormalizeID(group.ID, base); err != nil {
				t.Fatalf("group id: %v", err)
			}
		}
		var apps []*App
		for _, raw := range append(group.Apps, group.Groups...) {
			apps = append(apps, exampleApps(t, raw, gid)...)
		}
		return apps
	}
	var a App
	if err := json.Unmarshal(data, &a); err != nil {
		t.Fatalf("decode: %v", err)
	}
	id, err := NormalizeID(a.ID, base)
	if err != nil {
		t.Fatalf("id: %v", err)
	}
	a.ID = id
	ApplyDefaults(&a)
	return []*App{&a}
}
