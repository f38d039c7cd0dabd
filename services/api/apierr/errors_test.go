package apierr

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/drover/drover/pkg/marathon"
	"github.com/drover/drover/services/api/readmodel"
	"github.com/labstack/echo/v4"
	"github.com/nats-io/nats.go"
)

func TestErrorResponse(t *testing.T) {
	details := []marathon.FieldError{{Path: "/cpus", Errors: []string{"got 0.0, expected 0.001 or more"}}}
	tests := []struct {
		name    string
		err     error
		status  int
		message string
	}{
		{"not found", fmt.Errorf("wrapped: %w", &AppNotFoundError{ID: "/x"}), 404, "App '/x' does not exist"},
		{"exists", &AppExistsError{ID: "/x"}, 409, "An app with id [/x] already exists."},
		{"conflict", &ConflictError{Message: "try again"}, 409, "try again"},
		{"invalid json", &InvalidJSONError{Details: details}, 400, "Invalid JSON"},
		{"invalid", &ValidationError{Details: details}, 422, "Object is not valid"},
		{"too large", &http.MaxBytesError{Limit: 10}, 413, "Request body exceeds 10 bytes"},
		{"no leader", ErrNoLeader, 404, "There is no leader"},
		{"route", echo.ErrNotFound, 404, "URI not found: /v2/x"},
		{"method", echo.ErrMethodNotAllowed, 405, "Method Not Allowed"},
		{"bad request", echo.NewHTTPError(400, "Invalid label selector: x"), 400, "Invalid label selector: x"},
		{"echo 5xx", echo.NewHTTPError(502, "upstream 10.0.0.1 refused"), 502, "Bad Gateway"},
		{"not ready", fmt.Errorf("%w: %w", readmodel.ErrNotReady, context.DeadlineExceeded), 503, "Service Unavailable"},
		{"nats timeout", fmt.Errorf("api: create app /x: %w", nats.ErrTimeout), 503, "Service Unavailable"},
		{"internal", errors.New("nats: permissions violation on $KV.apps.secret"), 500, "Internal Server Error"},
	}
	for _, tt := range tests {
		status, body := Response(tt.err, "/v2/x")
		if status != tt.status || body.Message != tt.message {
			t.Errorf("%s: %d %q, want %d %q", tt.name, status, body.Message, tt.status, tt.message)
		}
		if status >= 500 && body.Details != nil {
			t.Errorf("%s: 5xx with details", tt.name)
		}
	}
	if _, body := Response(&ValidationError{Details: details}, "/"); len(body.Details) != 1 {
		t.Errorf("details lost: %+v", body)
	}
}
