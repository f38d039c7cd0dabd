package events

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

// DeploymentPlan is the plan Marathon's deployment events carry.
type DeploymentPlan struct {
	ID      string               `json:"id"`
	Version string               `json:"version"`
	Steps   []DeploymentPlanStep `json:"steps"`
}

// DeploymentPlanStep is one step of a DeploymentPlan.
type DeploymentPlanStep struct {
	Actions []DeploymentAction `json:"actions"`
}

// DeploymentEvent is Marathon's deployment_success / deployment_failed /
// deployment_info.
type DeploymentEvent struct {
	EventType string         `json:"eventType"`
	Timestamp string         `json:"timestamp"`
	ID        string         `json:"id"`
	Plan      DeploymentPlan `json:"plan"`
	Reason    string         `json:"reason,omitempty"`
}

// AppTerminatedEvent is Marathon's app_terminated_event.
type AppTerminatedEvent struct {
	EventType string `json:"eventType"`
	Timestamp string `json:"timestamp"`
	AppID     string `json:"appId"`
}

// TimeFormat is how Marathon writes timestamps: ISO-8601, UTC, milliseconds.
const TimeFormat = "2006-01-02T15:04:05.000Z"
