package change

import (
	"context"
	"errors"
	"fmt"

	"github.com/drover/drover/pkg/deployplan"
	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/marathon"
	"github.com/drover/drover/services/api/readmodel"
	"github.com/drover/drover/services/api/view"
	"github.com/nats-io/nats.go/jetstream"
)

// cancelAttempts bounds the reads and deletes of one cancellation: each
// lost one means the scheduler leader rewrote the record meanwhile (it
// advanced a step).
const cancelAttempts = 5

// Cancel ends a running deployment as Marathon cancels one (DELETE
// /v2/deployments/{id}?force=true, or a forced change that overrides it):
// its record is deleted and deployment_failed published, with
// events.ReasonCancelled. The delete is conditional on the record read, as
// the scheduler leader's, which finishes deployments, is: whichever lands
// reports the deployment, once. root is the root group the deployment
// was taking the apps to (its plan's original and target: Drover keeps no
// group from before it), nil for a light plan. Cancel reports whether it
// cancelled the deployment: false when it was gone already.
func (s *Writer) Cancel(ctx context.Context, id string, root *events.Group) (bool, error) {
	for range cancelAttempts {
		entry, err := s.bus.Deployments.Get(ctx, id)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("api: read deployment %s: %w", id, err)
		}
		d, err := events.Decode[events.Deployment](entry.Value())
		if err != nil {
			return false, fmt.Errorf("api: read deployment %s: %w", id, err)
		}
		err = s.bus.Deployments.Delete(ctx, id, jetstream.LastRevision(entry.Revision()))
		if isCASError(err) {
			continue
		}
		if err != nil {
			return false, fmt.Errorf("api: cancel deployment %s: %w", id, err)
		}
		plan := deployplan.Plan(d)
		plan.Original, plan.Target = root, root
		s.PublishEvent(ctx, events.EventDeploymentFailed, events.DeploymentEvent{
			EventType: events.EventDeploymentFailed, Timestamp: view.FormatTime(s.now()),
			ID: d.ID, Plan: plan, Reason: events.ReasonCancelled,
		})
		return true, nil
	}
	return false, fmt.Errorf("api: cancel deployment %s: the record kept changing", id)
}

// RootOf is the root group of the apps st holds, as a plan carries it; nil
// past deployplan.MaxPlanApps (the plan is then light).
func RootOf(st *readmodel.State) *events.Group {
	if len(st.Apps) > deployplan.MaxPlanApps {
		return nil
	}
	apps := make([]marathon.App, 0, len(st.Apps))
	for _, e := range st.SortedApps() {
		apps = append(apps, e.Rec.App)
	}
	return deployplan.RootGroup(apps, "")
}
