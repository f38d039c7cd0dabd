package api

import (
	"net/http"

	"github.com/drover/drover/services/api/apierr"
	"github.com/labstack/echo/v4"
)

// handleError is the echo HTTPErrorHandler: the one place errors become
// HTTP responses. A 5xx is logged with its cause and answered with a
// generic message.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	status, body := apierr.Response(err, c.Request().URL.Path)
	if status >= http.StatusInternalServerError {
		s.logger.Error("request failed", "method", c.Request().Method, "path", c.Request().URL.Path,
			"status", status, "error", err)
	}
	if werr := writeJSON(c, status, body); werr != nil {
		s.logger.Debug("write error response", "error", werr)
	}
}
