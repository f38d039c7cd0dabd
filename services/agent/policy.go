package agent

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/marathon"
)

// CheckPolicy tells why the agent's policy forbids a task with this host
// access (a resolved spec's Access), or returns
// nil: a privileged container (or docker parameters that amount to one:
// capabilities beyond Docker's defaults, host devices, confinement turned
// off) where privileged is not allowed, a host path outside the allowed
// prefixes, an image matching none of the allowed patterns, a command to run
// on the host where host commands are not allowed. The error wraps
// ErrPolicy. The scheduler places by the same rules (marathon.HostAccess),
// so a launch refused here means an agent whose policy changed meanwhile.
// Malformed parameters are not its concern: the runtime refuses them.
//
// Host paths are compared twice: as written (cleaned), and, on this host,
// once every symlink in them is resolved (RealPath), against the prefixes
// resolved the same way: /srv/data/escape, a symlink to /etc, is /etc.
func CheckPolicy(p events.AgentPolicy, ha marathon.HostAccess) error {
	if why := ha.HostCommandViolation(p.AllowHostCommands); why != "" {
		return fmt.Errorf("%w: %s", ErrPolicy, why)
	}
	if why := ha.PolicyViolation(p.AllowPrivileged, p.HostPathPrefixes, p.ImagePatterns); why != "" {
		return fmt.Errorf("%w: %s", ErrPolicy, why)
	}
	if len(p.HostPathPrefixes) == 0 || len(ha.HostPaths) == 0 {
		return nil
	}
	prefixes := make([]string, 0, len(p.HostPathPrefixes))
	for _, pre := range p.HostPathPrefixes {
		if real, err := RealPath(pre); err == nil {
			prefixes = append(prefixes, real)
		}
	}
	for _, hp := range ha.HostPaths {
		real, err := RealPath(hp)
		if err != nil {
			return fmt.Errorf("%w: host path %q: %v", ErrPolicy, hp, err)
		}
		if !marathon.UnderPrefix(real, prefixes) {
			return fmt.Errorf("%w: host path %q is %q once its symlinks are resolved, outside %s",
				ErrPolicy, hp, real, strings.Join(p.HostPathPrefixes, ", "))
		}
	}
	return nil
}

// maxSymlinks bounds the symlinks RealPath follows (Linux' own limit is 40).
const maxSymlinks = 255

// RealPath is the absolute path p names on this host with every symlink
// resolved, component by component, as the kernel would. Of a path whose
// end does not exist yet (Docker creates a missing bind source), the
// longest prefix that exists is resolved and the rest appended: no symlink
// can lie in what does not exist. A dangling symlink is followed to its
// target, which Docker would create.
func RealPath(p string) (string, error) {
	if !filepath.IsAbs(p) {
		return "", fmt.Errorf("%q is not absolute", p)
	}
	resolved := "/"
	todo := strings.Split(filepath.Clean(p), "/")
	hops := 0
	for len(todo) > 0 {
		c := todo[0]
		todo = todo[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			resolved = filepath.Dir(resolved)
			continue
		}
		next := filepath.Join(resolved, c)
		fi, err := os.Lstat(next)
		if errors.Is(err, fs.ErrNotExist) {
			return filepath.Join(append([]string{next}, todo...)...), nil
		}
		if err != nil {
			return "", err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			resolved = next
			continue
		}
		if hops++; hops > maxSymlinks {
			return "", fmt.Errorf("%q: too many levels of symbolic links", p)
		}
		target, err := os.Readlink(next)
		if err != nil {
			return "", err
		}
		if filepath.IsAbs(target) {
			resolved = "/"
		}
		todo = append(strings.Split(target, "/"), todo...)
	}
	return resolved, nil
}
