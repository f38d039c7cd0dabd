package callbacks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/drover/drover/internal/natsutil"
	"github.com/drover/drover/pkg/events"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
)

// Outcomes of an event for one URL, the label of the deliveries counter.
const (
	OutcomeDelivered = "delivered" // POSTed, answered 2xx
	OutcomeFailed    = "failed"    // every try failed
	OutcomeDropped   = "dropped"   // the URL's queue was full
	OutcomeSkipped   = "skipped"   // the URL is backing off after failures
	OutcomeStale     = "stale"     // older than MaxAge when received (counted once, not per URL)
)

// Service is one api replica's part of the callback subscriber: the view
// of the subscribers bucket, a worker per URL, and a puller of the shared
// consumer.
type Service struct {
	cfg    Config
	js     jetstream.JetStream
	kv     jetstream.KeyValue
	logger *slog.Logger
	client *http.Client
	now    func() time.Time
	// Deliveries counts each event's outcome per URL.
	Deliveries *prometheus.CounterVec

	ctx    context.Context // the workers' and the puller's
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	workers map[string]*worker // by callback URL
	applied uint64             // the subscribers bucket's revision applied
	changed chan struct{}      // closed when applied moves
}

// New starts following the subscribers bucket and pulling the shared
// consumer of the events stream; Close stops both. kv is the subscribers
// bucket.
func New(cfg Config, js jetstream.JetStream, kv jetstream.KeyValue, logger *slog.Logger) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("callbacks: %w", err)
	}
	if js == nil || kv == nil {
		return nil, errors.New("callbacks: the events stream and the subscribers bucket are required")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Service{
		cfg: cfg, js: js, kv: kv, logger: logger.With("component", "callbacks"), now: time.Now,
		client: &http.Client{
			Timeout: cfg.Timeout,
			// A redirect is an answer, not a delivery: not followed.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		Deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "drover_api_event_callbacks_total",
			Help: "Events for HTTP callback subscribers, by outcome (delivered, failed, dropped, skipped, stale).",
		}, []string{"outcome"}),
		ctx: ctx, cancel: cancel, workers: map[string]*worker{}, changed: make(chan struct{}),
	}
	setup, cancelSetup := context.WithTimeout(ctx, 10*time.Second)
	defer cancelSetup()
	done, err := natsutil.FollowKV(ctx, natsutil.KVFollow{
		KV: kv, Apply: s.apply, Reset: s.reset, Loaded: s.loaded, Logger: s.logger,
		FirstWithin: natsutil.FirstWatchWithin,
	})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("callbacks: follow subscribers: %w", err)
	}
	if err := s.catchUp(setup); err != nil {
		s.logger.Warn("subscribers not loaded yet; following", "error", err)
	}
	// The consumer delivers what is published after it exists: set up
	// before the api serves, a subscription's own subscribe_event and the
	// writes right after it are not missed (the first replica's start).
	cons, err := s.consumer(setup)
	if err != nil {
		s.logger.Warn("callback consumer not set up yet; retrying", "error", err)
	}
	s.wg.Add(2)
	go func() { defer s.wg.Done(); <-done }()
	go func() { defer s.wg.Done(); s.pull(ctx, cons) }()
	return s, nil
}

// Close stops pulling and every worker, and waits for them.
func (s *Service) Close() {
	s.cancel()
	s.mu.Lock()
	for _, w := range s.workers {
		w.stop()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// pull consumes the shared durable consumer until ctx ends, setting it up
// again whenever it goes (a stream electing its leader, the consumer
// deleted for inactivity while no replica ran).
func (s *Service) pull(ctx context.Context, cons jetstream.Consumer) {
	for ctx.Err() == nil {
		err := s.consume(ctx, cons)
		cons = nil
		if err != nil && ctx.Err() == nil {
			s.logger.Warn("callback consumer", "error", err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// consumer creates (or binds to) the shared durable consumer.
func (s *Service) consumer(ctx context.Context) (jetstream.Consumer, error) {
	setup, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	cons, err := s.js.CreateOrUpdateConsumer(setup, events.StreamEvents, jetstream.ConsumerConfig{
		Durable:       events.CallbackConsumer,
		Description:   "Marathon events for HTTP callback subscribers, shared by the api replicas",
		DeliverPolicy: jetstream.DeliverNewPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       30 * time.Second,
		MaxDeliver:    3,
		FilterSubject: events.EventAll,
		MaxAckPending: 1024,
		// Gone after an hour without any replica: a replica starting later
		// delivers from then on, not a day of backlog.
		InactiveThreshold: time.Hour,
	})
	if err != nil {
		return nil, fmt.Errorf("create: %w", err)
	}
	return cons, nil
}

// consume pulls events from cons (set up first when nil) until ctx ends
// or the consumer fails.
func (s *Service) consume(ctx context.Context, cons jetstream.Consumer) error {
	if cons == nil {
		var err error
		if cons, err = s.consumer(ctx); err != nil {
			return err
		}
	}
	failed := make(chan error, 1)
	cc, err := cons.Consume(s.handle, jetstream.PullMaxMessages(256),
		jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
			if errors.Is(err, jetstream.ErrConsumerDeleted) || errors.Is(err, jetstream.ErrConsumerNotFound) {
				select {
				case failed <- err:
				default:
				}
			}
		}))
	if err != nil {
		return fmt.Errorf("consume: %w", err)
	}
	defer cc.Stop()
	select {
	case <-ctx.Done():
		return nil
	case err := <-failed:
		return err
	}
}

// handle takes one event from the consumer: acknowledged at once (each
// event goes to each URL at most once), then queued for every URL.
func (s *Service) handle(m jetstream.Msg) {
	_ = m.Ack()
	t, err := events.ParseEvent(m.Subject())
	if err != nil || !json.Valid(m.Data()) {
		s.logger.Warn("dropping a malformed event", "subject", m.Subject(), "bytes", len(m.Data()))
		return
	}
	if md, err := m.Metadata(); err == nil && s.now().Sub(md.Timestamp) > s.cfg.MaxAge {
		s.Deliveries.WithLabelValues(OutcomeStale).Inc()
		return
	}
	for _, w := range s.targets(t, m.Data()) {
		w.enqueue(delivery{eventType: t, data: m.Data()})
	}
}

// targets are the workers an event goes to: every URL registered, as in
// Marathon, where the URL of a subscribe_event gets it and that of an
// unsubscribe_event does not.
func (s *Service) targets(eventType string, data []byte) []*worker {
	var only, except string
	if eventType == events.EventSubscribe || eventType == events.EventUnsubscribe {
		var ev events.SubscriptionEvent
		if json.Unmarshal(data, &ev) == nil {
			if eventType == events.EventSubscribe {
				only = ev.CallbackURL
			} else {
				except = ev.CallbackURL
			}
		}
	}
	s.mu.Lock()
	_, known := s.workers[only]
	_, gone := s.workers[except]
	s.mu.Unlock()
	if (only != "" && !known) || (except != "" && gone) {
		// Registered (or removed) through any replica, whose write this
		// replica's watch has not delivered yet: an unsubscribed URL
		// gets nothing after its unsubscribe_event.
		ctx, cancel := context.WithTimeout(s.ctx, 2*time.Second)
		_ = s.catchUp(ctx)
		cancel()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*worker, 0, len(s.workers))
	for u, w := range s.workers {
		if u != except {
			out = append(out, w)
		}
	}
	return out
}
