package marathon

import (
	"errors"
	"testing"
)

func TestNormalizeID(t *testing.T) {
	tests := []struct {
		id, base string
		want     string
		reason   string // "" when valid
	}{
		{id: "test-docker", base: "/", want: "/test-docker"},
		{id: "/test-docker", base: "/", want: "/test-docker"},
		{id: "/test-docker/", base: "/", want: "/test-docker"},
		{id: "//a//b", base: "/", want: "/a/b"},
		{id: "web", base: "/prod", want: "/prod/web"},
		{id: "web", base: "/prod/", want: "/prod/web"},
		{id: "../web", base: "/prod/eu", want: "/prod/web"},
		{id: "./web", base: "/prod", want: "/prod/web"},
		{id: "/prod/../web", base: "/other", want: "/web"},
		{id: "../../../web", base: "/a", want: "/web"},
		{id: "a.b-c/d1", base: "/", want: "/a.b-c/d1"},
		{id: "0", base: "/", want: "/0"},
		{id: "tasks/web", base: "/", want: "/tasks/web"},

		{id: "", base: "/", reason: msgIDEmpty},
		{id: "/", base: "/", reason: msgIDEmpty},
		{id: "..", base: "/", reason: msgIDEmpty},
		{id: "a/..", base: "/", reason: msgIDEmpty},
		{id: "Test", base: "/", reason: msgIDPattern},
		{id: "under_score", base: "/", reason: msgIDPattern},
		{id: "-web", base: "/", reason: msgIDPattern},
		{id: "web-", base: "/", reason: msgIDPattern},
		{id: "a..b", base: "/", reason: msgIDPattern},
		{id: ".web", base: "/", reason: msgIDPattern},
		{id: "web.", base: "/", reason: msgIDPattern},
		{id: "...", base: "/", reason: msgIDPattern},
		{id: "sp ace", base: "/", reason: msgIDPattern},
		{id: "/web/restart", base: "/", reason: msgIDReserved},
		{id: "/web/tasks", base: "/", reason: msgIDReserved},
		{id: "versions", base: "/", reason: msgIDReserved},
		{id: "/web/tasks/..", base: "/", want: "/web"},
		{id: "web", base: "relative", reason: msgIDRelative},
	}
	for _, tt := range tests {
		got, err := NormalizeID(tt.id, tt.base)
		if tt.reason == "" {
			if err != nil || got != tt.want {
				t.Errorf("NormalizeID(%q, %q) = %q, %v; want %q", tt.id, tt.base, got, err, tt.want)
			}
			continue
		}
		var ie *IDError
		if !errors.As(err, &ie) || ie.Reason != tt.reason {
			t.Errorf("NormalizeID(%q, %q) = %q, %v; want reason %q", tt.id, tt.base, got, err, tt.reason)
		}
	}
}

func TestParentID(t *testing.T) {
	for id, want := range map[string]string{"/a/b/c": "/a/b", "/a": "/", "/": "/", "a/b": "/a"} {
		if got := ParentID(id); got != want {
			t.Errorf("ParentID(%q) = %q, want %q", id, got, want)
		}
	}
}
