package marathon

import "testing"

func TestValidateConstraints(t *testing.T) {
	c := func(constraint string) string { return `{"id":"/a","cmd":"x","constraints":[` + constraint + `]}` }
	runValidationCases(t, []validationCase{
		{name: "unique", js: c(`["hostname","UNIQUE"]`)},
		{name: "unique with empty value", js: c(`["hostname","UNIQUE",""]`)},
		{name: "cluster with value", js: c(`["rack","CLUSTER","r1"]`)},
		{name: "cluster without value", js: c(`["rack","CLUSTER"]`)},
		{name: "group by", js: c(`["rack","GROUP_BY"]`)},
		{name: "group by count", js: c(`["rack","GROUP_BY","3"]`)},
		{name: "like", js: c(`["hostname","LIKE","srv[0-9]+"]`)},
		{name: "unlike", js: c(`["@hostname","UNLIKE","db.*"]`)},
		{name: "max per", js: c(`["rack","MAX_PER","2"]`)},
		{name: "is", js: c(`["os","IS","linux"]`)},

		{name: "unique with value", js: c(`["hostname","UNIQUE","x"]`), path: "/constraints(0)", msg: "Value specified but not used"},
		{name: "group by text", js: c(`["rack","GROUP_BY","many"]`), path: "/constraints(0)", msg: "Value was specified but is not a number"},
		{name: "like without value", js: c(`["hostname","LIKE"]`), path: "/constraints(0)", msg: "A regular expression value must be provided"},
		{name: "like bad regex", js: c(`["hostname","LIKE","srv("]`), path: "/constraints(0)", msg: "'srv(' is not a valid regular expression"},
		{name: "unlike bad regex", js: c(`["hostname","UNLIKE","*"]`), path: "/constraints(0)", msg: "'*' is not a valid regular expression"},
		{name: "max per without value", js: c(`["rack","MAX_PER"]`), path: "/constraints(0)", msg: "Value was not specified or is not a number"},
		{name: "max per text", js: c(`["rack","MAX_PER","two"]`), path: "/constraints(0)", msg: "Value was not specified or is not a number"},
		{name: "is without value", js: c(`["os","IS"]`), path: "/constraints(0)", msg: "Missing value"},
		{name: "unknown operator", js: c(`["hostname","unique"]`), path: "/constraints(0)", msg: msgOperator},
		{name: "one field", js: c(`["hostname"]`), path: "/constraints(0)", msg: "Each constraint must have either 2 or 3 fields"},
		{name: "four fields", js: c(`["a","CLUSTER","b","c"]`), path: "/constraints(0)", msg: "Each constraint must have either 2 or 3 fields"},
		{name: "no field", js: c(`["","UNIQUE"]`), path: "/constraints(0)", msg: "Missing field and operator"},
		{name: "second constraint", js: c(`["hostname","UNIQUE"],["rack","MAX_PER"]`), path: "/constraints(1)",
			msg: "Value was not specified or is not a number"},
	})
}

func TestValidateUpgradeStrategy(t *testing.T) {
	u := func(s string) string { return `{"id":"/a","cmd":"x","upgradeStrategy":` + s + `}` }
	runValidationCases(t, []validationCase{
		{name: "bounds", js: u(`{"minimumHealthCapacity":0,"maximumOverCapacity":1}`)},
		{name: "min above 1", js: u(`{"minimumHealthCapacity":1.2}`), path: "/upgradeStrategy/minimumHealthCapacity", msg: "is greater than 1"},
		{name: "min below 0", js: u(`{"minimumHealthCapacity":-0.1}`), path: "/upgradeStrategy/minimumHealthCapacity", msg: "is less than 0"},
		{name: "max above 1", js: u(`{"maximumOverCapacity":2}`), path: "/upgradeStrategy/maximumOverCapacity", msg: "is greater than 1"},
		{name: "single instance", js: `{"id":"/a","cmd":"x","labels":{"MARATHON_SINGLE_INSTANCE_APP":"true"},
			"upgradeStrategy":{"minimumHealthCapacity":0.5,"maximumOverCapacity":0}}`,
			path: "/upgradeStrategy/minimumHealthCapacity", msg: "got 0.5, expected 0.0"},
		{name: "single instance count", js: `{"id":"/a","cmd":"x","instances":2,"labels":{"MARATHON_SINGLE_INSTANCE_APP":"true"}}`,
			path: "/", msg: "Single instance app may only have one instance"},
		{name: "unreachable disabled", js: `{"id":"/a","cmd":"x","unreachableStrategy":"disabled"}`},
		{name: "unreachable bad", js: `{"id":"/a","cmd":"x","unreachableStrategy":"sometimes"}`, path: "/unreachableStrategy",
			msg: "is not one of (disabled)"},
		{name: "unreachable order", js: `{"id":"/a","cmd":"x","unreachableStrategy":{"inactiveAfterSeconds":60,"expungeAfterSeconds":30}}`,
			path: "/unreachableStrategy", msg: "expungeAfterSeconds must be greater than or equal to inactiveAfterSeconds"},
	})
}

