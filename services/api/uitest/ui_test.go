package uitest

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/marathon"
)

// commandCheck is a COMMAND health check; the in-memory runtime's exec
// succeeds, so its tasks turn healthy.
var commandCheck = map[string]any{
	"protocol": "COMMAND", "command": map[string]any{"value": "curl -f http://localhost/"},
	"gracePeriodSeconds": 5, "intervalSeconds": 1, "timeoutSeconds": 1, "maxConsecutiveFailures": 3,
}

// seedApps puts apps beside the one the test creates, so that the list
// shows each status: running (healthy), suspended, waiting, delayed.
func seedApps(c *cluster) {
	c.t.Helper()
	docker := func(image string) map[string]any {
		return map[string]any{"type": "DOCKER", "docker": map[string]any{"image": image, "network": "BRIDGE"},
			"portMappings": []map[string]any{{"containerPort": 8080, "hostPort": 0}}}
	}
	for _, a := range []map[string]any{
		{"id": "/shop/frontend", "instances": 2, "cpus": 0.25, "mem": 256, "container": docker("nginx:1.27"),
			"labels": map[string]string{"team": "shop", "tier": "web"}, "healthChecks": []any{commandCheck}},
		{"id": "/shop/orders", "instances": 1, "cpus": 0.5, "mem": 512, "container": docker("registry.example.com/shop/orders:4.2"),
			"labels": map[string]string{"team": "shop", "tier": "api"}, "healthChecks": []any{commandCheck}},
		{"id": "/batch/nightly-report", "instances": 0, "cpus": 1, "mem": 1024, "cmd": "report --all",
			"container": map[string]any{"type": "DOCKER", "docker": map[string]any{"image": "busybox"}}, "labels": map[string]string{"team": "data"}},
		{"id": "/ml/trainer", "instances": 1, "cpus": 16, "mem": 32768, "container": docker("trainer:gpu"),
			"labels": map[string]string{"team": "data"}},
		{"id": "/tools/flaky", "instances": 1, "cpus": 0.1, "mem": 64, "container": docker("flaky:latest"),
			"backoffSeconds": 30},
	} {
		c.call(http.MethodPost, "/v2/apps", a, http.StatusCreated, nil)
	}
}

