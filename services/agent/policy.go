package agent

import (
	"fmt"
	"path"
	"strings"

	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/marathon"
)

// CheckPolicy tells why the agent's policy forbids running app, or returns
// nil. The error wraps ErrPolicy. Malformed parameters are not its concern:
// the runtime refuses them.
func CheckPolicy(p events.AgentPolicy, app marathon.App) error {
	c := app.Container
	if c == nil {
		return nil
	}
	if c.Docker != nil && c.Docker.Privileged && !p.AllowPrivileged {
		return fmt.Errorf("%w: privileged containers are not allowed", ErrPolicy)
	}
	if len(p.HostPathPrefixes) == 0 {
		return nil
	}
	var hostPaths []string
	for _, v := range c.Volumes {
		if v.HostPath != "" {
			hostPaths = append(hostPaths, v.HostPath)
		}
	}
	if c.Docker != nil {
		opts, _ := marathon.ParseDockerParameters(c.Docker.Parameters)
		for _, v := range opts.Volumes {
			if path.IsAbs(v.Source) {
				hostPaths = append(hostPaths, v.Source)
			}
		}
	}
	for _, hp := range hostPaths {
		if !underAny(hp, p.HostPathPrefixes) {
			return fmt.Errorf("%w: host path %q is outside %s", ErrPolicy, hp, strings.Join(p.HostPathPrefixes, ", "))
		}
	}
	return nil
}

// underAny reports whether p is one of the prefixes or inside one of them.
func underAny(p string, prefixes []string) bool {
	p = path.Clean(p)
	for _, pre := range prefixes {
		pre = path.Clean(pre)
		if p == pre || pre == "/" || strings.HasPrefix(p, pre+"/") {
			return true
		}
	}
	return false
}
