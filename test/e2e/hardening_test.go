package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
	"time"
)

// TestStandaloneInfoHostname: /v2/info's marathon_config.hostname is
// --hostname, not the OS hostname.
func TestStandaloneInfoHostname(t *testing.T) {
	requireDocker(t)
	httpAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	host := fmt.Sprintf("named-%d", time.Now().UnixNano()%1e6)
	start(t, "standalone", "standalone", "--data-dir", filepath.Join(t.TempDir(), "data"), "--http-addr", httpAddr,
		"--nats-addr", "", "--hostname", host, "--resources", "cpus=1,mem=256,disk=100,ports=[31340-31345]")
	var info struct {
		MarathonConfig struct {
			Hostname string `json:"hostname"`
		} `json:"marathon_config"`
	}
	eventually(t, 30*time.Second, func() error {
		resp, err := http.Get("http://" + httpAddr + "/v2/info")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("info %d", resp.StatusCode)
		}
		return json.NewDecoder(resp.Body).Decode(&info)
	})
	if info.MarathonConfig.Hostname != host {
		t.Errorf("marathon_config.hostname %q, want %q", info.MarathonConfig.Hostname, host)
	}
}
