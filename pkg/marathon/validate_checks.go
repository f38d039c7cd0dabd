package marathon

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
)

// Constraint operators.
const (
	OpUnique  = "UNIQUE"
	OpCluster = "CLUSTER"
	OpGroupBy = "GROUP_BY"
	OpLike    = "LIKE"
	OpUnlike  = "UNLIKE"
	OpMaxPer  = "MAX_PER"
	OpIs      = "IS"
)

// LabelSingleInstanceApp marks an app that must never run two instances.
const LabelSingleInstanceApp = "MARATHON_SINGLE_INSTANCE_APP"

var (
	healthProtocols = []string{HealthHTTP, HealthHTTPS, HealthTCP, HealthCommand,
		HealthMesosHTTP, HealthMesosHTTPS, HealthMesosTCP}
	msgHealthPortIndex = "Health check port indices must address an element of the ports array or container port mappings."
	msgOperator        = "Constraint operator must be one of the following UNIQUE, CLUSTER, GROUP_BY, LIKE, MAX_PER, UNLIKE or IS"
)

func (v *validator) healthChecks(a *App) {
	ports := portIndices(a)
	mesos := 0
	for i, h := range a.HealthChecks {
		p := fmt.Sprintf("/healthChecks(%d)", i)
		proto := h.Protocol
		if proto == "" {
			proto = DefaultHealthProtocol
		}
		if !slices.Contains(healthProtocols, proto) {
			v.add(p+"/protocol", oneOf(healthProtocols...))
		}
		if proto == HealthCommand && h.CommandValue() == "" {
			v.add(p+"/command", msgNotEmpty)
		}
		v.minInt(p+"/gracePeriodSeconds", h.GracePeriodSeconds, 0)
		v.minInt(p+"/intervalSeconds", h.IntervalSeconds, 0)
		v.minInt(p+"/timeoutSeconds", h.TimeoutSeconds, 0)
		v.minInt(p+"/maxConsecutiveFailures", h.MaxConsecutiveFailures, 0)
		if h.DelaySeconds != nil {
			v.minInt(p+"/delaySeconds", *h.DelaySeconds, 0)
		}
		if h.Port != nil {
			v.port(p+"/port", *h.Port)
		}
		if h.PortIndex != nil {
			v.minInt(p+"/portIndex", *h.PortIndex, 0)
		}
		switch proto {
		case HealthHTTP, HealthHTTPS, HealthTCP:
			if isSet(h.Command) {
				break
			}
			ok := h.Port != nil || ports == 1
			if h.PortIndex != nil {
				ok = *h.PortIndex >= 0 && *h.PortIndex < ports
			}
			if !ok {
				v.add(p, msgHealthPortIndex)
			}
		case HealthMesosHTTP, HealthMesosHTTPS, HealthMesosTCP:
			mesos++
		}
	}
	if mesos > 1 {
		v.add("/", "AppDefinition can contain at most one Mesos health check")
	}
}

func (v *validator) minInt(path string, got, min int) {
	if got < min {
		v.add(path, gotMin(float64(got), float64(min), true))
	}
}

func (v *validator) readinessChecks(a *App) {
	if len(a.ReadinessChecks) > 1 {
		v.add("/readinessChecks", gotMax(float64(len(a.ReadinessChecks)), 1, true))
	}
	names := map[string]bool{}
	for _, pm := range a.PortMappingList() {
		names[pm.Name] = true
	}
	if len(a.PortMappingList()) == 0 {
		for _, pd := range a.PortDefinitions {
			names[pd.Name] = true
		}
	}
	for i, raw := range a.ReadinessChecks {
		p := fmt.Sprintf("/readinessChecks(%d)", i)
		var rc ReadinessCheck
		if err := json.Unmarshal(raw, &rc); err != nil || !bytes.HasPrefix(bytes.TrimSpace(raw), []byte("{")) {
			v.add(p, "must be an object")
			continue
		}
		if rc.Protocol != HealthHTTP && rc.Protocol != HealthHTTPS {
			v.add(p+"/protocol", oneOf(HealthHTTP, HealthHTTPS))
		}
		if !names[rc.PortName] || rc.PortName == "" {
			v.add(p+"/portName", "No port definition reference for portName "+rc.PortName)
		}
		if rc.TimeoutSeconds >= rc.IntervalSeconds {
			v.add(p+"/timeoutSeconds", fmt.Sprintf("got %d, expected less than %d", rc.TimeoutSeconds, rc.IntervalSeconds))
		}
	}
}

