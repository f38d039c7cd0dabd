package consumers

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/drover/drover/test/consumertest"
)

// TestHAProxyRoutesServicePort does what marathon-lb does: it follows
// /v2/events?plan-format=light for the events marathon-lb listens to,
// writes HAProxy's configuration from /v2/apps?embed=apps.tasks (service
// ports, task hosts and ports, health check results, HAPROXY_* labels),
// checks it with `haproxy -c`, runs HAProxy and sends requests through the
// service port to every task; then it kills a task with
// /v2/tasks/delete?scale=true (as marathon-lb's zdd.py does) and sees the
// regenerated configuration lose its server.
func TestHAProxyRoutesServicePort(t *testing.T) {
	lb := requireHAProxy(t)
	d := consumertest.Start(t)
	events := followEvents(t, d.URL+"/v2/events?plan-format=light"+
		"&event_type=api_post_event&event_type=status_update_event&event_type=health_status_changed_event")

	servicePort := freeServicePort(t)
	web := lbWebApp("/lb/web", 2, servicePort)
	d.Must(http.MethodPost, "/v2/apps", web, http.StatusCreated)
	// An app of another HAProxy group: this load balancer leaves it out.
	other := consumertest.App("/lb/internal", 1, freeServicePort(t))
	other["labels"] = map[string]string{"HAPROXY_GROUP": "internal"}
	d.Must(http.MethodPost, "/v2/apps", other, http.StatusCreated)
	d.Running("/lb/web", 2, 2*time.Minute)
	d.Running("/lb/internal", 1, 2*time.Minute)

	apps := readLBApps(t, d)
	services := lbServices(apps, []string{"external"}, resolveIPv4)
	if len(services) != 1 || services[0].AppID != "/lb/web" || services[0].ServicePort != servicePort {
		t.Fatalf("services for group external = %+v, want /lb/web's one on %d", services, servicePort)
	}
	webApp := apps[slices.IndexFunc(apps, func(a lbApp) bool { return a.ID == "/lb/web" })]
	var want []string
	for _, task := range webApp.Tasks {
		if !slices.Equal(task.ServicePorts, []int{servicePort}) {
			t.Errorf("task %s servicePorts = %v, want [%d]", task.ID, task.ServicePorts, servicePort)
		}
		if len(task.Ports) != 1 {
			t.Fatalf("task %s ports = %v, want one host port", task.ID, task.Ports)
		}
		want = append(want, fmt.Sprintf("%s:%d", consumertest.Host, task.Ports[0]))
	}
	var got []string
	for _, be := range services[0].Backends {
		got = append(got, fmt.Sprintf("%s:%d", be.IP, be.Port))
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("backends = %v, want the tasks' %v", got, want)
	}
	if webApp.VersionInfo.LastScalingAt == "" {
		t.Errorf("versionInfo.lastScalingAt is empty; marathon-lb's blue-green deploys compare it")
	}

	cfg := lb.writeConfig(services)
	if strings.Contains(cfg, "lb_internal") {
		t.Errorf("the config has the app of group internal:\n%s", cfg)
	}
	stop := lb.run()
	servers := map[string]bool{}
	d.Eventually(time.Minute, func() error {
		name, err := getThrough(servicePort)
		if err != nil {
			return err
		}
		servers[name] = true
		if len(servers) != 2 {
			return fmt.Errorf("requests reached servers %v, want both tasks", servers)
		}
		return nil
	})
	stop()

	// marathon-lb reloads on these events; each must have come, parsed.
	d.Eventually(time.Minute, func() error {
		seen, err := events.snapshot()
		if err != nil {
			return err
		}
		names := map[string]bool{}
		for _, e := range seen {
			if e.Name != e.Data["eventType"] {
				return fmt.Errorf("event %q has eventType %v", e.Name, e.Data["eventType"])
			}
			names[e.Name] = true
		}
		for _, n := range []string{"api_post_event", "status_update_event", "health_status_changed_event"} {
			if !names[n] {
				return fmt.Errorf("no %s among %v", n, names)
			}
		}
		if len(names) != 3 {
			return fmt.Errorf("events %v, want only the three event_types asked for", names)
		}
		return nil
	})

	// Kill one task and scale down, as zdd.py does.
	victim := webApp.Tasks[0].ID
	body, _ := json.Marshal(map[string][]string{"ids": {victim}})
	code, out, err := d.Do(http.MethodPost, "/v2/tasks/delete?scale=true", json.RawMessage(body))
	if err != nil || code != http.StatusOK {
		t.Fatalf("POST /v2/tasks/delete?scale=true: %d %v %s", code, err, out)
	}
	d.Running("/lb/web", 1, 2*time.Minute)
	apps = readLBApps(t, d)
	services = lbServices(apps, []string{"external"}, resolveIPv4)
	if len(services) != 1 || len(services[0].Backends) != 1 {
		t.Fatalf("after the kill, services = %+v, want /lb/web with one server", services)
	}
	// Marathon kills the task named and lowers instances: the other task
	// keeps running, untouched.
	survivor := webApp.Tasks[1].ID
	if app := apps[slices.IndexFunc(apps, func(a lbApp) bool { return a.ID == "/lb/web" })]; app.Instances != 1 ||
		len(app.Tasks) != 1 || app.Tasks[0].ID != survivor {
		t.Errorf("after the kill of %s, /lb/web instances=%d tasks=%v, want 1: the untouched %s", victim, app.Instances, app.Tasks, survivor)
	}
	lb.writeConfig(services)
	defer lb.run()()
	d.Eventually(time.Minute, func() error {
		_, err := getThrough(servicePort)
		return err
	})
}

