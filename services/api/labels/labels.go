package labels

import (
	"fmt"
	"slices"
	"strings"
)

// Selector is Marathon's ?label= filter: comma-separated requirements
// that must all hold: "k" (exists), "k==v", "k!=v", "k in (a,b)", "k notin (a,b)".
type Selector []labelRequirement

type labelRequirement struct {
	key    string
	op     string // "exists", "==", "!=", "in", "notin"
	values []string
}

// ParseSelector parses a selector; "" selects everything.
func ParseSelector(s string) (Selector, error) {
	var sel Selector
	for _, part := range splitTopLevel(s) {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		req, err := parseRequirement(part)
		if err != nil {
			return nil, fmt.Errorf("invalid label selector %q: %w", s, err)
		}
		sel = append(sel, req)
	}
	return sel, nil
}

func parseRequirement(part string) (labelRequirement, error) {
	for _, op := range []string{" notin ", " in "} {
		if key, set, ok := strings.Cut(part, op); ok {
			set = strings.TrimSpace(set)
			if !strings.HasPrefix(set, "(") || !strings.HasSuffix(set, ")") {
				return labelRequirement{}, fmt.Errorf("%q: a set is written (a, b)", part)
			}
			var values []string
			for v := range strings.SplitSeq(set[1:len(set)-1], ",") {
				values = append(values, strings.TrimSpace(v))
			}
			return requirement(key, strings.TrimSpace(op), values)
		}
	}
	for _, op := range []string{"==", "!="} {
		if key, value, ok := strings.Cut(part, op); ok {
			return requirement(key, op, []string{strings.TrimSpace(value)})
		}
	}
	return requirement(part, "exists", nil)
}

func requirement(key, op string, values []string) (labelRequirement, error) {
	key = strings.TrimSpace(key)
	if key == "" || strings.ContainsAny(key, " \t()=!,") {
		return labelRequirement{}, fmt.Errorf("bad label key %q", key)
	}
	return labelRequirement{key: key, op: op, values: values}, nil
}

// splitTopLevel splits on the commas outside parentheses.
func splitTopLevel(s string) []string {
	var parts []string
	depth, start := 0, 0
	for i, r := range s {
		switch r {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				parts = append(parts, s[start:i])
				start = i + 1
			}
		}
	}
	return append(parts, s[start:])
}

// Matches reports whether labels satisfy every requirement.
func (sel Selector) Matches(labels map[string]string) bool {
	for _, r := range sel {
		v, ok := labels[r.key]
		switch r.op {
		case "exists":
			if !ok {
				return false
			}
		case "==", "in":
			if !ok || !slices.Contains(r.values, v) {
				return false
			}
		case "!=", "notin":
			if ok && slices.Contains(r.values, v) {
				return false
			}
		}
	}
	return true
}
