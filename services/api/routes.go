package api

import (
	"net/http"
	"strings"

	"github.com/drover/drover/services/api/auth"
	"github.com/labstack/echo/v4"
)

// routes builds the echo router: every route of the API, the middleware,
// and the one error handler.
func (s *Server) routes() *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.handleError
	e.IPExtractor = echo.ExtractIPDirect()
	e.Use(s.metrics.Middleware, s.recoverPanics, s.leaderHeader, s.logRequests)
	// Every read route answers HEAD as well (a viewer may GET and HEAD).
	get := func(path string, h echo.HandlerFunc) { e.Match(readMethods, path, h) }

	// Load balancers probe /ping with HEAD as well.
	e.Match([]string{http.MethodGet, http.MethodHead}, "/ping", s.ping)
	e.Match([]string{http.MethodGet, http.MethodHead}, "/v2/ping", s.ping)
	get("/metrics", s.metrics.JSON)
	get("/metrics/prometheus", s.metrics.Prometheus)
	get("/v2/info", s.info)
	get("/v2/leader", s.getLeader)
	e.DELETE("/v2/leader", s.abdicate)
	get("/v2/events", s.stream.Serve)
	get("/v2/eventSubscriptions", s.listSubscriptions)
	e.POST("/v2/eventSubscriptions", s.subscribe)
	e.DELETE("/v2/eventSubscriptions", s.unsubscribe)

	get("/v2/apps", s.listApps)
	e.POST("/v2/apps", s.createApp)
	e.PUT("/v2/apps", func(c echo.Context) error { return s.updateApps(c, updateMode{partial: true, allowCreate: true}) })
	e.PATCH("/v2/apps", func(c echo.Context) error { return s.updateApps(c, updateMode{partial: true}) })
	get("/v2/apps/*", s.appGET)
	e.PUT("/v2/apps/*", s.appPUT)
	e.PATCH("/v2/apps/*", s.appPATCH)
	e.DELETE("/v2/apps/*", s.appDELETE)
	e.POST("/v2/apps/*", s.appPOST)

	get("/v2/tasks", s.listTasks)
	get("/v2/tasks/:taskId/files/*", s.taskFile)
	e.POST("/v2/tasks/delete", s.killTasks)

	get("/v2/deployments", s.listDeployments)
	e.DELETE("/v2/deployments/:id", s.deleteDeployment)

	get("/v2/groups", s.groupGET)
	get("/v2/groups/*", s.groupGET)
	e.POST("/v2/groups", s.groupPOST)
	e.POST("/v2/groups/*", s.groupPOST)
	e.PUT("/v2/groups", s.groupPUT)
	e.PUT("/v2/groups/*", s.groupPUT)
	e.DELETE("/v2/groups", s.groupDELETE)
	e.DELETE("/v2/groups/*", s.groupDELETE)

	get("/v2/queue", s.listQueue)
	e.DELETE("/v2/queue/*", s.queueDELETE)
	s.registerUI(e)
	// In front of every route: package auth.
	s.guard = auth.New(auth.Options{
		CredentialsFile: s.cfg.AuthFile, Secure: s.cfg.TLSCertFile != "", ListenAddr: s.cfg.HTTPAddr,
		Logger: s.logger, Register: s.metrics.Register, ReadJSON: readJSON, WriteJSON: writeJSON,
	})
	s.guard.Register(e)
	return e
}

// readMethods are the methods of a read route.
var readMethods = []string{http.MethodGet, http.MethodHead}

// The /v2/apps/{id...} routes: app ids hold slashes, so the sub-resources
// (tasks, versions, restart) are recognised at the end of the path.

func (s *Server) appGET(c echo.Context) error {
	raw := wildcardPath(c)
	if rest, ok := strings.CutSuffix(raw, "/versions"); ok && rest != "" {
		return s.listVersions(c, rest)
	}
	if i := strings.LastIndex(raw, "/versions/"); i > 0 {
		return s.getVersion(c, raw[:i], raw[i+len("/versions/"):])
	}
	return s.appPath(c)
}

func (s *Server) appPUT(c echo.Context) error {
	raw := wildcardPath(c)
	if raw == "" {
		return s.updateApps(c, updateMode{partial: true, allowCreate: true})
	}
	return s.updateApp(c, raw, updateMode{allowCreate: true})
}

func (s *Server) appPATCH(c echo.Context) error {
	raw := wildcardPath(c)
	if raw == "" {
		return s.updateApps(c, updateMode{partial: true})
	}
	return s.updateApp(c, raw, updateMode{partial: true})
}

func (s *Server) appDELETE(c echo.Context) error {
	raw := wildcardPath(c)
	switch {
	case raw == "":
		return methodNotAllowed(c, "GET, POST, PUT, PATCH")
	case strings.HasSuffix(raw, "/tasks"):
		return s.killAppTasks(c, strings.TrimSuffix(raw, "/tasks"))
	}
	if app, taskID, ok := splitTaskPath(raw); ok {
		return s.killAppTask(c, app, taskID)
	}
	return s.deleteApp(c, raw)
}

func (s *Server) appPOST(c echo.Context) error {
	raw := wildcardPath(c)
	if rest, ok := strings.CutSuffix(raw, "/restart"); ok && rest != "" {
		return s.restartApp(c, rest)
	}
	if raw == "" {
		return s.createApp(c)
	}
	return methodNotAllowed(c, "GET, PUT, PATCH, DELETE")
}

// methodNotAllowed is a 405 with the methods the path allows.
func methodNotAllowed(c echo.Context, allow string) error {
	c.Response().Header().Set(echo.HeaderAllow, allow)
	return echo.ErrMethodNotAllowed
}
