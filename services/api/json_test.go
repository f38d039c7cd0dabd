package api

import (
	"errors"
	"reflect"
	"testing"

	"github.com/drover/drover/pkg/marathon"
	"github.com/drover/drover/services/api/apierr"
)

func TestDecodeJSONDetails(t *testing.T) {
	tests := []struct {
		body string
		path string
		msg  string
	}{
		{`{"id": 1}`, "/id", "error.expected.jsstring"},
		{`{"cpus": "1"}`, "/cpus", "error.expected.jsnumber"},
		{`{"args": "x"}`, "/args", "error.expected.jsarray"},
		{`{"labels": []}`, "/labels", "error.expected.jsobject"},
		{`{"labels": {"a": 1}}`, "/labels", "error.expected.jsstring"}, // Go does not report map keys
		{`{"container": {"docker": {"privileged": "yes"}}}`, "/container/docker/privileged", "error.expected.jsboolean"},
		{`{"constraints": [["a", 1]]}`, "/constraints", "error.expected.jsstring"},
		{`{"id": "a",}`, "/", "invalid character '}' looking for beginning of object key string at offset 12"},
	}
	for _, tt := range tests {
		var app marathon.App
		err := decodeJSON([]byte(tt.body), &app)
		var ij *apierr.InvalidJSONError
		if !errors.As(err, &ij) || len(ij.Details) != 1 {
			t.Errorf("%s: error %v", tt.body, err)
			continue
		}
		if d := ij.Details[0]; d.Path != tt.path || d.Errors[0] != tt.msg {
			t.Errorf("%s: %+v, want %s %q", tt.body, d, tt.path, tt.msg)
		}
	}
}

func TestExpected(t *testing.T) {
	var p *int
	if got := expected(reflect.TypeOf(p)); got != "error.expected.jsnumber" {
		t.Errorf("*int: %s", got)
	}
	if got := expected(nil); got != "error.expected.jsvalue" {
		t.Errorf("nil: %s", got)
	}
}
