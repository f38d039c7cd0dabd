package decide

import (
	"testing"

	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/services/scheduler/placement"
)

// TestPlacementAvoidsAgentsReportingDockerDown: an agent whose last
// heartbeat says Docker is down takes no new Docker task, though its
// running ones are declared lost only once Docker stays down for
// DockerDownAfter; host commands need no Docker and still go there.
func TestPlacementAvoidsAgentsReportingDockerDown(t *testing.T) {
	for _, tc := range []struct {
		name            string
		state           string
		healthy         bool
		docker, command placement.Reason // why each request is refused; "": placed
	}{
		{"active, Docker up", events.AgentActive, true, "", ""},
		{"active, Docker down in its last heartbeat", events.AgentActive, false, placement.ReasonDockerDown, ""},
		{"Docker down for long enough", events.AgentDockerDown, false, placement.ReasonDockerDown, ""},
		{"unreachable", events.AgentUnreachable, true, placement.ReasonUnreachable, placement.ReasonUnreachable},
	} {
		a := &Agent{State: tc.state, Heartbeat: events.Heartbeat{Hostname: "h1", Docker: events.DockerHealth{Healthy: tc.healthy},
			Resources: events.Resources{Cpus: 4, Mem: 4096, Disk: 1000}, Policy: events.AgentPolicy{AllowHostCommands: true}}}
		for _, req := range []struct {
			name string
			req  placement.Request
			want placement.Reason
		}{
			{"docker", placement.Request{AppID: "/d", Count: 1, Image: "busybox"}, tc.docker},
			{"command", placement.Request{AppID: "/c", Count: 1, HostCommand: true}, tc.command},
		} {
			res := placement.Place([]placement.Agent{toPlacementAgent("h1", a)}, nil, []placement.Request{req.req})
			var got placement.Reason
			if len(res.Unplaced) == 1 {
				for r := range res.Unplaced[0].Rejected {
					got = r
				}
			} else if len(res.Launches) != 1 {
				t.Fatalf("%s, %s: %+v, want one launch or one unplaced", tc.name, req.name, res)
			}
			if got != req.want {
				t.Errorf("%s, %s task: refused as %q, want %q", tc.name, req.name, got, req.want)
			}
		}
	}
}
