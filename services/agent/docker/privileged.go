package docker

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/docker/docker/api/types/container"
)

// How a privileged task is run (Config.Privileged).
const (
	// PrivilegedFull runs it as docker run --privileged does.
	PrivilegedFull = "full"
	// PrivilegedCaps approximates --privileged where the daemon itself lacks
	// some capability (Docker nested in a container or a sandbox), on which
	// --privileged fails with "unable to apply caps": every capability but
	// those missing from the agent's bounding set, seccomp and AppArmor
	// unconfined. Host devices are not exposed.
	PrivilegedCaps = "caps"
	// PrivilegedAuto is PrivilegedFull, or PrivilegedCaps when the agent's own
	// capability bounding set lacks a capability.
	PrivilegedAuto = "auto"
)

// capNames are the Linux capabilities by number, as Docker names them.
var capNames = []string{
	"CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID",
	"SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW",
	"IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT",
	"SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD",
	"LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG",
	"WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE",
}

// missingCaps lists the capabilities a /proc/<pid>/status says are outside
// the bounding set.
func missingCaps(status string) ([]string, error) {
	for _, line := range strings.Split(status, "\n") {
		hex, ok := strings.CutPrefix(line, "CapBnd:")
		if !ok {
			continue
		}
		bnd, err := strconv.ParseUint(strings.TrimSpace(hex), 16, 64)
		if err != nil {
			return nil, fmt.Errorf("CapBnd %q: %w", hex, err)
		}
		var out []string
		for i, name := range capNames {
			if bnd&(1<<i) == 0 {
				out = append(out, name)
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("no CapBnd line")
}

// resolvePrivileged turns the configured mode into the one to use and the
// capabilities that mode drops.
func resolvePrivileged(mode string) (string, []string, error) {
	if mode == "" || mode == PrivilegedFull {
		return PrivilegedFull, nil, nil
	}
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "", nil, fmt.Errorf("read capabilities: %w", err)
	}
	missing, err := missingCaps(string(status))
	if err != nil {
		return "", nil, err
	}
	if mode == PrivilegedAuto && len(missing) == 0 {
		return PrivilegedFull, nil, nil
	}
	return PrivilegedCaps, missing, nil
}

// applyPrivileged rewrites a privileged container for PrivilegedCaps.
func applyPrivileged(h *container.HostConfig, mode string, drop []string) {
	if !h.Privileged || mode != PrivilegedCaps {
		return
	}
	h.Privileged = false
	h.CapAdd = []string{"ALL"}
	h.CapDrop = append(h.CapDrop, drop...)
	h.SecurityOpt = append(h.SecurityOpt, "seccomp=unconfined", "apparmor=unconfined")
}
