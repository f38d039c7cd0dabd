package callbacks

import (
	"errors"
	"fmt"
	"time"
)

// Config is the callback subscriber's configuration.
type Config struct {
	// Timeout bounds one POST (Marathon's --http_event_request_timeout).
	Timeout time.Duration
	// Retries is how many more times a POST that failed (no answer, 5xx
	// or 429) is tried before the event is given up for that URL.
	Retries int
	// RetryWait is the wait before the first retry; it doubles.
	RetryWait time.Duration
	// QueueLen is how many events wait for one URL; past it, new events
	// for that URL are dropped.
	QueueLen int
	// MaxBackoff bounds how long a URL that keeps failing is skipped:
	// after its nth failure in a row, events for it are dropped for 2ⁿ s,
	// at most MaxBackoff (Marathon's HttpEventActor does the same).
	MaxBackoff time.Duration
	// MaxAge: an event older than this when a replica receives it (a
	// backlog from while no replica ran) is not delivered.
	MaxAge time.Duration
	// MaxSubscribers bounds the callback URLs registered at once.
	MaxSubscribers int
}

// DefaultConfig is Marathon's timeouts with Drover's bounds.
func DefaultConfig() Config {
	return Config{
		Timeout:        10 * time.Second,
		Retries:        2,
		RetryWait:      250 * time.Millisecond,
		QueueLen:       512,
		MaxBackoff:     time.Minute,
		MaxAge:         5 * time.Minute,
		MaxSubscribers: 100,
	}
}

// Validate checks the configuration.
func (c Config) Validate() error {
	var errs []error
	if c.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("callback timeout must be positive, got %s", c.Timeout))
	}
	if c.Retries < 0 || c.Retries > 10 {
		errs = append(errs, fmt.Errorf("callback retries must be 0 to 10, got %d", c.Retries))
	}
	if c.RetryWait < 0 || c.MaxBackoff < 0 {
		errs = append(errs, errors.New("callback waits must not be negative"))
	}
	if c.QueueLen < 1 {
		errs = append(errs, fmt.Errorf("callback queue must hold at least 1 event, got %d", c.QueueLen))
	}
	if c.MaxAge <= 0 {
		errs = append(errs, fmt.Errorf("callback max age must be positive, got %s", c.MaxAge))
	}
	if c.MaxSubscribers < 1 {
		errs = append(errs, fmt.Errorf("callback subscribers must be at least 1, got %d", c.MaxSubscribers))
	}
	return errors.Join(errs...)
}
