package api

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/drover/drover/pkg/events"
)

func TestReadModelSkipsBadRecords(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	if _, err := h.bus.Apps.Put(ctx, "garbage", []byte("not json")); err != nil {
		t.Fatal(err)
	}
	if _, err := h.bus.Apps.Put(ctx, "future", []byte(`{"v":99,"app":{"id":"/future"}}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := h.bus.Instances.Put(ctx, "bad-task", []byte("{")); err != nil {
		t.Fatal(err)
	}
	h.createApp(`{"id":"/good","cmd":"x"}`)
	apps := expect[appList](t, h.do(http.MethodGet, "/v2/apps", ""), http.StatusOK).Apps
	if ids := appIDs(apps); !equalJSON(t, ids, []string{"/good"}) {
		t.Errorf("apps = %v, want only the good one", ids)
	}
	// A good record replacing a bad one shows up.
	rec, _ := events.Encode(events.AppRecord{V: events.Version, DeploymentID: "d"})
	if _, err := h.bus.Apps.Put(ctx, "garbage", rec); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		return len(expect[appList](t, h.do(http.MethodGet, "/v2/apps", ""), http.StatusOK).Apps) == 2
	})
	// The id comes from the key, whatever the record says.
	got := expect[struct{ App object }](t, h.do(http.MethodGet, "/v2/apps/garbage", ""), http.StatusOK)
	if got.App["id"] != "/garbage" {
		t.Errorf("id = %v", got.App["id"])
	}
}

func TestReadModelMovesInstanceBetweenApps(t *testing.T) {
	h := newHarness(t)
	h.createApp(`{"id":"/a","cmd":"x"}`)
	h.createApp(`{"id":"/b","cmd":"x"}`)
	h.putInstance(events.Instance{TaskID: "t", AppID: "/a", State: events.TaskRunning, StagedAt: time.Now()})
	h.putInstance(events.Instance{TaskID: "t", AppID: "/b", State: events.TaskRunning, StagedAt: time.Now()})
	waitFor(t, func() bool {
		b := expect[taskList](t, h.do(http.MethodGet, "/v2/apps/b/tasks", ""), http.StatusOK).Tasks
		return len(b) == 1
	})
	if a := expect[taskList](t, h.do(http.MethodGet, "/v2/apps/a/tasks", ""), http.StatusOK).Tasks; len(a) != 0 {
		t.Errorf("/a still lists %v", taskIDs(a))
	}
}

func TestReadModelCaughtUp(t *testing.T) {
	h := newHarness(t)
	rev, err := h.bus.Apps.Put(context.Background(), "x", []byte("{}"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.srv.rm.CaughtUp(ctx, events.BucketApps, rev); err != nil {
		t.Fatalf("caughtUp(%d): %v", rev, err)
	}
	short, cancel2 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel2()
	if err := h.srv.rm.CaughtUp(short, events.BucketApps, rev+100); err == nil {
		t.Error("caughtUp with a revision not yet written returned nil")
	}
}
