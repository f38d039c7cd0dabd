package decide

import (
	"encoding/json"
	"log/slog"
	"maps"
	"reflect"
	"testing"
	"time"

	"github.com/drover/drover/pkg/deployplan"
	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/marathon"
)

// harness is a leader's state seeded by hand, on a clock of its own: each
// pass runs Pass on it and applies the decisions, as the scheduler does,
// and returns the commands decided (Nomad's scheduler tests: seed a state,
// run the pass, assert the decisions).
type harness struct {
	t   *testing.T
	st  State
	now time.Time
	// last are the decisions of the last pass.
	last Decisions
}

const testEpoch = 7

func newHarness(t *testing.T) *harness {
	t.Helper()
	now := time.Unix(1_000_000, 0)
	return &harness{t: t, now: now, st: State{
		Epoch: testEpoch, Config: testConfig(),
		Apps: map[string]*App{}, Deployments: map[string]Deployment{}, Agents: map[string]*Agent{},
		Instances: map[string]*events.Instance{}, Queue: map[string]events.QueueEntry{}, KillSent: map[string]KillTry{},
		View: View{Started: now.Add(-time.Hour)}, // followed heartbeats for long: warm
	}}
}

// testConfig is the scheduler's default configuration.
func testConfig() Config {
	return Config{
		ReconcileInterval: 500 * time.Millisecond, UnreachableAfter: 3 * time.Second, DockerDownAfter: time.Second,
		SilentShare: 0.5, SilentHold: 2 * time.Minute, StagingTimeout: 2 * time.Minute,
		BackoffResetAfter: 5 * time.Second, KillRetry: 5 * time.Second, DeploymentTimeout: 15 * time.Minute,
	}
}

// app adds an app of n instances with extra JSON fields merged in.
func (h *harness) app(id string, n int, extra string) *App {
	h.t.Helper()
	app := marathon.App{ID: id, Instances: &n}
	if extra != "" {
		if err := json.Unmarshal([]byte(extra), &app); err != nil {
			h.t.Fatal(err)
		}
		app.ID, app.Instances = id, &n
	}
	marathon.ApplyDefaults(&app)
	app.Version = "2026-01-01T00:00:00.000Z"
	app.VersionInfo = &marathon.VersionInfo{LastScalingAt: app.Version, LastConfigChangeAt: app.Version}
	a := &App{Def: app, Changed: h.now.Add(-time.Hour)}
	h.st.Apps[id] = a
	return a
}

// agent records a heartbeat from agent id, seen now, listing tasks now,
// with hb changed by opts.
func (h *harness) agent(id string, opts ...func(*events.Heartbeat)) {
	hb := events.Heartbeat{V: events.Version, AgentID: id, Hostname: id,
		Resources: events.Resources{Cpus: 8, Mem: 8192, Disk: 10000, Ports: []events.PortRange{{Begin: 31000, End: 31100}}},
		Policy:    events.AgentPolicy{AllowHostCommands: true}, // its apps have no image
		Docker:    events.DockerHealth{Healthy: true}, SentAt: h.now, TasksListedAt: h.now}
	for _, inst := range h.st.Instances {
		if inst.AgentID == id && inst.State != events.TaskStaging {
			hb.Tasks = append(hb.Tasks, events.TaskReport{TaskID: inst.TaskID, AppID: inst.AppID, Version: inst.Version, State: events.TaskRunning})
		}
	}
	for _, o := range opts {
		o(&hb)
	}
	a := h.st.Agents[id]
	if a == nil {
		a = &Agent{State: events.AgentActive}
		h.st.Agents[id] = a
	}
	a.Heartbeat, a.Seen, a.ListedAt, a.HostListedAt = hb, h.now, ListedAt(hb, h.now), HostListedAt(hb, h.now)
	if !hb.Docker.Healthy && a.DockerDownSince.IsZero() {
		a.DockerDownSince = h.now
	} else if hb.Docker.Healthy {
		a.DockerDownSince = time.Time{}
	}
	h.st.Self.LastHeard = h.now
}

