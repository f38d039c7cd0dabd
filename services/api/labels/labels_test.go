package labels

import "testing"

func TestLabelSelector(t *testing.T) {
	labels := map[string]string{"tier": "front", "env": "prod", "empty": ""}
	tests := []struct {
		sel   string
		match bool
	}{
		{"", true},
		{"tier", true},
		{"owner", false},
		{"tier==front", true},
		{"tier == front", true},
		{"tier==back", false},
		{"tier!=back", true},
		{"owner!=x", true},
		{"env in (prod, qa)", true},
		{"env in (dev)", false},
		{"env notin (dev,qa)", true},
		{"env notin (prod)", false},
		{"owner notin (prod)", true},
		{"tier==front, env in (prod,qa)", true},
		{"tier==front,env==dev", false},
		{"empty", true},
		{"empty==", true},
	}
	for _, tt := range tests {
		sel, err := ParseSelector(tt.sel)
		if err != nil {
			t.Errorf("parse %q: %v", tt.sel, err)
			continue
		}
		if got := sel.Matches(labels); got != tt.match {
			t.Errorf("%q matches = %v, want %v", tt.sel, got, tt.match)
		}
	}
	for _, bad := range []string{"a in b", "==x", "a b", "a in (x", "(a)"} {
		if _, err := ParseSelector(bad); err == nil {
			t.Errorf("parse %q: no error", bad)
		}
	}
}
