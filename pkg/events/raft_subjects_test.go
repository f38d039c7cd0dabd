package events_test

import (
	"errors"
	"testing"

	"github.com/drover/drover/pkg/events"
)

func TestStepdownSubjects(t *testing.T) {
	if got, want := events.StreamLeaderStepdown("KV_leader"), "$JS.API.STREAM.LEADER.STEPDOWN.KV_leader"; got != want {
		t.Errorf("StreamLeaderStepdown = %q, want %q", got, want)
	}
	if got, want := events.ConsumerLeaderStepdown("DROVER_COMMANDS", "agent-a"), "$JS.API.CONSUMER.LEADER.STEPDOWN.DROVER_COMMANDS.agent-a"; got != want {
		t.Errorf("ConsumerLeaderStepdown = %q, want %q", got, want)
	}
}

func TestParseLeaderElected(t *testing.T) {
	for _, tc := range []struct {
		subject, stream, consumer string
		bad                       bool
	}{
		{subject: "$JS.EVENT.ADVISORY.STREAM.LEADER_ELECTED.KV_leader", stream: "KV_leader"},
		{subject: "$JS.EVENT.ADVISORY.CONSUMER.LEADER_ELECTED.DROVER_COMMANDS.agent-a", stream: "DROVER_COMMANDS", consumer: "agent-a"},
		{subject: "$JS.EVENT.ADVISORY.STREAM.LEADER_ELECTED.", bad: true},
		{subject: "$JS.EVENT.ADVISORY.STREAM.QUORUM_LOST.KV_leader", bad: true},
		{subject: "$JS.EVENT.ADVISORY.CONSUMER.LEADER_ELECTED.DROVER_COMMANDS", bad: true},
		{subject: "drover.agent.a.cmd", bad: true},
		{subject: "", bad: true},
	} {
		stream, consumer, err := events.ParseLeaderElected(tc.subject)
		if tc.bad {
			if !errors.Is(err, events.ErrBadSubject) {
				t.Errorf("ParseLeaderElected(%q) = %q, %q, %v; want ErrBadSubject", tc.subject, stream, consumer, err)
			}
			continue
		}
		if err != nil || stream != tc.stream || consumer != tc.consumer {
			t.Errorf("ParseLeaderElected(%q) = %q, %q, %v; want %q, %q", tc.subject, stream, consumer, err, tc.stream, tc.consumer)
		}
	}
}
