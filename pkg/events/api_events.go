package events

import "github.com/drover/drover/pkg/marathon"

// Marathon event types the api publishes, besides those in marathon_events.go.
const (
	EventGroupChangeSuccess   = "group_change_success"
	EventStreamAttached       = "event_stream_attached"
	EventStreamDetached       = "event_stream_detached"
	EventDeploymentStepOK     = "deployment_step_success"
	EventDeploymentStepFailed = "deployment_step_failure"
	EventSubscribe            = "subscribe_event"
	EventUnsubscribe          = "unsubscribe_event"
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

// DeploymentInfoEvent is Marathon's deployment_info, published when each
// step of a deployment starts (the api publishes the first, with the
// write), and deployment_step_success / deployment_step_failure, published
// when a step ends: the plan, and the step as {"actions": [...]}.
type DeploymentInfoEvent struct {
	EventType   string             `json:"eventType"`
	Timestamp   string             `json:"timestamp"`
	Plan        DeploymentPlan     `json:"plan"`
	CurrentStep DeploymentPlanStep `json:"currentStep"`
}

// SubscriptionEvent is Marathon's subscribe_event and unsubscribe_event: an
// HTTP callback registered or removed through /v2/eventSubscriptions.
type SubscriptionEvent struct {
	EventType   string `json:"eventType"`
	Timestamp   string `json:"timestamp"`
	ClientIP    string `json:"clientIp"`
	CallbackURL string `json:"callbackUrl"`
}

// EventStreamEvent is Marathon's event_stream_attached and
// event_stream_detached: a client of /v2/events came or went.
type EventStreamEvent struct {
	EventType     string `json:"eventType"`
	Timestamp     string `json:"timestamp"`
	RemoteAddress string `json:"remoteAddress"`
}
