package readmodel

import (
	"context"
	"encoding/json"
	"time"

	"github.com/drover/drover/pkg/events"
	"github.com/nats-io/nats.go/jetstream"
)

// followFailures keeps each app's last failed task from the
// status_update_event messages of the events stream, replayed from its
// start and then followed. The scheduler deletes an instance record when
// its task ends, so the instances bucket alone would never show the
// failure that an app's lastTaskFailure (and the UI) reports.
func (rm *Model) followFailures(ctx context.Context, js jetstream.JetStream) {
	defer rm.wg.Done()
	for {
		err := rm.consumeFailures(ctx, js)
		if ctx.Err() != nil {
			return
		}
		rm.logger.Warn("following task failures; trying again", "error", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

func (rm *Model) consumeFailures(ctx context.Context, js jetstream.JetStream) error {
	cons, err := js.OrderedConsumer(ctx, events.StreamEvents, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{events.Event(events.EventStatusUpdate)}, DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return err
	}
	cc, err := cons.Consume(func(m jetstream.Msg) { rm.applyStatusEvent(m.Data()) })
	if err != nil {
		return err
	}
	<-ctx.Done()
	cc.Stop()
	return nil
}

// applyStatusEvent records a failed task's status_update_event as its
// app's last failure, unless a later one is known.
func (rm *Model) applyStatusEvent(data []byte) {
	var ev events.StatusUpdateEvent
	if err := json.Unmarshal(data, &ev); err != nil || ev.AppID == "" || !failed(ev.TaskStatus) {
		return
	}
	at, err := time.Parse(events.TimeFormat, ev.Timestamp)
	if err != nil {
		return
	}
	in := events.Instance{
		V: events.Version, TaskID: ev.TaskID, AppID: ev.AppID, Version: ev.Version, AgentID: ev.SlaveID, Host: ev.Host,
		HostPorts: ev.Ports, State: ev.TaskStatus, Message: ev.Message, UpdatedAt: at,
	}
	rm.update(func() {
		if last, ok := rm.s.Failures[in.AppID]; !ok || !in.UpdatedAt.Before(last.UpdatedAt) {
			rm.s.Failures[in.AppID] = in
		}
	})
}
