package command

import (
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/drover/drover/pkg/marathon"
)

// defaultPath is a host command's PATH unless its app sets one (Docker's default).
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// taskEnv is the environment a host command runs with, assembled here
// only: a login's basics (PATH, HOME, USER, LOGNAME), then the spec's env
// (the app's, and what the scheduler adds for the task: HOST, PORT0..n,
// PORT, PORTS, MESOS_TASK_ID, MARATHON_APP_*; see marathon.TaskSpec.Env),
// then the sandbox Mesos' command executor gives (MESOS_SANDBOX,
// MESOS_DIRECTORY). The task's ports are filled from its host ports when
// the spec's env lacks them. Nothing of the agent's own environment leaks in.
func taskEnv(spec marathon.TaskSpec, taskID, sandbox string, u taskUser) []string {
	env := map[string]string{"PATH": defaultPath, "HOME": sandbox}
	if u.Home != "" && u.Home != "/nonexistent" {
		env["HOME"] = u.Home
	}
	if u.Name != "" {
		env["USER"], env["LOGNAME"] = u.Name, u.Name
	}
	maps.Copy(env, spec.Env)
	if _, ok := env["PORT0"]; !ok && len(spec.HostPorts) > 0 {
		var ports []string
		for i, p := range spec.HostPorts {
			if p > 0 {
				env["PORT"+strconv.Itoa(i)] = strconv.Itoa(p)
				ports = append(ports, strconv.Itoa(p))
			}
		}
		if len(ports) > 0 {
			env["PORT"], env["PORTS"] = ports[0], strings.Join(ports, ",")
		}
	}
	if env["MESOS_TASK_ID"] == "" {
		env["MESOS_TASK_ID"] = taskID
	}
	env["MESOS_SANDBOX"], env["MESOS_DIRECTORY"] = sandbox, sandbox
	out := make([]string, 0, len(env))
	for _, k := range slices.Sorted(maps.Keys(env)) {
		out = append(out, k+"="+env[k])
	}
	return out
}

// lookupEnv is the value of key in an environment list.
func lookupEnv(env []string, key string) string {
	for _, kv := range slices.Backward(env) {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v
		}
	}
	return ""
}
