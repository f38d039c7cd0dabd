package natsauth_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/drover/drover/internal/natsauth"
	"github.com/drover/drover/internal/testutil"
	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/events/natsbus"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

const short = 500 * time.Millisecond

// expectViolation waits for the connection to be told of a permission
// violation that mentions subject.
func expectViolation(t *testing.T, v *violations, subject string) {
	t.Helper()
	testutil.Eventually(t, 5*time.Second, 10*time.Millisecond, func() error {
		for _, s := range v.list() {
			if strings.Contains(s, `"`+subject+`"`) {
				return nil
			}
		}
		return errors.New("no permissions violation for " + subject + " in " + strings.Join(v.list(), "; "))
	})
}

// request sends a raw JetStream API request and returns the API's error
// description, or "" for success; a request the server drops for want of
// permission times out.
func request(t *testing.T, nc *nats.Conn, subject string, body any) (string, error) {
	t.Helper()
	data, _ := json.Marshal(body)
	msg, err := nc.Request(subject, data, short)
	if err != nil {
		return "", err
	}
	var resp struct {
		Error *struct {
			Description string `json:"description"`
		} `json:"error"`
	}
	if err := json.Unmarshal(msg.Data, &resp); err != nil {
		return "", err
	}
	if resp.Error != nil {
		return resp.Error.Description, nil
	}
	return "", nil
}

