package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/drover/drover/internal/chaos"
	"github.com/drover/drover/internal/testimage"
	"github.com/drover/drover/internal/testutil"
	"github.com/drover/drover/pkg/events"
)

// TestScenario is the seed document's scenario on four hosts and three
// masters, each failure repeated DROVER_CLUSTER_RUNS times (default 1):
//
//  1. POST examples/test-docker.json: 3 of 3 on 3 hosts, each serving the page
//  2. docker kill of one container: a replacement runs, 3 of 3 again
//  3. a host's Docker daemon stopped: its instance moves to the 4th host
//  4. a host powered off: its instance starts elsewhere; with two hosts off,
//     the app waits at 2 of 3 and /v2/queue says why
//  5. the leading scheduler killed; then its whole master (scheduler, api and
//     NATS node) stopped, then crashed (once the leader has moved every NATS
//     leader it needs off it): the other apis answer, a new leader acts, and
//     2-4 still work with the master down; then another master crashed (the
//     one leading the leader bucket, when not the leader's): the leader keeps
//     its term and replaces a task killed at the same moment
//  6. a host's network cut for longer than --unreachable-after, then healed:
//     replaced meanwhile, and exactly 3 instances once it is back
//
// Step 6 runs before step 5, which disturbs NATS the most. For benchmarks,
// DROVER_CLUSTER_STEPS picks the failure steps to run (e.g. "2,3,4,6";
// step 1 always runs).
func TestScenario(t *testing.T) {
	requireCluster(t)
	scenario(t, 0, nil)
}

// TestScenarioUnderLoad is the scenario once more with busy loops on every
// core (twice the core count) for its whole length: every step still
// replaces what it killed, and in the quiet minute after each step no task
// is replaced that the step did not kill. DROVER_CLUSTER_QUIET shortens
// or lengthens that minute (a Go duration); DROVER_CLUSTER_CHURN=1 adds
// containers created, started and removed in a loop on the machine's own
// Docker daemon (whose containerd the hosts' daemons share).
func TestScenarioUnderLoad(t *testing.T) {
	requireCluster(t)
	quiet := time.Minute
	if d, err := time.ParseDuration(os.Getenv("DROVER_CLUSTER_QUIET")); err == nil && d > 0 {
		quiet = d
	}
	churn := os.Getenv("DROVER_CLUSTER_CHURN") == "1"
	if churn {
		testimage.BuildHTTPD(t, churnImage)
	}
	// The load starts once the cluster is up: booting it is not what this
	// measures, and takes minutes under load.
	scenario(t, quiet, func() {
		chaos.StartBusyLoops(t, 0)
		if churn {
			ch := chaos.StartContainerChurn(t, testimage.RequireDocker(t), churnImage, 100*time.Millisecond)
			t.Cleanup(func() { t.Logf("churn: %d cycles, %d failed", ch.Cycles(), ch.Failures()) })
		}
	})
}

// churnImage is the image of the background container churn.
const churnImage = "drover-test/httpd:churn"

