package change

import (
	"context"

	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/services/api/view"
	"github.com/labstack/echo/v4"
)

// publishChange publishes the Marathon events of a change: deployment_info
// for the deployment it started, group_change_success, api_post_event for
// each app a client wrote, app_terminated_event for each app it deleted.
// Events are best effort: a failure is logged, the change stands.
func (s *Writer) publishChange(c echo.Context, p *Staged) {
	ctx := c.Request().Context()
	ts := view.FormatTime(s.now())
	info := events.DeploymentInfoEvent{
		EventType: events.EventDeploymentInfo, Timestamp: ts, Plan: p.Plan,
		CurrentStep: events.DeploymentPlanStep{Actions: []events.DeploymentAction{}},
	}
	if len(p.Deployment.Steps) > 0 {
		info.CurrentStep.Actions = p.Deployment.Steps[0]
	}
	s.PublishEvent(ctx, events.EventDeploymentInfo, info)
	s.PublishEvent(ctx, events.EventGroupChangeSuccess, events.GroupChangeSuccessEvent{
		EventType: events.EventGroupChangeSuccess, Timestamp: ts, GroupID: p.Group, Version: p.Deployment.Version,
	})
	for _, op := range p.Ops {
		switch {
		case op.Next != nil && p.Posted:
			s.PublishEvent(ctx, events.EventAPIPost, events.APIPostEvent{
				EventType: events.EventAPIPost, Timestamp: ts, ClientIP: c.RealIP(),
				URI: c.Request().URL.Path, AppDefinition: *op.Next,
			})
		case op.Next == nil:
			s.PublishEvent(ctx, events.EventAppTerminated, events.AppTerminatedEvent{
				EventType: events.EventAppTerminated, Timestamp: ts, AppID: op.ID,
			})
		}
	}
}

// PublishEvent puts a Marathon event on drover.events.<type>, where the
// events stream keeps it for /v2/events and `nats sub 'drover.events.>'`.
func (s *Writer) PublishEvent(ctx context.Context, eventType string, payload any) {
	data, err := events.MarshalEvent(eventType, payload)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.syncTimeout)
		defer cancel()
		_, err = s.bus.JS.Publish(ctx, events.Event(eventType), data)
	}
	if err != nil {
		s.logger.Warn("publish event", "event", eventType, "error", err)
	}
}