// TestHAProxyAssignedServicePort creates an app with `servicePort: 0`, for
// which Marathon picks a service port in 10000-20000 (its default
// local_port range) and reports it in the port mapping and in every task's
// servicePorts; marathon-lb binds that port, which then reaches the task.
func TestHAProxyAssignedServicePort(t *testing.T) {
	lb := requireHAProxy(t)
	d := consumertest.Start(t)
	d.Must(http.MethodPost, "/v2/apps", lbWebApp("/lb/auto", 1, 0), http.StatusCreated)
	d.Running("/lb/auto", 1, 2*time.Minute)
	apps := readLBApps(t, d)
	if len(apps) != 1 {
		t.Fatalf("apps = %+v, want /lb/auto", apps)
	}
	sps := servicePorts(apps[0])
	if len(sps) != 1 || sps[0] < 10000 || sps[0] > 20000 {
		t.Fatalf("service ports of /lb/auto = %v, want one Marathon assigned in 10000-20000", sps)
	}
	if task := apps[0].Tasks[0]; !slices.Equal(task.ServicePorts, sps) {
		t.Errorf("task servicePorts = %v, want the app's %v", task.ServicePorts, sps)
	}
	lb.writeConfig(lbServices(apps, []string{"*"}, resolveIPv4))
	defer lb.run()()
	d.Eventually(time.Minute, func() error {
		_, err := getThrough(sps[0])
		return err
	})
}

// lbWebApp is an app marathon-lb exposes in http mode on servicePort, bound
// to loopback, routing to the tasks whose /healthz check passes.
func lbWebApp(id string, instances, servicePort int) map[string]any {
	app := consumertest.App(id, instances, servicePort)
	app["labels"] = map[string]string{
		"HAPROXY_GROUP":       "external",
		"HAPROXY_0_MODE":      "http",
		"HAPROXY_0_BIND_ADDR": "127.0.0.1",
	}
	app["healthChecks"] = []map[string]any{{
		"protocol": "HTTP", "path": "/healthz", "portIndex": 0,
		"gracePeriodSeconds": 30, "intervalSeconds": 1, "timeoutSeconds": 2, "maxConsecutiveFailures": 5,
	}}
	return app
}

// freeServicePort is a port in Marathon's service port range, free on
// loopback a moment ago.
func freeServicePort(t *testing.T) int {
	t.Helper()
	for range 100 {
		port := 10000 + rand.IntN(10001)
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			l.Close()
			return port
		}
	}
	t.Fatal("no free port in 10000-20000")
	return 0
}

// readLBApps reads GET /v2/apps?embed=apps.tasks as marathon-lb does.
func readLBApps(t *testing.T, d *consumertest.Drover) []lbApp {
	t.Helper()
	var apps lbApps
	if err := json.Unmarshal(d.Must(http.MethodGet, "/v2/apps?embed=apps.tasks", nil, http.StatusOK), &apps); err != nil {
		t.Fatalf("decode /v2/apps: %v", err)
	}
	return apps.Apps
}

// loadBalancer is HAProxy run from a configuration in a directory of the test's.
type loadBalancer struct {
	t       *testing.T
	haproxy string
	dir     string
}

// requireHAProxy finds Debian's haproxy (skipping the test without it,
// except in CI).
func requireHAProxy(t *testing.T) *loadBalancer {
	t.Helper()
	path, err := exec.LookPath("haproxy")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("haproxy is required in CI (.ci/run installs Debian's): %v", err)
		}
		t.Skipf("skipping: no haproxy (apt-get install haproxy); CI=true makes this a failure")
	}
	return &loadBalancer{t: t, haproxy: path, dir: t.TempDir()}
}

// writeConfig writes the configuration for services to haproxy.cfg, checks
// it with `haproxy -c`, and returns it.
func (lb *loadBalancer) writeConfig(services []lbService) string {
	t := lb.t
	t.Helper()
	cfg := haproxyConfig(services)
	path := filepath.Join(lb.dir, "haproxy.cfg")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(lb.haproxy, "-c", "-f", path).CombinedOutput(); err != nil {
		t.Fatalf("haproxy -c: %v\n%s\nconfig:\n%s", err, out, cfg)
	}
	return cfg
}

// run runs HAProxy in the foreground on haproxy.cfg; the returned function
// (also run at cleanup) stops it.
func (lb *loadBalancer) run() func() {
	t, haproxy, dir := lb.t, lb.haproxy, lb.dir
	t.Helper()
	logPath := filepath.Join(dir, fmt.Sprintf("haproxy-%d.log", time.Now().UnixNano()))
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(haproxy, "-db", "-f", filepath.Join(dir, "haproxy.cfg"))
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); logFile.Close(); close(done) }()
	stop := func() {
		select {
		case <-done:
			return
		default:
		}
		_ = cmd.Process.Kill()
		<-done
		if t.Failed() {
			out, _ := os.ReadFile(logPath)
			t.Logf("---- haproxy log ----\n%s", out)
		}
	}
	t.Cleanup(stop)
	return stop
}

// getThrough sends GET /healthz to HAProxy's service port on a new
// connection and returns the server that answered.
func getThrough(servicePort int) (string, error) {
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/healthz", servicePort))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || string(body) != "ok\n" {
		return "", fmt.Errorf("GET /healthz through HAProxy: %d %q, want the task's 200 \"ok\"", resp.StatusCode, body)
	}
	server := resp.Header.Get("X-Drover-Server")
	if server == "" {
		return "", fmt.Errorf("no X-Drover-Server header: not through HAProxy's backend")
	}
	return server, nil
}