func TestValidateHealthChecks(t *testing.T) {
	h := func(checks string) string { return `{"id":"/a","cmd":"x","healthChecks":[` + checks + `]}` }
	bridge := func(checks string) string {
		return `{"id":"/a","container":{"docker":{"image":"x","network":"BRIDGE","portMappings":[{"containerPort":80}]}},
			"healthChecks":[` + checks + `]}`
	}
	runValidationCases(t, []validationCase{
		{name: "http default port", js: h(`{"protocol":"HTTP","path":"/health"}`)},
		{name: "tcp with port", js: h(`{"protocol":"TCP","port":8080}`)},
		{name: "command", js: h(`{"protocol":"COMMAND","command":{"value":"curl -f localhost"}}`)},
		{name: "bridge index", js: bridge(`{"protocol":"HTTP","portIndex":0}`)},
		{name: "zero failures", js: h(`{"maxConsecutiveFailures":0}`)},
		{name: "one mesos check", js: h(`{"protocol":"MESOS_HTTP"},{"protocol":"HTTP"}`)},

		{name: "bad protocol", js: h(`{"protocol":"HTTP2"}`), path: "/healthChecks(0)/protocol",
			msg: "is not one of (HTTP,HTTPS,TCP,COMMAND,MESOS_HTTP,MESOS_HTTPS,MESOS_TCP)"},
		{name: "command without command", js: h(`{"protocol":"COMMAND"}`), path: "/healthChecks(0)/command", msg: msgNotEmpty},
		{name: "negative interval", js: h(`{"intervalSeconds":-1}`), path: "/healthChecks(0)/intervalSeconds", msg: "got -1, expected 0 or more"},
		{name: "port index out of range", js: h(`{"portIndex":1}`), path: "/healthChecks(0)", msg: msgHealthPortIndex},
		{name: "bridge without mappings", js: `{"id":"/a","container":{"docker":{"image":"x","network":"BRIDGE"}},"healthChecks":[{}]}`,
			path: "/healthChecks(0)", msg: msgHealthPortIndex},
		{name: "bridge index out of range", js: bridge(`{"portIndex":2}`), path: "/healthChecks(0)", msg: msgHealthPortIndex},
		{name: "two mesos checks", js: h(`{"protocol":"MESOS_HTTP"},{"protocol":"MESOS_TCP"}`), path: "/",
			msg: "AppDefinition can contain at most one Mesos health check"},
	})
}

func TestValidateReadinessChecks(t *testing.T) {
	r := func(checks string) string {
		return `{"id":"/a","cmd":"x","portDefinitions":[{"port":0,"name":"api"}],"readinessChecks":[` + checks + `]}`
	}
	runValidationCases(t, []validationCase{
		{name: "valid", js: r(`{"name":"ready","protocol":"HTTP","path":"/","portName":"api","intervalSeconds":2,"timeoutSeconds":1}`)},
		{name: "two", js: r(`{"portName":"api"},{"portName":"api"}`), path: "/readinessChecks", msg: "got 2, expected 1 or less"},
		{name: "unknown port", js: r(`{"portName":"web"}`), path: "/readinessChecks(0)/portName",
			msg: "No port definition reference for portName web"},
		{name: "timeout", js: r(`{"portName":"api","intervalSeconds":2,"timeoutSeconds":2}`),
			path: "/readinessChecks(0)/timeoutSeconds", msg: "got 2, expected less than 2"},
		{name: "protocol", js: r(`{"portName":"api","protocol":"TCP"}`), path: "/readinessChecks(0)/protocol", msg: "is not one of (HTTP,HTTPS)"},
		{name: "not an object", js: r(`"ready"`), path: "/readinessChecks(0)", msg: "must be an object"},
	})
}
