package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drover/drover/pkg/events"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// testdata/schema/marathon-v2.json is our own JSON schema (draft 2020-12)
// of what Marathon clients read from /v2: an app with its status, an app
// definition (a version), a group and a task. Its objects are closed, so a
// field of the wrong type, a missing one or an unknown one fails the check.

const schemaFile = "marathon-v2.json"

type v2Schemas struct {
	app, appDefinition, group, task *jsonschema.Schema
	err                             error
}

var (
	schemasOnce sync.Once
	schemas     v2Schemas
)

// loadSchemas compiles the definitions of testdata/schema/marathon-v2.json.
func loadSchemas(t testing.TB) v2Schemas {
	t.Helper()
	schemasOnce.Do(func() { schemas = compileSchemas() })
	if schemas.err != nil {
		t.Fatalf("compile %s: %v", schemaFile, schemas.err)
	}
	return schemas
}

func compileSchemas() (s v2Schemas) {
	data, err := os.ReadFile(filepath.Join("testdata", "schema", schemaFile))
	if err != nil {
		return v2Schemas{err: err}
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return v2Schemas{err: err}
	}
	m, _ := doc.(map[string]any)
	id, _ := m["$id"].(string)
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource(id, doc); err != nil {
		return v2Schemas{err: err}
	}
	for _, d := range []struct {
		name string
		to   **jsonschema.Schema
	}{{"app", &s.app}, {"appDefinition", &s.appDefinition}, {"group", &s.group}, {"task", &s.task}} {
		if *d.to, err = c.Compile(id + "#/$defs/" + d.name); err != nil {
			return v2Schemas{err: err}
		}
	}
	return s
}

// checkAppSchema validates an app as /v2/apps shows it (definition and
// status).
func checkAppSchema(t testing.TB, app any) {
	t.Helper()
	checkSchema(t, "app", loadSchemas(t).app, app)
}

// checkAppDefinitionSchema validates an app definition, as
// /v2/apps/{id}/versions/{version} shows it.
func checkAppDefinitionSchema(t testing.TB, app any) {
	t.Helper()
	checkSchema(t, "appDefinition", loadSchemas(t).appDefinition, app)
}

// checkGroupSchema validates a group as /v2/groups shows it, with its apps
// and groups.
func checkGroupSchema(t testing.TB, group any) {
	t.Helper()
	checkSchema(t, "group", loadSchemas(t).group, group)
}

// checkTaskSchema validates a task as /v2/tasks and /v2/apps/{id}/tasks
// show it.
func checkTaskSchema(t testing.TB, task any) {
	t.Helper()
	checkSchema(t, "task", loadSchemas(t).task, task)
}

func checkSchema(t testing.TB, name string, s *jsonschema.Schema, v any) {
	t.Helper()
	if err := schemaError(t, s, v); err != nil {
		t.Errorf("answer does not match the %s schema: %#v\n%s", name, err, mustJSON(t, v))
	}
}

