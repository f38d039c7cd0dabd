package marathon

import (
	"fmt"
	"reflect"
	"slices"
	"testing"
)

// validationCase is one app definition and the error Validate must report
// for it, after ApplyDefaults; path "" means the app is valid.
type validationCase struct {
	name string
	js   string
	path string
	msg  string
}

func runValidationCases(t *testing.T, cases []validationCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			a := decodeApp(t, tt.js)
			ApplyDefaults(a)
			errs := Validate(a)
			if tt.path == "" {
				if errs != nil {
					t.Fatalf("Validate = %v, want valid", errs)
				}
				return
			}
			if !hasFieldError(errs, tt.path, tt.msg) {
				t.Fatalf("Validate = %v, want %s: %q", errs, tt.path, tt.msg)
			}
		})
	}
}

func hasFieldError(errs []FieldError, path, msg string) bool {
	for _, e := range errs {
		if e.Path == path && slices.Contains(e.Errors, msg) {
			return true
		}
	}
	return false
}

func TestValidateCore(t *testing.T) {
	runValidationCases(t, []validationCase{
		{name: "cmd only", js: `{"id":"/a","cmd":"sleep 1"}`},
		{name: "args only", js: `{"id":"/a","args":["sleep","1"]}`},
		{name: "container only", js: `{"id":"/a","container":{"docker":{"image":"httpd"}}}`},
		{name: "container and args", js: `{"id":"/a","args":["-x"],"container":{"docker":{"image":"httpd"}}}`},
		{name: "nested id", js: `{"id":"/prod/eu/web-1","cmd":"x"}`},

		{name: "cmd and args", js: `{"id":"/a","cmd":"sleep 1","args":["sleep","1"]}`, path: "/", msg: msgCmdArgs},
		{name: "cmd and args with container", js: `{"id":"/a","cmd":"x","args":["y"],"container":{"docker":{"image":"i"}}}`,
			path: "/", msg: msgCmdArgs},
		{name: "nothing to run", js: `{"id":"/a"}`, path: "/", msg: msgCmdArgs},
		{name: "empty cmd", js: `{"id":"/a","cmd":"","args":["x"]}`, path: "/cmd", msg: msgNotEmpty},

		{name: "relative id", js: `{"id":"a","cmd":"x"}`, path: "/id", msg: msgIDRelative},
		{name: "upper case id", js: `{"id":"/Web","cmd":"x"}`, path: "/id", msg: msgIDPattern},
		{name: "reserved id", js: `{"id":"/web/versions","cmd":"x"}`, path: "/id", msg: msgIDReserved},
		{name: "root id", js: `{"id":"/","cmd":"x"}`, path: "/id", msg: msgIDEmpty},
		{name: "dotted id", js: `{"id":"/a/../b","cmd":"x"}`, path: "/id", msg: msgNotCanonical},
		{name: "bad dependency", js: `{"id":"/a","cmd":"x","dependencies":["/ok","/Bad"]}`,
			path: "/dependencies(1)", msg: msgIDPattern},

		{name: "cpus minimum", js: `{"id":"/a","cmd":"x","cpus":0.001}`},
		{name: "cpus too small", js: `{"id":"/a","cmd":"x","cpus":0}`, path: "/cpus", msg: "got 0.0, expected 0.001 or more"},
		{name: "negative mem", js: `{"id":"/a","cmd":"x","mem":-1}`, path: "/mem", msg: "got -1.0, expected 0.0 or more"},
		{name: "negative disk", js: `{"id":"/a","cmd":"x","disk":-0.5}`, path: "/disk", msg: "got -0.5, expected 0.0 or more"},
		{name: "gpus", js: `{"id":"/a","cmd":"x","gpus":1}`, path: "/", msg: msgFeatureGPUs},
		{name: "zero instances", js: `{"id":"/a","cmd":"x","instances":0}`},
		{name: "negative instances", js: `{"id":"/a","cmd":"x","instances":-1}`, path: "/instances", msg: "got -1, expected 0 or more"},
		{name: "backoff factor", js: `{"id":"/a","cmd":"x","backoffFactor":0.5}`, path: "/backoffFactor", msg: "got 0.5, expected 1.0 or more"},
		{name: "negative backoff", js: `{"id":"/a","cmd":"x","backoffSeconds":-1}`, path: "/backoffSeconds", msg: "got -1.0, expected 0.0 or more"},
		{name: "negative max delay", js: `{"id":"/a","cmd":"x","maxLaunchDelaySeconds":-1}`,
			path: "/maxLaunchDelaySeconds", msg: "got -1.0, expected 0.0 or more"},

		{name: "executor", js: `{"id":"/a","cmd":"x","executor":"//cmd"}`},
		{name: "bad executor", js: `{"id":"/a","cmd":"x","executor":"/a//b"}`, path: "/executor",
			msg: fmt.Sprintf("must fully match regular expression '%s'", executorPattern)},
		{name: "kill selection", js: `{"id":"/a","cmd":"x","killSelection":"RANDOM"}`, path: "/killSelection",
			msg: "is not one of (YOUNGEST_FIRST,OLDEST_FIRST)"},
		{name: "secrets", js: `{"id":"/a","cmd":"x","secrets":{"s":{"source":"/x"}}}`, path: "/secrets", msg: msgFeatureSecrets},
		{name: "env secret", js: `{"id":"/a","cmd":"x","env":{"P":{"secret":"s"}}}`, path: "/env", msg: msgEnvSecretRefs},
		{name: "env secret undefined", js: `{"id":"/a","cmd":"x","env":{"P":{"secret":"s"}}}`, path: "/env/P/secret",
			msg: "references an undefined secret"},
		{name: "fetch", js: `{"id":"/a","cmd":"x","fetch":[{"uri":"http://x/y.tgz","extract":true}]}`},
		{name: "fetch without uri", js: `{"id":"/a","cmd":"x","fetch":[{"extract":true}]}`, path: "/fetch(0)/uri", msg: msgNotEmpty},
		{name: "uris and fetch", js: `{"id":"/a","cmd":"x","uris":["http://a"],"fetch":[{"uri":"http://b"}]}`,
			path: "/uris", msg: "may not be set in conjunction with fetch"},
		{name: "empty roles", js: `{"id":"/a","cmd":"x","acceptedResourceRoles":[]}`, path: "/acceptedResourceRoles", msg: msgNotEmpty},
		{name: "residency", js: `{"id":"/a","cmd":"x","residency":{}}`, path: "/", msg: "App must contain persistent volumes and define residency"},
		{name: "migration labels", js: `{"id":"/a","cmd":"x","labels":{"DCOS_MIGRATION_API_VERSION":"v1"}}`, path: "/",
			msg: "DCOS_PACKAGE_FRAMEWORK_NAME and DCOS_MIGRATION_API_PATH must be defined when using DCOS_MIGRATION_API_VERSION"},
	})
}

