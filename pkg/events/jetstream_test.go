package events

import "testing"

// The names of NATS' own subjects and headers are the server's and nats.go's,
// spelled out here so that a typo in jetstream.go cannot hide.
func TestJetStreamNames(t *testing.T) {
	for _, tt := range []struct{ got, want string }{
		{KVSubject("apps", "grp/web"), "$KV.apps.grp/web"},
		{KVSubject(BucketLeader, LeaderKey), LeaderKeySubject},
		{LeaderKeySubject, "$KV.leader.scheduler"},
		{KVSubject("agents", ">"), "$KV.agents.>"},
		{KVStream("apps"), "KV_apps"},
		{InboxPrefix("api"), "_INBOX.api"},
		{JSAPIPrefix, "$JS.API."},
		{JSAckPrefix, "$JS.ACK."},
		{JSFlowControlPrefix, "$JS.FC."},
		{HeaderKVOperation, "KV-Operation"},
		{KVOperationDelete, "DEL"},
		{KVOperationPurge, "PURGE"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}
