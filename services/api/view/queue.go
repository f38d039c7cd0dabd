package view

import (
	"slices"

	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/marathon"
)

// rejectReasons are the reasons /v2/queue lists, in the order placement
// checks them (a funnel: each reason sees the agents the ones before it
// let through). Marathon's own reasons keep their names; Drover's agent
// availability and policy reasons (no Mesos counterpart) keep theirs:
// AgentUnreachable, DockerUnavailable, HostCommandsDisabled (an app
// without an image, an agent without --allow-host-commands),
// DeclinedByPolicy; SilentMajority
// counts the unreachable agents whose tasks' replacements the scheduler
// holds because most agents went silent together.
var rejectReasons = []string{
	"SilentMajority", "AgentUnreachable", "DockerUnavailable", "UnfulfilledRole", "HostCommandsDisabled", "DeclinedByPolicy", "UnfulfilledConstraint",
	"NoCorrespondingReservationFound", "AgentMaintenance", "InsufficientCpus", "InsufficientMemory",
	"InsufficientDisk", "InsufficientGpus", "InsufficientPorts", "DeclinedScarceResources",
}

type QueueItem struct {
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

func NewOffersSummary(q events.QueueEntry) offersSummary {
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
