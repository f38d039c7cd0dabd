package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/drover/drover/pkg/events"
	"github.com/labstack/echo/v4"
)

// startTimeout bounds what New asks of JetStream before it returns.
const startTimeout = 10 * time.Second

// Server is one api replica.
type Server struct {
	cfg    Config
	bus    *events.Bus
	logger *slog.Logger
	echo   *echo.Echo
	rm     *readModel
	clock  func() time.Time
	port   int

	closeOnce sync.Once
}

// New validates the configuration, starts following the buckets and sets
// up the routes. Serve with Run, or use Handler (then call Close when done).
func New(cfg Config, bus *events.Bus, logger *slog.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}
	if bus == nil {
		return nil, errors.New("api: a bus is required")
	}
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	logger = logger.With("component", "api", "replica", cfg.ID)
	port, _ := httpPort(cfg.HTTPAddr) // checked by Validate
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	rm, err := newReadModel(ctx, bus, logger)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, bus: bus, logger: logger, rm: rm, clock: time.Now, port: port}
	s.echo = s.routes()
	return s, nil
}

// routes builds the echo router: every route of the API, the middleware,
// and the one error handler.
func (s *Server) routes() *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.handleError
	e.IPExtractor = echo.ExtractIPDirect()
	e.Use(s.recoverPanics, s.leaderHeader, s.logRequests)

	// Load balancers probe /ping with HEAD as well.
	e.Match([]string{http.MethodGet, http.MethodHead}, "/ping", s.ping)
	e.Match([]string{http.MethodGet, http.MethodHead}, "/v2/ping", s.ping)
	e.GET("/v2/info", s.info)
	e.GET("/v2/leader", s.getLeader)

	e.GET("/v2/apps", s.listApps)
	e.POST("/v2/apps", s.createApp)
	e.GET("/v2/apps/*", s.appPath)
	e.DELETE("/v2/apps/*", s.deleteApp)

	e.GET("/v2/tasks", s.listTasks)
	return e
}

// Handler is the API as an http.Handler.
func (s *Server) Handler() http.Handler { return s.echo }

// Run serves HTTP on cfg.HTTPAddr until ctx ends, then lets requests in
// flight finish (within ShutdownTimeout) and stops following the buckets.
func (s *Server) Run(ctx context.Context) error {
	defer s.Close()
	ln, err := net.Listen("tcp", s.cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("api: listen: %w", err)
	}
	srv := &http.Server{
		Handler:           s.echo,
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		ReadTimeout:       s.cfg.ReadTimeout,
		WriteTimeout:      s.cfg.WriteTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(s.logger.Handler(), slog.LevelWarn),
	}
	s.logger.Info("serving", "address", ln.Addr().String())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("api: serve: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		s.logger.Warn("shutdown", "error", err)
		_ = srv.Close()
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("api: serve: %w", err)
	}
	s.logger.Info("stopped")
	return nil
}

// Close stops following the buckets. Run calls it; call it after using
// Handler without Run.
func (s *Server) Close() {
	s.closeOnce.Do(s.rm.close)
}

// awaitReady waits, within SyncTimeout, for the read model's first load.
func (s *Server) awaitReady(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), s.cfg.SyncTimeout)
	defer cancel()
	return s.rm.ready(ctx)
}
