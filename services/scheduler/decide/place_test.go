package decide

import (
	"testing"

	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/services/scheduler/placement"
)

// TestPlacementAvoidsAgentsReportingDockerDown: an agent whose last
// heartbeat says Docker is down takes no new task, though its running tasks
// are declared lost only once Docker stays down for DockerDownAfter.
func TestPlacementAvoidsAgentsReportingDockerDown(t *testing.T) {
	for _, tc := range []struct {
		name    string
		state   string
		healthy bool
		want    placement.Reason
	}{
		{"active, Docker up", events.AgentActive, true, ""},
		{"active, Docker down in its last heartbeat", events.AgentActive, false, placement.ReasonDockerDown},
		{"Docker down for long enough", events.AgentDockerDown, false, placement.ReasonDockerDown},
		{"unreachable", events.AgentUnreachable, true, placement.ReasonUnreachable},
	} {
		a := &Agent{State: tc.state, Heartbeat: events.Heartbeat{Hostname: "h1", Docker: events.DockerHealth{Healthy: tc.healthy}}}
		if got := toPlacementAgent("h1", a).Unavailable; got != tc.want {
			t.Errorf("%s: unavailable %q, want %q", tc.name, got, tc.want)
		}
	}
}
