package natsauth

import (
	"fmt"

	"github.com/drover/drover/pkg/events"
	"github.com/nats-io/nats-server/v2/server"
)

// Role names, which are also the NATS user names of the api and the
// scheduler; an agent's user is AgentUser(id).
const (
	RoleAPI       = "api"
	RoleScheduler = "scheduler"
	RoleAgent     = "agent"
)

// AgentUser is the NATS user of the agent with the given id.
func AgentUser(agentID string) string { return "agent-" + agentID }

// InboxPrefix is the reply-subject prefix a user's connection uses and may
// subscribe under: _INBOX.<user>. With it, no user can read the replies
// meant for another (JetStream answers, KV values, watch deliveries).
func InboxPrefix(user string) string { return "_INBOX." + user }

const (
	jsAPI = "$JS.API."
	jsAck = "$JS.ACK."
	jsFC  = "$JS.FC.>"
)

// kvStream is the stream behind a bucket.
func kvStream(bucket string) string { return "KV_" + bucket }

// kvSubjects is every key of a bucket: $KV.<bucket>.>
func kvSubjects(bucket string) string { return "$KV." + bucket + ".>" }

// AgentPermissions are an agent's: publish its own heartbeats and task
// statuses; create, read from and acknowledge its own durable command
// consumer, filtered on its own command subject (the subject of the create
// request carries the filter, and the server refuses a body that names
// another); read the leader record, once at start (a direct get) and then
// by plain subscription to its key's subject; receive replies on its own
// inbox. Nothing else: not another agent's subjects or consumer, not a
// bucket, not the commands it would like to have.
func AgentPermissions(agentID string) *server.Permissions {
	return agentPermissions(agentID, InboxPrefix(AgentUser(agentID)))
}

func agentPermissions(agentID, inbox string) *server.Permissions {
	cons := events.AgentCommandConsumer(agentID)
	cmds := events.StreamCommands + "." + cons
	leader := kvStream(events.BucketLeader)
	return &server.Permissions{
		Publish: &server.SubjectPermission{Allow: []string{
			events.AgentHeartbeat(agentID),
			events.AgentStatus(agentID),
			jsAPI + "CONSUMER.CREATE." + cmds + "." + events.AgentCommand(agentID),
			jsAPI + "CONSUMER.INFO." + cmds,
			jsAPI + "CONSUMER.MSG.NEXT." + cmds,
			jsAck + cmds + ".>",
			jsAPI + "STREAM.INFO." + leader,
			jsAPI + "DIRECT.GET." + leader + "." + events.LeaderKeySubject,
		}},
		Subscribe: &server.SubjectPermission{Allow: []string{
			inbox + ".>",
			events.LeaderKeySubject,
		}},
	}
}

// apiStreams are the streams the api reads: the buckets it follows, and
// the events stream behind /v2/events.
var apiStreams = []string{
	kvStream(events.BucketApps), kvStream(events.BucketDeployments), kvStream(events.BucketInstances),
	kvStream(events.BucketAgents), kvStream(events.BucketLeader), kvStream(events.BucketQueue),
	events.StreamEvents,
}

// APIPermissions are the api's: write the apps and deployments buckets,
// publish Marathon events and requests to the scheduler leader, and read
// (watch, get, follow) its buckets and the events stream. Never an agent's
// command subject, the leader lock, or the instances the scheduler records;
// no stream it may create, change or delete.
func APIPermissions() *server.Permissions { return apiPermissions(InboxPrefix(RoleAPI)) }

func apiPermissions(inbox string) *server.Permissions {
	pub := []string{
		kvSubjects(events.BucketApps),
		kvSubjects(events.BucketDeployments),
		events.SchedulerRequests,
		events.EventAll,
		jsFC,
	}
	for _, s := range apiStreams {
		pub = append(pub,
			jsAPI+"STREAM.INFO."+s,
			jsAPI+"CONSUMER.CREATE."+s+".>",
			jsAPI+"CONSUMER.INFO."+s+".*",
			jsAPI+"CONSUMER.DELETE."+s+".*",
			jsAPI+"CONSUMER.MSG.NEXT."+s+".*",
			jsAPI+"DIRECT.GET."+s,
			jsAPI+"DIRECT.GET."+s+".>",
			jsAPI+"STREAM.MSG.GET."+s,
		)
	}
	return &server.Permissions{
		Publish:   &server.SubjectPermission{Allow: pub},
		Subscribe: &server.SubjectPermission{Allow: []string{inbox + ".>"}},
	}
}

// SchedulerPermissions are a scheduler's: it sets up the streams and
// buckets, holds the leader lock, sends agents their commands, records
// instances, agents, the queue and finished deployments, consumes the
// status and request streams, subscribes to agents' heartbeats, and reads
// everything. It is the most trusted
// role (it can run anything on any agent), yet it cannot write an app
// definition, delete or purge a stream, or consume an agent's commands.
func SchedulerPermissions() *server.Permissions {
	return schedulerPermissions(InboxPrefix(RoleScheduler))
}

func schedulerPermissions(inbox string) *server.Permissions {
	return &server.Permissions{
		Publish: &server.SubjectPermission{
			Allow: []string{
				events.AgentCommandAll,
				events.EventAll,
				kvSubjects(events.BucketLeader),
				kvSubjects(events.BucketInstances),
				kvSubjects(events.BucketAgents),
				kvSubjects(events.BucketQueue),
				kvSubjects(events.BucketDeployments),
				jsAPI + ">",
				jsAck + events.StreamStatus + ".>",
				jsAck + events.StreamRequests + ".>",
				jsFC,
			},
			Deny: []string{
				jsAPI + "STREAM.DELETE.>",
				jsAPI + "STREAM.PURGE.>",
				jsAPI + "STREAM.MSG.DELETE.>",
				jsAPI + "STREAM.SNAPSHOT.>",
				jsAPI + "STREAM.RESTORE.>",
				jsAPI + "STREAM.PEER.>",
				jsAPI + "STREAM.LEADER.>",
				jsAPI + "ACCOUNT.>",
				jsAPI + "META.>",
				jsAPI + "SERVER.>",
				jsAPI + "CONSUMER.*." + events.StreamCommands + ".>",
				jsAPI + "CONSUMER.MSG.NEXT." + events.StreamCommands + ".>",
			},
		},
		// Live heartbeats come by plain subscription (JetStream elections
		// must not silence them); nothing else is read outside the inbox.
		Subscribe: &server.SubjectPermission{Allow: []string{inbox + ".>", events.AgentHeartbeatAll}},
	}
}

// RolePermissions returns a role's permissions; agentID is for RoleAgent.
func RolePermissions(role, agentID string) (*server.Permissions, error) {
	user := role
	if role == RoleAgent {
		user = AgentUser(agentID)
	}
	return UserPermissions(user, role, agentID)
}

// UserPermissions are a role's permissions for a user of any name (its
// inbox is InboxPrefix(user)): e.g. the in-process users of drover
// standalone.
func UserPermissions(user, role, agentID string) (*server.Permissions, error) {
	inbox := InboxPrefix(user)
	switch role {
	case RoleAPI:
		return apiPermissions(inbox), nil
	case RoleScheduler:
		return schedulerPermissions(inbox), nil
	case RoleAgent:
		if !events.ValidAgentID(agentID) {
			return nil, fmt.Errorf("natsauth: invalid agent id %q", agentID)
		}
		return agentPermissions(agentID, inbox), nil
	}
	return nil, fmt.Errorf("natsauth: unknown role %q (want api, scheduler or agent)", role)
}
