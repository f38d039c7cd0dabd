package events

import "github.com/drover/drover/pkg/marathon"

// Marathon event types, as /v2/events and drover.events.<type> carry them.
const (
	EventStatusUpdate      = "status_update_event"
	EventAPIPost           = "api_post_event"
	EventDeploymentInfo    = "deployment_info"
	EventDeploymentSuccess = "deployment_success"
	EventDeploymentFailed  = "deployment_failed"
	EventAppTerminated     = "app_terminated_event"

	EventHealthStatusChanged   = "health_status_changed_event"
	EventUnhealthyInstanceKill = "unhealthy_instance_kill_event"
)

// HealthStatusChangedEvent is Marathon's health_status_changed_event.
type HealthStatusChangedEvent struct {
	EventType  string `json:"eventType"`
	Timestamp  string `json:"timestamp"`
	AppID      string `json:"appId"`
	TaskID     string `json:"taskId"`
	InstanceID string `json:"instanceId"`
	Version    string `json:"version"`
	Alive      bool   `json:"alive"`
}

// UnhealthyInstanceKillEvent is Marathon's unhealthy_instance_kill_event.
type UnhealthyInstanceKillEvent struct {
	EventType  string `json:"eventType"`
	Timestamp  string `json:"timestamp"`
	AppID      string `json:"appId"`
	TaskID     string `json:"taskId"`
	InstanceID string `json:"instanceId"`
	Version    string `json:"version"`
	Reason     string `json:"reason"`
	Host       string `json:"host"`
	SlaveID    string `json:"slaveId"`
}

// IPAddress is Marathon's {ipAddress, protocol} pair.
type IPAddress struct {
	IPAddress string `json:"ipAddress"`
	Protocol  string `json:"protocol"`
}

// StatusUpdateEvent is Marathon's status_update_event.
type StatusUpdateEvent struct {
	EventType   string      `json:"eventType"`
	Timestamp   string      `json:"timestamp"`
	SlaveID     string      `json:"slaveId"`
	TaskID      string      `json:"taskId"`
	TaskStatus  TaskState   `json:"taskStatus"`
	Message     string      `json:"message"`
	AppID       string      `json:"appId"`
	Host        string      `json:"host"`
	IPAddresses []IPAddress `json:"ipAddresses"`
	Ports       []int       `json:"ports"`
	Version     string      `json:"version"`
}

// DeploymentPlan is the plan Marathon's deployment events carry, in the
// order Marathon writes it: id, original, target, steps, version. Original
// and Target are the root group before and after the deployment, as
// /v2/groups renders it; nil (left out) in the light format
// (/v2/events?plan-format=light, see LightPlan) and when too large to
// carry (see MaxEventBytes).
type DeploymentPlan struct {
	ID       string               `json:"id"`
	Original *Group               `json:"original,omitempty"`
	Target   *Group               `json:"target,omitempty"`
	Steps    []DeploymentPlanStep `json:"steps"`
	Version  string               `json:"version"`
}

// Group is a group as /v2/groups renders it (with apps, groups and pods
// embedded): the shape of a plan's original and target.
type Group struct {
	ID           string         `json:"id"`
	Apps         []marathon.App `json:"apps"`
	Groups       []Group        `json:"groups"`
	Pods         []any          `json:"pods"`
	Dependencies []string       `json:"dependencies"`
	Version      string         `json:"version"`
}

// DeploymentPlanStep is one step of a DeploymentPlan.
type DeploymentPlanStep struct {
	Actions []DeploymentAction `json:"actions"`
}

// DeploymentEvent is Marathon's deployment_success and deployment_failed
// (deployment_info is DeploymentInfoEvent).
type DeploymentEvent struct {
	EventType string         `json:"eventType"`
	Timestamp string         `json:"timestamp"`
	ID        string         `json:"id"`
	Plan      DeploymentPlan `json:"plan"`
	Reason    string         `json:"reason,omitempty"`
}

// ReasonCancelled is deployment_failed's reason for a deployment cancelled
// (DELETE /v2/deployments/{id}) or superseded by a forced change: Marathon's
// DeploymentCanceledException.
const ReasonCancelled = "The upgrade has been cancelled"

// AppTerminatedEvent is Marathon's app_terminated_event.
type AppTerminatedEvent struct {
	EventType string `json:"eventType"`
	Timestamp string `json:"timestamp"`
	AppID     string `json:"appId"`
}

// TimeFormat is how Marathon writes timestamps: ISO-8601, UTC, milliseconds.
const TimeFormat = "2006-01-02T15:04:05.000Z"
