package agent

import (
	"testing"

	"github.com/drover/drover/pkg/events"
)

// A command, whatever its bytes, through what the agent does before it
// runs one: decode, check, policy, health and readiness checks. An error
// or a verdict, never a panic: a hostile command is terminated, not a
// crash of the consumer.
func FuzzCommand(f *testing.F) {
	for _, s := range []string{
		`{"v":1,"id":"c1","epoch":3,"kind":"launch","taskId":"web.instance-1._app.1","appId":"/web","launch":{"app":{"id":"/web",
		  "container":{"type":"DOCKER","docker":{"image":"httpd","privileged":true,"parameters":[{"key":"cap-add","value":"ALL"}]},
		  "volumes":[{"containerPath":"/d","hostPath":"/etc","mode":"RW"}]},
		  "healthChecks":[{"protocol":"TCP","portIndex":3}],"readinessChecks":[{"protocol":"HTTP","portName":"none"}]},"hostPorts":[1]}}`,
		`{"v":1,"id":"c2","epoch":3,"kind":"kill","taskId":"web.instance-1._app.1"}`,
		`{"v":1,"kind":"launch","taskId":"t"}`, `{"v":1,"kind":"reboot","taskId":"t"}`, `{"v":2}`, `not json`,
		`{"v":1,"kind":"launch","taskId":"t","launch":{"app":{"readinessChecks":[5,{"portName":7}]}}}`,
	} {
		f.Add([]byte(s))
	}
	policies := []events.AgentPolicy{{}, {AllowPrivileged: true}, {HostPathPrefixes: []string{"/srv"}, ImagePatterns: []string{"registry.example.com/*"}}}
	f.Fuzz(func(t *testing.T, data []byte) {
		cmd, err := events.Decode[events.Command](data)
		if err != nil || checkCommand(cmd) != nil || cmd.Launch == nil {
			return
		}
		spec, _ := cmd.Launch.Resolve()
		for _, p := range policies {
			_ = CheckPolicy(p, spec.Access)
		}
		cs, _ := CheckSpecOf(spec)
		_ = cs.Empty()
	})
}
