package marathon

import "fmt"

// Limits on what an app definition may hold, so that every app the api
// accepts can be stored, sent to an agent and shown: NATS refuses a message
// whose control line (the subject: a key holds the app id, a task id holds
// it too) passes 4,096 bytes, and closes the connection that sent it; and it
// refuses a message larger than its max_payload (1 MB by default; Drover's
// servers raise it to 8 MB, but a cluster may run a NATS of its own).
// docs/API.md lists them.
const (
	// MaxIDLength is the longest app or group id, in bytes, once
	// normalised: a task id is the app id and 53 more bytes, and the
	// longest subject built from one (a KV direct get of an instance)
	// adds about 60 more, far below NATS' 4,096.
	MaxIDLength = 512

	MaxHealthChecks = 32
	MaxPorts        = 256 // portDefinitions, ports, portMappings (each)
	MaxVolumes      = 128
	MaxConstraints  = 64
	MaxEnv          = 1024
	MaxLabels       = 1024
	MaxFetch        = 256 // fetch, uris (each)
	MaxParameters   = 256 // docker parameters
	MaxDependencies = 256
	MaxNetworks     = 16

	// MaxRecordBytes is the largest app record (and deployment record) the
	// api writes, encoded: half of NATS' default max_payload, so that the
	// scheduler's launch commands, which carry the app, fit as well.
	MaxRecordBytes = 512 << 10
)

// msgTooMany is the refusal of a list or map longer than its limit.
func msgTooMany(max int) string {
	return fmt.Sprintf("must not have more than %d elements", max)
}

// msgIDTooLong is the refusal of an id longer than MaxIDLength.
var msgIDTooLong = fmt.Sprintf("must not be longer than %d characters", MaxIDLength)

// MsgRecordTooLarge is the refusal of an app whose encoded record passes
// MaxRecordBytes.
var MsgRecordTooLarge = fmt.Sprintf("the app definition must not take more than %d bytes once stored", MaxRecordBytes)

// ValidateSizes checks only the limits on lists and maps, as the client
// sent them: before defaults are applied (which would cost time in
// proportion, and turn ports into portDefinitions). Validate checks them
// too.
func ValidateSizes(a *App) []FieldError {
	v := &validator{}
	v.sizes(a)
	return v.errs
}

// sizes checks the length of every bounded list and map. (readinessChecks
// needs no limit here: Marathon's rule allows one.)
func (v *validator) sizes(a *App) {
	check := func(path string, n, max int) {
		if n > max {
			v.add(path, msgTooMany(max))
		}
	}
	check("/healthChecks", len(a.HealthChecks), MaxHealthChecks)
	check("/portDefinitions", len(a.PortDefinitions), MaxPorts)
	check("/ports", len(a.Ports), MaxPorts)
	check("/constraints", len(a.Constraints), MaxConstraints)
	check("/env", len(a.Env), MaxEnv)
	check("/labels", len(a.Labels), MaxLabels)
	check("/fetch", len(a.Fetch), MaxFetch)
	check("/uris", len(a.URIs), MaxFetch)
	check("/dependencies", len(a.Dependencies), MaxDependencies)
	check("/networks", len(a.Networks), MaxNetworks)
	if c := a.Container; c != nil {
		check("/container/volumes", len(c.Volumes), MaxVolumes)
		check("/container/portMappings", len(c.PortMappings), MaxPorts)
		if d := c.Docker; d != nil {
			check("/container/docker/parameters", len(d.Parameters), MaxParameters)
			check("/container/docker/portMappings", len(d.PortMappings), MaxPorts)
		}
	}
}
