package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestCommandAppWithoutDocker: on an agent whose Docker daemon is gone (a
// socket nobody listens on), a host command is placed, runs, and is not
// lost for it; its stdout is read through the api; a Docker app waits,
// DockerUnavailable; and a host command that dies is replaced, there.
func TestCommandAppWithoutDocker(t *testing.T) {
	cs, _ := startCommandStandalone(t, "--docker-host", "unix://"+filepath.Join(t.TempDir(), "none.sock"))
	const sleep = "sleep 3600"
	cs.mustDo(http.MethodPost, "/v2/apps", map[string]any{"id": "/nodocker", "cmd": "echo started $MESOS_TASK_ID; exec " + sleep,
		"cpus": 0.1, "mem": 32, "instances": 1}, http.StatusCreated)
	first := cs.exactly("/nodocker", sleep, 1)[0]

	seen := cs.agentDockerDown()
	// Heartbeats for several times DockerDownAfter (1 s): the task stays.
	eventually(t, 60*time.Second, func() error {
		if now := cs.agentDockerDown(); now.Sub(seen) < 5*time.Second {
			return fmt.Errorf("agent last seen %s, want 5 s after %s", now, seen)
		}
		return nil
	})
	if now := ids(cs.exactly("/nodocker", sleep, 1)); len(now) != 1 || now[0] != first.ID {
		t.Fatalf("tasks %v, want %s still running with Docker down", now, first.ID)
	}

	var file struct {
		Data   string `json:"data"`
		Offset int64  `json:"offset"`
		Size   int64  `json:"size"`
	}
	eventually(t, 30*time.Second, func() error {
		if err := json.Unmarshal(cs.mustDo(http.MethodGet, "/v2/tasks/"+first.ID+"/files/stdout", nil, http.StatusOK), &file); err != nil {
			return err
		}
		if !strings.Contains(file.Data, "started "+first.ID) {
			return fmt.Errorf("stdout %+v, want the task's greeting", file)
		}
		return nil
	})
	cs.mustDo(http.MethodGet, "/v2/tasks/"+first.ID+"/files/..%2Flaunch.json", nil, http.StatusBadRequest)
	cs.mustDo(http.MethodGet, "/v2/tasks/"+first.ID+"/files/nothing", nil, http.StatusNotFound)

	cs.mustDo(http.MethodPost, "/v2/apps", map[string]any{"id": "/docker", "cpus": 0.1, "mem": 32, "instances": 1,
		"container": map[string]any{"type": "DOCKER", "docker": map[string]any{"image": "busybox"}}, "cmd": sleep}, http.StatusCreated)
	eventually(t, 60*time.Second, func() error {
		if n := cs.declined("/docker", "DockerUnavailable"); n != 1 {
			return fmt.Errorf("/docker declined by %d agents as DockerUnavailable, want 1", n)
		}
		return nil
	})
	cs.mustDo(http.MethodDelete, "/v2/apps/docker", nil, http.StatusOK)

	for pid, line := range procsUnder(filepath.Join(cs.sandboxes, cs.host, first.ID)) {
		if line == sleep {
			if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
		}
	}
	eventually(t, 90*time.Second, func() error {
		now := ids(cs.exactly("/nodocker", sleep, 1))
		if now[0] == first.ID {
			return fmt.Errorf("task %s not replaced", first.ID)
		}
		return nil
	})
	cs.mustDo(http.MethodDelete, "/v2/apps/nodocker", nil, http.StatusOK)
	eventually(t, 60*time.Second, func() error {
		if procs := procsUnder(filepath.Join(cs.sandboxes, cs.host)); len(procs) > 0 {
			return fmt.Errorf("processes left: %v", procs)
		}
		return nil
	})
}

// agentDockerDown waits for the only agent to be recorded DOCKER_DOWN and
// returns when it was last seen.
func (cs *commandStandalone) agentDockerDown() time.Time {
	cs.t.Helper()
	var seen time.Time
	eventually(cs.t, 60*time.Second, func() error {
		var cl struct {
			Agents []struct {
				State    string    `json:"state"`
				LastSeen time.Time `json:"lastSeen"`
			} `json:"agents"`
		}
		if err := json.Unmarshal(cs.mustDo(http.MethodGet, "/v2/drover/cluster", nil, http.StatusOK), &cl); err != nil {
			return err
		}
		if len(cl.Agents) != 1 || cl.Agents[0].State != "DOCKER_DOWN" {
			return fmt.Errorf("agents %+v, want one, DOCKER_DOWN", cl.Agents)
		}
		seen = cl.Agents[0].LastSeen
		return nil
	})
	return seen
}

// declined is how many agents /v2/queue says refused the app for reason.
func (cs *commandStandalone) declined(appID, reason string) int {
	cs.t.Helper()
	var q struct {
		Queue []struct {
			App struct {
				ID string `json:"id"`
			} `json:"app"`
			Summary struct {
				Reasons []struct {
					Reason   string `json:"reason"`
					Declined int    `json:"declined"`
				} `json:"rejectSummaryLastOffers"`
			} `json:"processedOffersSummary"`
		} `json:"queue"`
	}
	if err := json.Unmarshal(cs.mustDo(http.MethodGet, "/v2/queue", nil, http.StatusOK), &q); err != nil {
		cs.t.Fatal(err)
	}
	for _, e := range q.Queue {
		if e.App.ID != appID {
			continue
		}
		for _, r := range e.Summary.Reasons {
			if r.Reason == reason {
				return r.Declined
			}
		}
	}
	return 0
}
