package command

import (
	"maps"
	"slices"
	"strings"

	"github.com/drover/drover/pkg/marathon"
)

// defaultPath is a host command's PATH unless its app sets one (Docker's default).
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// taskEnv is the environment a host command runs with, assembled here
// only: a login's basics (PATH, HOME, USER, LOGNAME), then what Marathon
// and Mesos give every task (marathon.TaskSpec.TaskEnv: the app's env,
// HOST, PORT0..n, PORT, PORTS, MESOS_TASK_ID, MESOS_SANDBOX, MARATHON_APP_*),
// then MESOS_DIRECTORY, the sandbox as Mesos' command executor names it too.
// Nothing of the agent's own environment leaks in.
func taskEnv(spec marathon.TaskSpec, hostname, taskID, sandbox string, u taskUser) []string {
	env := map[string]string{"PATH": defaultPath, "HOME": sandbox}
	if u.Home != "" && u.Home != "/nonexistent" {
		env["HOME"] = u.Home
	}
	if u.Name != "" {
		env["USER"], env["LOGNAME"] = u.Name, u.Name
	}
	maps.Copy(env, spec.TaskEnv(marathon.TaskContext{TaskID: taskID, Host: hostname, Sandbox: sandbox}))
	env["MESOS_DIRECTORY"] = sandbox
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
