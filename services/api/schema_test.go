package api

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Marathon's JSON schema (the last it shipped, 1.7) checks what /v2/apps
// and /v2/groups answer. It lives outside the repository, in
// ../shared/marathon/schema; where that folder is absent the checks skip.
//
// The schema files say "$schema": "http://json-schema.org/schema#", which
// names no draft: they are read as draft 4 (their syntax). Group.json refers
// to "./AppDefinition.json" relative to its own id, a URL: the loader
// serves every such URL from the folder by file name (the files are stored
// as "<tag>__docs__...__schema__<Name>.json"), and any reference it cannot
// find there as an empty schema ({}: anything goes), logged, so that a
// missing file weakens the check instead of breaking it.

// marathonDir is ../shared/marathon beside the module root.
func marathonDir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "..", "shared", "marathon")
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found")
		}
		dir = parent
	}
}

// schemaLoader serves the schema folder's files by their base name.
type schemaLoader struct {
	t     testing.TB
	files map[string]string // "AppDefinition.json" -> path
}

func (l schemaLoader) Load(url string) (any, error) {
	name := url[strings.LastIndex(url, "/")+1:]
	name, _, _ = strings.Cut(name, "#")
	path, ok := l.files[name]
	if !ok {
		l.t.Logf("schema: %s is not in the schema folder; checking it as {}", url)
		return map[string]any{}, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	if m, ok := doc.(map[string]any); ok {
		m["$schema"] = "http://json-schema.org/draft-04/schema#"
	}
	return doc, nil
}

type marathonSchemas struct {
	app, group *jsonschema.Schema
	err        error
	missing    string
}

var (
	schemasOnce sync.Once
	schemas     marathonSchemas
)

// loadSchemas compiles AppDefinition.json and Group.json, or skips the
// test when the schema folder is absent.
func loadSchemas(t testing.TB) marathonSchemas {
	t.Helper()
	schemasOnce.Do(func() {
		dir := filepath.Join(marathonDir(t), "schema")
		entries, err := os.ReadDir(dir)
		if err != nil {
			schemas.missing = dir
			return
		}
		l := schemaLoader{t: t, files: map[string]string{}}
		for _, e := range entries {
			name := e.Name()
			if i := strings.LastIndex(name, "__"); i >= 0 {
				name = name[i+2:]
			}
			l.files[name] = filepath.Join(dir, e.Name())
		}
		c := jsonschema.NewCompiler()
		c.DefaultDraft(jsonschema.Draft4)
		c.UseLoader(l)
		base := "https://raw.githubusercontent.com/mesosphere/marathon/master/docs/docs/rest-api/public/api/v2/schema/"
		if schemas.app, err = c.Compile(base + "AppDefinition.json"); err != nil {
			schemas.err = err
			return
		}
		schemas.group, schemas.err = c.Compile(base + "Group.json")
	})
	if schemas.missing != "" {
		t.Skipf("skipping the schema check: Marathon's schema folder %s is absent", schemas.missing)
	}
	if schemas.err != nil {
		t.Fatalf("compile Marathon's schema: %v", schemas.err)
	}
	return schemas
}

// appStatusFields are what an app response adds to the definition: the
// schema describes definitions, so they are removed before the check.
var appStatusFields = []string{
	"tasksStaged", "tasksRunning", "tasksHealthy", "tasksUnhealthy", "deployments", "tasks",
	"lastTaskFailure", "taskStats", "readinessCheckResults",
}

// checkAppSchema validates an app as /v2/apps shows it against
// AppDefinition.json.
func checkAppSchema(t testing.TB, app any) {
	t.Helper()
	s := loadSchemas(t)
	v := roundTrip(t, app)
	if m, ok := v.(map[string]any); ok {
		for _, f := range appStatusFields {
			delete(m, f)
		}
	}
	if err := s.app.Validate(v); err != nil {
		t.Errorf("app does not match Marathon's AppDefinition schema: %v\n%s", err, mustJSON(t, v))
	}
}

// checkGroupSchema validates a group as /v2/groups shows it against
// Group.json. "pods" (which Marathon answers since 1.5, but the 1.7
// schema never listed) is removed first, at every level.
func checkGroupSchema(t testing.TB, group any) {
	t.Helper()
	s := loadSchemas(t)
	v := roundTrip(t, group)
	var strip func(any)
	strip = func(v any) {
		m, ok := v.(map[string]any)
		if !ok {
			return
		}
		delete(m, "pods")
		if gs, ok := m["groups"].([]any); ok {
			for _, g := range gs {
				strip(g)
			}
		}
		if as, ok := m["apps"].([]any); ok {
			for _, a := range as {
				if am, ok := a.(map[string]any); ok {
					for _, f := range appStatusFields {
						delete(am, f)
					}
				}
			}
		}
	}
	strip(v)
	if err := s.group.Validate(v); err != nil {
		t.Errorf("group does not match Marathon's Group schema: %v\n%s", err, mustJSON(t, v))
	}
}

func roundTrip(t testing.TB, v any) any {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestSchemaLoaderStubsMissingRefs(t *testing.T) {
	loadSchemas(t) // skips without the folder
	l := schemaLoader{t: t, files: map[string]string{}}
	doc, err := l.Load("https://example.com/schema/Missing.json")
	if err != nil || len(doc.(map[string]any)) != 0 {
		t.Errorf("Load(missing) = %v, %v; want {}", doc, err)
	}
}
