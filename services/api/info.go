package api

import (
	"context"
	"net"
	"net/http"
	"strconv"

	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/services/api/apierr"
	"github.com/drover/drover/services/api/view"
	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
)

// MarathonVersion is the Marathon release whose /v2 API Drover speaks,
// reported as /v2/info's version: clients compare it numerically to
// choose what to send (a "dev" there breaks them). Drover's own version is
// drover_version.
const MarathonVersion = "1.11.0"

// info is GET /v2/info.
func (s *Server) info(c echo.Context) error {
	if err := s.awaitReady(c); err != nil {
		return err
	}
	resp := view.Info{
		Name:          "drover",
		Version:       MarathonVersion,
		DroverVersion: s.cfg.Version,
		BuildRef:      s.cfg.BuildRef,
		MarathonConfig: view.MarathonConfig{
			Master:        s.cfg.Master,
			Hostname:      s.cfg.Hostname,
			FrameworkName: "drover",
			HA:            true,
			Checkpoint:    true,
			Executor:      "//cmd",
			Features:      []string{},
			// Marathon's defaults; Drover never proxies: any replica answers.
			LeaderProxyConnectionTimeoutMS: 5000,
			LeaderProxyReadTimeoutMS:       10000,
			LocalPortMin:                   s.cfg.LocalPortMin,
			LocalPortMax:                   s.cfg.LocalPortMax,
		},
		ZookeeperConfig: map[string]any{"zk": nil},
		HTTPConfig:      view.HTTPConfig{HTTPPort: s.port},
	}
	if rec, ok := s.rm.Leader(); ok {
		resp.Elected = true
		leader := s.leaderAddress(rec)
		resp.Leader = &leader
	}
	if s.cfg.EventSubscriber != "" {
		resp.EventSubscriber = &view.EventSubscriber{Type: s.cfg.EventSubscriber}
	}
	return writeJSON(c, http.StatusOK, resp)
}

// leaderAddress is the leader as Marathon names it, host:port of its HTTP
// API: the address the leading scheduler records for the api beside it
// (its --api-address, by default its hostname and Marathon's port 8080).
// A record without one, from a scheduler older than the field, gives its
// hostname with this replica's port. Any replica answers every request,
// so that address is one place among others to reach the API.
func (s *Server) leaderAddress(rec events.LeaderRecord) string {
	if rec.APIAddress != "" {
		return rec.APIAddress
	}
	return net.JoinHostPort(rec.Hostname, strconv.Itoa(s.port))
}

// leaderURL is the leader's URL, as X-Marathon-Leader gives it: the
// scheme is this replica's (https with a certificate), as replicas of
// one cluster are set up alike.
func (s *Server) leaderURL(rec events.LeaderRecord) string {
	scheme := "http"
	if s.cfg.TLSCertFile != "" {
		scheme = "https"
	}
	return scheme + "://" + s.leaderAddress(rec)
}

// getLeader is GET /v2/leader: the leader's host:port (leaderAddress), or 404.
func (s *Server) getLeader(c echo.Context) error {
	if err := s.awaitReady(c); err != nil {
		return err
	}
	rec, ok := s.rm.Leader()
	if !ok {
		return apierr.ErrNoLeader
	}
	return writeJSON(c, http.StatusOK, map[string]string{"leader": s.leaderAddress(rec)})
}

// ping is GET /ping and /v2/ping: "pong", whatever the state of the cluster.
func (s *Server) ping(c echo.Context) error {
	c.Response().Header().Set(echo.HeaderCacheControl, "must-revalidate,no-cache,no-store")
	if reason := s.unservable(); reason != "" {
		return c.String(http.StatusServiceUnavailable, reason)
	}
	return c.String(http.StatusOK, "pong")
}

// unservable says why the api cannot serve /v2 now ("" when it can): its
// NATS connection is closed (it will not come back: the process exits,
// see cmd/drover), or the read model has not loaded the buckets. A load
// balancer probing /ping then sends requests elsewhere.
func (s *Server) unservable() string {
	if nc := s.bus.JS.Conn(); nc != nil && nc.IsClosed() {
		return "NATS connection closed"
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // ready without waiting
	if err := s.rm.Ready(ctx); err != nil {
		return "read model not loaded yet"
	}
	return ""
}

// abdicate is DELETE /v2/leader: ask the scheduler leader to step down
// (another scheduler takes over); 404 when there is no leader.
func (s *Server) abdicate(c echo.Context) error {
	if err := s.awaitReady(c); err != nil {
		return err
	}
	if _, ok := s.rm.Leader(); !ok {
		return apierr.ErrNoLeader
	}
	req := events.SchedulerRequest{V: events.Version, ID: uuid.NewString(), Kind: events.RequestAbdicate, At: s.now()}
	if err := s.request(c.Request().Context(), req); err != nil {
		return err
	}
	s.logger.Info("leader asked to abdicate")
	return writeJSON(c, http.StatusOK, map[string]string{"message": "Leadership abdicated"})
}