// scenario runs the steps, with load (when not nil) started once the
// cluster is up; with quiet > 0 it watches the app for that long after each
// step and fails if a task is replaced meanwhile.
func scenario(t *testing.T, quiet time.Duration, load func()) {
	runs := 1
	if n, err := strconv.Atoi(os.Getenv("DROVER_CLUSTER_RUNS")); err == nil && n > 0 {
		runs = n
	}
	steps := "2,3,4,6,5"
	if s := os.Getenv("DROVER_CLUSTER_STEPS"); s != "" {
		steps = s
	}
	want := func(step string) bool { return slices.Contains(strings.Split(steps, ","), step) }
	c := up(t, 4)
	if load != nil {
		load()
	}
	tm := newTimings()
	t.Cleanup(func() { tm.report(t) })

	t.Log("step 1: POST the example app")
	c.postExample()
	c.quiet(quiet, "step 1")

	if want("2") {
		t.Log("step 2: docker kill of the app's container")
		for range runs {
			c.killRun(tm, "docker kill → replacement RUNNING")
		}
		c.quiet(quiet, "step 2")
	}
	if want("3") {
		t.Log("step 3: a host's Docker daemon stops")
		for range runs {
			c.dockerStopRun(tm, "Docker daemon stopped → replacement RUNNING")
		}
		c.quiet(quiet, "step 3")
	}
	if want("4") {
		t.Log("step 4: a host powers off")
		for range runs {
			c.powerOffRun(tm, "host powered off → replacement RUNNING")
		}
		c.tooFewHosts()
		c.quiet(quiet, "step 4")
	}
	if want("6") {
		t.Log("step 6: a host's network is cut, then healed")
		for range runs {
			c.networkCutRun(tm)
		}
		c.quiet(quiet, "step 6")
	}
	if want("5") {
		t.Log("step 5: the leading scheduler dies; then its whole master stops, then crashes")
		for range runs {
			c.schedulerKillRun(tm)
		}
		for i := range runs {
			c.masterDown(tm, false, i == 0)
		}
		for range runs {
			c.masterDown(tm, true, false)
		}
		for range runs {
			c.otherMasterDown(tm, true, true)
		}
		if runs > 1 { // the campaign: the other cases of issue 16
			for range runs {
				c.otherMasterDown(tm, true, false)
			}
			for range runs {
				c.otherMasterDown(tm, false, true)
			}
			for range runs {
				c.otherMasterDown(tm, false, false)
			}
		}
		c.quiet(quiet, "step 5")
	}

	code, body, err := do(http.MethodDelete, c.api()+"/v2/apps"+appID, nil)
	if err != nil || code != http.StatusOK {
		t.Fatalf("DELETE: %d %v %s", code, err, body)
	}
	testutil.Eventually(t, 30*time.Second, 100*time.Millisecond, func() error {
		if n := c.runningContainers(); n != 0 {
			return fmt.Errorf("%d containers left", n)
		}
		return nil
	})
}

// quiet watches the app for d once it runs 3 of 3 and fails if its running
// tasks change: after a step, nothing may be replaced that it did not kill.
func (c *cluster) quiet(d time.Duration, after string) {
	if d <= 0 {
		return
	}
	t := c.t
	want := taskIDs(c.threeOfThree(60 * time.Second))
	reads := 0
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(time.Second) {
		a, err := app(c.api())
		if err != nil {
			continue // an api slow to answer under load is not a replacement
		}
		reads++
		if got := taskIDs(running(a)); !slices.Equal(got, want) {
			t.Fatalf("%s: in the quiet %s after it the app's running tasks went from %v to %v", after, d, want, got)
		}
	}
	t.Logf("%s: %d reads over %s, the same 3 tasks throughout", after, reads, d)
}

func taskIDs(tasks []task) []string {
	var ids []string
	for _, tk := range tasks {
		ids = append(ids, tk.ID)
	}
	slices.Sort(ids)
	return ids
}

// postExample posts examples/test-docker.json as it is and checks each
// host's port 80 serves the read-only volume's page.
func (c *cluster) postExample() {
	t := c.t
	root, err := testimage.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(root, "examples", "test-docker.json"))
	if err != nil {
		t.Fatal(err)
	}
	code, body, err := do(http.MethodPost, c.api()+"/v2/apps", raw)
	if err != nil || code != http.StatusCreated {
		t.Fatalf("POST /v2/apps: %d %v %s", code, err, body)
	}
	tasks := c.threeOfThree(90 * time.Second)
	for _, tk := range tasks {
		url := "http://" + hostAddr(hostNum(t, tk.Host)) + ":80/"
		testutil.Eventually(t, 10*time.Second, 100*time.Millisecond, func() error {
			got, err := get(url)
			if err != nil {
				return err
			}
			if got != c.page {
				return fmt.Errorf("GET %s = %q, want the page of %s", url, got, htdocsDir)
			}
			return nil
		})
	}
	t.Logf("3 of 3 on %s, %s, %s; each serves the page on port 80", tasks[0].Host, tasks[1].Host, tasks[2].Host)
}

