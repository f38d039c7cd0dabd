package events

import "github.com/drover/drover/pkg/marathon"

// Marathon event types the api publishes, besides those in marathon_events.go.
const (
	EventGroupChangeSuccess   = "group_change_success"
	EventStreamAttached       = "event_stream_attached"
	EventStreamDetached       = "event_stream_detached"
	EventDeploymentStepOK     = "deployment_step_success"
	EventDeploymentStepFailed = "deployment_step_failure"
)

// APIPostEvent is Marathon's api_post_event: an app definition written
// through the API (POST or PUT/PATCH of an app, or of a group's apps).
type APIPostEvent struct {
	EventType     string       `json:"eventType"`
	Timestamp     string       `json:"timestamp"`
	ClientIP      string       `json:"clientIp"`
	URI           string       `json:"uri"`
	AppDefinition marathon.App `json:"appDefinition"`
}

// GroupChangeSuccessEvent is Marathon's group_change_success: the group
// (or the group of the app) a change went to, and the version it made.
type GroupChangeSuccessEvent struct {
	EventType string `json:"eventType"`
	Timestamp string `json:"timestamp"`
	GroupID   string `json:"groupId"`
	Version   string `json:"version"`
}

// DeploymentInfoEvent is Marathon's deployment_info, published when a
// deployment starts: its plan and the step it is at.
type DeploymentInfoEvent struct {
	EventType   string             `json:"eventType"`
	Timestamp   string             `json:"timestamp"`
	Plan        DeploymentPlan     `json:"plan"`
	CurrentStep DeploymentPlanStep `json:"currentStep"`
}

// EventStreamEvent is Marathon's event_stream_attached and
// event_stream_detached: a client of /v2/events came or went.
type EventStreamEvent struct {
	EventType     string `json:"eventType"`
	Timestamp     string `json:"timestamp"`
	RemoteAddress string `json:"remoteAddress"`
}
