package api

import (
	"fmt"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/labstack/echo/v4"
)

// HeaderLeader names the leader on every response while there is one.
const HeaderLeader = "X-Marathon-Leader"

// recoverPanics turns a handler's panic into a 500 (logged with its stack).
func (s *Server) recoverPanics(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			r := recover()
			if r == nil {
				return
			}
			if r == http.ErrAbortHandler {
				panic(r)
			}
			s.logger.Error("handler panicked", "method", c.Request().Method, "path", c.Request().URL.Path,
				"panic", r, "stack", string(debug.Stack()))
			err = fmt.Errorf("api: handler panicked: %v", r)
		}()
		return next(c)
	}
}

// leaderHeader sets X-Marathon-Leader to the leader's URL
// (http://host:port, see leaderURL), as Marathon does, whenever a
// scheduler holds the lock.
func (s *Server) leaderHeader(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if rec, ok := s.rm.Leader(); ok && (rec.APIAddress != "" || rec.Hostname != "") {
			c.Response().Header().Set(HeaderLeader, s.leaderURL(rec))
		}
		return next(c)
	}
}

// logRequests logs each request at debug level, once its response is written.
func (s *Server) logRequests(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err) // write the error response now, to log its status
		}
		s.logger.Debug("request", "method", c.Request().Method, "uri", c.Request().RequestURI,
			"status", c.Response().Status, "duration", time.Since(start), "error", err)
		return nil
	}
}