func (c *cluster) killRun(tm *timings, measure string) {
	tasks := c.threeOfThree(30 * time.Second)
	victim := c.oldest(tasks)
	fault := time.Now()
	c.killContainer(victim)
	got, seen, at := c.replaced(tasks, "", 30*time.Second)
	tm.add(measure, at.Sub(fault))
	tm.add(launched(measure), seen.Sub(fault))
	c.t.Logf("killed %s's container: replaced on %s after %s", victim.Host, got.Host, ms(at.Sub(fault)))
}

func (c *cluster) dockerStopRun(tm *timings, measure string) {
	tasks := c.threeOfThree(30 * time.Second)
	victim := c.oldest(tasks)
	n := hostNum(c.t, victim.Host)
	fault := time.Now()
	stopped := c.ctlAsync("docker-stop", strconv.Itoa(n))
	got, seen, at := c.replaced(tasks, victim.Host, 30*time.Second)
	stopped()
	tm.add(measure, at.Sub(fault))
	tm.add(launched(measure), seen.Sub(fault))
	c.t.Logf("stopped %s's Docker daemon: replaced on %s after %s", victim.Host, got.Host, ms(at.Sub(fault)))
	c.ctl("docker-start", strconv.Itoa(n))
	c.waitAgent(n, events.AgentActive, 30*time.Second)
	time.Sleep(2 * time.Second) // the agent kills what the daemon restored
	c.repairLeakedPort(n)
	c.threeOfThree(30 * time.Second)
}

func (c *cluster) powerOffRun(tm *timings, measure string) {
	tasks := c.threeOfThree(30 * time.Second)
	victim := c.oldest(tasks)
	n := hostNum(c.t, victim.Host)
	began := time.Now()
	c.ctl("poweroff", strconv.Itoa(n))
	// The fault is the script's last act (kill -9 of the host's
	// processes): on a loaded machine the script takes seconds to get
	// there, which is the harness's time, not Drover's.
	fault := time.Now()
	got, seen, at := c.replaced(tasks, victim.Host, 30*time.Second)
	tm.add(measure, at.Sub(fault))
	tm.add(launched(measure), seen.Sub(fault))
	c.t.Logf("powered %s off: replaced on %s after %s (the script took %s)", victim.Host, got.Host, ms(at.Sub(fault)), ms(fault.Sub(began)))
	c.ctl("poweron", strconv.Itoa(n))
	c.waitAgent(n, events.AgentActive, 30*time.Second)
	c.threeOfThree(30 * time.Second)
}