// schemaError validates v, as its JSON encoding, against s.
func schemaError(t testing.TB, s *jsonschema.Schema, v any) error {
	t.Helper()
	return s.Validate(roundTrip(t, v))
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

// TestSchemaRefusesBrokenAnswers takes real answers (an app with a task and
// its health, its group, a version), checks that they pass, then breaks
// one field of a copy at a time: each broken copy must fail.
func TestSchemaRefusesBrokenAnswers(t *testing.T) {
	s := loadSchemas(t)
	h := newHarness(t)
	h.createApp(`{"id":"/grp/web","cmd":"./web $PORT0","instances":2,"healthChecks":[{"protocol":"HTTP","path":"/"}],
		"container":{"docker":{"image":"httpd:2.4"}},"portDefinitions":[{"port":0,"name":"http"}]}`)
	now := time.Now()
	h.putInstance(events.Instance{TaskID: "grp_web.instance-1._app.1", AppID: "/grp/web", Host: "h1", AgentID: "a1",
		State: events.TaskRunning, StagedAt: now, StartedAt: now, HostPorts: []int{31000}, IPAddress: "10.0.0.1",
		Health: []events.HealthResult{{Alive: true, FirstSuccess: now, LastSuccess: now}}})
	waitFor(t, func() bool { return h.getApp("/grp/web")["tasksHealthy"] == 1.0 })
	app := expect[struct{ App object }](t, h.do(http.MethodGet, "/v2/apps/grp/web?embed=app.tasks", ""), http.StatusOK).App
	group := expect[object](t, h.do(http.MethodGet, "/v2/groups", ""), http.StatusOK)
	versions := expect[struct{ Versions []string }](t, h.do(http.MethodGet, "/v2/apps/grp/web/versions", ""), http.StatusOK)
	version := expect[object](t, h.do(http.MethodGet, "/v2/apps/grp/web/versions/"+versions.Versions[0], ""), http.StatusOK)

	answers := []struct {
		name   string
		schema *jsonschema.Schema
		answer any
		breaks map[string]any // JSON pointer -> the value put there; deleteField removes it
	}{
		{"app", s.app, app, map[string]any{
			"/instances":                          "2",
			"/cpus":                               "0.5",
			"/mem":                                nil,
			"/id":                                 "grp/web",
			"/container/docker/image":             5,
			"/container/docker/network":           "OVERLAY",
			"/portDefinitions/0/port":             "http",
			"/healthChecks/0/protocol":            "PING",
			"/versionInfo/lastScalingAt":          1,
			"/tasksRunning":                       deleteField,
			"/deployments":                        "none",
			"/tasks/0/state":                      "RUNNING",
			"/tasks/0/host":                       []any{"h1"},
			"/tasks/0/ports/0":                    "31000",
			"/tasks/0/healthCheckResults/0/alive": "yes",
			"/tasks/0/healthCheckResults/0/instanceId": deleteField,
			"/unknownField": true,
		}},
		{"appDefinition", s.appDefinition, version, map[string]any{
			"/instances":   2.5,
			"/labels":      []any{"a"},
			"/tasksStaged": 0,
		}},
		{"group", s.group, group, map[string]any{
			"/version":              deleteField,
			"/groups/0/id":          7,
			"/groups/0/apps/0/cpus": "1",
			"/dependencies":         "none",
			"/owner":                "me",
		}},
	}
	for _, a := range answers {
		if err := schemaError(t, a.schema, a.answer); err != nil {
			t.Fatalf("%s: the unbroken answer fails: %v\n%s", a.name, err, mustJSON(t, a.answer))
		}
		for ptr, value := range a.breaks {
			broken := roundTrip(t, a.answer)
			setPointer(t, broken, ptr, value)
			if err := schemaError(t, a.schema, broken); err == nil {
				t.Errorf("%s with %s = %v passes the schema", a.name, ptr, value)
			}
		}
	}
}

// deleteField, as the value of a break, removes the field.
var deleteField = &struct{}{}

// setPointer sets (or, given deleteField, removes) what a JSON pointer
// names in a decoded JSON value; the parent must exist.
func setPointer(t *testing.T, doc any, ptr string, value any) {
	t.Helper()
	parts := strings.Split(strings.TrimPrefix(ptr, "/"), "/")
	cur := doc
	for i, p := range parts {
		last := i == len(parts)-1
		switch c := cur.(type) {
		case map[string]any:
			if last {
				if value == deleteField {
					delete(c, p)
				} else {
					c[p] = value
				}
				return
			}
			cur = c[p]
		case []any:
			n, err := strconv.Atoi(p)
			if err != nil || n >= len(c) {
				t.Fatalf("%s: no element %s", ptr, p)
			}
			if last {
				c[n] = value
				return
			}
			cur = c[n]
		default:
			t.Fatalf("%s: %s is not in the answer", ptr, p)
		}
	}
}
