package marathon

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// App is a Marathon 1.x application definition (AppDefinition in Marathon's
// schema). Pointers mark fields whose absence differs from their zero value,
// so that defaults can be filled and PATCH can merge. Fields Drover keeps but
// does not act on are held as raw JSON and echoed back unchanged.
type App struct {
	ID                         string              `json:"id"`
	Cmd                        *string             `json:"cmd,omitempty"`
	Args                       []string            `json:"args,omitempty"`
	User                       *string             `json:"user,omitempty"`
	Env                        map[string]EnvValue `json:"env"`
	Instances                  *int                `json:"instances"`
	Cpus                       *float64            `json:"cpus"`
	Mem                        *float64            `json:"mem"`
	Disk                       *float64            `json:"disk"`
	Gpus                       *float64            `json:"gpus"`
	Executor                   string              `json:"executor"`
	Constraints                []Constraint        `json:"constraints"`
	URIs                       []string            `json:"uris,omitempty"`
	Fetch                      []json.RawMessage   `json:"fetch"`
	StoreURLs                  []string            `json:"storeUrls,omitempty"`
	BackoffSeconds             *float64            `json:"backoffSeconds"`
	BackoffFactor              *float64            `json:"backoffFactor"`
	MaxLaunchDelaySeconds      *float64            `json:"maxLaunchDelaySeconds"`
	Container                  *Container          `json:"container,omitempty"`
	HealthChecks               []HealthCheck       `json:"healthChecks"`
	ReadinessChecks            []json.RawMessage   `json:"readinessChecks"`
	Dependencies               []string            `json:"dependencies"`
	UpgradeStrategy            *UpgradeStrategy    `json:"upgradeStrategy"`
	Labels                     map[string]string   `json:"labels"`
	AcceptedResourceRoles      []string            `json:"acceptedResourceRoles,omitempty"`
	IPAddress                  json.RawMessage     `json:"ipAddress,omitempty"`
	Networks                   []Network           `json:"networks,omitempty"`
	Ports                      []int               `json:"ports,omitempty"`
	PortDefinitions            []PortDefinition    `json:"portDefinitions"`
	RequirePorts               *bool               `json:"requirePorts"`
	Secrets                    json.RawMessage     `json:"secrets,omitempty"`
	TaskKillGracePeriodSeconds *float64            `json:"taskKillGracePeriodSeconds,omitempty"`
	KillSelection              string              `json:"killSelection"`
	UnreachableStrategy        json.RawMessage     `json:"unreachableStrategy,omitempty"`
	Residency                  json.RawMessage     `json:"residency,omitempty"`
	TTY                        *bool               `json:"tty,omitempty"`
	Role                       string              `json:"role,omitempty"`

	// Version is the ISO-8601 timestamp of this definition, set by the api.
	Version     string       `json:"version,omitempty"`
	VersionInfo *VersionInfo `json:"versionInfo,omitempty"`
}

// VersionInfo tells when the app last scaled and last changed otherwise.
type VersionInfo struct {
	LastScalingAt      string `json:"lastScalingAt"`
	LastConfigChangeAt string `json:"lastConfigChangeAt"`
}

// Container is the app's container: Drover runs DOCKER containers.
type Container struct {
	Type         string        `json:"type"`
	Docker       *Docker       `json:"docker,omitempty"`
	Volumes      []Volume      `json:"volumes"`
	PortMappings []PortMapping `json:"portMappings,omitempty"`
}

// Docker holds the Docker-specific part of a container.
type Docker struct {
	Image          string          `json:"image"`
	Network        string          `json:"network,omitempty"`
	Privileged     bool            `json:"privileged"`
	Parameters     []Parameter     `json:"parameters"`
	ForcePullImage bool            `json:"forcePullImage"`
	PortMappings   []PortMapping   `json:"portMappings,omitempty"`
	PullConfig     json.RawMessage `json:"pullConfig,omitempty"`
}

// Parameter is one Docker CLI flag, such as {"key":"publish","value":"80:80"}.
type Parameter struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Volume mounts a host path into the container.
type Volume struct {
	ContainerPath string          `json:"containerPath"`
	HostPath      string          `json:"hostPath,omitempty"`
	Mode          string          `json:"mode"`
	Persistent    json.RawMessage `json:"persistent,omitempty"`
	External      json.RawMessage `json:"external,omitempty"`
}

// PortMapping maps a container port to a host port (0: any free one).
type PortMapping struct {
	ContainerPort int               `json:"containerPort"`
	HostPort      *int              `json:"hostPort,omitempty"`
	ServicePort   int               `json:"servicePort"`
	Protocol      string            `json:"protocol"`
	Name          string            `json:"name,omitempty"`
	Labels        map[string]string `json:"labels,omitempty"`
}

// PortDefinition asks for a host port for apps on the host network.
type PortDefinition struct {
	Port     int               `json:"port"`
	Protocol string            `json:"protocol"`
	Name     string            `json:"name,omitempty"`
	Labels   map[string]string `json:"labels,omitempty"`
}

// Network is one entry of app.networks.
type Network struct {
	Mode   string            `json:"mode"`
	Name   string            `json:"name,omitempty"`
	Labels map[string]string `json:"labels,omitempty"`
}

// HealthCheck is one Marathon health check.
type HealthCheck struct {
	Protocol               string          `json:"protocol"`
	Path                   string          `json:"path,omitempty"`
	PortIndex              *int            `json:"portIndex,omitempty"`
	Port                   *int            `json:"port,omitempty"`
	Command                json.RawMessage `json:"command,omitempty"`
	GracePeriodSeconds     int             `json:"gracePeriodSeconds"`
	IntervalSeconds        int             `json:"intervalSeconds"`
	TimeoutSeconds         int             `json:"timeoutSeconds"`
	MaxConsecutiveFailures int             `json:"maxConsecutiveFailures"`
	IgnoreHTTP1xx          bool            `json:"ignoreHttp1xx"`
	DelaySeconds           *int            `json:"delaySeconds,omitempty"`
}

// UpgradeStrategy bounds capacity during a rolling upgrade.
type UpgradeStrategy struct {
	MinimumHealthCapacity float64 `json:"minimumHealthCapacity"`
	MaximumOverCapacity   float64 `json:"maximumOverCapacity"`
}

// Constraint is Marathon's [field, operator(, value)] triple.
type Constraint []string

// Field is the constraint's attribute ("hostname" or an agent attribute).
func (c Constraint) Field() string { return c.at(0) }

// Operator is the constraint's operator (UNIQUE, CLUSTER, ...).
func (c Constraint) Operator() string { return c.at(1) }

// Value is the constraint's optional value.
func (c Constraint) Value() string { return c.at(2) }

func (c Constraint) at(i int) string {
	if i < len(c) {
		return c[i]
	}
	return ""
}

// EnvValue is an environment value: a plain string, or a reference to a secret.
type EnvValue struct {
	Value  string
	Secret string
}

// MarshalJSON writes a string, or {"secret": name}.
func (e EnvValue) MarshalJSON() ([]byte, error) {
	if e.Secret != "" {
		return json.Marshal(map[string]string{"secret": e.Secret})
	}
	return json.Marshal(e.Value)
}

// UnmarshalJSON reads a string or {"secret": name}.
func (e *EnvValue) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '{' {
		var s struct {
			Secret string `json:"secret"`
		}
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		if s.Secret == "" {
			return fmt.Errorf("env secret reference without a name")
		}
		e.Secret = s.Secret
		return nil
	}
	return json.Unmarshal(b, &e.Value)
}