// tooFewHosts powers off two of the three hosts running the app: one
// instance moves to the fourth host, the other has nowhere to go (one per
// host), so the app waits at 2 of 3 and /v2/queue says why. Then both come
// back and it is 3 of 3 again.
func (c *cluster) tooFewHosts() {
	t := c.t
	tasks := c.threeOfThree(30 * time.Second)
	off := []int{hostNum(t, tasks[0].Host), hostNum(t, tasks[1].Host)}
	for _, n := range off {
		c.ctl("poweroff", strconv.Itoa(n))
	}
	var why string
	testutil.Eventually(t, 30*time.Second, 100*time.Millisecond, func() error {
		a, err := app(c.api())
		if err != nil {
			return err
		}
		if len(running(a)) != 2 || a.TasksRunning != 2 {
			return fmt.Errorf("tasksRunning=%d %v, want 2 (one per live host)", a.TasksRunning, a.Tasks)
		}
		body, err := c.queue()
		if err != nil {
			return err
		}
		var q struct {
			Queue []struct {
				App struct {
					ID string `json:"id"`
				} `json:"app"`
				Count   int `json:"count"`
				Summary struct {
					Rejected []struct {
						Reason   string `json:"reason"`
						Declined int    `json:"declined"`
					} `json:"rejectSummaryLastOffers"`
				} `json:"processedOffersSummary"`
			} `json:"queue"`
		}
		if err := json.Unmarshal([]byte(body), &q); err != nil {
			return fmt.Errorf("queue %s: %w", body, err)
		}
		for _, item := range q.Queue {
			if item.App.ID != appID || item.Count != 1 {
				continue
			}
			var reasons []string
			for _, r := range item.Summary.Rejected {
				if r.Declined > 0 {
					reasons = append(reasons, fmt.Sprintf("%s: %d", r.Reason, r.Declined))
				}
			}
			why = fmt.Sprintf("count 1, agents declined by reason {%s}", strings.Join(reasons, ", "))
			if slices.Contains(reasons, "UnfulfilledConstraint: 2") {
				return nil
			}
		}
		return fmt.Errorf("/v2/queue does not say that 1 instance waits for a host (UnfulfilledConstraint on the 2 live hosts): %s", body)
	})
	t.Logf("hosts %v off: 2 of 3 run, /v2/queue: %s", off, why)
	for _, n := range off {
		c.ctl("poweron", strconv.Itoa(n))
	}
	for _, n := range off {
		c.waitAgent(n, events.AgentActive, 30*time.Second)
	}
	c.threeOfThree(30 * time.Second)
}

// agreedLeader is the master whose scheduler holds the lock, by the leader
// bucket itself, once every api up names it too (an api's read model can
// lag the lock just after a failover).
func (c *cluster) agreedLeader() int {
	c.t.Helper()
	var m int
	testutil.Eventually(c.t, 15*time.Second, 100*time.Millisecond, func() error {
		ctx, cancel := context.WithTimeout(c.t.Context(), 2*time.Second)
		defer cancel()
		e, err := c.leaderKV.Get(ctx, events.LeaderKey)
		if err != nil {
			return fmt.Errorf("leader lock: %w", err)
		}
		rec, err := events.Decode[events.LeaderRecord](e.Value())
		if err != nil {
			return err
		}
		if m, err = strconv.Atoi(strings.TrimPrefix(rec.SchedulerID, "master")); err != nil {
			return fmt.Errorf("lock held by %q, no master", rec.SchedulerID)
		}
		for a := 1; a <= masters; a++ {
			if l, err := leader(apiBase(a)); !c.down[a] && (err != nil || l != m) {
				return fmt.Errorf("master%d's api names master%d (%v), the lock master%d", a, l, err, m)
			}
		}
		return nil
	})
	return m
}

// leader is the master whose scheduler leads, as the api at base says.
func leader(base string) (int, error) {
	code, body, err := do(http.MethodGet, base+"/v2/leader", nil)
	if err != nil {
		return 0, err
	}
	var out struct {
		Leader string `json:"leader"`
	}
	if code != http.StatusOK || json.Unmarshal(body, &out) != nil {
		return 0, fmt.Errorf("GET /v2/leader: %d %s", code, body)
	}
	host := out.Leader // host:port, Marathon's form: the api beside the leader, masterN's address:8080
	if h, _, err := net.SplitHostPort(out.Leader); err == nil {
		host = h
	}
	for m := 1; m <= masters; m++ {
		if host == masterAddr(m) {
			return m, nil
		}
	}
	if m, err := strconv.Atoi(strings.TrimPrefix(host, "master")); err == nil {
		return m, nil // a scheduler given --hostname masterN and no --api-address
	}
	return 0, fmt.Errorf("leader %q is no master", out.Leader)
}

