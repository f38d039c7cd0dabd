package bench

import "testing"

func TestSubjectGroup(t *testing.T) {
	for subject, want := range map[string]string{
		"drover.agent.a-17.heartbeat":              "drover.agent.*.heartbeat",
		"drover.agent.a-17.status":                 "drover.agent.*.status",
		"drover.events.deployment_info":            "drover.events.deployment_info",
		"$KV.instances.bench.app-0001.x1":          "$KV.instances.>",
		"$JS.API.CONSUMER.CREATE.KV_apps.c1.$KV.>": "$JS.API.CONSUMER.CREATE.KV_apps.>",
		"$JS.API.INFO":                             "$JS.API.INFO",
		"$JS.ACK.KV_apps.c1.1.2.3.4.5":             "$JS.ACK.KV_apps.>",
		"_INBOX.abc.def":                           "_INBOX.>",
		"drover.scheduler.requests":                "drover.scheduler.>",
		"single":                                   "single",
	} {
		if got := subjectGroup(subject); got != want {
			t.Errorf("subjectGroup(%q) = %q, want %q", subject, got, want)
		}
	}
}
