package api

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

var (
	// ErrNoLeader is returned when no scheduler holds the leader lock.
	ErrNoLeader = errors.New("there is no leader")
)

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

// messageBody is Marathon's error body.
type messageBody struct {
	Message     string                `json:"message"`
	Details     []marathon.FieldError `json:"details,omitempty"`
	Deployments []view.DeploymentRef  `json:"deployments,omitempty"`
}

// handleError is the echo HTTPErrorHandler: the one place errors become
// HTTP responses. A 5xx is logged with its cause and answered with a
// generic message.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	status, body := errorResponse(err, c.Request().URL.Path)
	if status >= http.StatusInternalServerError {
		s.logger.Error("request failed", "method", c.Request().Method, "path", c.Request().URL.Path,
			"status", status, "error", err)
	}
	if werr := writeJSON(c, status, body); werr != nil {
		s.logger.Debug("write error response", "error", werr)
	}
}

// errorResponse maps an error to its status and Marathon-shaped body.
func errorResponse(err error, path string) (int, messageBody) {
	var (
		locked   *DeploymentLockedError
		notFound *AppNotFoundError
		exists   *AppExistsError
		conflict *ConflictError
		badJSON  *InvalidJSONError
		invalid  *ValidationError
		tooLarge *http.MaxBytesError
		httpErr  *echo.HTTPError
	)
	if status, ok := notFoundStatus(err); ok {
		return status, messageBody{Message: err.Error()}
	}
	switch {
	case errors.As(err, &locked):
		body := messageBody{Message: locked.Error(), Deployments: []view.DeploymentRef{}}
		for _, id := range locked.IDs {
			body.Deployments = append(body.Deployments, view.DeploymentRef{ID: id})
		}
		return http.StatusConflict, body
	case errors.As(err, &notFound):
		return http.StatusNotFound, messageBody{Message: notFound.Error()}
	case errors.As(err, &exists):
		return http.StatusConflict, messageBody{Message: exists.Error()}
	case errors.As(err, &conflict):
		return http.StatusConflict, messageBody{Message: conflict.Error()}
	case errors.As(err, &badJSON):
		return http.StatusBadRequest, messageBody{Message: "Invalid JSON", Details: badJSON.Details}
	case errors.As(err, &invalid):
		return http.StatusUnprocessableEntity, messageBody{Message: "Object is not valid", Details: invalid.Details}
	case errors.As(err, &tooLarge):
		return http.StatusRequestEntityTooLarge, messageBody{Message: fmt.Sprintf("Request body exceeds %d bytes", tooLarge.Limit)}
	case errors.Is(err, ErrNoLeader):
		return http.StatusNotFound, messageBody{Message: "There is no leader"}
	case errors.As(err, &httpErr):
		return httpErrorResponse(httpErr, path)
	case unavailable(err):
		return http.StatusServiceUnavailable, messageBody{Message: http.StatusText(http.StatusServiceUnavailable)}
	default:
		return http.StatusInternalServerError, messageBody{Message: http.StatusText(http.StatusInternalServerError)}
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

func httpErrorResponse(e *echo.HTTPError, path string) (int, messageBody) {
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
	return code, messageBody{Message: msg}
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
