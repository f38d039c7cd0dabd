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

// EncodeLaunch encodes c, a launch command, with its app already encoded:
// app stands for c.Launch.App, which is not read. A scheduler launching
// many instances of an app encodes the app once for all of them. The
// message is the one Encode writes, its fields in another order.
func EncodeLaunch(c Command, app json.RawMessage) ([]byte, error) {
	if c.Launch == nil {
		return nil, fmt.Errorf("events: encode launch %s: the command has no launch", c.ID)
	}
	// Each outer field hides the embedded one of the same JSON name.
	type launch struct {
		LaunchSpec
		App json.RawMessage `json:"app"`
	}
	type command struct {
		Command
		Launch launch `json:"launch"`
	}
	b, err := json.Marshal(command{Command: c, Launch: launch{LaunchSpec: *c.Launch, App: app}})
	if err != nil {
		return nil, fmt.Errorf("events: encode launch %s: %w", c.ID, err)
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
