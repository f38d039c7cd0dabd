package api

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/drover/drover/pkg/events"
)

// TestConformanceOmittedWhenEmpty: what Marathon leaves out of a task or an
// app when it has nothing to say, Drover leaves out too. Clients read a
// task's healthCheckResults, when present, as its results being in: an
// empty list passes go-marathon's ApplicationOK and marathon-lb's check as
// healthy, so a task whose check has no result yet has none.
func TestConformanceOmittedWhenEmpty(t *testing.T) {
	h := newHarness(t)
	h.createApp(`{"id":"/hc","cmd":"x","instances":2,"healthChecks":[{"protocol":"HTTP","path":"/"}],"portDefinitions":[{"port":0}]}`)
	now := time.Now()
	h.putInstance(events.Instance{TaskID: "hc.1", AppID: "/hc", Host: "h1", AgentID: "a1", Version: "2024-05-01T09:00:00.000Z",
		State: events.TaskRunning, StagedAt: now, StartedAt: now, HostPorts: []int{31000}})
	h.putInstance(events.Instance{TaskID: "hc.2", AppID: "/hc", Host: "h2", AgentID: "a2", Version: "2024-05-01T09:00:00.000Z",
		State: events.TaskRunning, StagedAt: now, StartedAt: now, HostPorts: []int{31001},
		Health: []events.HealthResult{{Alive: true, FirstSuccess: now, LastSuccess: now}}})
	waitFor(t, func() bool { return h.getApp("/hc")["tasksRunning"] == 2.0 })

	rec := h.do(http.MethodGet, "/v2/apps/hc", "") // a single app comes with its tasks
	tasks := map[string]object{}
	for _, tk := range expect[struct{ App object }](t, rec, http.StatusOK).App["tasks"].([]any) {
		tasks[tk.(object)["id"].(string)] = tk.(object)
	}
	if r, ok := tasks["hc.1"]["healthCheckResults"]; ok {
		t.Errorf("a task without a result has healthCheckResults %v", r)
	}
	if r, ok := tasks["hc.2"]["healthCheckResults"].([]any); !ok || len(r) != 1 {
		t.Errorf("a checked task's healthCheckResults %v", tasks["hc.2"]["healthCheckResults"])
	}
	// The lists Marathon always writes are there, [] when empty; what is
	// known is there.
	for _, k := range []string{"ports", "servicePorts", "ipAddresses", "localVolumes"} {
		if _, ok := tasks["hc.1"][k].([]any); !ok {
			t.Errorf("task lacks %s: %v", k, tasks["hc.1"])
		}
	}
	for _, k := range []string{"slaveId", "version", "stagedAt", "startedAt"} {
		if _, ok := tasks["hc.1"][k].(string); !ok {
			t.Errorf("task lacks %s: %v", k, tasks["hc.1"])
		}
	}

	// As go-marathon decodes it: ApplicationOK says "not yet" while a task
	// has no results (a nil list), which it could not with [].
	var gm struct {
		App struct {
			Tasks []struct {
				ID                 string `json:"id"`
				HealthCheckResults []*struct {
					Alive bool `json:"alive"`
				} `json:"healthCheckResults"`
			} `json:"tasks"`
		} `json:"app"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &gm); err != nil {
		t.Fatal(err)
	}
	for _, tk := range gm.App.Tasks {
		if got := tk.HealthCheckResults != nil; got != (tk.ID == "hc.2") {
			t.Errorf("go-marathon reads %s as having results: %v", tk.ID, got)
		}
	}

	// An app: its counts and deployments always; tasks, lastTaskFailure,
	// taskStats and readinessCheckResults only when asked for, and then
	// [] or {} when there is nothing (lastTaskFailure: absent when none).
	h.createApp(`{"id":"/none","cmd":"x","instances":0}`)
	plain := expect[struct{ Apps []object }](t, h.do(http.MethodGet, "/v2/apps?id=/none", ""), http.StatusOK).Apps
	if len(plain) != 1 {
		t.Fatalf("apps %v", plain)
	}
	for _, k := range []string{"tasks", "lastTaskFailure", "taskStats", "readinessCheckResults"} {
		if v, ok := plain[0][k]; ok {
			t.Errorf("not embedded, yet %s = %v", k, v)
		}
	}
	for _, k := range []string{"tasksStaged", "tasksRunning", "tasksHealthy", "tasksUnhealthy", "deployments"} {
		if _, ok := plain[0][k]; !ok {
			t.Errorf("app lacks %s", k)
		}
	}
	emb := expect[struct{ Apps []object }](t, h.do(http.MethodGet,
		"/v2/apps?id=/none&embed=apps.tasks&embed=apps.taskStats&embed=apps.readiness&embed=apps.lastTaskFailure", ""), http.StatusOK).Apps
	if len(emb) != 1 {
		t.Fatalf("apps %v", emb)
	}
	if v, ok := emb[0]["tasks"].([]any); !ok || len(v) != 0 {
		t.Errorf("tasks %v, want []", emb[0]["tasks"])
	}
	if v, ok := emb[0]["readinessCheckResults"].([]any); !ok || len(v) != 0 {
		t.Errorf("readinessCheckResults %v, want []", emb[0]["readinessCheckResults"])
	}
	if v, ok := emb[0]["taskStats"].(object); !ok || len(v) != 0 {
		t.Errorf("taskStats %v, want {}", emb[0]["taskStats"])
	}
	if v, ok := emb[0]["lastTaskFailure"]; ok {
		t.Errorf("an app that never failed has lastTaskFailure %v", v)
	}
}
