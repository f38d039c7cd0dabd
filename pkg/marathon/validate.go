package marathon

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// FieldError is one entry of Marathon's 422 "details": the JSON path of an
// invalid part of the app ("/" for the app as a whole, "/cpus",
// "/container/docker/image", "/constraints(0)") and what is wrong with it.
type FieldError struct {
	Path   string   `json:"path"`
	Errors []string `json:"errors"`
}

// Messages shared by several rules, as Marathon words them.
const (
	msgNotEmpty       = "must not be empty"
	msgCmdArgs        = "AppDefinition must either contain one of 'cmd' or 'args', and/or a 'container'."
	msgNotCanonical   = "must be in canonical form, such as /group/app"
	msgFeatureSecrets = "Feature secrets is not enabled. Enable with --enable_features secrets)"
	msgEnvSecretRefs  = "use of secret-references in the environment requires the secrets feature to be enabled"
	msgFeatureGPUs    = "Feature gpu_resources is not enabled. Enable with --enable_features gpu_resources)"
	msgUnsupported    = "is not supported by Drover"
)

// executorPattern is Marathon's rule for app.executor, matched fully.
const executorPattern = `^(//cmd)|(/?[^/]+(/[^/]+)*)|$`

var executorRe = regexp.MustCompile(`^(?:` + executorPattern + `)$`)

// Validate checks an app definition the way Marathon does on POST and PUT,
// after NormalizeID and ApplyDefaults, and returns what is wrong in
// Marathon's paths and words; nil when the app is valid. Errors on one path
// are grouped, in the order the rules found them.
func Validate(a *App) []FieldError {
	if a == nil {
		return []FieldError{{Path: "/", Errors: []string{msgNotEmpty}}}
	}
	v := &validator{}
	v.sizes(a)
	if len(v.errs) > 0 {
		// Past a limit, the other rules would cost time in proportion.
		return v.errs
	}
	v.id(a)
	v.command(a)
	v.resources(a)
	v.container(a)
	v.networking(a)
	v.portDefinitions(a)
	v.healthChecks(a)
	v.readinessChecks(a)
	v.constraints(a)
	v.upgradeStrategy(a)
	v.unreachableStrategy(a)
	v.misc(a)
	return v.errs
}

// validator collects FieldErrors, grouping them by path.
type validator struct {
	errs []FieldError
	at   map[string]int
}

func (v *validator) add(path, msg string) {
	if v.at == nil {
		v.at = map[string]int{}
	}
	if i, ok := v.at[path]; ok {
		v.errs[i].Errors = append(v.errs[i].Errors, msg)
		return
	}
	v.at[path] = len(v.errs)
	v.errs = append(v.errs, FieldError{Path: path, Errors: []string{msg}})
}

func (v *validator) id(a *App) {
	if reason := idReason(a.ID); reason != "" {
		v.add("/id", reason)
	}
	for i, d := range a.Dependencies {
		if reason := idReason(d); reason != "" {
			v.add(fmt.Sprintf("/dependencies(%d)", i), reason)
		}
	}
}

// idReason is why id is not a normalised absolute id, or "".
func idReason(id string) string {
	if !strings.HasPrefix(id, "/") {
		return msgIDRelative
	}
	norm, err := NormalizeID(id, "/")
	var ie *IDError
	if errors.As(err, &ie) {
		return ie.Reason
	}
	if norm != id {
		return msgNotCanonical
	}
	return ""
}

func (v *validator) command(a *App) {
	cmd := a.Cmd != nil && *a.Cmd != ""
	args := len(a.Args) > 0
	container := a.Container != nil && a.Container.Docker != nil
	if !((cmd != args) || (!cmd && !args && container)) {
		v.add("/", msgCmdArgs)
	}
	if a.Cmd != nil && *a.Cmd == "" {
		v.add("/cmd", msgNotEmpty)
	}
}

func (v *validator) resources(a *App) {
	v.min("/cpus", a.Cpus, 0.001)
	v.min("/mem", a.Mem, 0)
	v.min("/disk", a.Disk, 0)
	v.min("/gpus", a.Gpus, 0)
	if a.Gpus != nil && *a.Gpus > 0 {
		v.add("/", msgFeatureGPUs)
	}
	if a.Instances != nil && *a.Instances < 0 {
		v.add("/instances", gotMin(float64(*a.Instances), 0, true))
	}
	v.min("/backoffSeconds", a.BackoffSeconds, 0)
	v.min("/backoffFactor", a.BackoffFactor, 1)
	v.min("/maxLaunchDelaySeconds", a.MaxLaunchDelaySeconds, 0)
	v.min("/taskKillGracePeriodSeconds", a.TaskKillGracePeriodSeconds, 0)
}

