package view

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/drover/drover/pkg/events"
)

// keys are the fields of v's JSON object.
func keys(t *testing.T, v any) map[string]json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestTaskLeavesOutWhatIsUnknown(t *testing.T) {
	now := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	bare := keys(t, NewTask(events.Instance{TaskID: "a.1", AppID: "/a", Host: "h1", State: events.TaskStaging}, nil))
	for _, k := range []string{"healthCheckResults", "slaveId", "version", "stagedAt", "startedAt"} {
		if v, ok := bare[k]; ok {
			t.Errorf("unknown %s written: %s", k, v)
		}
	}
	for k, want := range map[string]string{"ports": "[]", "servicePorts": "[]", "ipAddresses": "[]", "localVolumes": "[]"} {
		if got := string(bare[k]); got != want {
			t.Errorf("%s = %s, want %s", k, got, want)
		}
	}
	full := keys(t, NewTask(events.Instance{TaskID: "a.1", AppID: "/a", Host: "h1", AgentID: "ag1", Version: "v1",
		State: events.TaskRunning, StagedAt: now, StartedAt: now,
		Health: []events.HealthResult{{Alive: false, LastFailure: now, LastFailureCause: "502"}}}, []int{10000}))
	for _, k := range []string{"healthCheckResults", "slaveId", "version", "stagedAt", "startedAt"} {
		if _, ok := full[k]; !ok {
			t.Errorf("known %s left out", k)
		}
	}
	var hr []map[string]any
	if err := json.Unmarshal(full["healthCheckResults"], &hr); err != nil || len(hr) != 1 || hr[0]["alive"] != false ||
		hr[0]["lastFailureCause"] != "502" {
		t.Errorf("healthCheckResults %s (%v)", full["healthCheckResults"], err)
	}
	// Marathon writes a result's unknown times as null.
	if _, ok := hr[0]["firstSuccess"]; !ok || hr[0]["firstSuccess"] != nil {
		t.Errorf("firstSuccess %v", hr[0]["firstSuccess"])
	}
}

func TestTaskFailureSlaveIDOptional(t *testing.T) {
	f := keys(t, newTaskFailure(events.Instance{TaskID: "a.1", AppID: "/a", Host: "h1", State: events.TaskFailed, Version: "v1"}))
	if v, ok := f["slaveId"]; ok {
		t.Errorf("unknown slaveId written: %s", v)
	}
	f = keys(t, newTaskFailure(events.Instance{TaskID: "a.1", AppID: "/a", AgentID: "ag1", State: events.TaskFailed}))
	if string(f["slaveId"]) != `"ag1"` {
		t.Errorf("slaveId %s", f["slaveId"])
	}
}
