// Package docker is the agent's Runtime on a Docker daemon, through the
// Docker Engine API with API-version negotiation (daemons in the field are
// older than the client).
//
// Each task is one container named drover.<agentId>.<taskId>, labelled with
// the task, app, version and agent ids (LabelTaskID ...). Every query is
// filtered on the agent-id label, so several agents can share one daemon,
// each seeing only its own containers, and a restarted agent rebuilds its
// state from the daemon: running containers keep running and are reported.
//
// spec.go maps a Marathon app onto a container (image, network, privileged,
// port mappings, volumes, env, labels, cmd/args, cpu and memory limits, the
// docker parameters); events.go turns the daemon's event stream into task
// state changes, reconnecting with backoff and resynchronising from a list;
// checks.go runs COMMAND health checks (docker exec) and gives back the
// checks a container was launched with (LabelChecks) to a restarted agent;
// sandbox.go gives each task a host directory, <SandboxRoot>/<agentId>/<taskId>,
// with its app's fetch in it, mounted at /mnt/mesos/sandbox and removed
// with the container.
package docker
