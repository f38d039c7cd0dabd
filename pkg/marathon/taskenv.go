package marathon

import (
	"cmp"
	"hash/fnv"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
)

// DockerSandbox is MESOS_SANDBOX in a Docker task: where Mesos' Docker
// containerizer mounts the task's sandbox.
const DockerSandbox = "/mnt/mesos/sandbox"

// Marathon's limits on the labels it exports (EnvironmentHelper): a key
// must be shorter than maxLabelKey, a value shorter than maxEnvLength,
// counted in UTF-16 units as the JVM counts a string's length.
const (
	maxEnvLength   = 512
	labelEnvPrefix = "MARATHON_APP_LABEL_"
	maxLabelKey    = maxEnvLength - len(labelEnvPrefix)
)

// TaskContext is what a runtime knows of one task beyond its spec.
type TaskContext struct {
	TaskID string // MESOS_TASK_ID
	Host   string // HOST: the agent's hostname, as Marathon takes it from the offer; "" leaves it out
	// Sandbox is MESOS_SANDBOX, the sandbox's path as the task sees it:
	// DockerSandbox in a Docker container, a host directory for a command
	// task; "" leaves it out.
	Sandbox string
	// Container is the name of the task's Docker container, "" for a task
	// run without one. Mesos' Docker containerizer sets MESOS_SANDBOX and
	// MESOS_CONTAINER_NAME after the task's env, so in a container they
	// win over the app's env; a command task's MESOS_SANDBOX comes from
	// its executor, and the app's env wins over it.
	Container string
}

// TaskEnv is a task's whole environment, as Marathon and Mesos give it:
// the app's MARATHON_APP_* variables (AppVars), MESOS_TASK_ID, the PORT
// variables of its ports (none when it was launched without host ports),
// HOST, then the app's env (Env), which wins over
// all of these as Marathon's TaskBuilder.commandInfo lets it; then, in a
// container, MESOS_SANDBOX and MESOS_CONTAINER_NAME; last the env docker
// parameters (ParamEnv), as docker run's last --env wins. The spec is the
// task's (ForTask): its ports hold the host ports assigned. It is pure.
func (s TaskSpec) TaskEnv(c TaskContext) map[string]string {
	env := orEmpty(maps.Clone(s.AppVars))
	if c.TaskID != "" {
		env["MESOS_TASK_ID"] = c.TaskID
	}
	if len(s.HostPorts) > 0 {
		// Marathon's task without host ports is a task without ports.
		maps.Copy(env, portVars(s.Ports, c.TaskID))
	}
	if c.Host != "" {
		env["HOST"] = c.Host
	}
	if c.Container == "" && c.Sandbox != "" {
		env["MESOS_SANDBOX"] = c.Sandbox
	}
	maps.Copy(env, s.Env)
	if c.Container != "" {
		env["MESOS_CONTAINER_NAME"] = c.Container
		if c.Sandbox != "" {
			env["MESOS_SANDBOX"] = c.Sandbox
		}
	}
	maps.Copy(env, s.ParamEnv)
	return env
}

// appVars are the variables Marathon derives from the app alone
// (TaskBuilder.taskContextEnv but MESOS_TASK_ID): its id, version,
// resources (as the JVM prints doubles; gpus an integer), Docker image
// and labels. MARATHON_APP_VERSION is the version the task runs, its last
// configuration change (deployplan.ConfigVersion), which is the task's
// version in /v2/tasks as in Marathon. MARATHON_APP_ENFORCE_GROUP_ROLE is
// FALSE: Drover enforces no group roles.
func appVars(a *App) map[string]string {
	version := a.Version
	if a.VersionInfo != nil && a.VersionInfo.LastConfigChangeAt != "" {
		version = a.VersionInfo.LastConfigChangeAt
	}
	env := map[string]string{
		"MARATHON_APP_ID":                 a.ID,
		"MARATHON_APP_VERSION":            version,
		"MARATHON_APP_RESOURCE_CPUS":      javaDouble(derefFloat(a.Cpus)),
		"MARATHON_APP_RESOURCE_MEM":       javaDouble(derefFloat(a.Mem)),
		"MARATHON_APP_RESOURCE_DISK":      javaDouble(derefFloat(a.Disk)),
		"MARATHON_APP_RESOURCE_GPUS":      strconv.FormatFloat(math.Trunc(derefFloat(a.Gpus)), 'f', -1, 64),
		"MARATHON_APP_ENFORCE_GROUP_ROLE": "FALSE",
	}
	// Only a DOCKER container has the variable: a MESOS one running a
	// Docker image (Marathon's MesosDocker) has none.
	if c := a.Container; c != nil && c.Docker != nil && (c.Type == "" || strings.EqualFold(c.Type, ContainerDocker)) {
		env["MARATHON_APP_DOCKER_IMAGE"] = c.Docker.Image
	}
	maps.Copy(env, labelVars(a.Labels))
	return env
}