func TestValidateGroupsErrorsByPath(t *testing.T) {
	a := decodeApp(t, `{"id":"/a","cmd":"x","args":["y"],"gpus":1,"cpus":-1}`)
	ApplyDefaults(a)
	errs := Validate(a)
	want := []FieldError{
		{Path: "/", Errors: []string{msgCmdArgs, msgFeatureGPUs}},
		{Path: "/cpus", Errors: []string{"got -1.0, expected 0.001 or more"}},
	}
	if fmt.Sprint(errs) != fmt.Sprint(want) {
		t.Errorf("Validate = %v, want %v", errs, want)
	}
}

func TestValidateNil(t *testing.T) {
	if errs := Validate(nil); len(errs) != 1 {
		t.Errorf("Validate(nil) = %v", errs)
	}
}

func TestNum(t *testing.T) {
	for _, tt := range []struct {
		f       float64
		integer bool
		want    string
	}{{1, false, "1.0"}, {0.001, false, "0.001"}, {-1, true, "-1"}, {65536, true, "65536"}, {1e21, false, "1000000000000000000000.0"}} {
		if got := num(tt.f, tt.integer); got != tt.want {
			t.Errorf("num(%v, %v) = %q, want %q", tt.f, tt.integer, got, tt.want)
		}
	}
}

// TestValidateEnvSecretReferences: Drover has no secrets, so an env
// secret reference is refused as Marathon refuses it without its secrets
// feature, with Marathon's paths and words.
func TestValidateEnvSecretReferences(t *testing.T) {
	a := decodeApp(t, `{"id":"/a","cmd":"x","secrets":{"db":{"source":"/db/password"}},
		"env":{"PLAIN":"v","DB":{"secret":"db"},"API":{"secret":"api"}}}`)
	ApplyDefaults(a)
	want := []FieldError{
		{Path: "/secrets", Errors: []string{msgFeatureSecrets}},
		{Path: "/env", Errors: []string{"use of secret-references in the environment requires the secrets feature to be enabled"}},
		{Path: "/env/API/secret", Errors: []string{"references an undefined secret"}},
	}
	if got := Validate(a); !reflect.DeepEqual(got, want) {
		t.Errorf("Validate = %v, want %v", got, want)
	}
	a.Env = map[string]EnvValue{"PLAIN": {Value: "v"}}
	a.Secrets = nil
	if got := Validate(a); got != nil {
		t.Errorf("plain env: Validate = %v", got)
	}
}
