package agent

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/drover/drover/pkg/events"
)

// ParseAttributes parses "k=v,k2=v2" as the CLI takes agent attributes.
func ParseAttributes(s string) (map[string]string, error) {
	out := map[string]string{}
	if strings.TrimSpace(s) == "" {
		return out, nil
	}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" {
			return nil, fmt.Errorf("attribute %q is not name=value", kv)
		}
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("attribute %q given twice", k)
		}
		out[k] = v
	}
	return out, nil
}

// ParseResources parses "cpus=4,mem=8192,disk=10000,ports=[31000-32000]" as
// the CLI takes an agent's resources: mem and disk in MiB, ports as one or
// more ranges or single ports in brackets, "ports=[31000-31100,32000-32100]".
func ParseResources(s string) (events.Resources, error) {
	var r events.Resources
	seen := map[string]bool{}
	rest := strings.TrimSpace(s)
	for rest != "" {
		var item string
		item, rest = nextResource(rest)
		name, value, ok := strings.Cut(item, "=")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if !ok || name == "" {
			return r, fmt.Errorf("resource %q is not name=value", item)
		}
		if seen[name] {
			return r, fmt.Errorf("resource %q given twice", name)
		}
		seen[name] = true
		var err error
		switch name {
		case "cpus":
			r.Cpus, err = parseAmount(value)
		case "mem":
			r.Mem, err = parseAmount(value)
		case "disk":
			r.Disk, err = parseAmount(value)
		case "ports":
			r.Ports, err = parsePortRanges(value)
		default:
			err = errors.New("unknown resource (want cpus, mem, disk or ports)")
		}
		if err != nil {
			return r, fmt.Errorf("resource %s: %w", name, err)
		}
	}
	return r, validateResources(r)
}

// nextResource splits off the first comma-separated item, keeping a
// bracketed list whole.
func nextResource(s string) (item, rest string) {
	depth := 0
	for i, c := range s {
		switch c {
		case '[':
			depth++
		case ']':
			depth--
		case ',':
			if depth == 0 {
				return s[:i], strings.TrimSpace(s[i+1:])
			}
		}
	}
	return s, ""
}

func parseAmount(v string) (float64, error) {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, fmt.Errorf("%q is not a non-negative number", v)
	}
	return f, nil
}

func parsePortRanges(v string) ([]events.PortRange, error) {
	inner, open := strings.CutPrefix(v, "[")
	inner, closed := strings.CutSuffix(inner, "]")
	if !open || !closed {
		return nil, fmt.Errorf("%q is not a bracketed list such as [31000-32000]", v)
	}
	var out []events.PortRange
	for _, part := range strings.Split(inner, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		lo, hi, isRange := strings.Cut(part, "-")
		b, err1 := strconv.Atoi(strings.TrimSpace(lo))
		e, err2 := b, error(nil)
		if isRange {
			e, err2 = strconv.Atoi(strings.TrimSpace(hi))
		}
		if err1 != nil || err2 != nil || b < 1 || e > 65535 || e < b {
			return nil, fmt.Errorf("port range %q is not begin-end within 1-65535", part)
		}
		for _, prev := range out {
			if b <= prev.End && prev.Begin <= e {
				return nil, fmt.Errorf("port range %q overlaps %d-%d", part, prev.Begin, prev.End)
			}
		}
		out = append(out, events.PortRange{Begin: b, End: e})
	}
	if len(out) == 0 {
		return nil, errors.New("no port range in []")
	}
	return out, nil
}
