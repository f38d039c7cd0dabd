package natsauth_test

import (
	"testing"
	"time"

	"github.com/drover/drover/internal/natsauth"
	"github.com/drover/drover/pkg/events"
	"github.com/nats-io/nats.go"
)

// TestSandboxReads: the api asks an agent for a sandbox file and the agent
// answers it; an agent can neither take another agent's reads, nor ask
// another agent, nor write to the api's inbox unasked.
func TestSandboxReads(t *testing.T) {
	c := runSecured(t, "host1", "host2")
	api, _ := c.connect(natsauth.RoleAPI)
	host1, v1 := c.connect(natsauth.AgentUser("host1"))

	sub, err := host1.Subscribe(events.AgentSandbox("host1"), func(m *nats.Msg) { _ = m.Respond([]byte("stdout of host1")) })
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if err := host1.FlushTimeout(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	m, err := api.Request(events.AgentSandbox("host1"), []byte("{}"), 10*time.Second)
	if err != nil || string(m.Data) != "stdout of host1" {
		t.Fatalf("the api's read of host1: %v %v (host1's violations %v)", m, err, v1.list())
	}

	if _, err := host1.SubscribeSync(events.AgentSandbox("host2")); err != nil {
		t.Fatal(err)
	}
	expectViolation(t, v1, events.AgentSandbox("host2"))
	_ = host1.Publish(events.AgentSandbox("host2"), []byte("{}"))
	expectViolation(t, v1, events.AgentSandbox("host2"))
	inbox := events.InboxPrefix(natsauth.RoleAPI) + ".forged"
	_ = host1.Publish(inbox, []byte("forged"))
	expectViolation(t, v1, inbox)
}
