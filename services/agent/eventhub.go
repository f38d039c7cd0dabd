package agent

import (
	"context"
	"sync"
)

// EventHub fans RuntimeEvents out to the channels Runtime.Events returns.
// A runtime embeds one: Publish never blocks, each subscriber gets every
// event published while it is subscribed, in order, and its channel closes
// when its context is done. The zero value is ready to use.
type EventHub struct {
	mu   sync.Mutex
	subs map[*hubSub]struct{}
}

type hubSub struct {
	mu     sync.Mutex
	queue  []RuntimeEvent
	signal chan struct{}
}

// Subscribe returns a channel of the events published from now until ctx is done.
func (h *EventHub) Subscribe(ctx context.Context) <-chan RuntimeEvent {
	s := &hubSub{signal: make(chan struct{}, 1)}
	h.mu.Lock()
	if h.subs == nil {
		h.subs = map[*hubSub]struct{}{}
	}
	h.subs[s] = struct{}{}
	h.mu.Unlock()
	out := make(chan RuntimeEvent)
	go func() {
		defer close(out)
		defer func() {
			h.mu.Lock()
			delete(h.subs, s)
			h.mu.Unlock()
		}()
		for {
			s.mu.Lock()
			if len(s.queue) == 0 {
				s.mu.Unlock()
				select {
				case <-s.signal:
					continue
				case <-ctx.Done():
					return
				}
			}
			ev := s.queue[0]
			s.queue = s.queue[1:]
			s.mu.Unlock()
			select {
			case out <- ev:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}

// Publish queues ev for every subscriber.
func (h *EventHub) Publish(ev RuntimeEvent) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		s.mu.Lock()
		s.queue = append(s.queue, ev)
		s.mu.Unlock()
		select {
		case s.signal <- struct{}{}:
		default:
		}
	}
}