// schedulerKillRun SIGKILLs the leading scheduler and, at the same moment,
// one of the app's containers: another scheduler must take over and replace it.
func (c *cluster) schedulerKillRun(tm *timings) {
	t := c.t
	tasks := c.threeOfThree(30 * time.Second)
	old := c.agreedLeader()
	victim := c.oldest(tasks)
	fault := time.Now()
	c.ctl("kill-master", strconv.Itoa(old), "scheduler")
	c.killContainer(victim)
	got := poll(fault, 60*time.Second, map[string]func() error{
		"leader":      c.newLeader(old),
		"replacement": c.replacedCheck(tasks),
	})
	for _, name := range []string{"leader", "replacement"} {
		if got[name].err != nil {
			t.Fatalf("leading scheduler (master%d) killed: %s: %v", old, name, got[name].err)
		}
	}
	tm.add("leading scheduler killed → new leader elected", got["leader"].after)
	tm.add("leading scheduler killed → killed task replaced (new leader acting)", got["replacement"].after)
	t.Logf("killed master%d's scheduler: new leader after %s, task replaced after %s",
		old, ms(got["leader"].after), ms(got["replacement"].after))
	c.ctl("start-master", strconv.Itoa(old))
}

// masterDown takes down the master of the leading scheduler (its scheduler,
// api and NATS node) and kills one of the app's containers: the other apis
// must answer reads and writes, a new leader replace the task; and, when
// steps is set, steps 2-4 are run again while the master is down. A crash
// (SIGKILL) leaves every JetStream stream the node led without a leader until
// the others elect one; a shutdown (SIGTERM, as `systemctl stop`) hands them
// over first.
func (c *cluster) masterDown(tm *timings, crash, steps bool) {
	t := c.t
	tasks := c.threeOfThree(30 * time.Second)
	old := c.agreedLeader()
	victim := c.oldest(tasks)
	how, what := "stop-master", "master stopped"
	if crash {
		how, what = "kill-master", "master killed"
	}
	if crash {
		c.leadersOff(old)
	}
	fault := time.Now()
	stopped := c.ctlAsync(how, strconv.Itoa(old))
	c.down[old] = true
	c.killContainer(victim)
	checks := map[string]func() error{
		"write":       c.apiWrite(),
		"leader":      c.newLeader(old),
		"replacement": c.replacedCheck(tasks),
	}
	for m := 1; m <= masters; m++ {
		if m != old {
			checks[fmt.Sprintf("read master%d", m)] = func() error { _, err := app(apiBase(m)); return err }
		}
	}
	got := poll(fault, 60*time.Second, checks)
	stopped()
	var read time.Duration
	for name, o := range got {
		if o.err != nil {
			c.dumpNATS()
			t.Fatalf("%s (master%d): %s: %v", what, old, name, o.err)
		}
		if strings.HasPrefix(name, "read ") {
			read = max(read, o.after)
		}
	}
	got["read"] = outcome{after: read}
	tm.add(what+" (scheduler+api+NATS node) → other apis answer reads", got["read"].after)
	tm.add(what+" → other apis accept writes", got["write"].after)
	tm.add(what+" → new leader elected", got["leader"].after)
	tm.add(what+" → killed task replaced (new leader acting)", got["replacement"].after)
	t.Logf("%s (master%d): reads after %s, writes after %s, new leader after %s, task replaced after %s",
		what, old, ms(got["read"].after), ms(got["write"].after), ms(got["leader"].after), ms(got["replacement"].after))
	if steps {
		t.Logf("steps 2-4 with master%d down", old)
		c.killRun(tm, "docker kill → replacement RUNNING, a master down")
		c.dockerStopRun(tm, "Docker daemon stopped → replacement RUNNING, a master down")
		c.powerOffRun(tm, "host powered off → replacement RUNNING, a master down")
	}
	c.ctl("start-master", strconv.Itoa(old))
	c.down[old] = false
	c.natsHealthy(60 * time.Second)
}

