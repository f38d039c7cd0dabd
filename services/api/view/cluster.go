package view

import (
	"cmp"
	"slices"
	"strings"

	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/services/api/readmodel"
	"github.com/nats-io/nats.go/jetstream"
)

// Cluster is GET /v2/drover/cluster: what Mesos' UI on :5050 showed
// (the agents, their resources and tasks, the leading master) and the
// health of the NATS cluster underneath. Marathon has no such endpoint.
type Cluster struct {
	Leader *ClusterLeader `json:"leader"` // null while no scheduler leads
	Agents []ClusterAgent `json:"agents"`
	NATS   ClusterNATS    `json:"nats"`
	API    ClusterReplica `json:"api"`
	Totals clusterTotals  `json:"totals"`
	States map[string]int `json:"agentStates"`
	// Held counts the tasks whose replacements the scheduler holds because
	// most agents went silent together (the queue's SilentMajority).
	Held int    `json:"heldReplacements"`
	Time string `json:"time"`
}

type ClusterLeader struct {
	SchedulerID string `json:"schedulerId"`
	Hostname    string `json:"hostname"`
	Epoch       uint64 `json:"epoch"`
	Since       string `json:"since"`
}

// clusterResources are an agent's (or the cluster's) resources; Ports
// counts host ports, PortRanges lists an agent's offered ranges.
type clusterResources struct {
	Cpus       float64            `json:"cpus"`
	Mem        float64            `json:"mem"`
	Disk       float64            `json:"disk"`
	Ports      int                `json:"ports"`
	PortRanges []events.PortRange `json:"portRanges,omitempty"`
}

type ClusterAgent struct {
	ID         string              `json:"id"`
	Hostname   string              `json:"hostname"`
	Address    string              `json:"address,omitempty"`
	Attributes map[string]string   `json:"attributes"`
	State      string              `json:"state"`
	LastSeen   string              `json:"lastSeen"`
	Total      clusterResources    `json:"total"`
	Used       clusterResources    `json:"used"`
	Docker     events.DockerHealth `json:"docker"`
	Policy     events.AgentPolicy  `json:"policy"`
	Tasks      []clusterTask       `json:"tasks"`
}

type clusterTask struct {
	ID        string  `json:"id"`
	AppID     string  `json:"appId"`
	State     string  `json:"state"`
	Ports     []int   `json:"ports"`
	Version   string  `json:"version"`
	StartedAt *string `json:"startedAt"`
	Healthy   *bool   `json:"healthy"`
}

type clusterTotals struct {
	Total clusterResources `json:"total"`
	Used  clusterResources `json:"used"`
	Tasks int              `json:"tasks"`
}

type ClusterReplica struct {
	ID       string `json:"id"`
	Hostname string `json:"hostname"`
	Version  string `json:"version"`
}

// ClusterNATS is the api replica's view of NATS: its connection, the
// servers it knows, its JetStream account, and the replicas of Drover's
// streams and buckets (a bucket is the stream KV_<bucket>).
type ClusterNATS struct {
	Status            string          `json:"status"`
	Connected         bool            `json:"connected"`
	ServerName        string          `json:"serverName"`
	ServerID          string          `json:"serverId"`
	ClusterName       string          `json:"clusterName"`
	ConnectedURL      string          `json:"connectedUrl"`
	Servers           []string        `json:"servers"`
	DiscoveredServers []string        `json:"discoveredServers"`
	RTTMillis         *float64        `json:"rttMs"`
	JetStream         *ClusterAccount `json:"jetstream"`
	Streams           []StreamHealth  `json:"streams"`
	Errors            []string        `json:"errors"`
}

type ClusterAccount struct {
	Domain     string `json:"domain,omitempty"`
	Memory     uint64 `json:"memory"`
	Storage    uint64 `json:"storage"`
	MaxMemory  int64  `json:"maxMemory"`
	MaxStorage int64  `json:"maxStorage"`
	Streams    int    `json:"streams"`
	Consumers  int    `json:"consumers"`
	APITotal   uint64 `json:"apiTotal"`
	APIErrors  uint64 `json:"apiErrors"`
}

// StreamHealth is one stream's replication: its leader and each peer,
// current or not. A single-node stream has no cluster info: its leader
// is the server it lives on and it has no peers.
type StreamHealth struct {
	Name     string       `json:"name"`
	Replicas int          `json:"replicas"`
	Leader   string       `json:"leader"`
	Peers    []streamPeer `json:"peers"`
	Messages uint64       `json:"messages"`
	Bytes    uint64       `json:"bytes"`
	Healthy  bool         `json:"healthy"`
}

