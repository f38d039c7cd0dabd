package placement

import (
	"sort"
	"strings"
)

// agentState is an agent with what is already used on it.
type agentState struct {
	Agent
	used      Resources
	usedPorts map[int]bool
	perApp    map[string]int
}

func newAgentStates(agents []Agent, tasks []Task) ([]*agentState, map[string]*agentState) {
	list := make([]*agentState, 0, len(agents))
	byID := make(map[string]*agentState, len(agents))
	for _, a := range agents {
		s := &agentState{Agent: a, usedPorts: map[int]bool{}, perApp: map[string]int{}}
		list = append(list, s)
		byID[a.ID] = s
	}
	sort.Slice(list, func(i, j int) bool { return list[i].ID < list[j].ID })
	for _, t := range tasks {
		s, ok := byID[t.AgentID]
		if !ok {
			continue
		}
		s.take(t.AppID, t.Resources, t.HostPorts)
	}
	return list, byID
}

func (s *agentState) take(appID string, r Resources, ports []int) {
	s.used = s.used.add(r)
	for _, p := range ports {
		if p > 0 {
			s.usedPorts[p] = true
		}
	}
	s.perApp[appID]++
}

// Place finds an agent for every instance the requests ask for. Requests are
// served in order; each launch it plans counts against later ones.
func Place(agents []Agent, tasks []Task, requests []Request) Plan {
	list, byID := newAgentStates(agents, tasks)
	var plan Plan
	for _, req := range requests {
		if req.Count <= 0 {
			continue
		}
		groups := newGroupIndex(req, list, byID, tasks)
		for n := 0; n < req.Count; n++ {
			best, ports, rejected := choose(req, list, groups)
			if best == nil {
				plan.Unplaced = append(plan.Unplaced, Unplaced{AppID: req.AppID, Count: req.Count - n, Rejected: rejected})
				break
			}
			best.take(req.AppID, req.Resources, append(ports, req.ReservedPorts...))
			groups.add(best)
			plan.Launches = append(plan.Launches, Launch{AppID: req.AppID, AgentID: best.ID, HostPorts: ports})
		}
	}
	return plan
}

// choose picks the best agent for one instance: among the feasible ones, the
// one with the fewest instances of the app, then the least loaded (cpus),
// then the lowest id, so a plan is deterministic.
func choose(req Request, agents []*agentState, groups *groupIndex) (*agentState, []int, map[Reason]int) {
	var best *agentState
	var bestPorts []int
	var bestLoad float64
	var rejected map[Reason]int
	for _, a := range agents {
		ports, reason := feasible(req, a, groups)
		if reason != "" {
			if rejected == nil {
				rejected = map[Reason]int{}
			}
			rejected[reason]++
			continue
		}
		load := 0.0
		if a.Total.Cpus > 0 {
			load = a.used.Cpus / a.Total.Cpus
		}
		if best == nil || a.perApp[req.AppID] < best.perApp[req.AppID] ||
			(a.perApp[req.AppID] == best.perApp[req.AppID] && load < bestLoad) {
			best, bestPorts, bestLoad = a, ports, load
		}
	}
	return best, bestPorts, rejected
}

const epsilon = 1e-9

// feasible says whether one more instance fits on the agent, and if so with
// which host ports; otherwise the first reason it does not.
func feasible(req Request, a *agentState, groups *groupIndex) ([]int, Reason) {
	if a.Unavailable != "" {
		return nil, a.Unavailable
	}
	if !allowed(req, a.Policy) {
		return nil, ReasonPolicy
	}
	if !groups.satisfies(req, a) {
		return nil, ReasonConstraint
	}
	switch {
	case a.used.Cpus+req.Resources.Cpus > a.Total.Cpus+epsilon:
		return nil, ReasonCpus
	case a.used.Mem+req.Resources.Mem > a.Total.Mem+epsilon:
		return nil, ReasonMem
	case a.used.Disk+req.Resources.Disk > a.Total.Disk+epsilon:
		return nil, ReasonDisk
	}
	ports, ok := pickPorts(req, a)
	if !ok {
		return nil, ReasonPorts
	}
	return ports, ""
}

func allowed(req Request, p Policy) bool {
	if req.Privileged && !p.AllowPrivileged {
		return false
	}
	if len(p.HostPathPrefixes) == 0 {
		return true
	}
	for _, hp := range req.HostPaths {
		ok := false
		for _, prefix := range p.HostPathPrefixes {
			if hp == prefix || strings.HasPrefix(hp, strings.TrimSuffix(prefix, "/")+"/") {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// pickPorts assigns the request's host ports on the agent: fixed ones must be
// free, dynamic ones come from the agent's ranges, lowest free first.
func pickPorts(req Request, a *agentState) ([]int, bool) {
	if len(req.Ports) == 0 && len(req.ReservedPorts) == 0 {
		return nil, true
	}
	taken := map[int]bool{}
	for _, p := range append(append([]int(nil), req.ReservedPorts...), req.Ports...) {
		if p == 0 {
			continue
		}
		if a.usedPorts[p] || taken[p] {
			return nil, false
		}
		taken[p] = true
	}
	out := make([]int, len(req.Ports))
	next := 0
	for i, p := range req.Ports {
		if p != 0 {
			out[i] = p
			continue
		}
		port, ok := nextFree(a, taken, &next)
		if !ok {
			return nil, false
		}
		taken[port] = true
		out[i] = port
	}
	return out, true
}

// nextFree finds the lowest free port in the agent's ranges at or after
// *from (a position over the concatenated ranges), and advances *from.
func nextFree(a *agentState, taken map[int]bool, from *int) (int, bool) {
	pos := 0
	for _, r := range a.Ports {
		size := r.End - r.Begin + 1
		if size <= 0 {
			continue
		}
		if *from >= pos+size {
			pos += size
			continue
		}
		start := r.Begin
		if *from > pos {
			start = r.Begin + (*from - pos)
		}
		for p := start; p <= r.End; p++ {
			if !a.usedPorts[p] && !taken[p] {
				*from = pos + (p - r.Begin) + 1
				return p, true
			}
		}
		pos += size
	}
	return 0, false
}
