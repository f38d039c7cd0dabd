package api

import (
	"context"
	"io/fs"
	"net/http"
	"path"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/services/api/view"
)

func TestUIRedirectsToUI(t *testing.T) {
	h := newHarness(t)
	for _, p := range []string{"/", "/ui"} {
		for _, m := range []string{http.MethodGet, http.MethodHead} {
			rec := h.do(m, p, "")
			if rec.Code != http.StatusFound || rec.Header().Get("Location") != UIPrefix {
				t.Errorf("%s %s: %d, Location %q; want 302 to %s", m, p, rec.Code, rec.Header().Get("Location"), UIPrefix)
			}
		}
	}
}

func TestUIServesItsFiles(t *testing.T) {
	h := newHarness(t)
	for _, tc := range []struct {
		path, contentType, contains string
	}{
		{"/ui/", "text/html", `<script type="module" src="js/main.js">`},
		{"/ui/index.html", "text/html", `<main id="main"`},
		{"/ui/style.css", "text/css", ".grid"},
		{"/ui/js/main.js", "text/javascript", "new Live("},
		{"/ui/favicon.svg", "image/svg+xml", "<svg"},
	} {
		rec := h.do(http.MethodGet, tc.path, "")
		if rec.Code != http.StatusOK {
			t.Errorf("GET %s: %d", tc.path, rec.Code)
			continue
		}
		if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, tc.contentType) {
			t.Errorf("GET %s: content type %q, want %s", tc.path, ct, tc.contentType)
		}
		if !strings.Contains(rec.Body.String(), tc.contains) {
			t.Errorf("GET %s: body lacks %q", tc.path, tc.contains)
		}
		if rec.Header().Get("X-Content-Type-Options") != "nosniff" || rec.Header().Get("Cache-Control") != "no-cache" {
			t.Errorf("GET %s: headers %v", tc.path, rec.Header())
		}
	}
	page := h.do(http.MethodGet, "/ui/", "")
	if csp := page.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("CSP = %q", csp)
	}
	// Revalidation by ETag.
	etag := page.Header().Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	if rec := h.do(http.MethodGet, "/ui/", "", "If-None-Match: "+etag); rec.Code != http.StatusNotModified {
		t.Errorf("If-None-Match: %d, want 304", rec.Code)
	}
	for _, p := range []string{"/ui/nope.js", "/ui/../server.go", "/ui/js/"} {
		if rec := h.do(http.MethodGet, p, ""); rec.Code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, rec.Code)
		}
	}
}

// TestUIReferencesResolve checks, without a browser, that every module a
// script imports and every file the page links is embedded.
func TestUIReferencesResolve(t *testing.T) {
	assets, err := uiAssets()
	if err != nil {
		t.Fatal(err)
	}
	imports := regexp.MustCompile(`(?m)^(?:import|export)\b[^;]*?\bfrom "(\.[^"]+)"`)
	links := regexp.MustCompile(`(?:src|href)="([^"#:]+)"`)
	checked := 0
	for name, a := range assets {
		var refs [][]string
		switch path.Ext(name) {
		case ".js":
			refs = imports.FindAllStringSubmatch(string(a.data), -1)
		case ".html":
			refs = links.FindAllStringSubmatch(string(a.data), -1)
		}
		for _, m := range refs {
			target := path.Join(path.Dir(name), m[1])
			if strings.HasPrefix(m[1], "../v2/") {
				continue // the API
			}
			if _, ok := assets[target]; !ok {
				t.Errorf("%s refers to %s (%s), which is not embedded", name, m[1], target)
			}
			checked++
		}
	}
	if checked < 10 {
		t.Errorf("only %d references checked", checked)
	}
	if _, err := fs.Stat(uiFiles, "ui/index.html"); err != nil {
		t.Error(err)
	}
}

// cluster is GET /v2/drover/cluster's body, decoded.
type clusterBody struct {
	Leader *struct {
		SchedulerID, Hostname string
		Epoch                 uint64
	}
	Agents []struct {
		ID, Hostname, State, LastSeen string
		Attributes                    map[string]string
		Total, Used                   struct {
			Cpus, Mem, Disk float64
			Ports           int
		}
		Docker struct{ Healthy bool }
		Tasks  []struct {
			ID, AppID, State string
			Ports            []int
			Healthy          *bool
		}
	}
	AgentStates map[string]int
	Totals      struct {
		Total, Used struct{ Cpus, Mem float64 }
		Tasks       int
	}
	NATS struct {
		Status, ServerName string
		Connected          bool
		JetStream          *struct{ Streams int }
		Streams            []struct {
			Name    string
			Healthy bool
		}
		Errors []string
	}
	API struct{ ID string }
}

func (h *harness) putAgent(rec events.AgentRecord) {
	h.t.Helper()
	rec.V = events.Version
	data, err := events.Encode(rec)
	if err != nil {
		h.t.Fatal(err)
	}
	if _, err := h.bus.Agents.Put(context.Background(), rec.AgentID, data); err != nil {
		h.t.Fatal(err)
	}
}