// task adds a running instance of app on agent, started at.
func (h *harness) task(taskID, appID, agentID string, started time.Time) *events.Instance {
	inst := &events.Instance{V: events.Version, TaskID: taskID, AppID: appID, Version: deployplan.ConfigVersion(&h.st.Apps[appID].Def),
		AgentID: agentID, Host: agentID, State: events.TaskRunning, StagedAt: started, StartedAt: started, UpdatedAt: started}
	h.st.Instances[taskID] = inst
	return inst
}

// decisions are the commands of one pass.
type decisions struct {
	launches map[string]int // per agent
	kills    []string       // task ids
}

func (h *harness) pass() decisions {
	h.t.Helper()
	h.st.Now = h.now
	before := snapshotOf(h.st)
	d := Pass(h.st, h.logger())
	h.unchanged(before)
	out := h.take(d)
	h.st.View.LastPass = h.now // as the scheduler does once the pass is published
	return out
}

// status runs Status on a report of a task.
func (h *harness) status(st events.TaskStatus) decisions {
	h.t.Helper()
	h.st.Now = h.now
	before := snapshotOf(h.st)
	d := Status(h.st, st, h.logger())
	h.unchanged(before)
	return h.take(d)
}

// snapshot is a deep copy of what a State's maps point to.
type snapshot struct {
	apps      map[string]App
	agents    map[string]Agent
	instances map[string]events.Instance
	rest      State
}

func snapshotOf(st State) snapshot {
	s := snapshot{apps: map[string]App{}, agents: map[string]Agent{}, instances: map[string]events.Instance{}, rest: st}
	for id, a := range st.Apps {
		s.apps[id] = *a
	}
	for id, a := range st.Agents {
		s.agents[id] = *a
	}
	for id, inst := range st.Instances {
		s.instances[id] = *inst
	}
	s.rest.Apps, s.rest.Agents, s.rest.Instances = nil, nil, nil
	s.rest.Queue, s.rest.KillSent, s.rest.Deployments = maps.Clone(st.Queue), maps.Clone(st.KillSent), maps.Clone(st.Deployments)
	return s
}

// unchanged fails the test if deciding changed the state it read.
func (h *harness) unchanged(before snapshot) {
	h.t.Helper()
	if after := snapshotOf(h.st); !reflect.DeepEqual(before, after) {
		h.t.Fatalf("deciding changed its input:\nbefore %+v\nafter  %+v", before, after)
	}
}

// take applies decisions to the harness's state and counts their commands.
func (h *harness) take(d Decisions) decisions {
	h.last = d
	d.Apply(&h.st)
	out := decisions{launches: map[string]int{}}
	for _, w := range d.Writes {
		if w.Command == nil {
			continue
		}
		switch w.Command.Command.Kind {
		case events.CommandLaunch:
			out.launches[w.Command.AgentID]++
		case events.CommandKill:
			out.kills = append(out.kills, w.Command.Command.TaskID)
		}
	}
	return out
}

// events are the types of the events the last decision published.
func (h *harness) events() []string {
	var out []string
	for _, w := range h.last.Writes {
		if w.Event != nil {
			out = append(out, w.Event.Type)
		}
	}
	return out
}

func (h *harness) advance(d time.Duration) { h.now = h.now.Add(d) }

func (h *harness) state(taskID string) events.TaskState {
	if inst, ok := h.st.Instances[taskID]; ok {
		return inst.State
	}
	return "gone"
}

func (h *harness) count(appID string) int {
	n := 0
	for _, inst := range h.st.Instances {
		if inst.AppID == appID {
			n++
		}
	}
	return n
}

func (h *harness) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(h.t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// running counts an app's instances that run and are not being killed.
func (h *harness) running(appID string) int {
	n := 0
	for _, inst := range h.st.Instances {
		if inst.AppID == appID && inst.State == events.TaskRunning {
			n++
		}
	}
	return n
}
