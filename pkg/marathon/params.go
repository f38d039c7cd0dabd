package marathon

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

var (
	// ErrUnknownParameter is wrapped by a ParameterError whose key is not a
	// Docker flag Drover maps.
	ErrUnknownParameter = errors.New("unknown docker parameter")
	// ErrInvalidParameter is wrapped by a ParameterError whose value is malformed.
	ErrInvalidParameter = errors.New("invalid docker parameter value")
)

// ParameterError is one bad entry of container.docker.parameters.
type ParameterError struct {
	Index  int    // position in the parameters list
	Key    string // the parameter's key as given
	Reason string // what is wrong, for people
	Err    error  // ErrUnknownParameter or ErrInvalidParameter
}

func (e *ParameterError) Error() string {
	return fmt.Sprintf("docker parameter %d (%q): %s", e.Index, e.Key, e.Reason)
}

func (e *ParameterError) Unwrap() error { return e.Err }

// Path is the Marathon validation path of the error: the key of an unknown
// parameter, the value of a malformed one.
func (e *ParameterError) Path() string {
	field := "value"
	if errors.Is(e.Err, ErrUnknownParameter) {
		field = "key"
	}
	return fmt.Sprintf("/container/docker/parameters(%d)/%s", e.Index, field)
}

// ParameterErrors lists every ParameterError in err, as returned by
// ParseDockerParameters (which joins one per bad parameter).
func ParameterErrors(err error) []*ParameterError {
	var out []*ParameterError
	var walk func(error)
	walk = func(err error) {
		var pe *ParameterError
		switch e := err.(type) {
		case nil:
		case interface{ Unwrap() []error }:
			for _, inner := range e.Unwrap() {
				walk(inner)
			}
		default:
			if errors.As(err, &pe) {
				out = append(out, pe)
			}
		}
	}
	walk(err)
	return out
}

// DockerOptions is what a list of Docker CLI parameters asks for, in plain
// values. The agent's Docker runtime turns it into a container configuration.
type DockerOptions struct {
	Publish     []PortPublish
	Env         []string          // KEY=VALUE, in order
	Labels      map[string]string // label
	Volumes     []VolumeBind
	CapAdd      []string
	CapDrop     []string
	ExtraHosts  []string // add-host, as host:ip
	User        string
	Workdir     string
	Hostname    string
	LogDriver   string
	LogOpts     map[string]string
	Ulimits     []Ulimit
	DNS         []string
	DNSSearch   []string
	MemorySwap  *int64 // bytes; -1 is unlimited
	ShmSize     *int64 // bytes
	Init        *bool
	ReadOnly    bool
	Tmpfs       map[string]string // mount path -> mount options
	SecurityOpt []string
	Sysctls     map[string]string
	Devices     []Device
	StopSignal  string
}

// PortPublish is one publish (-p) parameter. Single ports have End equal to
// the start; HostPort 0 lets Docker choose; HostIP "" binds every address.
type PortPublish struct {
	HostIP           string
	HostPort         int
	HostPortEnd      int
	ContainerPort    int
	ContainerPortEnd int
	Protocol         string // tcp, udp or sctp
}

// VolumeBind is one volume (-v) parameter. An empty Source is an anonymous volume.
type VolumeBind struct {
	Source string // a host path or a named volume
	Target string
	Mode   string // comma-separated ro|rw|z|Z|propagation|nocopy, or ""
}

// ReadOnly reports whether the bind is mounted read-only.
func (v VolumeBind) ReadOnly() bool {
	for _, m := range strings.Split(v.Mode, ",") {
		if m == "ro" {
			return true
		}
	}
	return false
}

// Ulimit is one ulimit parameter.
type Ulimit struct {
	Name string
	Soft int64
	Hard int64
}

// Device is one device parameter.
type Device struct {
	PathOnHost      string
	PathInContainer string
	Permissions     string // some of r, w, m
}

type paramFunc func(o *DockerOptions, value string) error

var paramFuncs = map[string]paramFunc{
	"publish":      func(o *DockerOptions, v string) error { return appendPublish(o, v) },
	"env":          func(o *DockerOptions, v string) error { return appendEnv(o, v) },
	"label":        func(o *DockerOptions, v string) error { return putKV(&o.Labels, v, true) },
	"volume":       func(o *DockerOptions, v string) error { return appendVolume(o, v) },
	"cap-add":      func(o *DockerOptions, v string) error { return appendWord(&o.CapAdd, v) },
	"cap-drop":     func(o *DockerOptions, v string) error { return appendWord(&o.CapDrop, v) },
	"add-host":     func(o *DockerOptions, v string) error { return appendHost(o, v) },
	"user":         func(o *DockerOptions, v string) error { return setWord(&o.User, v) },
	"workdir":      func(o *DockerOptions, v string) error { return setAbs(&o.Workdir, v) },
	"hostname":     func(o *DockerOptions, v string) error { return setWord(&o.Hostname, v) },
	"log-driver":   func(o *DockerOptions, v string) error { return setWord(&o.LogDriver, v) },
	"log-opt":      func(o *DockerOptions, v string) error { return putKV(&o.LogOpts, v, false) },
	"ulimit":       func(o *DockerOptions, v string) error { return appendUlimit(o, v) },
	"dns":          func(o *DockerOptions, v string) error { return appendIP(&o.DNS, v) },
	"dns-search":   func(o *DockerOptions, v string) error { return appendWord(&o.DNSSearch, v) },
	"memory-swap":  func(o *DockerOptions, v string) error { return setBytes(&o.MemorySwap, v, true) },
	"shm-size":     func(o *DockerOptions, v string) error { return setBytes(&o.ShmSize, v, false) },
	"init":         func(o *DockerOptions, v string) error { return setBoolPtr(&o.Init, v) },
	"read-only":    func(o *DockerOptions, v string) error { return setBool(&o.ReadOnly, v) },
	"tmpfs":        func(o *DockerOptions, v string) error { return putTmpfs(o, v) },
	"security-opt": func(o *DockerOptions, v string) error { return appendWord(&o.SecurityOpt, v) },
	"sysctl":       func(o *DockerOptions, v string) error { return putKV(&o.Sysctls, v, false) },
	"device":       func(o *DockerOptions, v string) error { return appendDevice(o, v) },
	"stop-signal":  func(o *DockerOptions, v string) error { return setWord(&o.StopSignal, v) },
}

// SupportedParameters lists, sorted, the parameter keys ParseDockerParameters maps.
func SupportedParameters() []string {
	keys := make([]string, 0, len(paramFuncs))
	for k := range paramFuncs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// ParseDockerParameters maps Marathon's container.docker.parameters, Docker
// CLI long flags without their dashes, into DockerOptions. Every bad
// parameter yields a *ParameterError; they come back joined (see ParameterErrors).
func ParseDockerParameters(ps []Parameter) (DockerOptions, error) {
	var o DockerOptions
	var errs []error
	for i, p := range ps {
		key := strings.TrimLeft(p.Key, "-")
		f, ok := paramFuncs[key]
		if !ok {
			errs = append(errs, &ParameterError{Index: i, Key: p.Key, Err: ErrUnknownParameter,
				Reason: fmt.Sprintf("unknown docker parameter %q: Drover supports %s", p.Key, strings.Join(SupportedParameters(), ", "))})
			continue
		}
		if err := f(&o, p.Value); err != nil {
			errs = append(errs, &ParameterError{Index: i, Key: p.Key, Reason: err.Error(), Err: ErrInvalidParameter})
		}
	}
	return o, errors.Join(errs...)
}