func TestClusterShowsAgentsTheirTasksLeaderAndNATS(t *testing.T) {
	h := newHarness(t)
	h.createApp(`{"id":"/web","cmd":"serve","cpus":0.5,"mem":64,"disk":10,"instances":2}`)
	now := time.Now().UTC()
	total := events.Resources{Cpus: 4, Mem: 4096, Disk: 1000, Ports: []events.PortRange{{Begin: 31000, End: 31099}}}
	h.putAgent(events.AgentRecord{AgentID: "a2", Hostname: "host2", Total: total, State: events.AgentDockerDown,
		Docker: events.DockerHealth{Error: "Cannot connect to the Docker daemon"}, LastSeen: now})
	h.putAgent(events.AgentRecord{AgentID: "a1", Hostname: "host1", Attributes: map[string]string{"rack": "r1"}, Total: total,
		State: events.AgentActive, Docker: events.DockerHealth{Healthy: true}, LastSeen: now})
	h.putInstance(events.Instance{TaskID: "web.1", AppID: "/web", AgentID: "a1", Host: "host1", HostPorts: []int{31000},
		State: events.TaskRunning, StagedAt: now, StartedAt: now, UpdatedAt: now})
	h.putInstance(events.Instance{TaskID: "web.2", AppID: "/web", AgentID: "a1", Host: "host1", HostPorts: []int{31001},
		State: events.TaskStaging, StagedAt: now, UpdatedAt: now})
	h.putInstance(events.Instance{TaskID: "web.0", AppID: "/web", AgentID: "a1", Host: "host1",
		State: events.TaskFailed, StagedAt: now, UpdatedAt: now}) // terminal: not on the agent any more

	var body clusterBody
	waitFor(t, func() bool {
		body = expect[clusterBody](t, h.do(http.MethodGet, "/v2/drover/cluster", ""), http.StatusOK)
		return len(body.Agents) == 2 && len(body.Agents[0].Tasks) == 2
	})
	if body.Leader != nil {
		t.Errorf("leader = %+v, want null", body.Leader)
	}
	a1, a2 := body.Agents[0], body.Agents[1]
	if a1.Hostname != "host1" || a2.Hostname != "host2" {
		t.Fatalf("agents = %s, %s; want by hostname", a1.Hostname, a2.Hostname)
	}
	if a1.Used.Cpus != 1 || a1.Used.Mem != 128 || a1.Used.Disk != 20 || a1.Used.Ports != 2 || a1.Total.Ports != 100 {
		t.Errorf("host1 used %+v of %+v; want two tasks of 0.5 cpus, 64 MiB, 10 MiB, a port each, of 100 ports", a1.Used, a1.Total)
	}
	if a1.Tasks[0].ID != "web.1" || a1.Tasks[0].State != "TASK_RUNNING" || a1.Attributes["rack"] != "r1" || !a1.Docker.Healthy {
		t.Errorf("host1 = %+v", a1)
	}
	if a2.State != events.AgentDockerDown || a2.Docker.Healthy || len(a2.Tasks) != 0 || a2.Attributes == nil {
		t.Errorf("host2 = %+v", a2)
	}
	if body.AgentStates[events.AgentActive] != 1 || body.AgentStates[events.AgentDockerDown] != 1 {
		t.Errorf("agent states = %v", body.AgentStates)
	}
	if body.Totals.Total.Cpus != 8 || body.Totals.Used.Cpus != 1 || body.Totals.Tasks != 2 {
		t.Errorf("totals = %+v", body.Totals)
	}
	if !body.NATS.Connected || body.NATS.Status != "CONNECTED" || body.NATS.ServerName == "" || body.NATS.JetStream == nil || len(body.NATS.Errors) != 0 {
		t.Errorf("nats = %+v", body.NATS)
	}
	streams := map[string]bool{}
	for _, s := range body.NATS.Streams {
		streams[s.Name] = s.Healthy
	}
	for _, name := range []string{events.StreamEvents, "KV_" + events.BucketApps, "KV_" + events.BucketAgents} {
		if !streams[name] {
			t.Errorf("stream %s missing or unhealthy in %v", name, streams)
		}
	}
	if body.API.ID != "test" {
		t.Errorf("api = %+v", body.API)
	}

	// The leader shows; a deleted agent goes.
	h.putLeader("master1")
	if err := h.bus.Agents.Delete(context.Background(), "a2"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		body = expect[clusterBody](t, h.do(http.MethodGet, "/v2/drover/cluster", ""), http.StatusOK)
		return body.Leader != nil && len(body.Agents) == 1
	})
	if body.Leader.Hostname != "master1" || body.Leader.SchedulerID != "s1" {
		t.Errorf("leader = %+v", body.Leader)
	}
}

func TestRedactURLs(t *testing.T) {
	got := view.RedactURLs([]string{"nats://user:secret@n1:4222", "nats://n2:4222", "tls://token@n3:4222"})
	want := []string{"nats://[REDACTED]@n1:4222", "nats://n2:4222", "tls://[REDACTED]@n3:4222"}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("redactURLs[%d] = %q, want %q", i, got[i], want[i])
		}
	}
}
