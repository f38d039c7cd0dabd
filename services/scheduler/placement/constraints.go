package placement

import (
	"regexp"
	"strconv"

	"github.com/drover/drover/pkg/marathon"
)

// groupIndex counts, for one app, its instances per value of each field its
// constraints name, so that each check is a map lookup.
type groupIndex struct {
	constraints []marathon.Constraint
	// counts[i][value] is the number of the app's instances on agents whose
	// value of constraints[i]'s field is value.
	counts  []map[string]int
	regexps []*regexp.Regexp
}

func newGroupIndex(req Request, agents []*agentUsage, byID map[string]*agentUsage, tasks []Task) *groupIndex {
	g := &groupIndex{constraints: req.Constraints}
	for _, c := range req.Constraints {
		counts := map[string]int{}
		for _, t := range tasks {
			if t.AppID != req.AppID {
				continue
			}
			if a, ok := byID[t.AgentID]; ok {
				if v, ok := fieldValue(a.Agent, c.Field()); ok {
					counts[v]++
				}
			}
		}
		var re *regexp.Regexp
		if op := c.Operator(); op == "LIKE" || op == "UNLIKE" {
			// Anchored like Java's String.matches; an invalid pattern matches nothing.
			re, _ = regexp.Compile("^(?:" + c.Value() + ")$")
		}
		g.counts = append(g.counts, counts)
		g.regexps = append(g.regexps, re)
	}
	return g
}

// groupBy is the index of the request's first GROUP_BY constraint, or -1.
func (g *groupIndex) groupBy() int {
	for i, c := range g.constraints {
		if c.Operator() == "GROUP_BY" {
			return i
		}
	}
	return -1
}

// count is the app's instances on agents whose value of constraint i's field is v.
func (g *groupIndex) count(i int, v string) int { return g.counts[i][v] }

func (g *groupIndex) add(a *agentUsage) {
	for i, c := range g.constraints {
		if v, ok := fieldValue(a.Agent, c.Field()); ok {
			g.counts[i][v]++
		}
	}
}

func fieldValue(a Agent, field string) (string, bool) {
	if field == "hostname" || field == "@hostname" {
		return a.Hostname, true
	}
	v, ok := a.Attributes[field]
	return v, ok
}

// satisfies reports whether one more instance of the app may go on agent a.
func (g *groupIndex) satisfies(req Request, a *agentUsage) bool {
	for i, c := range g.constraints {
		v, has := fieldValue(a.Agent, c.Field())
		op := c.Operator()
		if !has {
			if op == "UNLIKE" {
				continue
			}
			return false
		}
		counts := g.counts[i]
		switch op {
		case "UNIQUE":
			if counts[v] > 0 {
				return false
			}
		case "CLUSTER":
			if c.Value() != "" {
				if v != c.Value() {
					return false
				}
				continue
			}
			for other, n := range counts {
				if n > 0 && other != v {
					return false
				}
			}
		case "IS":
			if v != c.Value() {
				return false
			}
		case "LIKE":
			if g.regexps[i] == nil || !g.regexps[i].MatchString(v) {
				return false
			}
		case "UNLIKE":
			if g.regexps[i] == nil || g.regexps[i].MatchString(v) {
				return false
			}
		case "MAX_PER":
			limit, err := strconv.Atoi(c.Value())
			if err != nil || counts[v] >= limit {
				return false
			}
		case "GROUP_BY":
			// Balance is kept by Place, which fills the value with the
			// fewest instances first; here only the attribute matters.
		default:
			return false // validated away by the api; refuse rather than guess
		}
	}
	return true
}
