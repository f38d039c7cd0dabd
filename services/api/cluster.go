package api

import (
	"cmp"
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/services/api/readmodel"
	"github.com/drover/drover/services/api/view"
	"github.com/labstack/echo/v4"
	"github.com/nats-io/nats.go"
)

// natsInfoTimeout bounds the JetStream requests of one cluster view.
const natsInfoTimeout = 2 * time.Second

// droverStreams are the streams of pkg/events, buckets included.
var droverStreams = []string{
	events.StreamHeartbeats, events.StreamCommands, events.StreamStatus, events.StreamRequests, events.StreamEvents,
	"KV_" + events.BucketApps, "KV_" + events.BucketDeployments, "KV_" + events.BucketInstances,
	"KV_" + events.BucketAgents, "KV_" + events.BucketLeader, "KV_" + events.BucketQueue,
}

// getCluster is GET /v2/drover/cluster.
func (s *Server) getCluster(c echo.Context) error {
	if err := s.awaitReady(c); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), s.cfg.SyncTimeout)
	defer cancel()
	if err := s.rm.Loaded(ctx, events.BucketAgents); err != nil {
		s.logger.Debug("agents bucket not loaded; answering with what the read model holds", "error", err)
	}
	out := view.Cluster{
		Agents: []view.ClusterAgent{}, States: map[string]int{}, Time: view.FormatTime(s.now()),
		API: view.ClusterReplica{ID: s.cfg.ID, Hostname: s.cfg.Hostname, Version: s.cfg.Version},
	}
	if rec, ok := s.rm.Leader(); ok {
		out.Leader = &view.ClusterLeader{SchedulerID: rec.SchedulerID, Hostname: rec.Hostname, Epoch: rec.Epoch, Since: view.FormatTime(rec.Since)}
	}
	s.rm.Read(func(st *readmodel.State) {
		out.Agents, out.Totals = view.ClusterAgents(st)
		for _, q := range st.Queue {
			if q.Rejected["SilentMajority"] > 0 {
				out.Held += q.Count
			}
		}
	})
	for _, a := range out.Agents {
		out.States[a.State]++
	}
	out.NATS = s.natsHealth(c.Request().Context())
	return writeJSON(c, http.StatusOK, out)
}

// natsHealth is what the api's connection knows of NATS, and what
// JetStream says of the account and of Drover's streams. It never fails:
// what it could not learn is in Errors.
func (s *Server) natsHealth(ctx context.Context) view.ClusterNATS {
	out := view.ClusterNATS{Servers: []string{}, DiscoveredServers: []string{}, Streams: []view.StreamHealth{}, Errors: []string{}}
	nc := s.bus.JS.Conn()
	if nc == nil {
		out.Status = "UNKNOWN"
		return out
	}
	status := nc.Status()
	out.Status = status.String()
	out.Connected = status == nats.CONNECTED
	out.ServerName, out.ServerID, out.ClusterName = nc.ConnectedServerName(), nc.ConnectedServerId(), nc.ConnectedClusterName()
	out.ConnectedURL = nc.ConnectedUrlRedacted()
	out.Servers = append(out.Servers, view.RedactURLs(nc.Servers())...)
	out.DiscoveredServers = append(out.DiscoveredServers, view.RedactURLs(nc.DiscoveredServers())...)
	if !out.Connected {
		return out
	}
	if rtt, err := nc.RTT(); err == nil {
		ms := float64(rtt.Microseconds()) / 1000
		out.RTTMillis = &ms
	}
	ctx, cancel := context.WithTimeout(ctx, natsInfoTimeout)
	defer cancel()
	if ai, err := s.bus.JS.AccountInfo(ctx); err != nil {
		out.Errors = append(out.Errors, "account info: "+err.Error())
	} else {
		out.JetStream = &view.ClusterAccount{
			Domain: ai.Domain, Memory: ai.Memory, Storage: ai.Store, MaxMemory: ai.Limits.MaxMemory, MaxStorage: ai.Limits.MaxStore,
			Streams: ai.Streams, Consumers: ai.Consumers, APITotal: ai.API.Total, APIErrors: ai.API.Errors,
		}
	}
	lister := s.bus.JS.ListStreams(ctx)
	for info := range lister.Info() {
		if slices.Contains(droverStreams, info.Config.Name) {
			out.Streams = append(out.Streams, view.NewStreamHealth(info, out.ServerName))
		}
	}
	if err := lister.Err(); err != nil {
		out.Errors = append(out.Errors, "stream list: "+err.Error())
	}
	slices.SortFunc(out.Streams, func(a, b view.StreamHealth) int {
		return cmp.Compare(slices.Index(droverStreams, a.Name), slices.Index(droverStreams, b.Name))
	})
	return out
}