// labelVars are MARATHON_APP_LABELS and a MARATHON_APP_LABEL_<NAME> per
// label Marathon exports (EnvironmentHelper.labelsToEnvVars): NAME is the
// key with each run of characters other than [a-zA-Z0-9_] made one '_',
// upper-cased; a key or value past the limits is left out. Keys that
// make one NAME: the last in key order wins. MARATHON_APP_LABELS lists
// the NAMEs, sorted, separated by spaces ("" without labels).
func labelVars(labels map[string]string) map[string]string {
	env := map[string]string{}
	var names []string
	for _, k := range sortedKeys(labels) {
		v := labels[k]
		if utf16Len(k) >= maxLabelKey || utf16Len(v) >= maxEnvLength {
			continue
		}
		name := labelEnvName(k)
		if _, dup := env[labelEnvPrefix+name]; !dup {
			names = append(names, name)
		}
		env[labelEnvPrefix+name] = v
	}
	slices.Sort(names)
	env["MARATHON_APP_LABELS"] = strings.Join(names, " ")
	return env
}

// labelEnvName is Marathon's escape: replaceAll("[^a-zA-Z0-9_]+", "_"), upper-cased.
func labelEnvName(key string) string {
	var b strings.Builder
	run := false
	for _, r := range key {
		ok := r == '_' || ('0' <= r && r <= '9') || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z')
		switch {
		case ok:
			b.WriteRune(r)
		case !run:
			b.WriteByte('_')
		}
		run = !ok
	}
	return strings.ToUpper(b.String())
}

// utf16Len is a string's length on the JVM.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n++
		if r >= 0x10000 {
			n++
		}
	}
	return n
}

// portVars are Marathon's port variables (EnvironmentHelper.portsEnv) for
// a task's port mappings or port definitions (publish parameters aside):
// PORT<i> for each, its host port when it has one, else its container
// port; PORT_<declared port> (a mapping's container port, a definition's
// port; the effective port when that is 0) and PORT_<NAME> for a named
// one, both the same port as PORT<i>; PORTS the host ports, comma
// separated; PORT the first of them. A mapping with neither host nor
// container port gets a port picked (Marathon picks at random; here it
// is drawn from the task id, so a task's env is the same each time it is
// built). No ports, no variables.
func portVars(ports []PortBinding, taskID string) map[string]string {
	var declared, host []int
	var names []string
	for _, p := range ports {
		if p.Parameter {
			continue
		}
		declared = append(declared, cmp.Or(p.ContainerPort, p.DefinitionPort))
		host = append(host, max(p.HostPort, 0))
		names = append(names, p.Name)
	}
	if len(declared) == 0 {
		return nil
	}
	env := map[string]string{}
	used := map[int]bool{}
	for i := range declared {
		used[declared[i]], used[host[i]] = true, true
	}
	var assigned, picked []int
	effective := make([]int, len(declared))
	for i, d := range declared {
		switch {
		case host[i] > 0:
			effective[i] = host[i]
			assigned = append(assigned, host[i])
		case d > 0:
			effective[i] = d
		default:
			effective[i] = pickPort(taskID, i, used)
			picked = append(picked, effective[i])
		}
		env["PORT"+strconv.Itoa(i)] = strconv.Itoa(effective[i])
	}
	for i, d := range declared {
		env["PORT_"+strconv.Itoa(cmp.Or(d, effective[i]))] = strconv.Itoa(effective[i])
	}
	for i, name := range names {
		if name != "" {
			env["PORT_"+strings.ToUpper(name)] = strconv.Itoa(effective[i])
		}
	}
	all := append(assigned, picked...)
	list := make([]string, len(all))
	for i, p := range all {
		list[i] = strconv.Itoa(p)
	}
	if len(all) > 0 {
		env["PORT"] = list[0]
	}
	env["PORTS"] = strings.Join(list, ",")
	return env
}

// pickPort picks a port in 1025..65535 that used does not hold, from the
// task id and the port's index, and marks it used.
func pickPort(taskID string, index int, used map[int]bool) int {
	const lowest, count = 1025, 65535 - 1024
	h := fnv.New32a()
	h.Write([]byte(taskID + "#" + strconv.Itoa(index)))
	start := int(h.Sum32() % count)
	for k := range count {
		p := lowest + (start+k)%count
		if !used[p] {
			used[p] = true
			return p
		}
	}
	return 0 // never: a task has far fewer ports
}

// javaDouble prints a float as the JVM's Double.toString does: "1.0",
// "0.25", "128.0"; below 1e-3 or from 1e7 on, "1.0E-4", "1.5E7".
func javaDouble(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0:
		return "0.0"
	}
	if a := math.Abs(f); a >= 1e-3 && a < 1e7 {
		s := strconv.FormatFloat(f, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	}
	mant, exp, _ := strings.Cut(strconv.FormatFloat(f, 'E', -1, 64), "E")
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	e, _ := strconv.Atoi(exp)
	return mant + "E" + strconv.Itoa(e)
}
