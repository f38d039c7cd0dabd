package placement

import (
	"fmt"
	"testing"

	"github.com/drover/drover/pkg/marathon"
)

func benchAgents(n, racks int) []Agent {
	agents := make([]Agent, n)
	for i := range agents {
		agents[i] = Agent{
			ID: fmt.Sprintf("agent-%04d", i), Hostname: fmt.Sprintf("host-%04d", i),
			Attributes: map[string]string{"rack": fmt.Sprintf("rack-%02d", i%racks)},
			Total:      Resources{Cpus: 64, Mem: 256 * 1024, Disk: 1 << 20},
			Ports:      []PortRange{{Begin: 31000, End: 32000}},
			Policy:     Policy{AllowPrivileged: true},
		}
	}
	return agents
}

func benchPlace(b *testing.B, agents []Agent, requests []Request, want int) {
	b.ReportAllocs()
	for b.Loop() {
		result := Place(agents, nil, requests)
		if len(result.Launches) != want {
			b.Fatalf("placed %d, want %d", len(result.Launches), want)
		}
	}
	b.ReportMetric(float64(want), "instances/op")
}

// 10,000 instances: ten apps of 1,000, each one per host (hostname UNIQUE),
// on 1,000 agents.
func BenchmarkPlace10kUnique1kAgents(b *testing.B) {
	var reqs []Request
	for i := range 10 {
		reqs = append(reqs, Request{AppID: fmt.Sprintf("/app%d", i), Count: 1000,
			Resources: Resources{Cpus: 0.5, Mem: 64}, Ports: []int{0},
			Constraints: []marathon.Constraint{{"hostname", "UNIQUE"}}})
	}
	benchPlace(b, benchAgents(1000, 20), reqs, 10_000)
}

// 10,000 instances of one app spread over 20 racks (rack GROUP_BY) on 1,000 agents.
func BenchmarkPlace10kGroupBy1kAgents(b *testing.B) {
	reqs := []Request{{AppID: "/app", Count: 10_000, Resources: Resources{Cpus: 0.5, Mem: 64},
		Constraints: []marathon.Constraint{{"rack", "GROUP_BY"}}}}
	benchPlace(b, benchAgents(1000, 20), reqs, 10_000)
}

// 10,000 instances without constraints on 1,000 agents.
func BenchmarkPlace10kSpread1kAgents(b *testing.B) {
	reqs := []Request{{AppID: "/app", Count: 10_000, Resources: Resources{Cpus: 0.5, Mem: 64}}}
	benchPlace(b, benchAgents(1000, 20), reqs, 10_000)
}
