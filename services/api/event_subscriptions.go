package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/marathon"
	"github.com/drover/drover/services/api/apierr"
	"github.com/drover/drover/services/api/callbacks"
	"github.com/drover/drover/services/api/view"
	"github.com/labstack/echo/v4"
)

// msgNoCallbacks is Marathon's 400 when its HTTP callback subscriber is
// off, naming Drover's flag.
const msgNoCallbacks = `http event callback system is not running on this Marathon instance. ` +
	`Please re-start this instance with "--event-subscriber http_callback".`

// subscriptionsJSON is GET /v2/eventSubscriptions' answer.
type subscriptionsJSON struct {
	CallbackURLs []string `json:"callbackUrls"`
}

// listSubscriptions is GET /v2/eventSubscriptions: {"callbackUrls": [...]}.
func (s *Server) listSubscriptions(c echo.Context) error {
	if s.callbacks == nil {
		return echo.NewHTTPError(http.StatusBadRequest, msgNoCallbacks)
	}
	ctx, cancel := s.syncContext(c)
	defer cancel()
	urls, err := s.callbacks.List(ctx)
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, subscriptionsJSON{CallbackURLs: urls})
}

// subscribe is POST /v2/eventSubscriptions?callbackUrl=: registers the URL,
// publishes subscribe_event and answers with it, as Marathon does.
func (s *Server) subscribe(c echo.Context) error {
	return s.changeSubscription(c, events.EventSubscribe)
}

// unsubscribe is DELETE /v2/eventSubscriptions?callbackUrl=: removes the
// URL (one not registered is no error), publishes unsubscribe_event and
// answers with it.
func (s *Server) unsubscribe(c echo.Context) error {
	return s.changeSubscription(c, events.EventUnsubscribe)
}

func (s *Server) changeSubscription(c echo.Context, eventType string) error {
	if s.callbacks == nil {
		return echo.NewHTTPError(http.StatusBadRequest, msgNoCallbacks)
	}
	callbackURL := c.QueryParam("callbackUrl")
	if err := callbacks.ValidateURL(callbackURL); err != nil {
		return subscriptionError(err)
	}
	ctx, cancel := s.syncContext(c)
	defer cancel()
	var err error
	if eventType == events.EventSubscribe {
		err = s.callbacks.Subscribe(ctx, callbackURL, c.RealIP())
	} else {
		err = s.callbacks.Unsubscribe(ctx, callbackURL)
	}
	if err != nil {
		return subscriptionError(err)
	}
	if eventType == events.EventSubscribe {
		// Marathon posts full plans to callbacks: from the answer on,
		// deployment events carry them.
		s.plans.Announce()
	}
	ev := events.SubscriptionEvent{EventType: eventType, Timestamp: view.FormatTime(s.now()), ClientIP: c.RealIP(), CallbackURL: callbackURL}
	s.changes.PublishEvent(c.Request().Context(), eventType, ev)
	return writeJSON(c, http.StatusOK, ev)
}

// subscriptionError is a refused subscription as Marathon's 422 on its
// callbackUrl.
func subscriptionError(err error) error {
	var invalid *callbacks.InvalidError
	if errors.As(err, &invalid) {
		return &apierr.ValidationError{Details: []marathon.FieldError{{Path: "/callbackUrl", Errors: []string{invalid.Reason}}}}
	}
	return err
}

// syncContext bounds what a request waits for NATS (SyncTimeout).
func (s *Server) syncContext(c echo.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(c.Request().Context(), s.cfg.SyncTimeout)
}
