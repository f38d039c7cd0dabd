package testutil

import (
	"fmt"
	"net"
	"strconv"
	"testing"

	"github.com/drover/drover/internal/natsutil"
	"github.com/nats-io/nats-server/v2/server"
)

// RunNATSCluster starts n clustered JetStream servers (n1, n2, ...) on
// loopback, each routed to the others, stopped at cleanup. with, when not
// nil, adjusts each one's configuration (i from 0) before it starts.
func RunNATSCluster(t *testing.T, n int, with func(i int, c *natsutil.ServerConfig)) []*server.Server {
	t.Helper()
	ports := make([]string, n)
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ports[i] = strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
		_ = l.Close()
	}
	servers := make([]*server.Server, 0, n)
	for i := range ports {
		var routes []string
		for j, p := range ports {
			if j != i {
				routes = append(routes, "nats://127.0.0.1:"+p)
			}
		}
		cfg := natsutil.ServerConfig{
			Name: fmt.Sprintf("n%d", i+1), Listen: "127.0.0.1:-1", DataDir: t.TempDir(),
			ClusterName: "test", ClusterListen: "127.0.0.1:" + ports[i], Routes: routes,
		}
		if with != nil {
			with(i, &cfg)
		}
		ns, err := natsutil.StartServer(cfg, Logger(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
		servers = append(servers, ns)
	}
	return servers
}
