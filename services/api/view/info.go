package view

// Info is GET /v2/info. Drover has no ZooKeeper and no Mesos
// framework: zookeeper_config is {"zk": null} and frameworkId null.
// Version is the Marathon API level Drover implements, numeric as
// clients compare it; Drover's own release is DroverVersion, its commit
// BuildRef.
type Info struct {
	Name            string         `json:"name"`
	Version         string         `json:"version"`
	DroverVersion   string         `json:"drover_version"`
	BuildRef        string         `json:"buildref"`
	Elected         bool           `json:"elected"`
	Leader          *string        `json:"leader"`
	FrameworkID     *string        `json:"frameworkId"`
	MarathonConfig  MarathonConfig `json:"marathon_config"`
	ZookeeperConfig map[string]any `json:"zookeeper_config"`
	// EventSubscriber is Marathon 1.4's (go-marathon's Info reads it):
	// null unless the api runs the http_callback subscriber.
	EventSubscriber *EventSubscriber `json:"event_subscriber"`
	HTTPConfig      HTTPConfig       `json:"http_config"`
}

// EventSubscriber is /v2/info's event_subscriber: the subscriber's type
// and Marathon's --http_endpoints, the URLs given on its command line
// (Drover has none: callbacks are registered through
// /v2/eventSubscriptions), null as Marathon wrote an unset flag.
type EventSubscriber struct {
	Type          string   `json:"type"`
	HTTPEndpoints []string `json:"http_endpoints"`
}

// MarathonConfig is the part of Marathon's marathon_config that means
// something for Drover, with Marathon's names.
type MarathonConfig struct {
	Master                         string   `json:"master"`
	Hostname                       string   `json:"hostname"`
	FrameworkName                  string   `json:"framework_name"`
	HA                             bool     `json:"ha"`
	Checkpoint                     bool     `json:"checkpoint"`
	Executor                       string   `json:"executor"`
	Features                       []string `json:"features"`
	LeaderProxyConnectionTimeoutMS int      `json:"leader_proxy_connection_timeout_ms"`
	LeaderProxyReadTimeoutMS       int      `json:"leader_proxy_read_timeout_ms"`
	LocalPortMin                   int      `json:"local_port_min"`
	LocalPortMax                   int      `json:"local_port_max"`
	MesosLeaderUIURL               *string  `json:"mesos_leader_ui_url"`
	MesosRole                      *string  `json:"mesos_role"`
	MesosUser                      *string  `json:"mesos_user"`
	WebUIURL                       *string  `json:"webui_url"`
}

type HTTPConfig struct {
	HTTPPort   int     `json:"http_port"`
	HTTPSPort  *int    `json:"https_port"`
	AssetsPath *string `json:"assets_path"`
}