func (c *cluster) networkCutRun(tm *timings) {
	t := c.t
	tasks := c.threeOfThree(30 * time.Second)
	victim := c.oldest(tasks)
	n := hostNum(t, victim.Host)
	c.ctl("cut", strconv.Itoa(n))
	fault := time.Now() // the link goes down as the script ends (see powerOffRun)
	got, seen, at := c.replaced(tasks, victim.Host, 30*time.Second)
	tm.add("network cut → replacement RUNNING", at.Sub(fault))
	tm.add(launched("network cut → replacement RUNNING"), seen.Sub(fault))
	c.waitAgent(n, events.AgentUnreachable, 10*time.Second)
	if list, err := c.containersOn(n, false); err != nil || len(list) != 1 {
		t.Fatalf("cut off %s runs %d containers of the app (%v), want its old one still", victim.Host, len(list), err)
	}
	time.Sleep(time.Until(fault.Add(6 * time.Second))) // twice --unreachable-after
	healed := time.Now()
	c.ctl("heal", strconv.Itoa(n))
	c.threeOfThree(30 * time.Second)
	tm.add("network healed → duplicate killed, exactly 3 again", time.Since(healed))
	t.Logf("cut %s off: replaced on %s after %s; healed: exactly 3 after %s", victim.Host, got.Host,
		ms(at.Sub(fault)), ms(time.Since(healed)))
	c.waitAgent(n, events.AgentActive, 30*time.Second)
	time.Sleep(2 * time.Second) // no duplicate comes back
	after := c.threeOfThree(time.Second)
	for _, tk := range after {
		if tk.ID == victim.ID {
			t.Fatalf("the cut-off task %s is listed running again after the heal", victim.ID)
		}
	}
}

// --- probes for the master failures ------------------------------------------

type outcome struct {
	after time.Duration
	err   error
}

// poll runs every check concurrently every 20 ms until it passes or total
// has passed, and returns how long after since each took.
func poll(since time.Time, total time.Duration, checks map[string]func() error) map[string]outcome {
	type result struct {
		name string
		outcome
	}
	ch := make(chan result, len(checks))
	for name, check := range checks {
		go func() {
			deadline := since.Add(total)
			for {
				err := check()
				if err == nil {
					ch <- result{name, outcome{after: time.Since(since)}}
					return
				}
				if time.Now().After(deadline) {
					ch <- result{name, outcome{err: err}}
					return
				}
				time.Sleep(20 * time.Millisecond)
			}
		}()
	}
	out := map[string]outcome{}
	for range checks {
		r := <-ch
		out[r.name] = r.outcome
	}
	return out
}

// apiWrite passes when an api still up accepts a write (a new version of
// an app of no instances).
func (c *cluster) apiWrite() func() error {
	base := c.api()
	attempt := 0
	return func() error {
		attempt++
		probe := map[string]any{"id": "/drover-probe", "instances": 0, "cpus": 0.1, "mem": 16,
			"container": map[string]any{"type": "DOCKER", "docker": map[string]any{"image": "httpd"}},
			"labels":    map[string]string{"attempt": fmt.Sprintf("%d-%d", time.Now().UnixNano(), attempt)}}
		body, _ := json.Marshal(probe)
		code, out, err := do(http.MethodPut, base+"/v2/apps/drover-probe?force=true", body)
		if err != nil {
			return err
		}
		if code != http.StatusOK && code != http.StatusCreated {
			return fmt.Errorf("PUT /v2/apps/drover-probe: %d %s", code, out)
		}
		return nil
	}
}

func (c *cluster) newLeader(old int) func() error {
	base := c.api()
	return func() error {
		m, err := leader(base)
		if err != nil {
			return err
		}
		if m == old {
			return fmt.Errorf("leader is still master%d", old)
		}
		return nil
	}
}

func (c *cluster) replacedCheck(before []task) func() error {
	base := c.api()
	return func() error {
		a, err := app(base)
		if err != nil {
			return err
		}
		for _, tk := range running(a) {
			known := false
			for _, b := range before {
				known = known || b.ID == tk.ID
			}
			if !known {
				return nil
			}
		}
		return fmt.Errorf("no replacement running: %v", a.Tasks)
	}
}

