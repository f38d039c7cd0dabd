package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestCommandTaskEnvironment: a command task writes its environment to a
// sandbox file, read back through the api's sandbox files, and every
// variable Marathon and Mesos give a task is there with the value Marathon
// would give it for the same app on the host network: HOST, PORT, PORTS,
// PORT0..n, PORT_<NAME>, PORT_<service port>, MESOS_TASK_ID,
// MESOS_SANDBOX, MARATHON_APP_ID, MARATHON_APP_VERSION, the resources,
// the labels, the app's env; no MARATHON_APP_DOCKER_IMAGE.
func TestCommandTaskEnvironment(t *testing.T) {
	cs, _ := startCommandStandalone(t)
	cs.mustDo(http.MethodPost, "/v2/apps", map[string]any{
		"id": "/env/web", "cmd": "env > env.txt; exec sleep 3600", "cpus": 0.1, "mem": 32, "instances": 1,
		"portDefinitions": []map[string]any{{"port": 0, "name": "http"}, {"port": 0}},
		"labels":          map[string]string{"team": "core", "my.label": "v"},
		"env":             map[string]string{"GREETING": "hello"},
	}, http.StatusCreated)
	tk := cs.running("/env/web", 1, 60*time.Second)[0]
	if len(tk.Ports) != 2 {
		t.Fatalf("task ports %v, want 2", tk.Ports)
	}
	var app struct {
		App struct {
			PortDefinitions []struct {
				Port int `json:"port"`
			} `json:"portDefinitions"`
			VersionInfo struct {
				LastConfigChangeAt string `json:"lastConfigChangeAt"`
			} `json:"versionInfo"`
		} `json:"app"`
	}
	if err := json.Unmarshal(cs.mustDo(http.MethodGet, "/v2/apps/env/web", nil, http.StatusOK), &app); err != nil {
		t.Fatal(err)
	}
	defs := app.App.PortDefinitions
	if len(defs) != 2 || defs[0].Port == 0 || defs[1].Port == 0 {
		t.Fatalf("portDefinitions %+v, want two assigned service ports", defs)
	}

	env := map[string]string{}
	eventually(t, 30*time.Second, func() error {
		var f struct {
			Data string `json:"data"`
		}
		code, body, err := cs.do(http.MethodGet, "/v2/tasks/"+tk.ID+"/files/env.txt", nil)
		if err != nil || code != http.StatusOK || json.Unmarshal(body, &f) != nil || !strings.Contains(f.Data, "MESOS_TASK_ID=") {
			return fmt.Errorf("env.txt: %d %v %s", code, err, body)
		}
		for _, line := range strings.Split(f.Data, "\n") {
			if k, v, ok := strings.Cut(line, "="); ok {
				env[k] = v
			}
		}
		return nil
	})

	hp0, hp1 := strconv.Itoa(tk.Ports[0]), strconv.Itoa(tk.Ports[1])
	want := map[string]string{
		"HOST":                               cs.host,
		"PORT":                               hp0,
		"PORTS":                              hp0 + "," + hp1,
		"PORT0":                              hp0,
		"PORT1":                              hp1,
		"PORT_HTTP":                          hp0,
		"PORT_" + strconv.Itoa(defs[0].Port): hp0,
		"PORT_" + strconv.Itoa(defs[1].Port): hp1,
		"MESOS_TASK_ID":                      tk.ID,
		"MESOS_SANDBOX":                      filepath.Join(cs.sandboxes, cs.host, tk.ID, "sandbox"),
		"MARATHON_APP_ID":                    "/env/web",
		"MARATHON_APP_VERSION":               app.App.VersionInfo.LastConfigChangeAt,
		"MARATHON_APP_RESOURCE_CPUS":         "0.1",
		"MARATHON_APP_RESOURCE_MEM":          "32.0",
		"MARATHON_APP_RESOURCE_DISK":         "0.0",
		"MARATHON_APP_RESOURCE_GPUS":         "0",
		"MARATHON_APP_LABELS":                "MY_LABEL TEAM",
		"MARATHON_APP_LABEL_TEAM":            "core",
		"MARATHON_APP_LABEL_MY_LABEL":        "v",
		"GREETING":                           "hello",
	}
	for k, v := range want {
		if got, ok := env[k]; !ok || got != v {
			t.Errorf("%s = %q (set: %v), want %q", k, got, ok, v)
		}
	}
	if v, ok := env["MARATHON_APP_DOCKER_IMAGE"]; ok {
		t.Errorf("MARATHON_APP_DOCKER_IMAGE = %q in a command task, want it unset", v)
	}
	cs.mustDo(http.MethodDelete, "/v2/apps/env/web", nil, http.StatusOK)
}
