package docker

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/drover/drover/internal/testutil"
	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/marathon"
	"github.com/drover/drover/services/agent"
)

func checkedApp(dir string) marathon.App {
	app := httpdApp(dir)
	app.HealthChecks = []marathon.HealthCheck{
		// Marathon's way, from outside: the agent's address and the host port.
		{Protocol: "HTTP", Path: "/healthz", PortIndex: ptr(0), TimeoutSeconds: 2, MaxConsecutiveFailures: 3},
		// Mesos' way, inside the task's network: the container's IP and port 80.
		{Protocol: "MESOS_HTTP", Path: "/healthz", PortIndex: ptr(0), TimeoutSeconds: 2, MaxConsecutiveFailures: 3},
	}
	return app
}

func TestBuildSpecLabelsChecks(t *testing.T) {
	app := checkedApp("/srv")
	app.Container.PortMappings = []marathon.PortMapping{{ContainerPort: 80, Name: "http"}}
	app.ReadinessChecks = []json.RawMessage{json.RawMessage(`{"portName":"http"}`)}
	app.Labels = map[string]string{LabelChecks: "forged"}
	spec := events.LaunchSpec{App: app, HostPorts: []int{31000}}
	cs, err := buildFrom("a1", "", "web.1", spec)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := agent.CheckSpecOf(resolve(t, spec))
	var got agent.CheckSpec
	if err := json.Unmarshal([]byte(cs.Config.Labels[LabelChecks]), &got); err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("label %s = %s (%v), want %+v", LabelChecks, cs.Config.Labels[LabelChecks], err, want)
	}
	plain := httpdApp("/srv")
	plain.Labels = map[string]string{LabelChecks: "forged"}
	cs, err = buildFrom("a1", "", "web.2", events.LaunchSpec{App: plain})
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := cs.Config.Labels[LabelChecks]; ok {
		t.Fatalf("an app without checks is labelled %q", v)
	}
}

func TestExecAndRecallChecks(t *testing.T) {
	cli := requireDocker(t)
	r := newRuntime(t, cli, newAgentID(t), "127.0.0.1")
	ctx := t.Context()
	spec := events.LaunchSpec{App: checkedApp(htdocs(t, "x"))}
	spec.App.Container.Docker.Parameters = []marathon.Parameter{{Key: "publish", Value: "80"}}
	if _, err := r.Launch(ctx, "web.1", resolve(t, spec)); err != nil {
		t.Fatal(err)
	}
	want, _ := agent.CheckSpecOf(resolve(t, spec))
	if got, err := r.RecallChecks(ctx, "web.1"); err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("RecallChecks = %+v, %v; want %+v", got, err, want)
	}
	if _, err := r.RecallChecks(ctx, "nope"); err == nil {
		t.Fatal("RecallChecks of no task succeeded")
	}

	// The image is FROM scratch: its one program is /httpd, and no shell.
	cases := []struct {
		cmd  []string
		code int
		out  string
	}{
		{[]string{"/httpd", "-h"}, 0, "-addr"},
		{[]string{"/httpd", "-bogus"}, 2, "flag provided but not defined: -bogus"},
	}
	for _, c := range cases {
		res, err := r.Exec(ctx, "web.1", c.cmd)
		if err != nil || res.ExitCode != c.code || !strings.Contains(res.Output, c.out) {
			t.Errorf("Exec %q = %+v, %v; want exit %d with %q", c.cmd, res, err, c.code, c.out)
		}
	}
	// So a COMMAND check (/bin/sh -c) fails there, saying why (Docker 20.10: exit 126).
	if res, err := r.Exec(ctx, "web.1", []string{"/bin/sh", "-c", "true"}); err != nil || res.ExitCode == 0 ||
		!strings.Contains(res.Output, "/bin/sh") {
		t.Errorf("a shell in a scratch image: %+v, %v", res, err)
	}
	if _, err := r.Exec(ctx, "nope", []string{"/httpd", "-h"}); err == nil {
		t.Error("Exec in no task succeeded")
	}
}

// TestAgentHealthChecksOnDocker launches an httpd container with HTTP and
// MESOS_HTTP health checks through an agent: both report it alive; after
// POST /fail its /healthz answers 500 and both report growing failures;
// an agent restarted keeps checking the container it adopts.
func TestAgentHealthChecksOnDocker(t *testing.T) {
	cli := requireDocker(t)
	srv := testutil.RunJetStream(t)
	bus, nc := srv.Bus(t), srv.Connect(t)
	id := newAgentID(t)
	rt := newRuntime(t, cli, id, "127.0.0.14")
	cfg := agent.DefaultConfig()
	cfg.AgentID, cfg.Hostname, cfg.Address = id, "host4", "127.0.0.14"
	cfg.HeartbeatInterval, cfg.KillGrace, cfg.MinCheckInterval = 100*time.Millisecond, time.Second, 100*time.Millisecond
	runAgent := func() (stop func()) {
		a, err := agent.New(cfg, bus, nc, rt, testutil.Logger(t))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- a.Run(ctx) }()
		return func() { cancel(); <-done }
	}
	stop := runAgent()
	t.Cleanup(func() { stop() })

	statuses := recordStatuses(t, bus, id)
	// waitHealth waits for a status, from the from-th on, whose every health result satisfies ok.
	waitHealth := func(from int, what string, ok func(events.HealthResult) bool) int {
		t.Helper()
		var at int
		testutil.Eventually(t, wait, 20*time.Millisecond, func() error {
			all := statuses()
			for i := from; i < len(all); i++ {
				st := all[i]
				if st.State == events.TaskRunning && len(st.Health) == 2 && ok(st.Health[0]) && ok(st.Health[1]) {
					at = i
					return nil
				}
			}
			return fmt.Errorf("no status with %s among %+v", what, all[min(from, len(all)):])
		})
		return at
	}

	port := freePort(t, "127.0.0.14")
	app := checkedApp(htdocs(t, "checked"))
	app.ID = "/checked"
	app.Container.Docker.Parameters = []marathon.Parameter{{Key: "publish", Value: fmt.Sprintf("%d:80", port)}}
	cmd := events.Command{
		V: events.Version, ID: "cmd-1", Epoch: 1, Kind: events.CommandLaunch, TaskID: "checked.1", AppID: app.ID,
		Launch: &events.LaunchSpec{App: app}, IssuedAt: time.Now(),
	}
	data, err := events.Encode(cmd)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bus.JS.Publish(t.Context(), events.AgentCommand(id), data, jetstream.WithMsgID(cmd.ID)); err != nil {
		t.Fatal(err)
	}
	alive := waitHealth(0, "both checks alive", func(r events.HealthResult) bool { return r.Alive })

	resp, err := http.Post(fmt.Sprintf("http://127.0.0.14:%d/fail", port), "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	waitHealth(alive, "both checks failing twice", func(r events.HealthResult) bool {
		return !r.Alive && r.ConsecutiveFailures >= 2 && r.LastFailureCause == "HTTP status 500"
	})

	// A new agent adopts the container, and its checks with it.
	stop()
	restartAt := len(statuses())
	stop = runAgent()
	waitHealth(restartAt, "failures seen by the new agent", func(r events.HealthResult) bool { return r.ConsecutiveFailures >= 1 })
}
