package events

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// MaxEventBytes bounds an event as published: a deployment event whose
// plan's original and target (the whole root group, twice) would take more
// is published in the light format instead, as Marathon 1.6+ sends it with
// ?plan-format=light. NATS refuses messages past its max_payload (1 MB by
// default), and an event stream of 20 MB events is of no use to anyone.
const MaxEventBytes = 768 << 10

// HasPlan reports whether events of a type carry a deployment plan.
func HasPlan(eventType string) bool {
	switch eventType {
	case EventDeploymentInfo, EventDeploymentSuccess, EventDeploymentFailed,
		EventDeploymentStepOK, EventDeploymentStepFailed:
		return true
	}
	return false
}

// MarshalEvent encodes a Marathon event for the events stream: its JSON,
// or for a deployment event past MaxEventBytes, its light form.
func MarshalEvent(eventType string, payload any) ([]byte, error) {
	data, err := json.Marshal(payload)
	if err != nil {
		return nil, fmt.Errorf("events: encode %s: %w", eventType, err)
	}
	if len(data) > MaxEventBytes && HasPlan(eventType) {
		if light, ok := LightPlan(eventType, data); ok {
			return light, nil
		}
	}
	return data, nil
}

// LightPlan is a deployment event in Marathon's light plan format
// (/v2/events?plan-format=light): the plan without original and target.
// Events of other types, and payloads that are not a JSON object with a
// plan object, come back unchanged with false.
func LightPlan(eventType string, data []byte) ([]byte, bool) {
	if !HasPlan(eventType) || !bytes.Contains(data, []byte(`"original"`)) && !bytes.Contains(data, []byte(`"target"`)) {
		return data, false
	}
	var ev map[string]json.RawMessage
	if err := json.Unmarshal(data, &ev); err != nil {
		return data, false
	}
	var plan map[string]json.RawMessage
	if err := json.Unmarshal(ev["plan"], &plan); err != nil || plan == nil {
		return data, false
	}
	delete(plan, "original")
	delete(plan, "target")
	p, err := json.Marshal(plan)
	if err != nil {
		return data, false
	}
	ev["plan"] = p
	out, err := json.Marshal(ev)
	if err != nil {
		return data, false
	}
	return out, true
}