// denied sends a request and waits for the server to refuse it for want
// of permission.
func denied(t *testing.T, nc *nats.Conn, v *violations, subject string) {
	t.Helper()
	if err := nc.PublishRequest(subject, nc.NewRespInbox(), []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	expectViolation(t, v, subject)
}

func streamMsgs(t *testing.T, bus *natsbus.Bus, stream string) uint64 {
	t.Helper()
	s, err := bus.JS.Stream(context.Background(), stream)
	if err != nil {
		t.Fatal(err)
	}
	return s.CachedInfo().State.Msgs
}

// A stolen agent credential (host1's) cannot launch or kill anything on
// another agent, cannot take another agent's commands, cannot change an
// app or read one, and cannot forge a leader; with it one can only be
// agent host1.
func TestStolenAgentCredential(t *testing.T) {
	c := runSecured(t, "host1", "host2")
	admin := c.setup() // as the scheduler
	ctx := t.Context()

	// host2 runs, with its consumer; the scheduler has a command for it.
	nc2, v2 := c.connect(natsauth.AgentUser("host2"))
	js2, _ := jetstream.New(nc2)
	cons2, err := js2.CreateOrUpdateConsumer(ctx, events.StreamCommands, jetstream.ConsumerConfig{
		Durable: events.AgentCommandConsumer("host2"), FilterSubject: events.AgentCommand("host2"), AckPolicy: jetstream.AckExplicitPolicy,
	})
	if err != nil {
		t.Fatalf("host2 creates its own consumer: %v (violations %v)", err, v2.list())
	}
	if _, err := admin.JS.Publish(ctx, events.AgentCommand("host2"), []byte(`{"v":1,"id":"real"}`)); err != nil {
		t.Fatal(err)
	}

	thief, v := c.connect(natsauth.AgentUser("host1"))
	js, _ := jetstream.New(thief)

	t.Run("cannot command another agent", func(t *testing.T) {
		forged := []byte(`{"v":1,"id":"forged","epoch":999,"kind":"launch","taskId":"evil","launch":{"app":{"id":"/evil"}}}`)
		_ = thief.Publish(events.AgentCommand("host2"), forged)
		expectViolation(t, v, events.AgentCommand("host2"))
		if n := streamMsgs(t, admin, events.StreamCommands); n != 1 {
			t.Errorf("%d commands stored, want the 1 real one", n)
		}
	})

	t.Run("cannot take another agent's consumer or commands", func(t *testing.T) {
		denied(t, thief, v, "$JS.API.CONSUMER.CREATE."+events.StreamCommands+".agent-host2."+events.AgentCommand("host2"))
		// Its own durable, on another's subject, by the subject its
		// permissions name and a body that says otherwise: refused by the server.
		own := "$JS.API.CONSUMER.CREATE." + events.StreamCommands + ".agent-host1." + events.AgentCommand("host1")
		for _, cfg := range []map[string]any{
			{"durable_name": "agent-host1", "filter_subject": events.AgentCommand("host2"), "ack_policy": "explicit"},
			{"durable_name": "agent-host1", "filter_subjects": []string{events.AgentCommand("host2")}, "ack_policy": "explicit"},
			{"durable_name": "agent-host1", "filter_subject": events.AgentCommandAll, "ack_policy": "explicit"},
		} {
			desc, err := request(t, thief, own, map[string]any{"stream_name": events.StreamCommands, "config": cfg})
			if err == nil && desc == "" {
				t.Errorf("server accepted consumer config %v", cfg)
			}
		}
		// Nor the other forms of the create request.
		for _, subj := range []string{
			"$JS.API.CONSUMER.CREATE." + events.StreamCommands + ".agent-host1",
			"$JS.API.CONSUMER.DURABLE.CREATE." + events.StreamCommands + ".agent-host1",
			"$JS.API.CONSUMER.CREATE." + events.StreamCommands,
		} {
			denied(t, thief, v, subj)
		}
		// Nor pull host2's commands, read its consumer, or delete it.
		for _, subj := range []string{
			"$JS.API.CONSUMER.MSG.NEXT." + events.StreamCommands + ".agent-host2",
			"$JS.API.CONSUMER.INFO." + events.StreamCommands + ".agent-host2",
			"$JS.API.CONSUMER.DELETE." + events.StreamCommands + ".agent-host2",
		} {
			denied(t, thief, v, subj)
		}
		_ = thief.Publish("$JS.ACK."+events.StreamCommands+".agent-host2.1.1.1.1.0", []byte("+ACK"))
		expectViolation(t, v, "$JS.ACK."+events.StreamCommands+".agent-host2.1.1.1.1.0")
		// Nor listen to the subjects.
		for _, subj := range []string{events.AgentCommand("host2"), "drover.>", "_INBOX.>", "$JS.>"} {
			if _, err := thief.Subscribe(subj, func(*nats.Msg) {}); err != nil {
				t.Fatal(err)
			}
			expectViolation(t, v, subj)
		}
		// host2 still gets its command.
		msgs, err := cons2.Fetch(1, jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		got := 0
		for m := range msgs.Messages() {
			got++
			if !strings.Contains(string(m.Data()), `"real"`) {
				t.Errorf("host2 got %s", m.Data())
			}
			_ = m.Ack()
		}
		if got != 1 {
			t.Errorf("host2 got %d commands, want its 1", got)
		}
	})

	t.Run("cannot change, read or wipe an app", func(t *testing.T) {
		sched, sv := c.connect(natsauth.RoleScheduler)
		_ = sched.Publish("$KV.apps.web", []byte(`{"v":1,"app":{"id":"/web"}}`))
		expectViolation(t, sv, "$KV.apps.web") // not even the scheduler writes apps
		_ = thief.Publish("$KV.apps.web", []byte(`{"v":1,"app":{"id":"/web","cmd":"evil"}}`))
		expectViolation(t, v, "$KV.apps.web")
		denied(t, thief, v, "$JS.API.STREAM.INFO.KV_apps")
		for _, subj := range []string{
			"$JS.API.DIRECT.GET.KV_apps.$KV.apps.web", // read (env holds secrets)
			"$JS.API.STREAM.MSG.GET.KV_apps",
			"$JS.API.STREAM.PURGE.KV_apps", // wipe
			"$JS.API.STREAM.DELETE.KV_apps",
			"$JS.API.STREAM.UPDATE.KV_apps",
			"$JS.API.STREAM.MSG.DELETE.KV_apps",
			"$JS.API.CONSUMER.CREATE.KV_apps.x.$KV.apps.>",
		} {
			denied(t, thief, v, subj)
		}
		if n := streamMsgs(t, admin, "KV_apps"); n != 0 {
			t.Errorf("%d app records, want none", n)
		}
	})

	t.Run("cannot forge a leader or a status of another agent", func(t *testing.T) {
		_ = thief.Publish(events.LeaderKeySubject, []byte(`{"v":1,"epoch":999999}`))
		expectViolation(t, v, events.LeaderKeySubject)
		_ = thief.Publish(events.AgentStatus("host2"), []byte(`{"v":1,"agentId":"host2","taskId":"t","state":"TASK_FAILED"}`))
		expectViolation(t, v, events.AgentStatus("host2"))
		_ = thief.Publish(events.AgentHeartbeat("host2"), []byte(`{"v":1,"agentId":"host2"}`))
		expectViolation(t, v, events.AgentHeartbeat("host2"))
		_ = thief.Publish(events.SchedulerRequests, []byte(`{"v":1,"kind":"abdicate"}`))
		expectViolation(t, v, events.SchedulerRequests)
		_ = thief.Publish(events.Event("app_terminated_event"), []byte(`{}`))
		expectViolation(t, v, events.Event("app_terminated_event"))
	})

	t.Run("can be agent host1", func(t *testing.T) {
		before := len(v.list())
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		bus, err := natsbus.Open(cctx, js, events.BucketLeader)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := bus.Leader.Get(cctx, events.LeaderKey); !errors.Is(err, jetstream.ErrKeyNotFound) {
			t.Errorf("leader get: %v", err)
		}
		if _, err := js.CreateOrUpdateConsumer(cctx, events.StreamCommands, jetstream.ConsumerConfig{
			Durable: events.AgentCommandConsumer("host1"), FilterSubject: events.AgentCommand("host1"), AckPolicy: jetstream.AckExplicitPolicy,
		}); err != nil {
			t.Errorf("own consumer: %v", err)
		}
		if _, err := js.Publish(cctx, events.AgentStatus("host1"), []byte(`{"v":1}`)); err != nil {
			t.Errorf("own status: %v", err)
		}
		if err := thief.Publish(events.AgentHeartbeat("host1"), []byte(`{"v":1}`)); err != nil {
			t.Error(err)
		}
		if _, err := thief.Subscribe(events.LeaderKeySubject, func(*nats.Msg) {}); err != nil {
			t.Error(err)
		}
		if err := thief.FlushTimeout(time.Second); err != nil {
			t.Error(err)
		}
		time.Sleep(100 * time.Millisecond)
		if after := v.list(); len(after) != before {
			t.Errorf("violations doing its own job: %v", after[before:])
		}
	})
}

// The api's credential writes apps and asks the scheduler; it cannot
// command an agent, take the lock, record instances, or wipe a stream.
func TestAPICredential(t *testing.T) {
	c := runSecured(t, "host1")
	admin := c.setup()
	ctx := t.Context()
	nc, v := c.connect(natsauth.RoleAPI)
	js, _ := jetstream.New(nc)
	bus, err := natsbus.Open(ctx, js)
	if err != nil {
		t.Fatalf("api binds the buckets: %v (%v)", err, v.list())
	}
	if _, err := bus.Apps.Create(ctx, "web", []byte(`{"v":1,"app":{"id":"/web"}}`)); err != nil {
		t.Errorf("api writes an app: %v", err)
	}
	if _, err := bus.PortClaims.Create(ctx, events.PortClaimKey(10000), []byte(`{"v":1,"app":"/web"}`)); err != nil {
		t.Errorf("api claims a service port: %v", err)
	}
	if _, err := js.Publish(ctx, events.SchedulerRequests, []byte(`{"v":1}`)); err != nil {
		t.Errorf("api asks the scheduler: %v", err)
	}
	for _, subj := range []string{events.AgentCommand("host1"), events.LeaderKeySubject, "$KV.instances.t", "$KV.agents.host1", "$KV.queue.web"} {
		_ = nc.Publish(subj, []byte(`{"v":1,"epoch":1}`))
		expectViolation(t, v, subj)
	}
	for _, subj := range []string{
		"$JS.API.STREAM.DELETE.KV_apps", "$JS.API.STREAM.PURGE.KV_apps", "$JS.API.STREAM.UPDATE.DROVER_COMMANDS",
		"$JS.API.STREAM.CREATE.EVIL",
		"$JS.API.CONSUMER.CREATE.DROVER_COMMANDS.x.drover.agent.host1.cmd",
		"$JS.API.CONSUMER.CREATE.DROVER_STATUS.x.drover.agent.*.status",
	} {
		denied(t, nc, v, subj)
	}
	if n := streamMsgs(t, admin, events.StreamCommands); n != 0 {
		t.Errorf("%d commands stored, want none", n)
	}
}

// The notices of demand for full deployment plans (drover.plans.demand)
// are the api's to send; the api replicas and the schedulers hear them; an
// agent does neither (it could only make every deployment event heavy, or
// learn who watches).
func TestPlanDemandPermissions(t *testing.T) {
	c := runSecured(t, "host1")
	c.setup()
	for _, tc := range []struct {
		user           string
		pub, subscribe bool
	}{
		{natsauth.RoleAPI, true, true},
		{natsauth.RoleScheduler, false, true},
		{natsauth.AgentUser("host1"), false, false},
	} {
		t.Run(tc.user, func(t *testing.T) {
			ref, _ := c.connect(natsauth.RoleAPI)
			refHeard := make(chan string, 16)
			if _, err := ref.Subscribe(events.PlanDemand, func(m *nats.Msg) { refHeard <- string(m.Data) }); err != nil {
				t.Fatal(err)
			}
			if err := ref.Flush(); err != nil {
				t.Fatal(err)
			}
			nc, v := c.connect(tc.user)
			heard := make(chan struct{}, 16)
			if _, err := nc.Subscribe(events.PlanDemand, func(*nats.Msg) { heard <- struct{}{} }); err != nil {
				t.Fatal(err)
			}
			_ = nc.Flush()
			if err := ref.Publish(events.PlanDemand, []byte(`{"v":1,"api":"ref","instance":"ref","streams":1}`)); err != nil {
				t.Fatal(err)
			}
			if tc.subscribe {
				select {
				case <-heard:
				case <-time.After(5 * time.Second):
					t.Errorf("%s does not hear the notices (violations %v)", tc.user, v.list())
				}
			} else {
				expectViolationOf(t, v, "subscription", events.PlanDemand)
			}

			own := `{"v":1,"api":"` + tc.user + `","instance":"` + tc.user + `","streams":1}`
			_ = nc.Publish(events.PlanDemand, []byte(own))
			if !tc.pub {
				expectViolationOf(t, v, "publish", events.PlanDemand)
				return
			}
			deadline := time.After(5 * time.Second)
			for {
				select {
				case got := <-refHeard:
					if got == own {
						if l := v.list(); len(l) > 0 {
							t.Errorf("%s was refused: %v", tc.user, l)
						}
						return
					}
				case <-deadline:
					t.Fatalf("%s's notice never came (violations %v)", tc.user, v.list())
				}
			}
		})
	}
}

// expectViolationOf waits for a permission violation of the kind
// ("publish", "subscription") on subject.
func expectViolationOf(t *testing.T, v *violations, kind, subject string) {
	t.Helper()
	want := kind + ` to "` + subject + `"`
	testutil.Eventually(t, 5*time.Second, 10*time.Millisecond, func() error {
		for _, s := range v.list() {
			if strings.Contains(strings.ToLower(s), want) {
				return nil
			}
		}
		return errors.New("no " + want + " violation in " + strings.Join(v.list(), "; "))
	})
}
