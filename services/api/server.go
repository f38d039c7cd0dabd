package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/events/natsbus"
	"github.com/drover/drover/pkg/events/plandemand"
	"github.com/drover/drover/services/api/auth"
	"github.com/drover/drover/services/api/callbacks"
	"github.com/drover/drover/services/api/change"
	"github.com/drover/drover/services/api/listcache"
	"github.com/drover/drover/services/api/metrics"
	"github.com/drover/drover/services/api/readmodel"
	"github.com/drover/drover/services/api/sse"
	"github.com/labstack/echo/v4"
	"github.com/nats-io/nats.go/jetstream"
)

// startTimeout bounds what New asks of JetStream before it returns.
const startTimeout = 10 * time.Second

// Server is one api replica.
type Server struct {
	cfg     Config
	bus     *natsbus.Bus
	logger  *slog.Logger
	echo    *echo.Echo
	rm      *readmodel.Model
	lists   listcache.Cache // GET /v2/apps' answers
	metrics *metrics.Metrics
	clock   func() time.Time
	port    int
	// changes makes the writes' changes (package change).
	changes *change.Writer
	// stream serves /v2/events (package sse).
	stream *sse.Stream
	// guard authenticates and authorizes every request (package auth).
	guard *auth.Guard
	// callbacks is the HTTP callback subscriber; nil when off.
	callbacks *callbacks.Service
	// plans announces this replica's consumers of full deployment plans
	// and knows the other replicas' (package plandemand).
	plans *plandemand.Announcer
	// sandboxWait bounds a read of a sandbox file from an agent.
	sandboxWait time.Duration

	closeOnce sync.Once
	// stopping is closed when the server shuts down: it ends event streams.
	stopping chan struct{}
	stopOnce sync.Once
}

// New validates the configuration, starts following the buckets and sets
// up the routes. Serve with Run, or use Handler (then call Close when done).
func New(cfg Config, bus *natsbus.Bus, logger *slog.Logger) (*Server, error) {
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
	rm, err := readmodel.New(ctx, bus, logger)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, bus: bus, logger: logger, rm: rm, metrics: metrics.New(rm), clock: time.Now, port: port,
		stopping: make(chan struct{}), sandboxWait: sandboxWait}
	s.changes = change.NewWriter(bus, rm, logger, cfg.SyncTimeout, s.now, cfg.servicePorts(), s.fullPlans)
	if cfg.EventSubscriber == EventSubscriberHTTP {
		if bus.Subscribers == nil {
			rm.Close()
			return nil, errors.New("api: the subscribers bucket is required for HTTP callbacks")
		}
		if s.callbacks, err = callbacks.New(cfg.Callbacks, bus.JS, bus.Subscribers, logger); err != nil {
			rm.Close()
			return nil, err
		}
		s.metrics.Register(s.callbacks.Deliveries)
	}
	var countCallbacks func() int
	if s.callbacks != nil {
		countCallbacks = s.callbacks.Count
	}
	tracker := plandemand.NewTracker(events.PlanDemandHold, logger, s.metrics.Malformed.WithLabelValues(events.PlanDemand).Inc)
	if s.plans, err = plandemand.NewAnnouncer(bus.JS.Conn(), cfg.ID, countCallbacks, tracker, logger); err != nil {
		if s.callbacks != nil {
			s.callbacks.Close()
		}
		rm.Close()
		return nil, fmt.Errorf("api: %w", err)
	}
	s.stream = &sse.Stream{JS: bus.JS, Logger: logger, Malformed: s.metrics.Malformed, Stopping: s.stopping,
		Publish: s.changes.PublishEvent, Now: s.now, FullPlans: s.plans.Attach}
	s.echo = s.routes()
	return s, nil
}

// fullPlans reports whether anyone receives deployment events with full
// plans now: a stream or a callback URL of this replica, or another
// replica's notice (package plandemand). Notices are held on the wall
// clock, whatever clock the server stamps versions with.
func (s *Server) fullPlans() bool { return s.plans.Wanted(time.Now()) }

// Handler is the API as an http.Handler.
func (s *Server) Handler() http.Handler { return s.echo }

// Run serves HTTP on cfg.HTTPAddr until ctx ends, then lets requests in
// flight finish (within ShutdownTimeout) and stops following the buckets.
func (s *Server) Run(ctx context.Context) error {
	defer s.Close()
	ln, err := auth.Listen(s.cfg.HTTPAddr, s.cfg.TLSCertFile, s.cfg.TLSKeyFile) // TCP, or TLS with a certificate
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           s.echo,
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		ReadTimeout:       s.cfg.ReadTimeout,
		WriteTimeout:      s.cfg.WriteTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(s.logger.Handler(), slog.LevelWarn),
	}
	srv.RegisterOnShutdown(s.stop)
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
	s.stop()
	s.closeOnce.Do(func() {
		s.plans.Close()
		if s.callbacks != nil {
			s.callbacks.Close()
		}
		s.rm.Close()
	})
}

// stop ends the event streams.
func (s *Server) stop() { s.stopOnce.Do(func() { close(s.stopping) }) }

// awaitReady waits, within SyncTimeout, for the read model's first load,
// then until it has applied every write the apps and deployments buckets
// held when the request came: a write acknowledged by any replica is
// visible to the requests that follow it on every replica. That barrier
// costs a stream-info request per bucket; should it fail or take longer than
// barrierTimeout (NATS away, or a stream electing its leader, which takes
// seconds), the request is served from what the read model holds.
func (s *Server) awaitReady(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), s.cfg.SyncTimeout)
	defer cancel()
	if err := s.rm.Ready(ctx); err != nil {
		return err
	}
	ctx, cancelBarrier := context.WithTimeout(ctx, barrierTimeout)
	defer cancelBarrier()
	for _, b := range []struct {
		name string
		kv   jetstream.KeyValue
	}{{events.BucketApps, s.bus.Apps}, {events.BucketDeployments, s.bus.Deployments}} {
		seq := readmodel.LastSeq(ctx, b.kv)
		if seq == 0 {
			continue
		}
		if err := s.rm.CaughtUp(ctx, b.name, seq); err != nil {
			s.logger.Debug("read model behind its bucket", "bucket", b.name, "sequence", seq, "error", err)
			return nil
		}
	}
	return nil
}

// barrierTimeout bounds the read barrier of awaitReady: reads stay fast,
// if possibly a write behind, while JetStream elects a stream leader.
const barrierTimeout = 250 * time.Millisecond

// now is the server's clock, in UTC with millisecond precision (the
// precision of the versions it writes).
func (s *Server) now() time.Time { return s.clock().UTC().Truncate(time.Millisecond) }