type streamPeer struct {
	Name    string `json:"name"`
	Current bool   `json:"current"`
	Offline bool   `json:"offline"`
	Lag     uint64 `json:"lag"`
}

// ClusterAgents are the agents of the agents bucket, by hostname, each
// with its live tasks. What an agent uses is summed from those tasks (the
// current definition of each one's app, as the scheduler counts it), so
// it is as fresh as the tasks; the scheduler rewrites its own sum in the
// agents bucket only every few seconds.
func ClusterAgents(st *readmodel.State) ([]ClusterAgent, clusterTotals) {
	var totals clusterTotals
	byAgent := map[string][]events.Instance{}
	for _, in := range st.Instances {
		if !in.State.Terminal() {
			byAgent[in.AgentID] = append(byAgent[in.AgentID], in)
		}
	}
	out := make([]ClusterAgent, 0, len(st.Agents))
	for id, rec := range st.Agents {
		a := ClusterAgent{
			ID: id, Hostname: rec.Hostname, Address: rec.Address, Attributes: rec.Attributes, State: rec.State,
			LastSeen: FormatTime(rec.LastSeen), Docker: rec.Docker, Policy: rec.Policy, Tasks: []clusterTask{},
			Total: clusterResources{Cpus: rec.Total.Cpus, Mem: rec.Total.Mem, Disk: rec.Total.Disk,
				Ports: portCount(rec.Total.Ports), PortRanges: rec.Total.Ports},
		}
		if a.Attributes == nil {
			a.Attributes = map[string]string{}
		}
		tasks := byAgent[id]
		slices.SortFunc(tasks, func(x, y events.Instance) int {
			return cmp.Or(cmp.Compare(x.AppID, y.AppID), cmp.Compare(x.TaskID, y.TaskID))
		})
		for _, in := range tasks {
			if e, ok := st.Apps[in.AppID]; ok {
				app := e.Rec.App
				a.Used.Cpus += floatValue(app.Cpus)
				a.Used.Mem += floatValue(app.Mem)
				a.Used.Disk += floatValue(app.Disk)
			}
			a.Used.Ports += len(in.HostPorts)
			a.Tasks = append(a.Tasks, clusterTask{
				ID: in.TaskID, AppID: in.AppID, State: string(in.State), Ports: append([]int{}, in.HostPorts...),
				Version: in.Version, StartedAt: optTime(in.StartedAt), Healthy: in.Healthy(),
			})
		}
		totals.Total = addResources(totals.Total, a.Total)
		totals.Used = addResources(totals.Used, a.Used)
		totals.Tasks += len(a.Tasks)
		out = append(out, a)
	}
	totals.Total.PortRanges = nil
	slices.SortFunc(out, func(x, y ClusterAgent) int {
		return cmp.Or(cmp.Compare(x.Hostname, y.Hostname), cmp.Compare(x.ID, y.ID))
	})
	return out, totals
}

func addResources(a, b clusterResources) clusterResources {
	return clusterResources{Cpus: a.Cpus + b.Cpus, Mem: a.Mem + b.Mem, Disk: a.Disk + b.Disk, Ports: a.Ports + b.Ports}
}

func portCount(ranges []events.PortRange) int {
	n := 0
	for _, r := range ranges {
		if r.End >= r.Begin {
			n += r.End - r.Begin + 1
		}
	}
	return n
}

func NewStreamHealth(info *jetstream.StreamInfo, server string) StreamHealth {
	h := StreamHealth{
		Name: info.Config.Name, Replicas: info.Config.Replicas, Messages: info.State.Msgs, Bytes: info.State.Bytes,
		Peers: []streamPeer{}, Healthy: true,
	}
	if info.Cluster == nil {
		h.Leader = server
		return h
	}
	h.Leader = info.Cluster.Leader
	h.Healthy = h.Leader != ""
	for _, p := range info.Cluster.Replicas {
		if p == nil {
			continue
		}
		h.Peers = append(h.Peers, streamPeer{Name: p.Name, Current: p.Current, Offline: p.Offline, Lag: p.Lag})
		h.Healthy = h.Healthy && p.Current && !p.Offline
	}
	return h
}

// RedactURLs drops the credentials of server URLs.
func RedactURLs(urls []string) []string {
	out := make([]string, 0, len(urls))
	for _, u := range urls {
		if at := strings.LastIndex(u, "@"); at >= 0 {
			if scheme := strings.Index(u, "://"); scheme >= 0 && scheme < at {
				u = u[:scheme+3] + "[REDACTED]" + u[at:]
			}
		}
		out = append(out, u)
	}
	return out
}

// floatValue is *f, or 0 when f is nil.
func floatValue(f *float64) float64 {
	if f == nil {
		return 0
	}
	return *f
}
