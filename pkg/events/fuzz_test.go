package events

import (
	"testing"
	"time"
)

// Every message decoder, fed anything: an error or a message, never a panic.
func FuzzDecode(f *testing.F) {
	seeds := []any{
		Heartbeat{V: Version, AgentID: "h1", Hostname: "h1", Resources: Resources{Cpus: 2, Mem: 1024, Ports: []PortRange{{31000, 32000}}},
			Tasks: []TaskReport{{TaskID: "web.instance-1._app.1", AppID: "/web", State: TaskRunning, HostPorts: []int{31000}}}, SentAt: time.Unix(1, 0)},
		Command{V: Version, ID: "c", Epoch: 3, Kind: CommandLaunch, TaskID: "t", AppID: "/web", Launch: &LaunchSpec{HostPorts: []int{31000}, Env: map[string]string{"PORT0": "31000"}}},
		TaskStatus{V: Version, AgentID: "h1", TaskID: "t", State: TaskFailed, Message: "exit code 1", Health: []HealthResult{{Alive: false, ConsecutiveFailures: 2}}},
		SchedulerRequest{V: Version, ID: "r", Kind: RequestKillTasks, TaskIDs: []string{"t"}},
		QueueEntry{V: Version, AppID: "/web", Count: 1, Rejected: map[string]int{"InsufficientCpus": 2}},
	}
	for _, s := range seeds {
		var data []byte
		switch m := s.(type) {
		case Heartbeat:
			data, _ = Encode(m)
		case Command:
			data, _ = Encode(m)
		case TaskStatus:
			data, _ = Encode(m)
		case SchedulerRequest:
			data, _ = Encode(m)
		case QueueEntry:
			data, _ = Encode(m)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"v":1,"launch":{"app":{"id":5}}}`))
	f.Add([]byte(`{"v":1,"taskId":"t","path":"../stdout","offset":-1,"length":65536}`))
	f.Add([]byte(`{"v":1,"tasks":[{"health":[{"index":-1}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = Decode[Heartbeat](data)
		_, _ = Decode[Command](data)
		_, _ = Decode[TaskStatus](data)
		_, _ = Decode[Instance](data)
		_, _ = Decode[AgentRecord](data)
		_, _ = Decode[AppRecord](data)
		_, _ = Decode[Deployment](data)
		_, _ = Decode[LeaderRecord](data)
		_, _ = Decode[QueueEntry](data)
		_, _ = Decode[SchedulerRequest](data)
		if r, err := Decode[SandboxRead](data); err == nil {
			_ = r.Validate()
		}
		_, _ = Decode[SandboxFile](data)
		_, _ = Decode[PlanDemandNotice](data)
	})
}

// Subject parsers, fed anything: never a panic, and a parsed id builds the
// same subject back.
func FuzzParseSubjects(f *testing.F) {
	for _, s := range []string{"drover.agent.h1.heartbeat", "drover.agent.h1.cmd", "drover.agent..status", "drover.events.x", "drover.agent.a.b.cmd"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, subject string) {
		if id, err := ParseAgentHeartbeat(subject); err == nil && AgentHeartbeat(id) != subject {
			t.Fatalf("heartbeat %q parsed to %q", subject, id)
		}
		if id, err := ParseAgentCommand(subject); err == nil && AgentCommand(id) != subject {
			t.Fatalf("command %q parsed to %q", subject, id)
		}
		if id, err := ParseAgentStatus(subject); err == nil && AgentStatus(id) != subject {
			t.Fatalf("status %q parsed to %q", subject, id)
		}
		if typ, err := ParseEvent(subject); err == nil && Event(typ) != subject {
			t.Fatalf("event %q parsed to %q", subject, typ)
		}
	})
}
