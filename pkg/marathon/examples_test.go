package marathon

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// exampleExpectations says what Marathon does with each example under
// ../shared/marathon/apps; a file not listed must be a valid app.
var exampleExpectations = map[string]struct {
	skip string // why the file is not an app definition to POST
	path string // for a refused file: a path it must be refused on
	msg  string
}{
	// The kitchen-sink doc example sets both cmd and args (and ipAddress with
	// portDefinitions): Marathon answers 422.
	"docs__docs__rest-api__public__api__v2__examples__app.json": {path: "/", msg: msgCmdArgs},
	"docs__docs__rest-api__public__api__v2__examples__app_patch.json": {
		skip: "a PATCH body (id and instances only), not an app definition"},
}

// moduleRoot is the directory of go.mod above the working directory.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found")
		}
		dir = parent
	}
}

func TestMarathonExamples(t *testing.T) {
	dir := filepath.Join(moduleRoot(t), "..", "shared", "marathon", "apps")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Skipf("Marathon examples not available (%v)", err)
	}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		t.Run(e.Name(), func(t *testing.T) {
			want := exampleExpectations[e.Name()]
			if want.skip != "" {
				t.Skip(want.skip)
			}
			data, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			apps := exampleApps(t, data, "/")
			if len(apps) == 0 {
				t.Fatal("no app in the file")
			}
			for _, a := range apps {
				errs := Validate(a)
				switch {
				case want.path == "" && errs != nil:
					t.Errorf("%s: Validate = %v, want valid", a.ID, errs)
				case want.path != "" && !hasFieldError(errs, want.path, want.msg):
					t.Errorf("%s: Validate = %v, want %s: %q", a.ID, errs, want.path, want.msg)
				}
			}
		})
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
