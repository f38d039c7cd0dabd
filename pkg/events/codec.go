package events

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Message is any of the versioned message types of this package.
type Message interface {
	Heartbeat | Command | TaskStatus | Instance | AgentRecord | AppRecord | Deployment | LeaderRecord |
		QueueEntry | SchedulerRequest | Subscriber | SandboxRead | SandboxFile | PortClaim | PlanDemandNotice
	version() int
}

var (
	// ErrMalformed is returned by Decode for bytes that are not the message's JSON.
	ErrMalformed = errors.New("events: malformed message")
	// ErrVersion is returned by Decode for a message of an unknown schema version.
	ErrVersion = errors.New("events: unknown message version")
)

// Encode marshals a message. Callers set V (use the constructors' Version).
func Encode[M Message](m M) ([]byte, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("events: encode %T: %w", m, err)
	}
	return b, nil
}

// Decode unmarshals a message and checks its version.
func Decode[M Message](data []byte) (M, error) {
	var m M
	if err := json.Unmarshal(data, &m); err != nil {
		return m, fmt.Errorf("%w: %T: %v", ErrMalformed, m, err)
	}
	if v := m.version(); v != Version {
		return m, fmt.Errorf("%w: %T has v=%d, want %d", ErrVersion, m, v, Version)
	}
	return m, nil
}
