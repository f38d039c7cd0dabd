//go:build !linux

package uitest

import (
	"net"
	"os/exec"
	"testing"
)

// isolatedLoopback: network namespaces are Linux's; elsewhere the browser
// shares the machine's network.
func isolatedLoopback(*testing.T) (net.Listener, string, string, bool) { return nil, "", "", false }

func inNamespace(*exec.Cmd, string, string) {}
