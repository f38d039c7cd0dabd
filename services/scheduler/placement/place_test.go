package placement

import (
	"reflect"
	"testing"

	"github.com/drover/drover/pkg/marathon"
)

func agent(id string, cpus, mem float64) Agent {
	return Agent{ID: id, Hostname: id, Total: Resources{Cpus: cpus, Mem: mem, Disk: 1000},
		Ports: []PortRange{{31000, 31002}}, Policy: Policy{AllowPrivileged: true}}
}

func degraded(a Agent) Agent { a.Degraded = true; return a }

func unique() []marathon.Constraint { return []marathon.Constraint{{"hostname", "UNIQUE"}} }

func TestPlace(t *testing.T) {
	small := Resources{Cpus: 0.5, Mem: 64}
	tests := []struct {
		name     string
		agents   []Agent
		tasks    []Task
		req      Request
		want     map[string]int // launches per agent
		unplaced int
		reasons  map[Reason]int
	}{{
		name:   "a degraded agent takes instances only when no healthy one can",
		agents: []Agent{degraded(agent("a", 4, 1024)), agent("b", 1, 1024)},
		req:    Request{AppID: "/web", Count: 3, Resources: small},
		want:   map[string]int{"b": 2, "a": 1},
	}, {
		name:   "hostname UNIQUE puts one instance on each host",
		agents: []Agent{agent("a", 4, 1024), agent("b", 4, 1024), agent("c", 4, 1024)},
		req:    Request{AppID: "/web", Count: 3, Resources: small, Constraints: unique()},
		want:   map[string]int{"a": 1, "b": 1, "c": 1},
	}, {
		name:     "hostname UNIQUE with too few hosts leaves the rest unplaced, rejected by constraint",
		agents:   []Agent{agent("a", 4, 1024), agent("b", 4, 1024)},
		req:      Request{AppID: "/web", Count: 3, Resources: small, Constraints: unique()},
		want:     map[string]int{"a": 1, "b": 1},
		unplaced: 1,
		reasons:  map[Reason]int{ReasonConstraint: 2},
	}, {
		name:     "UNIQUE counts the app's existing tasks",
		agents:   []Agent{agent("a", 4, 1024), agent("b", 4, 1024)},
		tasks:    []Task{{ID: "t1", AppID: "/web", AgentID: "a", Resources: small}},
		req:      Request{AppID: "/web", Count: 2, Resources: small, Constraints: unique()},
		want:     map[string]int{"b": 1},
		unplaced: 1,
		reasons:  map[Reason]int{ReasonConstraint: 2},
	}, {
		name:     "cpus are not over-committed",
		agents:   []Agent{agent("a", 1, 1024)},
		tasks:    []Task{{ID: "t1", AppID: "/other", AgentID: "a", Resources: Resources{Cpus: 0.75}}},
		req:      Request{AppID: "/web", Count: 1, Resources: small},
		unplaced: 1,
		reasons:  map[Reason]int{ReasonCpus: 1},
	}, {
		name:     "mem is not over-committed",
		agents:   []Agent{agent("a", 4, 100)},
		req:      Request{AppID: "/web", Count: 2, Resources: small},
		want:     map[string]int{"a": 1},
		unplaced: 1,
		reasons:  map[Reason]int{ReasonMem: 1},
	}, {
		name:     "disk is not over-committed",
		agents:   []Agent{agent("a", 4, 1024)},
		req:      Request{AppID: "/web", Count: 1, Resources: Resources{Cpus: 0.1, Mem: 1, Disk: 2000}},
		unplaced: 1,
		reasons:  map[Reason]int{ReasonDisk: 1},
	}, {
		name:     "a fixed host port is taken once per agent",
		agents:   []Agent{agent("a", 4, 1024), agent("b", 4, 1024)},
		req:      Request{AppID: "/web", Count: 3, Resources: small, ReservedPorts: []int{80}},
		want:     map[string]int{"a": 1, "b": 1},
		unplaced: 1,
		reasons:  map[Reason]int{ReasonPorts: 2},
	}, {
		name:     "dynamic ports come from the agent's range until it runs out",
		agents:   []Agent{agent("a", 4, 1024)},
		req:      Request{AppID: "/web", Count: 2, Resources: small, Ports: []int{0, 0}},
		want:     map[string]int{"a": 1},
		unplaced: 1,
		reasons:  map[Reason]int{ReasonPorts: 1},
	}, {
		name:     "privileged apps need an agent that allows them",
		agents:   []Agent{{ID: "a", Hostname: "a", Total: Resources{Cpus: 4, Mem: 1024}}},
		req:      Request{AppID: "/web", Count: 1, Resources: small, Privileged: true},
		unplaced: 1,
		reasons:  map[Reason]int{ReasonPolicy: 1},
	}, {
		name: "host paths must fall under an allowed prefix",
		agents: []Agent{{ID: "a", Hostname: "a", Total: Resources{Cpus: 4, Mem: 1024},
			Policy: Policy{HostPathPrefixes: []string{"/var/nfsshare"}}}},
		req:      Request{AppID: "/web", Count: 1, Resources: small, HostPaths: []string{"/var/nfsshare-evil/x"}},
		unplaced: 1,
		reasons:  map[Reason]int{ReasonPolicy: 1},
	}, {
		name: "an allowed host path is placed",
		agents: []Agent{{ID: "a", Hostname: "a", Total: Resources{Cpus: 4, Mem: 1024},
			Policy: Policy{HostPathPrefixes: []string{"/var/nfsshare/"}}}},
		req:  Request{AppID: "/web", Count: 1, Resources: small, HostPaths: []string{"/var/nfsshare/htdocs"}},
		want: map[string]int{"a": 1},
	}, {
		name: "an image must match one of the agent's patterns",
		agents: []Agent{
			{ID: "a", Hostname: "a", Total: Resources{Cpus: 4, Mem: 1024}, Policy: Policy{ImagePatterns: []string{"registry.example.com/*"}}},
			{ID: "b", Hostname: "b", Total: Resources{Cpus: 4, Mem: 1024}, Policy: Policy{ImagePatterns: []string{"docker.io/library/*"}}},
		},
		req:      Request{AppID: "/web", Count: 2, Resources: small, Image: "httpd", Constraints: []marathon.Constraint{{"hostname", "UNIQUE"}}},
		want:     map[string]int{"b": 1},
		unplaced: 1,
		reasons:  map[Reason]int{ReasonPolicy: 1, ReasonConstraint: 1},
	}, {
		name: "a host command goes only to agents that allow host commands",
		agents: []Agent{
			agent("a", 4, 1024),
			func() Agent { a := agent("b", 4, 1024); a.Policy.AllowHostCommands = true; return a }(),
		},
		req:      Request{AppID: "/cmd", Count: 2, Resources: small, HostCommand: true, Constraints: unique()},
		want:     map[string]int{"b": 1},
		unplaced: 1,
		reasons:  map[Reason]int{ReasonHostCommands: 1, ReasonConstraint: 1},
	}, {
		name: "unavailable agents are rejected with their reason",
		agents: []Agent{
			func() Agent { a := agent("a", 4, 1024); a.Unavailable = ReasonDockerDown; return a }(),
			func() Agent { a := agent("b", 4, 1024); a.Unavailable = ReasonUnreachable; return a }(),
		},
		req:      Request{AppID: "/web", Count: 1, Resources: small},
		unplaced: 1,
		reasons:  map[Reason]int{ReasonDockerDown: 1, ReasonUnreachable: 1},
	}, {
		name:   "without constraints instances spread over agents",
		agents: []Agent{agent("a", 4, 1024), agent("b", 4, 1024)},
		req:    Request{AppID: "/web", Count: 4, Resources: small},
		want:   map[string]int{"a": 2, "b": 2},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			result := Place(tt.agents, tt.tasks, []Request{tt.req})
			got := map[string]int{}
			for _, l := range result.Launches {
				got[l.AgentID]++
			}
			if tt.want == nil {
				tt.want = map[string]int{}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("launches per agent = %v, want %v", got, tt.want)
			}
			unplaced := 0
			var reasons map[Reason]int
			for _, u := range result.Unplaced {
				unplaced += u.Count
				reasons = u.Rejected
			}
			if unplaced != tt.unplaced {
				t.Errorf("unplaced = %d, want %d", unplaced, tt.unplaced)
			}
			if tt.reasons != nil && !reflect.DeepEqual(reasons, tt.reasons) {
				t.Errorf("rejections = %v, want %v", reasons, tt.reasons)
			}
		})
	}
}

