package apierr

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/drover/drover/pkg/marathon"
	"github.com/drover/drover/services/api/readmodel"
	"github.com/drover/drover/services/api/view"
	"github.com/labstack/echo/v4"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// ErrNoLeader is returned when no scheduler holds the leader lock.
var ErrNoLeader = errors.New("there is no leader")

// AppNotFoundError is a request for an app that does not exist.
type AppNotFoundError struct{ ID string }

func (e *AppNotFoundError) Error() string { return fmt.Sprintf("App '%s' does not exist", e.ID) }

// AppExistsError is a POST of an app whose id is taken.
type AppExistsError struct{ ID string }

func (e *AppExistsError) Error() string {
	return fmt.Sprintf("An app with id [%s] already exists.", e.ID)
}

// InvalidJSONError is a body that is not JSON, or not of the expected shape:
// 400 with Marathon's "Invalid JSON" details.
type InvalidJSONError struct{ Details []marathon.FieldError }

func (e *InvalidJSONError) Error() string { return fmt.Sprintf("invalid JSON: %v", e.Details) }

// ValidationError is a well-formed definition Marathon's rules refuse: 422.
type ValidationError struct{ Details []marathon.FieldError }

func (e *ValidationError) Error() string { return fmt.Sprintf("object is not valid: %v", e.Details) }

// Body is Marathon's error body.
type Body struct {
	Message     string                `json:"message"`
	Details     []marathon.FieldError `json:"details,omitempty"`
	Deployments []view.DeploymentRef  `json:"deployments,omitempty"`
}

// Response maps an error to its status and Marathon-shaped body.
func Response(err error, path string) (int, Body) {
	var (
		locked   *DeploymentLockedError
		notFound *AppNotFoundError
		exists   *AppExistsError
		conflict *ConflictError
		badJSON  *InvalidJSONError
		invalid  *ValidationError
		tooLarge *http.MaxBytesError
		httpErr  *echo.HTTPError
		noPorts  *marathon.PortRangeExhaustedError
		noFile   *SandboxFileNotFoundError
		noAgent  *AgentUnavailableError
	)
	if status, ok := notFoundStatus(err); ok {
		return status, Body{Message: err.Error()}
	}
	switch {
	case errors.As(err, &noFile):
		return http.StatusNotFound, Body{Message: noFile.Error()}
	case errors.As(err, &noAgent):
		// The agent is named; its error (the cause) is for the log only.
		status := http.StatusServiceUnavailable
		if noAgent.Timeout {
			status = http.StatusGatewayTimeout
		}
		return status, Body{Message: fmt.Sprintf("Agent '%s' did not answer", noAgent.AgentID)}
	case errors.As(err, &locked):
		body := Body{Message: locked.Error(), Deployments: []view.DeploymentRef{}}
		for _, id := range locked.IDs {
			body.Deployments = append(body.Deployments, view.DeploymentRef{ID: id})
		}
		return http.StatusConflict, body
	case errors.As(err, &notFound):
		return http.StatusNotFound, Body{Message: notFound.Error()}
	case errors.As(err, &exists):
		return http.StatusConflict, Body{Message: exists.Error()}
	case errors.As(err, &conflict):
		return http.StatusConflict, Body{Message: conflict.Error()}
	case errors.As(err, &badJSON):
		return http.StatusBadRequest, Body{Message: "Invalid JSON", Details: badJSON.Details}
	case errors.As(err, &invalid):
		return http.StatusUnprocessableEntity, Body{Message: "Object is not valid", Details: invalid.Details}
	case errors.As(err, &tooLarge):
		return http.StatusRequestEntityTooLarge, Body{Message: fmt.Sprintf("Request body exceeds %d bytes", tooLarge.Limit)}
	case errors.As(err, &noPorts):
		// Marathon's 500, with its message: the fault is the range's.
		return http.StatusInternalServerError, Body{Message: noPorts.Error()}
	case errors.Is(err, ErrNoLeader):
		return http.StatusNotFound, Body{Message: "There is no leader"}
	case errors.As(err, &httpErr):
		return httpErrorResponse(httpErr, path)
	case unavailable(err):
		return http.StatusServiceUnavailable, Body{Message: http.StatusText(http.StatusServiceUnavailable)}
	default:
		return http.StatusInternalServerError, Body{Message: http.StatusText(http.StatusInternalServerError)}
	}
}