// natsHealthy waits until every NATS node reports itself healthy (JetStream
// current) on its monitoring port.
func (c *cluster) natsHealthy(total time.Duration) {
	c.t.Helper()
	testutil.Eventually(c.t, total, 200*time.Millisecond, func() error {
		for m := 1; m <= masters; m++ {
			if _, err := get("http://" + masterAddr(m) + ":8222/healthz"); err != nil {
				return fmt.Errorf("nats of master%d: %w", m, err)
			}
		}
		return nil
	})
}

// dumpNATS logs which node leads each stream, to explain a slow failover.
func (c *cluster) dumpNATS() {
	for m := 1; m <= masters; m++ {
		if body, err := get("http://" + masterAddr(m) + ":8222/jsz?streams=true"); err == nil {
			c.t.Logf("master%d /jsz: %.8000s", m, body)
			return
		}
	}
}

// leadersOff waits until master m's NATS node leads none of the streams and
// consumers a new leading scheduler needs at once: the leading scheduler
// on m moves them (services/scheduler/raftplace.go), so that m's crash
// loses NATS only followers.
func (c *cluster) leadersOff(m int) {
	c.t.Helper()
	node := fmt.Sprintf("n%d", m)
	began := time.Now()
	testutil.Eventually(c.t, 90*time.Second, 500*time.Millisecond, func() error {
		ctx, cancel := context.WithTimeout(c.t.Context(), 5*time.Second)
		defer cancel()
		if leader, err := c.metaLeader(ctx); err != nil || leader == node {
			return fmt.Errorf("the JetStream meta group is led by %q, master%d's node is %s (%v)", leader, m, node, err)
		}
		for _, name := range []string{events.KVStream(events.BucketLeader), events.KVStream(events.BucketInstances),
			events.StreamCommands, events.StreamStatus, events.StreamRequests} {
			s, err := c.js.Stream(ctx, name)
			if err != nil {
				return fmt.Errorf("stream %s: %w", name, err)
			}
			if ci := s.CachedInfo().Cluster; ci == nil || ci.Leader == node {
				return fmt.Errorf("stream %s is led by %s, master%d's node (%+v)", name, node, m, ci)
			}
			if name == events.KVStream(events.BucketLeader) || name == events.KVStream(events.BucketInstances) {
				continue
			}
			list := s.ListConsumers(ctx)
			for ci := range list.Info() {
				if ci.Config.Durable != "" && (ci.Cluster == nil || ci.Cluster.Leader == node) {
					return fmt.Errorf("consumer %s/%s is led by %s, master%d's node", name, ci.Name, node, m)
				}
			}
			if err := list.Err(); err != nil {
				return err
			}
		}
		return nil
	})
	c.t.Logf("master%d's NATS node leads nothing the scheduler needs, the meta group included (checked after %s)", m, ms(time.Since(began)))
}

