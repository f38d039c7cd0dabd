// Package command runs an agent's command tasks on the host, as Mesos'
// command executor does: Marathon apps with a cmd (or args) and no
// container image. It implements agent.Runtime beside the Docker runtime;
// the agent routes each task to one of them (agent.Routed).
//
// Each task has a directory of its own under the sandbox root,
// <root>/<agentId>/<taskId>, owned by root and closed to others but for
// its sandbox/, the task's working directory (MESOS_SANDBOX), owned by the
// task's user. The directory holds what the runtime knows of the task, so
// that an agent restarted adopts what runs instead of starting it again:
//
//	launch.json     what to run (the agent writes it before starting)
//	supervisor.json the supervisor's pid and start time (by the supervisor)
//	state.json      the task's process, once it started (by the supervisor)
//	exit.json       how it ended (by the supervisor)
//	kill            the agent is killing it (so that its end is TASK_KILLED)
//	supervisor.log  the supervisor's own output
//	sandbox/        the task's files: what was fetched, stdout, stderr
//
// The task is not the agent's child. The agent starts a supervisor, the
// drover binary again ("drover agent-exec supervise <dir>", Main), in a
// session of its own (Setsid), so that it outlives the agent. The
// supervisor joins the task's cgroups, fetches the task's URIs by running
// "drover agent-exec fetch" as the task's user, starts `sh -c <cmd>` as
// that user in a process group of its own with stdout and stderr in the
// sandbox, leaves the cgroups to the task, waits for it, kills what the
// task left behind in its group and cgroups, and writes exit.json. It
// ignores SIGTERM's usual meaning: SIGTERM asks it to send SIGTERM to the
// task's group, SIGUSR1 to kill the group and cgroups with SIGKILL. Only
// the supervisor signals the task's group, and only before it has reaped
// the task's process, so the group's id is never a reused pid; the agent
// signals the supervisor through a pidfd opened and checked against the
// start time the supervisor recorded, so neither is a pid reused.
//
// CPU and memory limits are cgroups (v1: the cpu and memory hierarchies,
// under the agent's own cgroup; v2: /sys/fs/cgroup/drover). Where the host
// has neither, or the agent may not create them (not root), tasks run
// without limits and the runtime logs a warning once.
package command