// notFoundStatus maps the errors that are a plain message: what does not
// exist (404) and what exists already (409).
func notFoundStatus(err error) (int, bool) {
	var (
		version    *AppVersionNotFoundError
		task       *TaskNotFoundError
		deployment *DeploymentNotFoundError
		group      *GroupNotFoundError
		queued     *NotQueuedError
		groupTaken *GroupExistsError
	)
	switch {
	case errors.As(err, &version), errors.As(err, &task), errors.As(err, &deployment),
		errors.As(err, &group), errors.As(err, &queued):
		return http.StatusNotFound, true
	case errors.As(err, &groupTaken):
		return http.StatusConflict, true
	}
	return 0, false
}

func httpErrorResponse(e *echo.HTTPError, path string) (int, Body) {
	code := e.Code
	if code < 400 || code > 599 {
		code = http.StatusInternalServerError
	}
	msg := http.StatusText(code)
	switch {
	case code == http.StatusNotFound:
		msg = "URI not found: " + path // Marathon's words for an unknown route
	case code < 500:
		if m, ok := e.Message.(string); ok && m != "" {
			msg = m
		}
	}
	return code, Body{Message: msg}
}

// unavailable reports whether err means that JetStream could not answer in
// time: the request may succeed if retried.
func unavailable(err error) bool {
	for _, target := range []error{
		readmodel.ErrNotReady, context.DeadlineExceeded, nats.ErrTimeout, nats.ErrNoResponders,
		nats.ErrConnectionClosed, nats.ErrConnectionReconnecting, nats.ErrDisconnected,
		jetstream.ErrNoStreamResponse, jetstream.ErrJetStreamNotEnabled,
	} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

// ConflictError is a write that lost a race with another one: 409.
type ConflictError struct{ Message string }

func (e *ConflictError) Error() string { return e.Message }

// DeploymentLockedError is a change to apps a running deployment holds: 409.
type DeploymentLockedError struct{ IDs []string }

func (e *DeploymentLockedError) Error() string {
	return "App is locked by one or more deployments. Override with the option '?force=true'. " +
		"View details at '/v2/deployments/<DEPLOYMENT_ID>'."
}

// DeploymentNotFoundError is a request for a deployment that is not running.
type DeploymentNotFoundError struct{ ID string }

func (e *DeploymentNotFoundError) Error() string {
	return fmt.Sprintf("DeploymentPlan %s does not exist", e.ID)
}

// GroupNotFoundError is a request for a group that does not exist.
type GroupNotFoundError struct{ ID string }

func (e *GroupNotFoundError) Error() string { return fmt.Sprintf("Group '%s' does not exist", e.ID) }

// GroupExistsError is a POST of a group that exists.
type GroupExistsError struct{ ID string }

func (e *GroupExistsError) Error() string {
	return fmt.Sprintf("Group %s is already created. Use PUT to change this group.", e.ID)
}

// NotQueuedError is a request about an app that waits for nothing.
type NotQueuedError struct{ ID string }

func (e *NotQueuedError) Error() string {
	return fmt.Sprintf("Application %s not found in tasks queue.", e.ID)
}

// TaskNotFoundError is a request for a task that does not exist.
type TaskNotFoundError struct{ ID string }

func (e *TaskNotFoundError) Error() string { return fmt.Sprintf("Task '%s' does not exist", e.ID) }

// AppVersionNotFoundError is a request for a version an app does not have.
type AppVersionNotFoundError struct{ ID, Version string }

func (e *AppVersionNotFoundError) Error() string {
	return fmt.Sprintf("App '%s' does not exist in version %s", e.ID, e.Version)
}

// SandboxFileNotFoundError is a file a task's sandbox lacks, or a task
// that has no sandbox (Why says which): 404.
type SandboxFileNotFoundError struct{ TaskID, Path, Why string }

func (e *SandboxFileNotFoundError) Error() string {
	return fmt.Sprintf("File '%s' of task '%s' does not exist: %s", e.Path, e.TaskID, e.Why)
}

// AgentUnavailableError is an agent that did not answer: none listens
// (503), or not in time (Timeout: 504), or it could not read (503).
type AgentUnavailableError struct {
	AgentID string
	Timeout bool
	Err     error
}

func (e *AgentUnavailableError) Error() string {
	return fmt.Sprintf("agent %s did not answer: %v", e.AgentID, e.Err)
}

func (e *AgentUnavailableError) Unwrap() error { return e.Err }
