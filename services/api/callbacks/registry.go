package callbacks

import (
	"context"
	"fmt"
	"net/url"
	"slices"

	"github.com/drover/drover/internal/natsutil"
	"github.com/drover/drover/pkg/events"
	"github.com/nats-io/nats.go/jetstream"
)

// MaxURLLength bounds a callback URL.
const MaxURLLength = 2048

// InvalidError is a subscription refused: a callbackUrl that is not an
// absolute http or https URL, or one past Config.MaxSubscribers. Reason
// is for the client.
type InvalidError struct{ Reason string }

func (e *InvalidError) Error() string { return "callbacks: " + e.Reason }

// ValidateURL checks a callback URL: absolute, http or https, with a host,
// at most MaxURLLength long. The error says what is wrong.
func ValidateURL(raw string) error {
	switch {
	case raw == "":
		return &InvalidError{"callbackUrl is required"}
	case len(raw) > MaxURLLength:
		return &InvalidError{fmt.Sprintf("callbackUrl must not be longer than %d characters", MaxURLLength)}
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" && u.Scheme != "https" || u.Host == "" || u.Hostname() == "" {
		return &InvalidError{fmt.Sprintf("callbackUrl %q is not an absolute http or https URL", raw)}
	}
	return nil
}

// Subscribe registers a callback URL (again: a no-op but for its time)
// and waits until this replica delivers to it. The caller publishes
// subscribe_event.
func (s *Service) Subscribe(ctx context.Context, callbackURL, clientIP string) error {
	if err := ValidateURL(callbackURL); err != nil {
		return err
	}
	s.mu.Lock()
	_, known := s.workers[callbackURL]
	n := len(s.workers)
	s.mu.Unlock()
	if !known && n >= s.cfg.MaxSubscribers {
		return &InvalidError{fmt.Sprintf("at most %d callback URLs may be registered", s.cfg.MaxSubscribers)}
	}
	data, err := events.Encode(events.Subscriber{V: events.Version, CallbackURL: callbackURL, ClientIP: clientIP, At: s.now().UTC()})
	if err != nil {
		return err
	}
	rev, err := s.kv.Put(ctx, events.SubscriberKey(callbackURL), data)
	if err != nil {
		return fmt.Errorf("callbacks: subscribe: %w", err)
	}
	return s.waitApplied(ctx, rev)
}

// Unsubscribe removes a callback URL (one not registered is no error, as
// in Marathon) and waits until this replica no longer delivers to it.
func (s *Service) Unsubscribe(ctx context.Context, callbackURL string) error {
	if err := ValidateURL(callbackURL); err != nil {
		return err
	}
	if err := s.kv.Delete(ctx, events.SubscriberKey(callbackURL)); err != nil {
		return fmt.Errorf("callbacks: unsubscribe: %w", err)
	}
	return s.catchUp(ctx)
}

// List is the registered callback URLs, sorted, as every replica's writes
// made them.
func (s *Service) List(ctx context.Context) ([]string, error) {
	if err := s.catchUp(ctx); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	urls := make([]string, 0, len(s.workers))
	for u := range s.workers {
		urls = append(urls, u)
	}
	slices.Sort(urls)
	return urls, nil
}

// Count is how many callback URLs this replica posts events to, as its
// view of the bucket has them now: each is demand for full deployment
// plans (package plandemand), as Marathon posts full events to callbacks.
func (s *Service) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.workers)
}

// catchUp waits until this replica has applied everything the bucket
// holds now.
func (s *Service) catchUp(ctx context.Context) error {
	rev, err := natsutil.LastRevision(ctx, s.kv)
	if err != nil {
		return fmt.Errorf("callbacks: read subscribers: %w", err)
	}
	return s.waitApplied(ctx, rev)
}

// waitApplied waits until the bucket's revision rev is applied.
func (s *Service) waitApplied(ctx context.Context, rev uint64) error {
	for {
		s.mu.Lock()
		applied, changed := s.applied, s.changed
		s.mu.Unlock()
		if applied >= rev {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("callbacks: subscribers not followed in time: %w", ctx.Err())
		}
	}
}

// apply takes one entry of the subscribers bucket into the view: a worker
// per URL registered.
func (s *Service) apply(e jetstream.KeyValueEntry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.advance(e.Revision())
	if e.Operation() != jetstream.KeyValuePut {
		for u, w := range s.workers {
			if events.SubscriberKey(u) == e.Key() {
				w.stop()
				delete(s.workers, u)
				s.logger.Info("callback unsubscribed", "url", u)
			}
		}
		return
	}
	rec, err := events.Decode[events.Subscriber](e.Value())
	if err != nil || events.SubscriberKey(rec.CallbackURL) != e.Key() || ValidateURL(rec.CallbackURL) != nil {
		s.logger.Warn("ignoring a malformed subscriber record", "key", e.Key(), "error", err)
		return
	}
	if _, ok := s.workers[rec.CallbackURL]; !ok {
		s.workers[rec.CallbackURL] = s.startWorker(rec.CallbackURL)
		s.logger.Info("callback subscribed", "url", rec.CallbackURL)
	}
}

// reset forgets every subscriber: the bucket was recreated.
func (s *Service) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for u, w := range s.workers {
		w.stop()
		delete(s.workers, u)
	}
}

// loaded records that everything up to rev is applied.
func (s *Service) loaded(rev uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advance(rev)
}

// advance moves the applied revision and wakes the waiters. Callers hold s.mu.
func (s *Service) advance(rev uint64) {
	if rev > s.applied {
		s.applied = rev
		close(s.changed)
		s.changed = make(chan struct{})
	}
}
