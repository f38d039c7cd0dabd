package api

import (
	"cmp"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"

	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/marathon"
	"github.com/drover/drover/services/api/readmodel"
	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
)

// NotQueuedError is a request about an app that waits for nothing.
type NotQueuedError struct{ ID string }

func (e *NotQueuedError) Error() string {
	return fmt.Sprintf("Application %s not found in tasks queue.", e.ID)
}

// rejectReasons are the reasons /v2/queue lists, in the order placement
// checks them (a funnel: each reason sees the agents the ones before it
// let through). Marathon's own reasons keep their names; Drover's agent
// availability and policy reasons (no Mesos counterpart) keep theirs:
// AgentUnreachable, DockerUnavailable, DeclinedByPolicy; SilentMajority
// counts the unreachable agents whose tasks' replacements the scheduler
// holds because most agents went silent together.
var rejectReasons = []string{
	"SilentMajority", "AgentUnreachable", "DockerUnavailable", "UnfulfilledRole", "DeclinedByPolicy", "UnfulfilledConstraint",
	"NoCorrespondingReservationFound", "AgentMaintenance", "InsufficientCpus", "InsufficientMemory",
	"InsufficientDisk", "InsufficientGpus", "InsufficientPorts", "DeclinedScarceResources",
}

type queueItem struct {
	App                    marathon.App  `json:"app"`
	Count                  int           `json:"count"`
	Delay                  queueDelay    `json:"delay"`
	Since                  string        `json:"since"`
	ProcessedOffersSummary offersSummary `json:"processedOffersSummary"`
	LastUnusedOffers       *[]any        `json:"lastUnusedOffers,omitempty"`
}

type queueDelay struct {
	TimeLeftSeconds int64 `json:"timeLeftSeconds"`
	Overdue         bool  `json:"overdue"`
}

// offersSummary is Marathon's processedOffersSummary, with an agent
// looked at by the last placement standing for an offer.
type offersSummary struct {
	ProcessedOffersCount       int            `json:"processedOffersCount"`
	UnusedOffersCount          int            `json:"unusedOffersCount"`
	LastUnusedOfferAt          *string        `json:"lastUnusedOfferAt,omitempty"`
	RejectSummaryLastOffers    []rejectReason `json:"rejectSummaryLastOffers"`
	RejectSummaryLaunchAttempt []rejectReason `json:"rejectSummaryLaunchAttempt"`
}

type rejectReason struct {
	Reason    string `json:"reason"`
	Declined  int    `json:"declined"`
	Processed int    `json:"processed"`
}

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
	items := []queueItem{}
	s.rm.Read(func(st *readmodel.State) {
		for id, q := range st.Queue {
			e, ok := st.Apps[id]
			if !ok {
				continue
			}
			item := queueItem{
				App: e.Rec.App, Count: q.Count, Since: formatTime(q.Since),
				ProcessedOffersSummary: newOffersSummary(q),
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
	slices.SortFunc(items, func(a, b queueItem) int { return cmp.Compare(a.App.ID, b.App.ID) })
	return writeJSON(c, http.StatusOK, map[string][]queueItem{"queue": items})
}

func newOffersSummary(q events.QueueEntry) offersSummary {
	sum := offersSummary{ProcessedOffersCount: q.Agents}
	remaining := q.Agents
	reasons := slices.Clone(rejectReasons)
	for r := range q.Rejected {
		if !slices.Contains(reasons, r) {
			reasons = append(reasons, r)
		}
	}
	slices.Sort(reasons[len(rejectReasons):])
	for _, r := range reasons {
		n := q.Rejected[r]
		sum.RejectSummaryLastOffers = append(sum.RejectSummaryLastOffers, rejectReason{Reason: r, Declined: n, Processed: max(remaining, 0)})
		remaining -= n
		sum.UnusedOffersCount += n
	}
	sum.RejectSummaryLaunchAttempt = sum.RejectSummaryLastOffers
	if sum.UnusedOffersCount > 0 && !q.UpdatedAt.IsZero() {
		sum.LastUnusedOfferAt = optTime(q.UpdatedAt)
	}
	return sum
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
		return &NotQueuedError{ID: "/" + rest}
	}
	queued := false
	s.rm.Read(func(st *readmodel.State) {
		_, queued = st.Queue[id]
		_, app := st.Apps[id]
		queued = queued && app
	})
	if !queued {
		return &NotQueuedError{ID: id}
	}
	req := events.SchedulerRequest{V: events.Version, ID: uuid.NewString(), Kind: events.RequestResetDelay, AppID: id, At: s.now()}
	if err := s.request(c.Request().Context(), req); err != nil {
		return err
	}
	s.logger.Info("launch delay reset requested", "app", id)
	return c.NoContent(http.StatusNoContent)
}
