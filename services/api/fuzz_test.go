package api

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/drover/drover/pkg/marathon"
)

// The bodies of POST and PUT /v2/apps, PATCH /v2/apps and /v2/groups,
// whatever their bytes: decoded, normalised, merged into an existing app
// and validated as the handlers do, never a panic; what is accepted is a
// valid app under the id asked for.
func FuzzAppBody(f *testing.F) {
	for _, s := range []string{
		testDocker,
		`{"id":"/grp/web","cmd":"python3 -m http.server $PORT0","cpus":0.1,"mem":32,"instances":2,"portDefinitions":[{"port":0,"name":"http"}],
		  "healthChecks":[{"protocol":"HTTP","path":"/","portIndex":0}],"env":{"A":"1"},"labels":{"x":"y"},"dependencies":["../db"]}`,
		`{"instances":5}`, `{"id":"/web","version":"2026-01-02T03:04:05.000Z"}`, `{"cmd":null,"args":["a"]}`,
		`[{"id":"/a","cmd":"a"},{"id":"b","instances":0}]`,
		`{"id":"/prod","apps":[{"id":"web","cmd":"x"}],"groups":[{"id":"db","apps":[{"id":"pg","cmd":"y","dependencies":["/prod/web"]}]}],"dependencies":["/other"]}`,
		`{"id":"../../x","cmd":"x"}`, `{"id":"/x","cpus":"NaN"}`, `{"id":"/x","container":{"docker":{"parameters":[{"key":"publish","value":"a:b"}]}}}`,
		`{"id":"/x","cmd":"x","env":{"S":{"secret":"s"}}}`, `{"id":"/x","cmd":"x","readinessChecks":[{"protocol":"HTTP","portName":"p"}]}`,
		`{"id":"/` + strings.Repeat("a", 511) + `","cmd":"x"}`, `{"id":"/` + strings.Repeat("a/", 300) + `","cmd":"x"}`,
		`{"id":"/l","cmd":"x","healthChecks":[` + strings.Repeat(`{},`, 40) + `{}]}`,
		`{"id":"/l","cmd":"x","constraints":[` + strings.Repeat(`["hostname","UNIQUE"],`, 64) + `["a","LIKE","b"]]}`,
	} {
		f.Add([]byte(s))
	}
	prev := &marathon.App{}
	if err := json.Unmarshal([]byte(testDocker), prev); err != nil {
		f.Fatal(err)
	}
	if err := finishApp(prev, "/test-docker"); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		data = bytes.TrimSpace(data)
		if len(data) > 0 && data[0] == '[' {
			_, _ = decodeAppList(data)
		}
		if g, err := decodeGroupBody(data); err == nil {
			_, _ = g.target("/", "")
		}
		b, err := decodeAppBody(data)
		if err != nil {
			return
		}
		_, _ = b.rollbackVersion()
		id, err := normalizeAppID(b.app.ID)
		if err != nil {
			return
		}
		if len(id) > marathon.MaxIDLength {
			t.Fatalf("id of %d characters accepted", len(id))
		}
		if app, err := fresh(b, id); err == nil {
			if app.ID != id || marathon.Validate(app) != nil {
				t.Fatalf("accepted %s as %s: %v", data, app.ID, marathon.Validate(app))
			}
			if errs := marathon.ValidateSizes(app); errs != nil {
				t.Fatalf("accepted %s past a list limit: %v", data, errs)
			}
		}
		prevCopy := *prev
		if app, err := merged(&prevCopy, b, id); err == nil {
			_ = marathon.Validate(app)
		}
	})
}
