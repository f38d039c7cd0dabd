package api

import (
	"context"
	"encoding/json"

	"github.com/drover/drover/pkg/deployplan"
	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/services/api/view"
	"github.com/labstack/echo/v4"
)

// publishChange publishes the Marathon events of a change: deployment_info
// for the deployment it started, group_change_success, api_post_event for
// each app a client wrote, app_terminated_event for each app it deleted.
// Events are best effort: a failure is logged, the change stands.
func (s *changeWriter) publishChange(c echo.Context, p *stagedChange) {
	ctx := c.Request().Context()
	ts := view.FormatTime(s.now())
	info := events.DeploymentInfoEvent{
		EventType: events.EventDeploymentInfo, Timestamp: ts, Plan: deployplan.Plan(p.deployment),
		CurrentStep: events.DeploymentPlanStep{Actions: []events.DeploymentAction{}},
	}
	if len(p.deployment.Steps) > 0 {
		info.CurrentStep.Actions = p.deployment.Steps[0]
	}
	s.publishEvent(ctx, events.EventDeploymentInfo, info)
	s.publishEvent(ctx, events.EventGroupChangeSuccess, events.GroupChangeSuccessEvent{
		EventType: events.EventGroupChangeSuccess, Timestamp: ts, GroupID: p.group, Version: p.deployment.Version,
	})
	for _, op := range p.ops {
		switch {
		case op.next != nil && p.posted:
			s.publishEvent(ctx, events.EventAPIPost, events.APIPostEvent{
				EventType: events.EventAPIPost, Timestamp: ts, ClientIP: c.RealIP(),
				URI: c.Request().URL.Path, AppDefinition: *op.next,
			})
		case op.next == nil:
			s.publishEvent(ctx, events.EventAppTerminated, events.AppTerminatedEvent{
				EventType: events.EventAppTerminated, Timestamp: ts, AppID: op.id,
			})
		}
	}
}

// publishEvent puts a Marathon event on drover.events.<type>, where the
// events stream keeps it for /v2/events and `nats sub 'drover.events.>'`.
func (s *changeWriter) publishEvent(ctx context.Context, eventType string, payload any) {
	data, err := json.Marshal(payload)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.syncTimeout)
		defer cancel()
		_, err = s.bus.JS.Publish(ctx, events.Event(eventType), data)
	}
	if err != nil {
		s.logger.Warn("publish event", "event", eventType, "error", err)
	}
}