// metaLeader names the JetStream meta group's leader, as the monitoring
// endpoint of a running master's node reports it.
func (c *cluster) metaLeader(ctx context.Context) (string, error) {
	var errs []error
	for m := 1; m <= masters; m++ {
		if c.down[m] {
			continue
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+masterAddr(m)+":8222/jsz", nil)
		if err != nil {
			return "", err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		var jsz struct {
			Meta *struct {
				Leader string `json:"leader"`
			} `json:"meta_cluster"`
		}
		err = json.NewDecoder(resp.Body).Decode(&jsz)
		_ = resp.Body.Close()
		if err == nil && jsz.Meta != nil && jsz.Meta.Leader != "" {
			return jsz.Meta.Leader, nil
		}
		errs = append(errs, fmt.Errorf("master%d's /jsz names no meta leader (%v)", m, err))
	}
	return "", errors.Join(errs...)
}

// otherMasterCrash SIGKILLs a master whose scheduler does not lead (the one
// whose NATS node leads the leader bucket, if that is not the leader's)
// and, at the same moment, one of the app's containers: the leader keeps
// its term (the lock's lineage is unchanged) and replaces the task.
// otherMasterDown kills (crash) or stops a master that is not the leading
// scheduler's: the one whose NATS node leads the leader bucket (streams),
// or the one that leads neither; a task is killed at the same moment. The
// leader keeps its term and replaces the task.
func (c *cluster) otherMasterDown(tm *timings, crash, streams bool) {
	t := c.t
	tasks := c.threeOfThree(30 * time.Second)
	leading := c.agreedLeader()
	before := c.lock()
	lockMaster := 0
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	if s, err := c.js.Stream(ctx, events.KVStream(events.BucketLeader)); err == nil && s.CachedInfo().Cluster != nil {
		if m, err := strconv.Atoi(strings.TrimPrefix(s.CachedInfo().Cluster.Leader, "n")); err == nil && m != leading && m >= 1 && m <= masters {
			lockMaster = m
		}
	}
	cancel()
	victimMaster := leading%masters + 1
	switch {
	case streams && lockMaster != 0:
		victimMaster = lockMaster
	case !streams && victimMaster == lockMaster:
		victimMaster = victimMaster%masters + 1
	}
	if victimMaster == leading {
		victimMaster = victimMaster%masters + 1
	}
	how, what := "stop-master", "another master stopped"
	if crash {
		how, what = "kill-master", "another master killed"
	}
	if streams {
		what += " (leading the lock's stream)"
	} else {
		what += " (leading neither)"
	}
	victim := c.oldest(tasks)
	fault := time.Now()
	stopped := c.ctlAsync(how, strconv.Itoa(victimMaster))
	c.down[victimMaster] = true
	c.killContainer(victim)
	got := poll(fault, 60*time.Second, map[string]func() error{"replacement": c.replacedCheck(tasks)})
	stopped()
	if got["replacement"].err != nil {
		c.dumpNATS()
		t.Fatalf("master%d (not the leader's) down: replacement: %v", victimMaster, got["replacement"].err)
	}
	after := c.lock()
	if after.SchedulerID != before.SchedulerID || after.Lineage != before.Lineage {
		t.Fatalf("master%d (not the leader's) down: the lock went from %s (lineage %d, epoch %d) to %s (lineage %d, epoch %d); want the leader's term kept",
			victimMaster, before.SchedulerID, before.Lineage, before.Epoch, after.SchedulerID, after.Lineage, after.Epoch)
	}
	tm.add(what+" → killed task replaced (leader kept)", got["replacement"].after)
	t.Logf("%s: master%d (master%d leads, master%d led the lock's stream): task replaced after %s; master%d still leads (lineage %d, epoch %d → %d)",
		what, victimMaster, leading, lockMaster, ms(got["replacement"].after), leading, after.Lineage, before.Epoch, after.Epoch)
	c.ctl("start-master", strconv.Itoa(victimMaster))
	c.down[victimMaster] = false
	c.natsHealthy(60 * time.Second)
}

// lock is the leader lock's record, read until it answers.
func (c *cluster) lock() events.LeaderRecord {
	c.t.Helper()
	var rec events.LeaderRecord
	testutil.Eventually(c.t, 30*time.Second, 100*time.Millisecond, func() error {
		ctx, cancel := context.WithTimeout(c.t.Context(), 2*time.Second)
		defer cancel()
		e, err := c.leaderKV.Get(ctx, events.LeaderKey)
		if err != nil {
			return err
		}
		rec, err = events.Decode[events.LeaderRecord](e.Value())
		return err
	})
	return rec
}

// launched names the detection measure beside a "→ replacement RUNNING"
// one: the fault noticed and the replacement launched (first listed).
func launched(measure string) string {
	return strings.Replace(measure, "replacement RUNNING", "replacement launched", 1)
}
