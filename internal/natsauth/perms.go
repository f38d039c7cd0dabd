package natsauth

import (
	"fmt"
	"time"

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

// jsFC is every JetStream flow-control subject.
const jsFC = events.JSFlowControlPrefix + ">"

// kvSubjects is every key of a bucket: $KV.<bucket>.>
func kvSubjects(bucket string) string { return events.KVSubject(bucket, ">") }

// AgentPermissions are an agent's: publish its own heartbeats and task
// statuses; create, read from and acknowledge its own durable command
// consumer, filtered on its own command subject (the subject of the create
// request carries the filter, and the server refuses a body that names
// another); read the leader record, once at start (a direct get) and then
// by plain subscription to its key's subject; receive replies on its own
// inbox; take the reads of its own tasks' sandbox files (AgentSandbox) and
// answer each once (a response permission: one message to the requester's
// inbox, within a minute). Nothing else: not another agent's subjects,
// sandbox reads or consumer, not a bucket, not the commands it would like
// to have.
func AgentPermissions(agentID string) *server.Permissions {
	return agentPermissions(agentID, events.InboxPrefix(AgentUser(agentID)))
}

func agentPermissions(agentID, inbox string) *server.Permissions {
	cons := events.AgentCommandConsumer(agentID)
	cmds := events.StreamCommands + "." + cons
	leader := events.KVStream(events.BucketLeader)
	return &server.Permissions{
		Publish: &server.SubjectPermission{Allow: []string{
			events.AgentHeartbeat(agentID),
			events.AgentStatus(agentID),
			events.JSAPIPrefix + "CONSUMER.CREATE." + cmds + "." + events.AgentCommand(agentID),
			events.JSAPIPrefix + "CONSUMER.INFO." + cmds,
			events.JSAPIPrefix + "CONSUMER.MSG.NEXT." + cmds,
			events.JSAckPrefix + cmds + ".>",
			events.JSAPIPrefix + "STREAM.INFO." + leader,
			events.JSAPIPrefix + "DIRECT.GET." + leader + "." + events.LeaderKeySubject,
		}},
		Subscribe: &server.SubjectPermission{Allow: []string{
			inbox + ".>",
			events.LeaderKeySubject,
			events.AgentSandbox(agentID),
		}},
		Response: &server.ResponsePermission{MaxMsgs: 1, Expires: time.Minute},
	}
}

// apiStreams are the streams the api reads: the buckets it follows, and
// the events stream behind /v2/events.
var apiStreams = []string{
	events.KVStream(events.BucketApps), events.KVStream(events.BucketDeployments), events.KVStream(events.BucketInstances),
	events.KVStream(events.BucketAgents), events.KVStream(events.BucketLeader), events.KVStream(events.BucketQueue),
	events.KVStream(events.BucketSubscribers), events.KVStream(events.BucketPortClaims), events.StreamEvents,
}

// APIPermissions are the api's: write the apps, deployments, subscribers
// and port claims buckets, publish Marathon events, requests to the
// scheduler leader and reads of sandbox files to agents, read (watch,
// get, follow) its buckets and the events stream, acknowledge what the
// shared callback consumer delivers, and announce and hear the demand
// for full deployment plans (events.PlanDemand). Never an agent's
// command subject, the leader lock, or the instances the scheduler records;
// no stream it may create, change or delete.
func APIPermissions() *server.Permissions { return apiPermissions(events.InboxPrefix(RoleAPI)) }

func apiPermissions(inbox string) *server.Permissions {
	pub := []string{
		kvSubjects(events.BucketApps),
		kvSubjects(events.BucketDeployments),
		kvSubjects(events.BucketSubscribers),
		kvSubjects(events.BucketPortClaims),
		events.SchedulerRequests,
		events.AgentSandboxAll,
		events.EventAll,
		events.PlanDemand,
		events.JSAckPrefix + events.StreamEvents + "." + events.CallbackConsumer + ".>",
		jsFC,
	}
	for _, s := range apiStreams {
		pub = append(pub,
			events.JSAPIPrefix+"STREAM.INFO."+s,
			events.JSAPIPrefix+"CONSUMER.CREATE."+s+".>",
			events.JSAPIPrefix+"CONSUMER.INFO."+s+".*",
			events.JSAPIPrefix+"CONSUMER.DELETE."+s+".*",
			events.JSAPIPrefix+"CONSUMER.MSG.NEXT."+s+".*",
			events.JSAPIPrefix+"DIRECT.GET."+s,
			events.JSAPIPrefix+"DIRECT.GET."+s+".>",
			events.JSAPIPrefix+"STREAM.MSG.GET."+s,
		)
	}
	return &server.Permissions{
		Publish:   &server.SubjectPermission{Allow: pub},
		Subscribe: &server.SubjectPermission{Allow: []string{inbox + ".>", events.PlanDemand}},
	}
}

// SchedulerPermissions are a scheduler's: it sets up the streams and
// buckets, holds the leader lock, sends agents their commands, records
// instances, agents, the queue and finished deployments, consumes the
// status and request streams, subscribes to agents' heartbeats and to the
// api's notices of demand for full plans, and reads everything. It is the
// most trusted role (it can run anything on any agent), yet it cannot
// write an app definition, delete or purge a stream, consume an agent's
// commands, or announce demand for full plans.
func SchedulerPermissions() *server.Permissions {
	return schedulerPermissions(events.InboxPrefix(RoleScheduler))
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
				events.JSAPIPrefix + ">",
				events.JSAckPrefix + events.StreamStatus + ".>",
				events.JSAckPrefix + events.StreamRequests + ".>",
				jsFC,
			},
			Deny: []string{
				events.JSAPIPrefix + "STREAM.DELETE.>",
				events.JSAPIPrefix + "STREAM.PURGE.>",
				events.JSAPIPrefix + "STREAM.MSG.DELETE.>",
				events.JSAPIPrefix + "STREAM.SNAPSHOT.>",
				events.JSAPIPrefix + "STREAM.RESTORE.>",
				events.JSAPIPrefix + "STREAM.PEER.>",
				events.JSAPIPrefix + "ACCOUNT.>",
				events.JSAPIPrefix + "META.>",
				events.JSAPIPrefix + "SERVER.>",
				events.JSAPIPrefix + "CONSUMER.*." + events.StreamCommands + ".>",
				events.JSAPIPrefix + "CONSUMER.MSG.NEXT." + events.StreamCommands + ".>",
			},
		},
		// Live heartbeats come by plain subscription (JetStream elections
		// must not silence them), and so do JetStream's advisories of
		// leader elections (the leader moves NATS leaders off its own
		// master, and asks for it with the leader stepdowns allowed above)
		// and the api's notices of demand for full plans (core NATS only);
		// nothing else is read outside the inbox.
		Subscribe: &server.SubjectPermission{Allow: []string{inbox + ".>", events.AgentHeartbeatAll,
			events.StreamLeaderElectedAll, events.ConsumerLeaderElectedAll, events.PlanDemand}},
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
// inbox is events.InboxPrefix(user)): e.g. the in-process users of drover
// standalone.
func UserPermissions(user, role, agentID string) (*server.Permissions, error) {
	inbox := events.InboxPrefix(user)
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
