package agent

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/marathon"
)

// healthTarget is the host:port a health check of the task connects to.
//
// HTTP, HTTPS and TCP checks go where Marathon's would, from outside the
// task: the agent's address and the host port at portIndex (or port). The
// MESOS_ variants go where Mesos' would, inside the task's network: the
// container's IP and the container port, when the task has an IP (bridge and
// user networks; on Linux the host reaches them); without one (host
// network) they fall back to the agent's address and host port.
func healthTarget(hc marathon.HealthCheck, cs CheckSpec, task events.TaskReport, agentHost string) (string, error) {
	inside := strings.HasPrefix(hc.Protocol, "MESOS_")
	if hc.Port != nil && *hc.Port > 0 {
		if inside && task.IPAddress != "" {
			return hostPort(task.IPAddress, *hc.Port), nil
		}
		return hostPort(agentHost, *hc.Port), nil
	}
	idx := 0
	if hc.PortIndex != nil {
		idx = *hc.PortIndex
	}
	return portTarget(idx, cs, task, agentHost, inside)
}

// readinessTarget is the host:port a readiness check of the task connects
// to: the agent's address and the host port of the port named rc.PortName.
func readinessTarget(rc marathon.ReadinessCheck, cs CheckSpec, task events.TaskReport, agentHost string) (string, error) {
	for i, p := range cs.Ports {
		if p.Name == rc.PortName {
			return portTarget(i, cs, task, agentHost, false)
		}
	}
	return "", fmt.Errorf("no port named %q", rc.PortName)
}

// portTarget is where the task's port idx is reached: from inside, the
// container's IP and port; else the agent's address and the host port. Each
// falls back on the other when it lacks an address or a port.
func portTarget(idx int, cs CheckSpec, task events.TaskReport, agentHost string, inside bool) (string, error) {
	host := 0
	if idx >= 0 && idx < len(task.HostPorts) {
		host = task.HostPorts[idx]
	}
	cport := 0
	if idx >= 0 && idx < len(cs.Ports) {
		cport = cs.Ports[idx].ContainerPort
	}
	if cport == 0 {
		cport = host
	}
	switch {
	case inside && task.IPAddress != "" && cport > 0:
		return hostPort(task.IPAddress, cport), nil
	case host > 0:
		return hostPort(agentHost, host), nil
	case task.IPAddress != "" && cport > 0:
		return hostPort(task.IPAddress, cport), nil
	}
	return "", fmt.Errorf("task has no port at index %d", idx)
}

func hostPort(host string, port int) string { return net.JoinHostPort(host, strconv.Itoa(port)) }

// checkHost resolves the agent's address for checks: an IP address as it
// is, a hostname that resolves as it is, and one that does not as
// 127.0.0.1 (the published ports are on this host). A hostname's verdict is
// kept for a minute.
type checkHost struct {
	addr    string
	resolve func(ctx context.Context, host string) ([]string, error)

	mu      sync.Mutex
	host    string
	checked time.Time
}

func newCheckHost(addr string) *checkHost {
	return &checkHost{addr: addr, resolve: net.DefaultResolver.LookupHost}
}

// Get is the host checks connect to.
func (h *checkHost) Get(ctx context.Context) string {
	if h.addr == "" {
		return "127.0.0.1"
	}
	if net.ParseIP(h.addr) != nil {
		return h.addr
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.host != "" && time.Since(h.checked) < time.Minute {
		return h.host
	}
	rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, err := h.resolve(rctx, h.addr)
	if ctx.Err() != nil {
		return h.addr // no verdict: the caller gave up
	}
	h.host, h.checked = h.addr, time.Now()
	if err != nil {
		h.host = "127.0.0.1"
	}
	return h.host
}
