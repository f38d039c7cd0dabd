package agent

import (
	"fmt"

	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/marathon"
)

// CheckPolicy tells why the agent's policy forbids running app, or returns
// nil: a privileged container (or docker parameters that amount to one:
// capabilities beyond Docker's defaults, host devices, confinement turned
// off) where privileged is not allowed, a host path outside the allowed
// prefixes, an image matching none of the allowed patterns. The error wraps
// ErrPolicy. The scheduler places by the same rules (marathon.HostAccess),
// so a launch refused here means an agent whose policy changed meanwhile.
// Malformed parameters are not its concern: the runtime refuses them.
func CheckPolicy(p events.AgentPolicy, app marathon.App) error {
	if why := marathon.HostAccessOf(app).PolicyViolation(p.AllowPrivileged, p.HostPathPrefixes, p.ImagePatterns); why != "" {
		return fmt.Errorf("%w: %s", ErrPolicy, why)
	}
	return nil
}
