package placement

import (
	"container/heap"
	"sort"

	"github.com/drover/drover/pkg/marathon"
)

// agentUsage is an agent with what is already used on it. (An agent's
// state, ACTIVE or UNREACHABLE and so on, is the scheduler's verdict:
// decide.Agent.State.)
type agentUsage struct {
	Agent
	used      Resources
	usedPorts map[int]bool
	perApp    map[string]int
}

func newAgentUsages(agents []Agent, tasks []Task) ([]*agentUsage, map[string]*agentUsage) {
	list := make([]*agentUsage, 0, len(agents))
	byID := make(map[string]*agentUsage, len(agents))
	for _, a := range agents {
		s := &agentUsage{Agent: a, usedPorts: map[int]bool{}, perApp: map[string]int{}}
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

func (s *agentUsage) take(appID string, r Resources, ports []int) {
	s.used = s.used.add(r)
	for _, p := range ports {
		if p > 0 {
			s.usedPorts[p] = true
		}
	}
	s.perApp[appID]++
}

// Place finds an agent for every instance the requests ask for. Requests are
// served in order; each launch it places counts against later ones.
//
// For each instance it takes the best feasible agent: the fewest instances of
// the app, then the least loaded (cpus), then the lowest id, so results are
// deterministic and spread. Agents wait in a heap on that order; an agent
// found infeasible for a request never becomes feasible again within it
// (resources, ports, UNIQUE, MAX_PER and CLUSTER only tighten), so it is
// dropped, and a request costs O((instances + agents) log agents). With
// GROUP_BY, agents are bucketed by the field's value and each instance goes to
// the value with the fewest instances that still has a feasible agent.
func Place(agents []Agent, tasks []Task, requests []Request) Result {
	list, byID := newAgentUsages(agents, tasks)
	var result Result
	for _, req := range requests {
		if req.Count <= 0 {
			continue
		}
		groups := newGroupIndex(req, list, byID, tasks)
		placed := placeRequest(req, list, groups, &result)
		if placed < req.Count {
			result.Unplaced = append(result.Unplaced, Unplaced{AppID: req.AppID, Count: req.Count - placed, Rejected: rejections(req, list, groups)})
		}
	}
	return result
}

func placeRequest(req Request, agents []*agentUsage, groups *groupIndex, result *Result) int {
	gb := groups.groupBy()
	buckets := map[string]*agentHeap{}
	for _, a := range agents {
		if unavailable(req, a.Agent) != "" || allowed(req, a.Policy) != "" {
			continue
		}
		key := ""
		if gb >= 0 {
			v, ok := fieldValue(a.Agent, req.Constraints[gb].Field())
			if !ok {
				continue
			}
			key = v
		}
		h := buckets[key]
		if h == nil {
			h = &agentHeap{app: req.AppID}
			buckets[key] = h
		}
		h.items = append(h.items, a)
	}
	for _, h := range buckets {
		heap.Init(h)
	}
	for n := 0; n < req.Count; n++ {
		a, ports := next(req, buckets, groups, gb)
		if a == nil {
			return n
		}
		a.take(req.AppID, req.Resources, append(ports, req.ReservedPorts...))
		groups.add(a)
		result.Launches = append(result.Launches, Launch{AppID: req.AppID, AgentID: a.ID, HostPorts: ports})
		heap.Push(buckets[bucketOf(a, req, gb)], a)
	}
	return req.Count
}

func bucketOf(a *agentUsage, req Request, gb int) string {
	if gb < 0 {
		return ""
	}
	v, _ := fieldValue(a.Agent, req.Constraints[gb].Field())
	return v
}

// next pops the best feasible agent, dropping infeasible ones on the way.
func next(req Request, buckets map[string]*agentHeap, groups *groupIndex, gb int) (*agentUsage, []int) {
	for {
		var h *agentHeap
		var key string
		for k, b := range buckets {
			if b.Len() == 0 {
				continue
			}
			if h == nil || (gb >= 0 && (groups.count(gb, k) < groups.count(gb, key) ||
				groups.count(gb, k) == groups.count(gb, key) && k < key)) {
				h, key = b, k
			}
		}
		if h == nil {
			return nil, nil
		}
		for h.Len() > 0 {
			a := heap.Pop(h).(*agentUsage)
			if ports, reason := feasible(req, a, groups); reason == "" {
				return a, ports
			}
		}
	}
}

// rejections counts, per reason, the agents that cannot take one more instance.
func rejections(req Request, agents []*agentUsage, groups *groupIndex) map[Reason]int {
	out := map[Reason]int{}
	for _, a := range agents {
		if _, reason := feasible(req, a, groups); reason != "" {
			out[reason]++
		}
	}
	return out
}

// agentHeap orders agents healthy before degraded, then by instances of the
// app, then load, then id.
type agentHeap struct {
	app   string
	items []*agentUsage
}

func (h *agentHeap) Len() int { return len(h.items) }
func (h *agentHeap) Less(i, j int) bool {
	a, b := h.items[i], h.items[j]
	if a.Degraded != b.Degraded {
		return b.Degraded
	}
	if a.perApp[h.app] != b.perApp[h.app] {
		return a.perApp[h.app] < b.perApp[h.app]
	}
	if la, lb := a.load(), b.load(); la != lb {
		return la < lb
	}
	return a.ID < b.ID
}
func (h *agentHeap) Swap(i, j int) { h.items[i], h.items[j] = h.items[j], h.items[i] }
func (h *agentHeap) Push(x any)    { h.items = append(h.items, x.(*agentUsage)) }
func (h *agentHeap) Pop() any {
	last := h.items[len(h.items)-1]
	h.items = h.items[:len(h.items)-1]
	return last
}

func (s *agentUsage) load() float64 {
	if s.Total.Cpus <= 0 {
		return 0
	}
	return s.used.Cpus / s.Total.Cpus
}

const epsilon = 1e-9

// feasible says whether one more instance fits on the agent, and if so with
// which host ports; otherwise the first reason it does not.
func feasible(req Request, a *agentUsage, groups *groupIndex) ([]int, Reason) {
	if reason := unavailable(req, a.Agent); reason != "" {
		return nil, reason
	}
	if reason := allowed(req, a.Policy); reason != "" {
		return nil, reason
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

// unavailable is why the agent takes no task of the request now, or "".
func unavailable(req Request, a Agent) Reason {
	switch {
	case a.Unavailable != "":
		return a.Unavailable
	case a.DockerDown && !req.HostCommand:
		return ReasonDockerDown
	}
	return ""
}

// allowed is why the agent's policy refuses the request, or "".
func allowed(req Request, p Policy) Reason {
	if req.HostCommand && !p.AllowHostCommands {
		return ReasonHostCommands
	}
	if req.Privileged && !p.AllowPrivileged {
		return ReasonPolicy
	}
	if req.Image != "" && !marathon.ImageAllowed(req.Image, p.ImagePatterns) {
		return ReasonPolicy
	}
	for _, hp := range req.HostPaths {
		if !marathon.UnderPrefix(hp, p.HostPathPrefixes) {
			return ReasonPolicy
		}
	}
	return ""
}

// pickPorts assigns the request's host ports on the agent: fixed ones must be
// free, dynamic ones come from the agent's ranges: the first free port at or
// after an offset drawn from the request's PortSeed, wrapping around.
func pickPorts(req Request, a *agentUsage) ([]int, bool) {
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
	size := rangeSize(a.Ports)
	next := 0
	if size > 0 {
		next = int(mix(req.PortSeed, a.ID) % uint64(size))
	}
	for i, p := range req.Ports {
		if p != 0 {
			out[i] = p
			continue
		}
		port, ok := nextFree(a, taken, &next, size)
		if !ok {
			return nil, false
		}
		taken[port] = true
		out[i] = port
	}
	return out, true
}

func rangeSize(ranges []PortRange) int {
	n := 0
	for _, r := range ranges {
		if r.End >= r.Begin {
			n += r.End - r.Begin + 1
		}
	}
	return n
}

// mix hashes a seed with an agent id (FNV-1a); seed 0 starts at the bottom.
func mix(seed uint64, id string) uint64 {
	if seed == 0 {
		return 0
	}
	h := uint64(14695981039346656037) ^ seed
	for i := 0; i < len(id); i++ {
		h ^= uint64(id[i])
		h *= 1099511628211
	}
	return h
}

// nextFree finds the first free port at position *from or after it over the
// concatenated ranges, wrapping around once, and moves *from past it.
func nextFree(a *agentUsage, taken map[int]bool, from *int, size int) (int, bool) {
	for i := 0; i < size; i++ {
		pos := (*from + i) % size
		p := portAt(a.Ports, pos)
		if !a.usedPorts[p] && !taken[p] {
			*from = pos + 1
			return p, true
		}
	}
	return 0, false
}

// portAt is the port at a position over the concatenated ranges.
func portAt(ranges []PortRange, pos int) int {
	for _, r := range ranges {
		if r.End < r.Begin {
			continue
		}
		if n := r.End - r.Begin + 1; pos >= n {
			pos -= n
			continue
		}
		return r.Begin + pos
	}
	return 0
}