func TestPlaceAssignsDistinctDynamicPorts(t *testing.T) {
	a := agent("a", 4, 1024)
	a.Ports = []PortRange{{31000, 31001}, {32000, 32005}}
	tasks := []Task{{ID: "t", AppID: "/x", AgentID: "a", HostPorts: []int{31000}}}
	result := Place([]Agent{a}, tasks, []Request{{AppID: "/web", Count: 2, Resources: Resources{Cpus: 0.1}, Ports: []int{0, 8080, 0}}})
	if len(result.Launches) != 1 {
		t.Fatalf("launches = %d, want 1 (port 8080 is needed by both)", len(result.Launches))
	}
	if got, want := result.Launches[0].HostPorts, []int{31001, 8080, 32000}; !reflect.DeepEqual(got, want) {
		t.Errorf("host ports = %v, want %v", got, want)
	}
}

func TestConstraintOperators(t *testing.T) {
	agents := []Agent{agent("a", 4, 1024), agent("b", 4, 1024), agent("c", 4, 1024)}
	agents[0].Attributes = map[string]string{"rack": "r1", "zone": "eu-1"}
	agents[1].Attributes = map[string]string{"rack": "r2", "zone": "eu-2"}
	small := Resources{Cpus: 0.1, Mem: 1}
	tests := []struct {
		name string
		c    marathon.Constraint
		n    int
		want map[string]int
	}{
		{"CLUSTER with a value", marathon.Constraint{"rack", "CLUSTER", "r2"}, 2, map[string]int{"b": 2}},
		{"CLUSTER without a value follows the first", marathon.Constraint{"hostname", "CLUSTER"}, 2, map[string]int{"a": 2}},
		{"IS", marathon.Constraint{"zone", "IS", "eu-1"}, 1, map[string]int{"a": 1}},
		{"LIKE is anchored", marathon.Constraint{"zone", "LIKE", "eu"}, 1, map[string]int{}},
		{"LIKE", marathon.Constraint{"zone", "LIKE", "eu-[12]"}, 2, map[string]int{"a": 1, "b": 1}},
		{"UNLIKE matches agents without the attribute", marathon.Constraint{"zone", "UNLIKE", "eu-1"}, 2, map[string]int{"b": 1, "c": 1}},
		{"MAX_PER", marathon.Constraint{"rack", "MAX_PER", "2"}, 5, map[string]int{"a": 2, "b": 2}},
		{"GROUP_BY keeps values balanced", marathon.Constraint{"rack", "GROUP_BY"}, 4, map[string]int{"a": 2, "b": 2}},
		{"an attribute the agent lacks fails UNIQUE", marathon.Constraint{"rack", "UNIQUE"}, 3, map[string]int{"a": 1, "b": 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			result := Place(agents, nil, []Request{{AppID: "/web", Count: tt.n, Resources: small, Constraints: []marathon.Constraint{tt.c}}})
			got := map[string]int{}
			for _, l := range result.Launches {
				got[l.AgentID]++
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("launches per agent = %v, want %v", got, tt.want)
			}
		})
	}
}