// TestUI drives the UI as a person would: create the scenario's app through
// the form (after a 422 shown at its field), watch it reach 3 of 3 without
// a reload, kill a task from its page and see the replacement, kill and
// scale, lose the event stream and see it recover, and find every agent in
// the cluster view.
func TestUI(t *testing.T) {
	c := newCluster(t)
	b := newBrowser(t, c)
	c.startScheduler("sched-1", "master1")
	zones := []string{"a", "b", "c"}
	for i, h := range []string{"host1", "host2", "host3"} {
		rt := c.startAgent(h, map[string]string{"rack": fmt.Sprintf("r%d", i/2+1), "zone": zones[i]})
		rt.FailLaunches(func(_ string, spec marathon.TaskSpec) error {
			if spec.AppID == "/tools/flaky" {
				return errors.New("pull access denied for flaky, repository does not exist")
			}
			return nil
		})
	}
	seedApps(c)

	// / redirects to /ui/, which lists the apps.
	b.do("open /", chromedp.Navigate(c.browserURL+"/"))
	b.waitJS("the apps list", 10*time.Second, `location.pathname === "/ui/" && document.querySelectorAll("#apps-body tr").length === 5`)
	b.eval(`window.__sameDocument = true`, nil) // gone if the page reloads
	b.waitJS("the live indicator", 10*time.Second, `document.getElementById("live").dataset.state === "live"`)
	b.audit("apps")

	// The keyboard: the first Tab reaches the skip link, Enter on it moves
	// to the content; the next Tabs reach the navigation.
	b.do("tab", chromedp.KeyEvent(kb.Tab))
	b.waitJS("the skip link focused", 2*time.Second, `document.activeElement.id === "skip"`)
	b.do("enter", chromedp.KeyEvent(kb.Enter))
	b.waitJS("the content focused", 2*time.Second, `document.activeElement.id === "main"`)
	b.do("tab", chromedp.KeyEvent(kb.Tab))
	b.waitJS("the create link focused", 2*time.Second, `document.activeElement.id === "create-app"`)

	// Create the scenario's app through the form; first with 0 CPUs, which
	// the API refuses with a 422 that names /cpus.
	b.click("#create-app")
	b.waitJS("the form", 5*time.Second, `!!document.getElementById("f-id")`)
	b.audit("the form")
	b.typeInto("#f-id", "test-docker")
	b.typeInto("#f-instances", "3")
	b.typeInto("#f-cpus", "0")
	b.typeInto("#f-mem", "64")
	b.typeInto("#f-image", "httpd")
	b.click("#f-privileged")
	b.typeInto("#f-ports", "80")
	b.typeInto("#f-constraints", "hostname:UNIQUE")
	b.typeInto("#f-volumes", "/var/nfsshare/htdocs:/usr/local/apache2/htdocs:RO")
	b.typeInto("#f-labels", "team=web\nscenario=seed")
	b.click("#submit-app")
	b.waitJS("the 422 at the CPUs field", 5*time.Second,
		`!document.getElementById("f-cpus-error").hidden && document.getElementById("f-cpus").getAttribute("aria-invalid") === "true"`)
	var cpuErr string
	b.eval(`document.getElementById("f-cpus-error").textContent`, &cpuErr)
	if !strings.Contains(cpuErr, "0.001") {
		t.Errorf("CPUs error = %q, want the API's bound (0.001)", cpuErr)
	}
	var summary string
	b.eval(`document.getElementById("form-errors").innerText`, &summary)
	if !strings.Contains(summary, "/cpus") {
		t.Errorf("error summary = %q, want it to name /cpus", summary)
	}
	b.screenshot("app-form")
	b.typeInto("#f-cpus", "0.5")

	// The JSON editor holds what the form wrote; add a health check there.
	b.click("#mode-json")
	var raw string
	b.eval(`document.getElementById("f-json").value`, &raw)
	var def map[string]any
	if err := json.Unmarshal([]byte(raw), &def); err != nil {
		t.Fatalf("JSON editor: %v: %s", err, raw)
	}
	if def["id"] != "test-docker" || def["cpus"] != 0.5 || def["instances"] != 3.0 {
		t.Fatalf("JSON editor lacks the form's values: %s", raw)
	}
	def["healthChecks"] = []any{commandCheck}
	edited, _ := json.Marshal(def)
	b.eval(fmt.Sprintf(`(() => { const e = document.getElementById("f-json"); e.value = %q; e.dispatchEvent(new Event("input", {bubbles: true})); return true })()`, edited), nil)
	b.click("#submit-app")

	// The app's page: 3 of 3, live.
	b.waitJS("the app page", 10*time.Second, `location.hash === "#/app/test-docker"`)
	b.waitJS("3 of 3 on the app page", 20*time.Second, `(document.getElementById("app-counts") || {}).textContent === "3 of 3 running"`)
	b.waitJS("3 healthy tasks", 20*time.Second, `document.querySelectorAll('#tasks-body tr[data-state="TASK_RUNNING"] [data-health="healthy"]').length === 3`)
	var hosts []string
	b.eval(`[...document.querySelectorAll("#tasks-body tr td:nth-child(3)")].map(td => td.textContent).sort()`, &hosts)
	if !slices.Equal(hosts, []string{"host1", "host2", "host3"}) {
		t.Errorf("hosts = %v, want one task on each host", hosts)
	}
	var portLinks int
	b.eval(`document.querySelectorAll('#tasks-body td.ports a[href^="http://host"]').length`, &portLinks)
	if portLinks != 3 {
		t.Errorf("%d port links, want 3", portLinks)
	}

	// The list shows it as 3 of 3, and each seeded status.
	b.click(`a[data-nav="apps"]`)
	b.waitJS("3 of 3 in the list", 10*time.Second,
		`(document.querySelector('#apps-body tr[data-app-id="/test-docker"] .instances') || {}).textContent === "3 of 3"`)
	b.waitJS("every status", 15*time.Second, `(() => {
		const s = id => (document.querySelector('#apps-body tr[data-app-id="' + id + '"]') || {dataset: {}}).dataset.status;
		return s("/test-docker") === "running" && s("/shop/frontend") === "running" && s("/batch/nightly-report") === "suspended" &&
			s("/ml/trainer") === "waiting" && ["delayed", "waiting"].includes(s("/tools/flaky"));
	})()`)
	b.waitJS("healthy frontend", 10*time.Second,
		`(document.querySelector('#apps-body tr[data-app-id="/shop/frontend"] .htext') || {}).textContent === "2 healthy"`)
	b.screenshot("apps")

	// Filters: by id, then by label.
	b.typeInto("#filter-id", "shop")
	b.waitJS("the id filter", 5*time.Second, `document.querySelectorAll("#apps-body tr").length === 2`)
	b.typeInto("#filter-id", "")
	b.typeInto("#filter-label", "team==data")
	b.waitJS("the label filter", 5*time.Second, `[...document.querySelectorAll("#apps-body tr")].map(r => r.dataset.appId).join() === "/batch/nightly-report,/ml/trainer"`)
	b.typeInto("#filter-label", "")
	b.waitJS("no filter", 5*time.Second, `document.querySelectorAll("#apps-body tr").length === 6`)

	// Why /ml/trainer waits.
	b.click(`#apps-body tr[data-app-id="/ml/trainer"] a`)
	b.waitJS("the waiting reasons", 10*time.Second, `/3 agents.*not enough CPUs/.test((document.getElementById("waiting") || {}).textContent || "")`)

	// /tools/flaky's launches fail: its last failure, and its launch delay.
	b.eval(`location.hash = "#/app/tools/flaky"`, nil)
	b.waitJS("the last task failure", 10*time.Second, `/pull access denied/.test((document.getElementById("last-failure") || {}).textContent || "")`)
	b.waitJS("the launch delay", 10*time.Second, `/Delayed/.test((document.getElementById("waiting") || {}).textContent || "")`)
	b.screenshot("app-delayed")

	// Kill a task from the app page: a replacement appears.
	b.eval(`location.hash = "#/app/test-docker"`, nil)
	b.waitJS("3 running tasks", 10*time.Second, `document.querySelectorAll('#tasks-body tr[data-state="TASK_RUNNING"]').length === 3`)
	var before []string
	b.eval(`[...document.querySelectorAll("#tasks-body tr")].map(r => r.dataset.taskId)`, &before)
	victim := before[0]
	b.click(fmt.Sprintf(`#tasks-body tr[data-task-id=%q] input[type=checkbox]`, victim))
	b.click("#kill-tasks")
	b.waitJS("the replacement", 20*time.Second, fmt.Sprintf(`(() => {
		const rows = [...document.querySelectorAll('#tasks-body tr[data-state="TASK_RUNNING"]')].map(r => r.dataset.taskId);
		const before = %s;
		return rows.length === 3 && !rows.includes(%q) && rows.some(id => !before.includes(id));
	})()`, mustJSON(before), victim))
	b.waitJS("3 healthy tasks again", 20*time.Second, `document.querySelectorAll('#tasks-body [data-health="healthy"]').length === 3`)
	b.audit("the app")
	b.screenshot("app")

	// Kill and scale: 2 of 2.
	var now []string
	b.eval(`[...document.querySelectorAll("#tasks-body tr")].map(r => r.dataset.taskId)`, &now)
	b.click(fmt.Sprintf(`#tasks-body tr[data-task-id=%q] input[type=checkbox]`, now[0]))
	b.click("#kill-scale-tasks")
	b.waitJS("2 of 2", 20*time.Second, `document.getElementById("app-counts").textContent === "2 of 2 running" &&
		document.querySelectorAll("#tasks-body tr").length === 2`)
	c.waitRunning("/test-docker", 2)

	// Edit it through the form: the whole definition goes back, with the
	// label added; what the form does not show (the health check) stays.
	b.click("#act-edit")
	b.waitJS("the edit form", 10*time.Second, `(document.getElementById("f-id") || {}).value === "/test-docker" && document.getElementById("f-id").readOnly`)
	b.typeInto("#f-labels", "team=web\nscenario=seed\ntier=frontend")
	b.click("#submit-app")
	b.waitJS("the app page again", 10*time.Second, `location.hash === "#/app/test-docker"`)
	b.eval(`location.hash = "#/app/test-docker?tab=config"`, nil)
	b.waitJS("the new label in the configuration", 10*time.Second, `(() => {
		const pre = document.getElementById("app-json");
		if (!pre) return false;
		const def = JSON.parse(pre.textContent);
		return def.labels.tier === "frontend" && def.healthChecks.length === 1 && def.instances === 2;
	})()`)
	b.eval(`location.hash = "#/app/test-docker"`, nil)
	c.waitRunning("/test-docker", 2)

	// Lose the event stream: the page says so, and catches up once it is back.
	c.gate.cut()
	b.waitJS("the lost connection shown", 10*time.Second, `document.getElementById("live").dataset.state === "lost" &&
		!document.getElementById("banner").hidden && /Live updates lost/.test(document.getElementById("banner").textContent)`)
	c.call(http.MethodPut, "/v2/apps/test-docker", map[string]any{"instances": 3}, http.StatusOK, nil)
	c.waitRunning("/test-docker", 3)
	c.gate.restore()
	b.waitJS("the connection back", 15*time.Second, `document.getElementById("live").dataset.state === "live" && document.getElementById("banner").hidden`)
	b.waitJS("3 of 3 after the recovery", 10*time.Second, `document.getElementById("app-counts").textContent === "3 of 3 running"`)

	// The cluster view: every agent, its tasks, the leader, NATS.
	b.click(`a[data-nav="cluster"]`)
	b.waitJS("three agents", 10*time.Second, `document.querySelectorAll("#agents-body tr").length === 3`)
	var agents []struct {
		Host, State, Tasks, CPUs string
	}
	b.eval(`[...document.querySelectorAll("#agents-body tr")].map(r => ({Host: r.dataset.hostname, State: r.dataset.state,
		Tasks: r.querySelector("details summary").textContent, CPUs: r.querySelector("td.res .bar-text").textContent}))`, &agents)
	for i, a := range agents {
		if want := fmt.Sprintf("host%d", i+1); a.Host != want || a.State != events.AgentActive {
			t.Errorf("agent %d = %+v, want %s active", i, a, want)
		}
		if !strings.HasSuffix(a.CPUs, "/ 4") || a.Tasks == "0 tasks" {
			t.Errorf("agent %s: cpus %q, tasks %q; want used of 4 and some tasks", a.Host, a.CPUs, a.Tasks)
		}
	}
	b.waitJS("the leader", 5*time.Second, `/master1/.test(document.getElementById("leader-card").textContent)`)
	b.waitJS("NATS connected", 5*time.Second, `/Connected/.test(document.getElementById("nats-card").textContent)`)
	b.click(`#agents-body tr[data-hostname="host1"] details summary`)
	b.waitJS("host1's tasks", 5*time.Second, `document.querySelector('#agents-body tr[data-hostname="host1"] details').open &&
		/test-docker/.test(document.querySelector('#agents-body tr[data-hostname="host1"] .agent-tasks').textContent)`)
	b.audit("the cluster")
	b.screenshot("cluster")

	// Versions: created, scaled to 2, edited, scaled to 3.
	b.eval(`location.hash = "#/app/test-docker?tab=versions"`, nil)
	b.waitJS("four versions", 10*time.Second, `document.querySelectorAll("#versions-list > li").length === 4 &&
		document.querySelectorAll("#versions-list .tag.current").length === 1`)

	// Deployments: /ml/trainer's and /tools/flaky's wait for their tasks;
	// rolling back /ml/trainer's (it created the app) destroys the app.
	b.click(`a[data-nav="deployments"]`)
	b.waitJS("two deployments", 10*time.Second, `document.querySelectorAll("section.deployment").length === 2 &&
		/Start \/ml\/trainer/.test(document.getElementById("deployments-list").textContent)`)
	b.audit("the deployments")
	b.screenshot("deployments")
	var depID string
	b.eval(`[...document.querySelectorAll("section.deployment")].find(s => s.querySelector('a[href="#/app/ml/trainer"]')).dataset.deploymentId`, &depID)
	b.click(fmt.Sprintf(`section[data-deployment-id=%q] .btns button:first-child`, depID))
	b.waitJS("the confirmation", 5*time.Second, `document.getElementById("dialog").open`)
	b.click("#dialog-ok")
	b.waitJS("the rollback", 15*time.Second, fmt.Sprintf(`!document.querySelector('section[data-deployment-id=%q]') &&
		!/ml\/trainer/.test(document.getElementById("deployments-list").textContent)`, depID))
	b.click(`a[data-nav="apps"]`)
	b.waitJS("/ml/trainer gone", 10*time.Second, `document.querySelectorAll("#apps-body tr").length === 5 &&
		!document.querySelector('#apps-body tr[data-app-id="/ml/trainer"]')`)

	// Roll /test-docker back to its first version: the edit's label goes.
	b.eval(`location.hash = "#/app/test-docker?tab=versions"`, nil)
	b.waitJS("the versions", 10*time.Second, `document.querySelectorAll("#versions-list > li").length === 4`)
	b.click(`#versions-list > li:last-child .btns button:last-child`) // newest first: the last is the first
	b.waitJS("the confirmation", 5*time.Second, `document.getElementById("dialog").open`)
	b.click("#dialog-ok")
	b.eval(`location.hash = "#/app/test-docker?tab=config"`, nil)
	b.waitJS("the first version's definition", 10*time.Second, `(() => {
		const pre = document.getElementById("app-json");
		return pre && JSON.parse(pre.textContent).labels.tier === undefined;
	})()`)

	// Scale /shop/orders to 2 with the dialog, then suspend it.
	b.eval(`location.hash = "#/app/shop/orders"`, nil)
	b.waitJS("/shop/orders", 10*time.Second, `(document.getElementById("app-counts") || {}).textContent === "1 of 1 running"`)
	b.click("#act-scale")
	b.waitJS("the scale dialog", 5*time.Second, `document.getElementById("dialog").open && document.activeElement.id === "scale-input"`)
	b.typeInto("#scale-input", "2")
	b.do("enter", chromedp.KeyEvent(kb.Enter)) // the keyboard confirms
	b.waitJS("2 of 2", 20*time.Second, `document.getElementById("app-counts").textContent === "2 of 2 running"`)
	b.click("#act-suspend")
	b.waitJS("the confirmation", 5*time.Second, `document.getElementById("dialog").open`)
	b.click("#dialog-ok")
	b.waitJS("suspended", 20*time.Second, `document.getElementById("app-counts").textContent === "0 of 0 running" &&
		document.querySelector(".app-badge [data-status]").dataset.status === "suspended" && !!document.getElementById("act-scale")`)

	// Destroy /batch/nightly-report: back to the list, without it.
	b.eval(`location.hash = "#/app/batch/nightly-report"`, nil)
	b.waitJS("/batch/nightly-report", 10*time.Second, `!!document.getElementById("act-destroy")`)
	b.click("#act-destroy")
	b.waitJS("the confirmation", 5*time.Second, `document.getElementById("dialog").open`)
	b.click("#dialog-ok")
	b.waitJS("the list without it", 10*time.Second, `location.hash === "#/apps" &&
		document.querySelectorAll("#apps-body tr").length === 4 && !document.querySelector('#apps-body tr[data-app-id="/batch/nightly-report"]')`)

	var same bool
	b.eval(`window.__sameDocument === true`, &same)
	if !same {
		t.Error("the page reloaded; every update should come without one")
	}
}

func mustJSON(v any) string {
	data, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(data)
}
