package prometheus

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
	"github.com/drover/drover/test/consumertest"
	promclient "github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/discovery"
	"github.com/prometheus/prometheus/discovery/marathon"
	"github.com/prometheus/prometheus/discovery/targetgroup"
)

func TestMain(m *testing.M) { consumertest.Main(m) }

// TestMarathonServiceDiscovery runs Prometheus' Marathon service discovery
// against Drover with apps of each kind it reads: port mappings on the
// bridge (with port mapping labels), port definitions on the host network
// with and without requirePorts (with port definition labels), and a port
// mapping on a named container network (networks[].{name, mode}), and checks
// that every task's every port is a target at the address Prometheus must
// scrape, with the labels it derives.
func TestMarathonServiceDiscovery(t *testing.T) {
	netName := dockerNetwork(t)
	d := consumertest.Start(t)

	bridge := consumertest.App("/prom/bridge", 2, 0, 0)
	mappings := bridge["container"].(map[string]any)["docker"].(map[string]any)["portMappings"].([]map[string]any)
	mappings[0]["labels"] = map[string]string{"metrics": "true", "scheme-name": "http"}
	mappings[0]["name"] = "web"
	mappings[1]["containerPort"] = 81
	mappings[1]["name"] = "admin"
	bridge["labels"] = map[string]string{"team": "core", "prometheus.io/scrape": "true"}

	host := hostApp("/prom/host", false, map[string]any{"port": 0, "name": "web", "labels": map[string]string{"probe": "http"}})
	fixed := d.Ports[0] + 150
	required := hostApp("/prom/required", true, map[string]any{"port": fixed, "name": "web", "labels": map[string]string{"probe": "tcp"}})

	user := consumertest.App("/prom/user", 1, 0)
	docker := user["container"].(map[string]any)["docker"].(map[string]any)
	delete(docker, "network")
	docker["portMappings"].([]map[string]any)[0]["labels"] = map[string]string{"metrics": "container"}
	user["networks"] = []map[string]any{{"mode": "container", "name": netName}}

	// The app with a fixed port runs first: a dynamic port drawn for
	// another app may be that very port (the agent offers 200), and the
	// fixed one would then wait for good, as in Marathon.
	d.Must(http.MethodPost, "/v2/apps", required, http.StatusCreated)
	d.Running("/prom/required", 1, 2*time.Minute)
	for _, app := range []map[string]any{bridge, host, user} {
		d.Must(http.MethodPost, "/v2/apps", app, http.StatusCreated)
	}
	want := map[string][]model.LabelSet{}
	for _, c := range []struct {
		id        string
		instances int
		// endpoint is where Prometheus must scrape port i of task, and the
		// labels of that port.
		endpoint func(tk taskView, i int) (string, map[string]string)
	}{
		{"/prom/bridge", 2, func(tk taskView, i int) (string, map[string]string) {
			labels := map[string]string{"__meta_marathon_port_mapping_label_metrics": "true", "__meta_marathon_port_mapping_label_scheme_name": "http"}
			if i == 1 {
				labels = nil
			}
			return fmt.Sprintf("%s:%d", tk.Host, tk.Ports[i]), labels
		}},
		{"/prom/host", 1, func(tk taskView, i int) (string, map[string]string) {
			return fmt.Sprintf("%s:%d", tk.Host, tk.Ports[i]), map[string]string{"__meta_marathon_port_definition_label_probe": "http"}
		}},
		{"/prom/required", 1, func(tk taskView, i int) (string, map[string]string) {
			return fmt.Sprintf("%s:%d", tk.Host, fixed), map[string]string{"__meta_marathon_port_definition_label_probe": "tcp"}
		}},
		{"/prom/user", 1, func(tk taskView, i int) (string, map[string]string) {
			if len(tk.IPAddresses) == 0 {
				t.Fatalf("task %s on network %s has no ipAddresses", tk.ID, netName)
			}
			return fmt.Sprintf("%s:%d", tk.IPAddresses[0].IPAddress, 80), map[string]string{"__meta_marathon_port_mapping_label_metrics": "container"}
		}},
	} {
		var app appView
		if err := json.Unmarshal(mustJSON(d.Running(c.id, c.instances, 2*time.Minute)), &app); err != nil {
			t.Fatal(err)
		}
		for _, tk := range app.Tasks {
			if c.id != "/prom/user" && tk.Host != consumertest.Host {
				t.Errorf("task %s host = %q, want %q", tk.ID, tk.Host, consumertest.Host)
			}
			n := len(app.ports())
			if len(tk.Ports) != n && c.id != "/prom/user" {
				t.Fatalf("task %s ports = %v, want %d", tk.ID, tk.Ports, n)
			}
			for i := range n {
				addr, portLabels := c.endpoint(tk, i)
				ls := model.LabelSet{
					model.AddressLabel:           model.LabelValue(addr),
					"__meta_marathon_task":       model.LabelValue(tk.ID),
					"__meta_marathon_port_index": model.LabelValue(strconv.Itoa(i)),
					"__meta_marathon_app":        model.LabelValue(c.id),
					"__meta_marathon_image":      consumertest.Image,
				}
				for k, v := range portLabels {
					ls[model.LabelName(k)] = model.LabelValue(v)
				}
				if c.id == "/prom/bridge" {
					ls["__meta_marathon_app_label_team"] = "core"
					ls["__meta_marathon_app_label_prometheus_io_scrape"] = "true"
				}
				want[c.id] = append(want[c.id], ls)
			}
		}
	}

	got := discover(t, d.URL, want)
	for id, targets := range want {
		if diff := diffTargets(got[id], targets); diff != "" {
			t.Errorf("targets of %s:\n%s", id, diff)
		}
	}
	if len(got) != len(want) {
		t.Errorf("target groups %v, want %v", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
	}
}

// hostApp is an app on the host network with one port definition: the
// stand-in httpd listens on a random loopback port, as a port of the host's
// cannot be promised to it.
func hostApp(id string, requirePorts bool, def map[string]any) map[string]any {
	app := consumertest.App(id, 1)
	docker := app["container"].(map[string]any)["docker"].(map[string]any)
	docker["network"] = "HOST"
	delete(docker, "portMappings")
	app["args"] = []string{"-addr", "127.0.0.1:0"}
	app["portDefinitions"] = []map[string]any{def}
	app["requirePorts"] = requirePorts
	return app
}

// appView is what the test reads of GET /v2/apps/{id}.
type appView struct {
	Container struct {
		Docker struct {
			PortMappings []any `json:"portMappings"`
		} `json:"docker"`
	} `json:"container"`
	PortDefinitions []any      `json:"portDefinitions"`
	Tasks           []taskView `json:"tasks"`
}

func (a appView) ports() []any {
	if len(a.Container.Docker.PortMappings) > 0 {
		return a.Container.Docker.PortMappings
	}
	return a.PortDefinitions
}

type taskView struct {
	ID          string `json:"id"`
	Host        string `json:"host"`
	Ports       []int  `json:"ports"`
	IPAddresses []struct {
		IPAddress string `json:"ipAddress"`
	} `json:"ipAddresses"`
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// discover runs Prometheus' Marathon discoverer on the Drover at url, as a
// prometheus.yml with `marathon_sd_configs: [{servers: [url]}]` does, until
// its target groups hold the targets of want (or two minutes pass), and
// returns each group's targets, every group label merged into each target
// as Prometheus' relabelling sees them.
func discover(t *testing.T, url string, want map[string][]model.LabelSet) map[string][]model.LabelSet {
	t.Helper()
	cfg := marathon.DefaultSDConfig
	cfg.Servers = []string{url}
	cfg.RefreshInterval = model.Duration(time.Second)
	reg := promclient.NewRegistry()
	refresh := discovery.NewRefreshMetrics(reg)
	metrics := cfg.NewDiscovererMetrics(reg, refresh)
	if err := metrics.Register(); err != nil {
		t.Fatal(err)
	}
	defer metrics.Unregister()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	disc, err := cfg.NewDiscoverer(discovery.DiscovererOptions{Logger: logger, Metrics: metrics, SetName: "drover"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	updates := make(chan []*targetgroup.Group)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); disc.Run(ctx, updates) }()
	defer wg.Wait()
	defer cancel()

	got := map[string][]model.LabelSet{}
	for {
		select {
		case <-ctx.Done():
			t.Errorf("the discovered targets did not become the expected ones within 2 minutes")
			return got
		case groups := <-updates:
			for _, g := range groups {
				if len(g.Targets) == 0 {
					delete(got, g.Source)
					continue
				}
				var targets []model.LabelSet
				for _, tg := range g.Targets {
					targets = append(targets, tg.Merge(g.Labels))
				}
				got[g.Source] = targets
			}
			done := len(got) == len(want)
			for id, targets := range want {
				done = done && diffTargets(got[id], targets) == ""
			}
			if done {
				return got
			}
		}
	}
}

// diffTargets lists the targets missing from got and those got has but
// want does not, matched as whole label sets.
func diffTargets(got, want []model.LabelSet) string {
	key := func(ls model.LabelSet) string { return ls.String() }
	gotKeys := map[string]bool{}
	for _, ls := range got {
		gotKeys[key(ls)] = true
	}
	wantKeys := map[string]bool{}
	for _, ls := range want {
		wantKeys[key(ls)] = true
	}
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(wantKeys)) {
		if !gotKeys[k] {
			fmt.Fprintf(&b, "  missing %s\n", k)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(gotKeys)) {
		if !wantKeys[k] {
			fmt.Fprintf(&b, "  unexpected %s\n", k)
		}
	}
	if len(got) != len(want) && b.Len() == 0 {
		fmt.Fprintf(&b, "  %d targets, want %d\n", len(got), len(want))
	}
	return b.String()
}

// dockerNetwork creates a Docker network for the test's container-network
// app, removed at cleanup (after the test's containers, which Start's
// cleanup removes first).
func dockerNetwork(t *testing.T) string {
	t.Helper()
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("drover-prom-%d", time.Now().UnixNano()%1e9)
	ctx := context.Background()
	if _, err := cli.NetworkCreate(ctx, name, network.CreateOptions{Driver: "bridge"}); err != nil {
		cli.Close()
		if os.Getenv("CI") != "true" {
			t.Skipf("skipping: no Docker network (%v); CI=true makes this a failure", err)
		}
		t.Fatalf("create network %s: %v", name, err)
	}
	t.Cleanup(func() {
		if err := cli.NetworkRemove(ctx, name); err != nil {
			t.Errorf("remove network %s: %v", name, err)
		}
		cli.Close()
	})
	return name
}
