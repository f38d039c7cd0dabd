package marathon

import (
	"encoding/json"
	"fmt"
)

// Marathon's defaults for a readiness check.
const (
	DefaultReadinessName            = "readinessCheck"
	DefaultReadinessProtocol        = HealthHTTP
	DefaultReadinessPath            = "/"
	DefaultReadinessPortName        = "http-api"
	DefaultReadinessIntervalSeconds = 30
	DefaultReadinessTimeoutSeconds  = 10
)

// ReadinessCheck is one of an app's readinessChecks: a task is ready once a
// GET of Path on the port named PortName answers one of
// HTTPStatusCodesForReady. App.ReadinessChecks keeps them as raw JSON, so
// that they read back exactly as written; ParseReadinessChecks types them.
type ReadinessCheck struct {
	Name                    string `json:"name"`
	Protocol                string `json:"protocol"` // HTTP or HTTPS
	Path                    string `json:"path"`
	PortName                string `json:"portName"`
	IntervalSeconds         int    `json:"intervalSeconds"`
	TimeoutSeconds          int    `json:"timeoutSeconds"`
	HTTPStatusCodesForReady []int  `json:"httpStatusCodesForReady"`
	PreserveLastResponse    bool   `json:"preserveLastResponse"`
}

// UnmarshalJSON reads a readiness check with Marathon's defaults for what
// the JSON leaves out (an empty status code list included: [200]).
func (r *ReadinessCheck) UnmarshalJSON(b []byte) error {
	type plain ReadinessCheck
	p := plain{
		Name:            DefaultReadinessName,
		Protocol:        DefaultReadinessProtocol,
		Path:            DefaultReadinessPath,
		PortName:        DefaultReadinessPortName,
		IntervalSeconds: DefaultReadinessIntervalSeconds,
		TimeoutSeconds:  DefaultReadinessTimeoutSeconds,
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	if len(p.HTTPStatusCodesForReady) == 0 {
		p.HTTPStatusCodesForReady = []int{200}
	}
	*r = ReadinessCheck(p)
	return nil
}

// ParseReadinessChecks types an app's raw readinessChecks, with defaults.
func ParseReadinessChecks(raw []json.RawMessage) ([]ReadinessCheck, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	out := make([]ReadinessCheck, 0, len(raw))
	for i, r := range raw {
		var rc ReadinessCheck
		if err := json.Unmarshal(r, &rc); err != nil {
			return out, fmt.Errorf("readinessChecks(%d): %w", i, err)
		}
		out = append(out, rc)
	}
	return out, nil
}

// CommandValue is a COMMAND health check's command.value, or "".
func (h HealthCheck) CommandValue() string {
	var cmd struct {
		Value string `json:"value"`
	}
	if !isSet(h.Command) || json.Unmarshal(h.Command, &cmd) != nil {
		return ""
	}
	return cmd.Value
}