// min checks an optional number against a minimum.
func (v *validator) min(path string, p *float64, min float64) {
	if p == nil {
		return
	}
	if math.IsNaN(*p) || math.IsInf(*p, 0) || *p < min {
		v.add(path, gotMin(*p, min, false))
	}
}

func (v *validator) misc(a *App) {
	if a.Executor != "" && !executorRe.MatchString(a.Executor) {
		v.add("/executor", fmt.Sprintf("must fully match regular expression '%s'", executorPattern))
	}
	switch a.KillSelection {
	case "", KillYoungestFirst, KillOldestFirst:
	default:
		v.add("/killSelection", oneOf(KillYoungestFirst, KillOldestFirst))
	}
	if isSet(a.Secrets) && string(a.Secrets) != "{}" {
		v.add("/secrets", msgFeatureSecrets)
	}
	v.envSecrets(a)
	if isSet(a.Residency) {
		v.add("/", "App must contain persistent volumes and define residency")
	}
	if a.AcceptedResourceRoles != nil && len(a.AcceptedResourceRoles) == 0 {
		v.add("/acceptedResourceRoles", msgNotEmpty)
	}
	for i, raw := range a.Fetch {
		var f struct {
			URI string `json:"uri"`
		}
		if err := json.Unmarshal(raw, &f); err != nil || f.URI == "" {
			v.add(fmt.Sprintf("/fetch(%d)/uri", i), msgNotEmpty)
		}
	}
	if len(a.URIs) > 0 && len(a.Fetch) > 0 {
		v.add("/uris", "may not be set in conjunction with fetch")
	}
	for i, u := range a.URIs {
		if u == "" {
			v.add(fmt.Sprintf("/uris(%d)", i), msgNotEmpty)
		}
	}
	if a.Labels["DCOS_MIGRATION_API_VERSION"] != "" {
		if a.Labels["DCOS_MIGRATION_API_VERSION"] != "v1" || a.Labels["DCOS_PACKAGE_FRAMEWORK_NAME"] == "" ||
			a.Labels["DCOS_MIGRATION_API_PATH"] == "" {
			v.add("/", "DCOS_PACKAGE_FRAMEWORK_NAME and DCOS_MIGRATION_API_PATH must be defined when using DCOS_MIGRATION_API_VERSION")
		}
	}
}

// envSecrets refuses the env's secret references as Marathon does
// without its secrets feature, which Drover never has
// (EnvVarValidation.envValidator): one error on /env, and one on each
// reference to a secret the app does not define.
func (v *validator) envSecrets(a *App) {
	var defined map[string]json.RawMessage
	if isSet(a.Secrets) {
		_ = json.Unmarshal(a.Secrets, &defined) // not an object: then none is defined
	}
	refs := false
	for _, k := range sortedKeys(a.Env) {
		if a.Env[k].Secret != "" {
			refs = true
		}
	}
	if !refs {
		return
	}
	v.add("/env", msgEnvSecretRefs)
	for _, k := range sortedKeys(a.Env) {
		if name := a.Env[k].Secret; name != "" {
			if _, ok := defined[name]; !ok {
				v.add("/env/"+k+"/secret", "references an undefined secret")
			}
		}
	}
}

// isSet reports whether an optional raw JSON field was given a value.
func isSet(raw json.RawMessage) bool { return len(raw) > 0 && string(raw) != "null" }

// gotMin is accord's message for a value below its minimum.
func gotMin(got, min float64, integer bool) string {
	return fmt.Sprintf("got %s, expected %s or more", num(got, integer), num(min, integer))
}

// gotMax is accord's message for a value above its maximum.
func gotMax(got, max float64, integer bool) string {
	return fmt.Sprintf("got %s, expected %s or less", num(got, integer), num(max, integer))
}

// oneOf is accord's message for a value outside an enumeration.
func oneOf(options ...string) string {
	return "is not one of (" + strings.Join(options, ",") + ")"
}

// num prints a number as Marathon (on the JVM) does: doubles always with a
// fraction ("1.0"), integers without.
func num(f float64, integer bool) string {
	if integer {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.ContainsAny(s, ".eEnN") {
		s += ".0"
	}
	return s
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