func (v *validator) constraints(a *App) {
	for i, c := range a.Constraints {
		if reason := constraintReason(c); reason != "" {
			v.add(fmt.Sprintf("/constraints(%d)", i), reason)
		}
	}
}

// constraintReason is what is wrong with a constraint, or "". A CLUSTER
// constraint may leave out its value (every instance then shares the first
// one's), and an empty value counts as none, as older Marathons echoed
// ["hostname", "UNIQUE", ""].
func constraintReason(c Constraint) string {
	if len(c) < 2 || len(c) > 3 {
		return "Each constraint must have either 2 or 3 fields"
	}
	if c.Field() == "" {
		return "Missing field and operator"
	}
	value, hasValue := c.Value(), c.Value() != ""
	switch c.Operator() {
	case OpUnique:
		if hasValue {
			return "Value specified but not used"
		}
	case OpCluster:
	case OpGroupBy:
		if _, err := strconv.Atoi(value); hasValue && err != nil {
			return "Value was specified but is not a number"
		}
	case OpLike, OpUnlike:
		if !hasValue {
			return "A regular expression value must be provided"
		}
		if _, err := regexp.Compile(value); err != nil {
			return fmt.Sprintf("'%s' is not a valid regular expression", value)
		}
	case OpMaxPer:
		if _, err := strconv.Atoi(value); err != nil {
			return "Value was not specified or is not a number"
		}
	case OpIs:
		if !hasValue {
			return "Missing value"
		}
	default:
		return msgOperator
	}
	return ""
}

func (v *validator) upgradeStrategy(a *App) {
	single := a.Labels[LabelSingleInstanceApp] == "true"
	if single && a.Instances != nil && *a.Instances > 1 {
		v.add("/", "Single instance app may only have one instance")
	}
	u := a.UpgradeStrategy
	if u == nil {
		return
	}
	for _, f := range []struct {
		path string
		val  float64
	}{
		{"/upgradeStrategy/minimumHealthCapacity", u.MinimumHealthCapacity},
		{"/upgradeStrategy/maximumOverCapacity", u.MaximumOverCapacity},
	} {
		switch {
		case f.val < 0:
			v.add(f.path, "is less than 0")
		case f.val > 1:
			v.add(f.path, "is greater than 1")
		case single && f.val != 0:
			v.add(f.path, fmt.Sprintf("got %s, expected 0.0", num(f.val, false)))
		}
	}
}

func (v *validator) unreachableStrategy(a *App) {
	raw := bytes.TrimSpace(a.UnreachableStrategy)
	if !isSet(raw) {
		return
	}
	if raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) != nil || s != "disabled" {
			v.add("/unreachableStrategy", oneOf("disabled"))
		}
		return
	}
	var u struct {
		InactiveAfterSeconds float64 `json:"inactiveAfterSeconds"`
		ExpungeAfterSeconds  float64 `json:"expungeAfterSeconds"`
	}
	if err := json.Unmarshal(raw, &u); err != nil {
		v.add("/unreachableStrategy", "must be \"disabled\" or an object")
		return
	}
	if u.InactiveAfterSeconds < 0 {
		v.add("/unreachableStrategy/inactiveAfterSeconds", gotMin(u.InactiveAfterSeconds, 0, false))
	}
	if u.ExpungeAfterSeconds < 0 {
		v.add("/unreachableStrategy/expungeAfterSeconds", gotMin(u.ExpungeAfterSeconds, 0, false))
	}
	if u.ExpungeAfterSeconds < u.InactiveAfterSeconds {
		v.add("/unreachableStrategy", "expungeAfterSeconds must be greater than or equal to inactiveAfterSeconds")
	}
}
