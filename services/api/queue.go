package api

import (
	"cmp"
	"math"
	"net/http"
	"slices"
	"strings"

	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/marathon"
	"github.com/drover/drover/services/api/apierr"
	"github.com/drover/drover/services/api/readmodel"
	"github.com/drover/drover/services/api/view"
	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
)

// listQueue is GET /v2/queue: every app not fully placed, why, and its
// launch delay. embed=lastUnusedOffers adds an (always empty) list: Drover
// keeps counts per reason, not offers.
func (s *Server) listQueue(c echo.Context) error {
	if err := s.awaitReady(c); err != nil {
		return err
	}
	offers := false
	for _, v := range c.QueryParams()["embed"] {
		offers = offers || strings.Contains(v, "lastUnusedOffers")
	}
	now := s.clock()
	items := []view.QueueItem{}
	s.rm.Read(func(st *readmodel.State) {
		for id, q := range st.Queue {
			e, ok := st.Apps[id]
			if !ok {
				continue
			}
			item := view.QueueItem{
				App: e.Rec.App, Count: q.Count, Since: view.FormatTime(q.Since),
				ProcessedOffersSummary: view.NewOffersSummary(q),
			}
			if left := q.DelayUntil.Sub(now); left > 0 {
				item.Delay.TimeLeftSeconds = int64(math.Ceil(left.Seconds()))
			} else {
				item.Delay.Overdue = true
			}
			if offers {
				item.LastUnusedOffers = &[]any{}
			}
			items = append(items, item)
		}
	})
	slices.SortFunc(items, func(a, b view.QueueItem) int { return cmp.Compare(a.App.ID, b.App.ID) })
	return writeJSON(c, http.StatusOK, map[string][]view.QueueItem{"queue": items})
}

// queueDELETE is DELETE /v2/queue/{id}/delay: ask the scheduler leader to
// reset the app's launch backoff; 204.
func (s *Server) queueDELETE(c echo.Context) error {
	raw := wildcardPath(c)
	rest, ok := strings.CutSuffix(raw, "/delay")
	if !ok || rest == "" {
		return echo.ErrNotFound
	}
	if err := s.awaitReady(c); err != nil {
		return err
	}
	id, err := marathon.NormalizeID(rest, "/")
	if err != nil {
		return &apierr.NotQueuedError{ID: "/" + rest}
	}
	queued := false
	s.rm.Read(func(st *readmodel.State) {
		_, queued = st.Queue[id]
		_, app := st.Apps[id]
		queued = queued && app
	})
	if !queued {
		return &apierr.NotQueuedError{ID: id}
	}
	req := events.SchedulerRequest{V: events.Version, ID: uuid.NewString(), Kind: events.RequestResetDelay, AppID: id, At: s.now()}
	if err := s.request(c.Request().Context(), req); err != nil {
		return err
	}
	s.logger.Info("launch delay reset requested", "app", id)
	return c.NoContent(http.StatusNoContent)
}
