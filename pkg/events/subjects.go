package events

import (
	"errors"
	"fmt"
	"strings"
)

// Subject prefixes and wildcards. Each wildcard pairs with a builder below.
const (
	// AgentHeartbeatAll matches every agent's heartbeat: drover.agent.*.heartbeat
	AgentHeartbeatAll = "drover.agent.*.heartbeat"
	// AgentCommandAll matches every agent's commands: drover.agent.*.cmd
	AgentCommandAll = "drover.agent.*.cmd"
	// AgentStatusAll matches every agent's status reports: drover.agent.*.status
	AgentStatusAll = "drover.agent.*.status"
	// AgentSandboxAll matches every agent's sandbox reads: drover.agent.*.sandbox
	AgentSandboxAll = "drover.agent.*.sandbox"
	// SchedulerRequests is where the api asks the scheduler leader for
	// actions on tasks and itself: drover.scheduler.requests
	SchedulerRequests = "drover.scheduler.requests"
	// EventAll matches every Marathon event: drover.events.>
	EventAll = "drover.events.>"
	// PlanDemand is where api replicas announce that someone receives
	// deployment events with full plans (PlanDemandNotice): core NATS,
	// kept by no stream: drover.plans.demand
	PlanDemand = "drover.plans.demand"

	agentPrefix = "drover.agent."
	eventPrefix = "drover.events."
)

// ErrBadSubject is returned by the parsers for a subject that is not theirs.
var ErrBadSubject = errors.New("events: subject does not match")

// AgentHeartbeat is the subject an agent sends its heartbeat on:
// drover.agent.<agentId>.heartbeat
func AgentHeartbeat(agentID string) string { return agentSubject(agentID, "heartbeat") }

// AgentCommand is the subject the scheduler leader sends an agent's commands on:
// drover.agent.<agentId>.cmd
func AgentCommand(agentID string) string { return agentSubject(agentID, "cmd") }

// AgentStatus is the subject an agent reports task state changes on:
// drover.agent.<agentId>.status
func AgentStatus(agentID string) string { return agentSubject(agentID, "status") }

// AgentSandbox is the subject an agent answers reads of its tasks'
// sandbox files on (request/reply, SandboxRead → SandboxFile):
// drover.agent.<agentId>.sandbox
func AgentSandbox(agentID string) string { return agentSubject(agentID, "sandbox") }

// Event is the subject a Marathon event of the given type goes on:
// drover.events.<eventType>
func Event(eventType string) string { return eventPrefix + eventType }

// ParseAgentHeartbeat returns the agent id of a heartbeat subject.
func ParseAgentHeartbeat(subject string) (string, error) {
	return parseAgentSubject(subject, "heartbeat")
}

// ParseAgentCommand returns the agent id of a command subject.
func ParseAgentCommand(subject string) (string, error) { return parseAgentSubject(subject, "cmd") }

// ParseAgentStatus returns the agent id of a status subject.
func ParseAgentStatus(subject string) (string, error) { return parseAgentSubject(subject, "status") }

// ParseAgentSandbox returns the agent id of a sandbox subject.
func ParseAgentSandbox(subject string) (string, error) { return parseAgentSubject(subject, "sandbox") }

// ParseEvent returns the event type of an event subject.
func ParseEvent(subject string) (string, error) {
	t, ok := strings.CutPrefix(subject, eventPrefix)
	if !ok || t == "" || strings.Contains(t, ".") {
		return "", fmt.Errorf("%w: %q is not an event subject", ErrBadSubject, subject)
	}
	return t, nil
}

func agentSubject(agentID, kind string) string { return agentPrefix + agentID + "." + kind }

func parseAgentSubject(subject, kind string) (string, error) {
	rest, ok := strings.CutPrefix(subject, agentPrefix)
	if ok {
		id, ok := strings.CutSuffix(rest, "."+kind)
		if ok && ValidAgentID(id) {
			return id, nil
		}
	}
	return "", fmt.Errorf("%w: %q is not an agent %s subject", ErrBadSubject, subject, kind)
}

// ValidAgentID reports whether id can stand as one subject token and in a
// Docker container name: letters, digits, '-' and '_', at most 64 of them.
func ValidAgentID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, r := range id {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
		default:
			return false
		}
	}
	return true
}

// AgentIDFromHostname turns a hostname into a valid agent id by replacing
// every character ValidAgentID refuses with '-'.
func AgentIDFromHostname(hostname string) string {
	b := []byte(hostname)
	for i, c := range b {
		if !ValidAgentID(string(c)) {
			b[i] = '-'
		}
	}
	if len(b) > 64 {
		b = b[:64]
	}
	return string(b)
}
