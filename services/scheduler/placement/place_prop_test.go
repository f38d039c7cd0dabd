package placement

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/drover/drover/pkg/marathon"
	"pgregory.net/rapid"
)

// genAgents draws a small cluster: agents with random resources, a rack
// attribute on most of them, and some unavailable.
func genAgents(t *rapid.T) []Agent {
	n := rapid.IntRange(1, 12).Draw(t, "agents")
	agents := make([]Agent, n)
	for i := range agents {
		a := Agent{
			ID: fmt.Sprintf("a%02d", i), Hostname: fmt.Sprintf("h%02d", i),
			Total: Resources{
				Cpus: float64(rapid.IntRange(0, 8).Draw(t, "cpus")) / 2,
				Mem:  float64(rapid.IntRange(0, 2048).Draw(t, "mem")),
				Disk: float64(rapid.IntRange(0, 1000).Draw(t, "disk")),
			},
			Ports:  []PortRange{{Begin: 31000, End: 31000 + rapid.IntRange(0, 5).Draw(t, "ports")}},
			Policy: Policy{AllowPrivileged: rapid.Bool().Draw(t, "privileged")},
		}
		if rapid.IntRange(0, 3).Draw(t, "hasRack") > 0 {
			a.Attributes = map[string]string{"rack": "r" + strconv.Itoa(rapid.IntRange(0, 3).Draw(t, "rack"))}
		}
		if rapid.IntRange(0, 5).Draw(t, "down") == 0 {
			a.Unavailable = ReasonDockerDown
		}
		agents[i] = a
	}
	return agents
}

func genRequest(t *rapid.T, id string, constraint marathon.Constraint) Request {
	req := Request{
		AppID: id,
		Count: rapid.IntRange(1, 30).Draw(t, "count"),
		Resources: Resources{
			Cpus: float64(rapid.IntRange(1, 4).Draw(t, "rcpus")) / 4,
			Mem:  float64(rapid.IntRange(1, 512).Draw(t, "rmem")),
			Disk: float64(rapid.IntRange(0, 100).Draw(t, "rdisk")),
		},
		Privileged: rapid.Bool().Draw(t, "rprivileged"),
	}
	for range rapid.IntRange(0, 2).Draw(t, "dynamicPorts") {
		req.Ports = append(req.Ports, 0)
	}
	if constraint != nil {
		req.Constraints = []marathon.Constraint{constraint}
	}
	return req
}

// check asserts the invariants every result keeps.
func check(t *rapid.T, agents []Agent, req Request, result Result) {
	used := map[string]Resources{}
	ports := map[string]map[int]bool{}
	perValue := map[string]int{}
	byID := map[string]Agent{}
	for _, a := range agents {
		byID[a.ID] = a
	}
	for _, l := range result.Launches {
		a := byID[l.AgentID]
		if a.Unavailable != "" {
			t.Fatalf("launched on unavailable agent %s", a.ID)
		}
		if req.Privileged && !a.Policy.AllowPrivileged {
			t.Fatalf("privileged task on agent %s that forbids it", a.ID)
		}
		used[a.ID] = used[a.ID].add(req.Resources)
		u := used[a.ID]
		if u.Cpus > a.Total.Cpus+epsilon || u.Mem > a.Total.Mem+epsilon || u.Disk > a.Total.Disk+epsilon {
			t.Fatalf("agent %s over-committed: used %+v of %+v", a.ID, u, a.Total)
		}
		if ports[a.ID] == nil {
			ports[a.ID] = map[int]bool{}
		}
		for _, p := range l.HostPorts {
			if ports[a.ID][p] {
				t.Fatalf("port %d given twice on %s", p, a.ID)
			}
			ports[a.ID][p] = true
		}
		if len(req.Constraints) > 0 {
			v, ok := fieldValue(a, req.Constraints[0].Field())
			if !ok {
				t.Fatalf("launched on %s that lacks %s", a.ID, req.Constraints[0].Field())
			}
			perValue[v]++
		}
	}
	placed := len(result.Launches)
	unplaced := 0
	for _, u := range result.Unplaced {
		unplaced += u.Count
	}
	if placed+unplaced != req.Count {
		t.Fatalf("placed %d + unplaced %d != requested %d", placed, unplaced, req.Count)
	}
	if len(req.Constraints) == 0 {
		return
	}
	c := req.Constraints[0]
	switch c.Operator() {
	case "UNIQUE":
		for v, n := range perValue {
			if n > 1 {
				t.Fatalf("UNIQUE broken: %d instances on %s=%s", n, c.Field(), v)
			}
		}
	case "MAX_PER":
		limit, _ := strconv.Atoi(c.Value())
		for v, n := range perValue {
			if n > limit {
				t.Fatalf("MAX_PER %d broken: %d instances on %s=%s", limit, n, c.Field(), v)
			}
		}
	case "GROUP_BY":
		// Balanced over the values that took any: within one of each other,
		// unless a value ran out of room (then others may have more).
		if unplaced == 0 {
			lo, hi := -1, 0
			for _, n := range perValue {
				if lo < 0 || n < lo {
					lo = n
				}
				hi = max(hi, n)
			}
			values := map[string]bool{}
			for _, a := range agents {
				if v, ok := fieldValue(a, c.Field()); ok && a.Unavailable == "" {
					values[v] = true
				}
			}
			if hi-lo > 1 && len(perValue) == len(values) && resourcesAmple(agents, req) {
				t.Fatalf("GROUP_BY unbalanced: %v", perValue)
			}
		}
	}
}

// resourcesAmple: every usable agent could take every instance, so balance
// is never forced off by capacity.
func resourcesAmple(agents []Agent, req Request) bool {
	for _, a := range agents {
		if a.Unavailable != "" {
			continue
		}
		if a.Total.Cpus < req.Resources.Cpus*float64(req.Count) || a.Total.Mem < req.Resources.Mem*float64(req.Count) ||
			a.Total.Disk < req.Resources.Disk*float64(req.Count) || len(req.Ports)*req.Count > a.Ports[0].End-a.Ports[0].Begin+1 ||
			(req.Privileged && !a.Policy.AllowPrivileged) {
			return false
		}
	}
	return true
}

func TestPlaceNeverOvercommits(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		agents := genAgents(t)
		req := genRequest(t, "/app", nil)
		check(t, agents, req, Place(agents, nil, []Request{req}))
	})
}

func TestPlaceKeepsUniqueAndMaxPer(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		agents := genAgents(t)
		field := rapid.SampledFrom([]string{"hostname", "rack"}).Draw(t, "field")
		c := marathon.Constraint{field, "UNIQUE"}
		if rapid.Bool().Draw(t, "maxPer") {
			c = marathon.Constraint{field, "MAX_PER", strconv.Itoa(rapid.IntRange(1, 3).Draw(t, "limit"))}
		}
		req := genRequest(t, "/app", c)
		check(t, agents, req, Place(agents, nil, []Request{req}))
	})
}

func TestPlaceKeepsGroupByBalanced(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		agents := genAgents(t)
		req := genRequest(t, "/app", marathon.Constraint{"rack", "GROUP_BY"})
		check(t, agents, req, Place(agents, nil, []Request{req}))
	})
}
