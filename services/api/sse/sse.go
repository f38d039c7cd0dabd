// Package sse is GET /v2/events: Marathon's events as server-sent events,
// relayed from the events stream (the messages `nats sub 'drover.events.>'`
// shows), each checked to be JSON so that none can forge another.
package sse

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/services/api/view"
	"github.com/labstack/echo/v4"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
)

// Stream serves the event streams of one api replica.
type Stream struct {
	JS     jetstream.JetStream
	Logger *slog.Logger
	// Malformed counts the messages dropped as not JSON.
	Malformed *prometheus.CounterVec
	// Stopping is closed when the server shuts down: it ends the streams.
	Stopping <-chan struct{}
	// Publish announces event_stream_attached and _detached.
	Publish func(ctx context.Context, eventType string, payload any)
	Now     func() time.Time
	// FullPlans counts a stream that takes deployment events with full
	// plans, announcing it before the stream's headers go out, until
	// release (plandemand.Announcer.Attach); nil: not counted.
	FullPlans func() (release func())
}

// sseKeepAlive is how often an idle event stream gets a comment line, so
// that proxies keep it open and a gone client is noticed.
const sseKeepAlive = 15 * time.Second

// Serve is GET /v2/events: Marathon's events as server-sent events,
// "event: <type>\ndata: <json>\n\n", from the events stream (the same
// messages `nats sub 'drover.events.>'` shows). ?event_type= (repeatable,
// or comma-separated) keeps only those types; ?plan-format=light leaves
// the plan's original and target out of deployment events. The stream starts with what
// happens after the request: an ordered consumer delivering new messages.
// A stream that takes deployment events in the full format is demand for
// full plans: announced before its headers, so that the deployments a
// client makes once it has them carry full plans (package plandemand).
func (s *Stream) Serve(c echo.Context) error {
	if c.Request().Method == http.MethodHead {
		// The stream's headers, without a stream.
		c.Response().Header().Set(echo.HeaderContentType, "text/event-stream")
		c.Response().Header().Set(echo.HeaderCacheControl, "no-cache")
		return c.NoContent(http.StatusOK)
	}
	subjects, err := eventSubjects(c)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(c.Request().Context())
	defer cancel()
	msgs, stop, err := s.consumeEvents(ctx, subjects)
	if err != nil {
		return err
	}
	defer stop()
	light := lightPlans(c)
	if !light && s.FullPlans != nil && takesPlans(subjects) {
		defer s.FullPlans()()
	}

	// The server's write timeout bounds requests, not this stream.
	_ = http.NewResponseController(c.Response()).SetWriteDeadline(time.Time{})
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, "text/event-stream")
	h.Set(echo.HeaderCacheControl, "no-cache, no-store, must-revalidate")
	h.Set("X-Accel-Buffering", "no")
	c.Response().WriteHeader(http.StatusOK)
	c.Response().Flush()

	remote := c.Request().RemoteAddr
	if host, _, err := net.SplitHostPort(remote); err == nil {
		remote = host
	}
	s.Logger.Debug("event stream attached", "remote", remote, "subjects", subjects)
	s.Publish(ctx, events.EventStreamAttached, events.EventStreamEvent{
		EventType: events.EventStreamAttached, Timestamp: view.FormatTime(s.Now()), RemoteAddress: remote,
	})
	defer func() {
		s.Publish(context.Background(), events.EventStreamDetached, events.EventStreamEvent{
			EventType: events.EventStreamDetached, Timestamp: view.FormatTime(s.Now()), RemoteAddress: remote,
		})
		s.Logger.Debug("event stream detached", "remote", remote)
	}()
	return s.relayEvents(ctx, c.Response(), msgs, light)
}

// takesPlans reports whether a stream of these subjects gets events that
// carry a deployment plan.
func takesPlans(subjects []string) bool {
	for _, subject := range subjects {
		if subject == events.EventAll {
			return true
		}
		if t, err := events.ParseEvent(subject); err == nil && events.HasPlan(t) {
			return true
		}
	}
	return false
}

// lightPlans reports whether a request asks for Marathon's light plan
// format (?plan-format=light, Marathon 1.6+): deployment events without the
// plan's original and target. Any other value is the full format, as in
// Marathon.
func lightPlans(c echo.Context) bool {
	return slices.Contains(c.QueryParams()["plan-format"], "light")
}

// eventSubjects are the subjects of the event types a request asks for
// (?event_type=, repeatable or comma-separated); all when it names none.
func eventSubjects(c echo.Context) ([]string, error) {
	var subjects []string
	for _, v := range c.QueryParams()["event_type"] {
		for t := range strings.SplitSeq(v, ",") {
			t = strings.TrimSpace(t)
			if t == "" {
				continue
			}
			if _, err := events.ParseEvent(events.Event(t)); err != nil || strings.ContainsAny(t, "*> ") {
				return nil, echo.NewHTTPError(http.StatusBadRequest, fmt.Sprintf("Invalid event type '%s'", t))
			}
			subjects = append(subjects, events.Event(t))
		}
	}
	if len(subjects) == 0 {
		subjects = []string{events.EventAll}
	}
	return subjects, nil
}

// consumeEvents delivers the events stream's new messages on subjects
// until ctx ends or stop is called.
func (s *Stream) consumeEvents(ctx context.Context, subjects []string) (<-chan jetstream.Msg, func(), error) {
	cons, err := s.JS.OrderedConsumer(ctx, events.StreamEvents, jetstream.OrderedConsumerConfig{
		FilterSubjects: subjects, DeliverPolicy: jetstream.DeliverNewPolicy,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("api: events consumer: %w", err)
	}
	msgs := make(chan jetstream.Msg, 256)
	cc, err := cons.Consume(func(m jetstream.Msg) {
		select {
		case msgs <- m:
		case <-ctx.Done():
		}
	})
	if err != nil {
		return nil, nil, fmt.Errorf("api: consume events: %w", err)
	}
	return msgs, cc.Stop, nil
}

// relayEvents writes each message as a server-sent event, and a comment
// line when idle, until the client or the server goes.
func (s *Stream) relayEvents(ctx context.Context, w *echo.Response, msgs <-chan jetstream.Msg, light bool) error {
	keepAlive := time.NewTicker(sseKeepAlive)
	defer keepAlive.Stop()
	for {
		var err error
		select {
		case <-ctx.Done():
			return nil
		case <-s.Stopping:
			return nil
		case <-keepAlive.C:
			_, err = w.Write([]byte(":\n\n"))
		case m := <-msgs:
			t, perr := events.ParseEvent(m.Subject())
			data, ok := sseData(m.Data())
			if perr != nil || !ok {
				// Not JSON, it could forge events of its own (a newline
				// and "data:"): dropped, counted.
				s.Malformed.WithLabelValues(events.EventAll).Inc()
				s.Logger.Warn("dropping a malformed event", "subject", m.Subject(), "bytes", len(m.Data()))
				continue
			}
			if light {
				data, _ = events.LightPlan(t, data)
			}
			_, err = fmt.Fprintf(w, "event: %s\ndata: %s\n\n", t, data)
		}
		if err != nil {
			return nil // the client is gone
		}
		w.Flush()
	}
}

// sseData is an event's payload as one SSE data line: compact JSON, which
// holds no raw newline; false when the payload is not JSON.
func sseData(b []byte) ([]byte, bool) {
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return nil, false
	}
	return buf.Bytes(), true
}
