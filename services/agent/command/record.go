package command

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/drover/drover/pkg/marathon"
	"github.com/drover/drover/services/agent"
	"github.com/drover/drover/services/agent/sandbox"
)

// Files of a task's directory (see the package doc).
const (
	fileLaunch     = "launch.json"
	fileSupervisor = "supervisor.json"
	fileState      = "state.json"
	fileExit       = "exit.json"
	fileKill       = "kill"
	fileSuperLog   = "supervisor.log"
	dirSandbox     = "sandbox"
)

// launchRecord is what the supervisor runs, written by the runtime.
type launchRecord struct {
	TaskID    string              `json:"taskId"`
	AppID     string              `json:"appId"`
	Version   string              `json:"version"`
	Argv      []string            `json:"argv"`
	Env       []string            `json:"env"`
	User      taskUser            `json:"user"`
	HostPorts []int               `json:"hostPorts,omitempty"`
	Checks    agent.CheckSpec     `json:"checks"`
	Fetch     []marathon.FetchURI `json:"fetch,omitempty"`
	Limits    sandbox.FetchLimits `json:"fetchLimits"`
	// Supervisor is the command that runs "agent-exec" (the drover binary);
	// the supervisor runs the fetch with it.
	Supervisor []string  `json:"supervisor"`
	Cgroups    []string  `json:"cgroups,omitempty"` // the task's cgroup directories
	CreatedAt  time.Time `json:"createdAt"`
}

// superRecord names the supervisor's process.
type superRecord struct {
	PID   int    `json:"pid"`
	Start uint64 `json:"start"` // procStart
}

// stateRecord is the task's process, once started.
type stateRecord struct {
	PID       int       `json:"pid"`   // also its process group
	Start     uint64    `json:"start"` // procStart
	StartedAt time.Time `json:"startedAt"`
}

// Phases in which a task can end.
const (
	phaseSetup = "setup" // before the fetch: cgroups, files
	phaseFetch = "fetch"
	phaseStart = "start" // the command could not be started
	phaseRun   = "run"
)

// exitRecord is how a task ended.
type exitRecord struct {
	Phase  string    `json:"phase"`
	Code   int       `json:"code"`             // exit code, -1 when signalled or never run
	Signal string    `json:"signal,omitempty"` // the signal that ended it
	OOM    bool      `json:"oom,omitempty"`    // the memory cgroup killed something
	Killed bool      `json:"killed,omitempty"` // asked to by the agent
	Error  string    `json:"error,omitempty"`  // why it could not run
	At     time.Time `json:"at"`
}

// writeJSON writes v to dir/name atomically (a rename), readable by root only.
func writeJSON(dir, name string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+name+".*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(b)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), filepath.Join(dir, name))
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

// readJSON reads dir/name into v; ok is false when the file is not there.
func readJSON(dir, name string, v any) (ok bool, err error) {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("%s: %w", name, err)
	}
	return true, nil
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}
