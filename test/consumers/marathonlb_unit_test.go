package consumers

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestLBServices checks the marathon-lb generator on hand-written
// /v2/apps?embed=apps.tasks answers, one per networking mode marathon-lb
// knows, without Drover or Docker.
func TestLBServices(t *testing.T) {
	const apps = `{"apps": [
	  {"id": "/bridge/web", "labels": {"HAPROXY_GROUP": "external,internal", "HAPROXY_0_MODE": "http"},
	   "container": {"docker": {"network": "BRIDGE", "portMappings": [
	     {"containerPort": 80, "servicePort": 10001}, {"containerPort": 81, "servicePort": 10002}]}},
	   "healthChecks": [{"protocol": "HTTP"}],
	   "tasks": [
	     {"id": "a", "host": "10.0.0.1", "state": "TASK_RUNNING", "ports": [31001, 31002], "healthCheckResults": [{"alive": true}]},
	     {"id": "b", "host": "10.0.0.2", "state": "TASK_RUNNING", "ports": [31003, 31004], "healthCheckResults": [{"alive": false}]},
	     {"id": "c", "host": "10.0.0.3", "state": "TASK_RUNNING", "ports": [31005, 31006]},
	     {"id": "d", "host": "10.0.0.4", "state": "TASK_KILLING", "ports": [31007, 31008], "healthCheckResults": [{"alive": true}]},
	     {"id": "e", "host": "10.0.0.5", "state": "TASK_RUNNING", "ports": [31009, 31010], "healthCheckResults": [{"alive": true}], "draining": true}]},
	  {"id": "/host/api", "portDefinitions": [{"port": 10003}],
	   "tasks": [{"id": "f", "host": "10.0.0.6", "state": "TASK_RUNNING", "ports": [31011]}]},
	  {"id": "/overlay/db", "networks": [{"mode": "container", "name": "dcos"}],
	   "container": {"portMappings": [{"containerPort": 5432, "servicePort": 10004}]},
	   "tasks": [{"id": "g", "host": "10.0.0.7", "state": "TASK_RUNNING", "ports": [], "ipAddresses": [{"ipAddress": "9.0.0.1"}]}]},
	  {"id": "/private/app", "labels": {"HAPROXY_GROUP": "internal"}, "portDefinitions": [{"port": 10005}],
	   "tasks": [{"id": "h", "host": "10.0.0.8", "state": "TASK_RUNNING", "ports": [31012]}]}
	]}`
	var list lbApps
	if err := json.Unmarshal([]byte(apps), &list); err != nil {
		t.Fatal(err)
	}
	resolve := func(host string) (string, error) { return host, nil }
	describe := func(services []lbService) []string {
		var out []string
		for _, s := range services {
			var servers []string
			for _, b := range s.Backends {
				servers = append(servers, fmt.Sprintf("%s:%d/%v", b.IP, b.Port, b.Draining))
			}
			out = append(out, fmt.Sprintf("%s %s %s", s.Backend(), s.Mode, strings.Join(servers, ",")))
		}
		return out
	}
	want := []string{
		"bridge_web_10001 http 10.0.0.1:31001/false,10.0.0.5:31009/true",
		"bridge_web_10002 tcp 10.0.0.1:31002/false,10.0.0.5:31010/true",
		"host_api_10003 tcp 10.0.0.6:31011/false",
		"overlay_db_10004 tcp 9.0.0.1:5432/false",
	}
	if got := describe(lbServices(list.Apps, []string{"external"}, resolve)); !slices.Equal(got, want) {
		t.Errorf("group external:\n got %q\nwant %q", got, want)
	}
	got := describe(lbServices(list.Apps, []string{"internal"}, resolve))
	if len(got) != 3 || !strings.HasPrefix(got[2], "private_app_10005 ") {
		t.Errorf("group internal: %q, want bridge/web's two and private/app's", got)
	}
	if got := lbServices(list.Apps, []string{"*"}, resolve); len(got) != 5 {
		t.Errorf("group *: %d services, want 5", len(got))
	}

	cfg := haproxyConfig(lbServices(list.Apps, []string{"external"}, resolve))
	for _, line := range []string{
		"frontend bridge_web_10001\n  bind *:10001\n  mode http\n  use_backend bridge_web_10001\n",
		"  server 10_0_0_5_10_0_0_5_31009 10.0.0.5:31009 id 2 disabled\n",
		"backend overlay_db_10004\n  balance roundrobin\n  mode tcp\n  server 10_0_0_7_9_0_0_1_5432 9.0.0.1:5432 id 1\n",
	} {
		if !strings.Contains(cfg, line) {
			t.Errorf("config lacks %q:\n%s", line, cfg)
		}
	}
}
