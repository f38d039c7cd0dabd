package e2e

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// TestAcknowledgedAppSurvivesSIGKILL kills standalone (SIGKILL: no
// shutdown, no flush) the moment its API answers 201, starts it again on
// the same data directory, and finds every app it acknowledged: a 201
// means the app is in the JetStream store. It does so with NATS' default
// fsync policy (written to the file before the ack, fsynced every 2
// minutes: survives the process dying) and with --sync-always (fsynced
// before the ack: survives the machine dying too, which this test cannot
// show).
func TestAcknowledgedAppSurvivesSIGKILL(t *testing.T) {
	requireDocker(t)
	for _, sync := range []bool{false, true} {
		t.Run("sync-always="+strconv.FormatBool(sync), func(t *testing.T) {
			dataDir := filepath.Join(t.TempDir(), "data")
			host := "durable-" + strconv.FormatInt(time.Now().UnixNano()%1e6, 36)
			httpAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
			args := []string{"standalone", "--data-dir", dataDir, "--http-addr", httpAddr,
				"--nats-addr", "", "--hostname", host, "--resources", "cpus=1,mem=256,disk=100,ports=[31200-31210]"}
			if sync {
				args = append(args, "--sync-always")
			}
			a := api{t: t, base: "http://" + httpAddr}

			first := start(t, "standalone-1", args...)
			waitPing(t, a)
			const n = 20
			for i := range n {
				app := map[string]any{"id": fmt.Sprintf("/durable/app-%02d", i), "cmd": "sleep 3600", "cpus": 0.01, "mem": 8, "instances": 0}
				code, body, err := a.do(http.MethodPost, "/v2/apps", app)
				if err != nil || code != http.StatusCreated {
					t.Fatalf("POST %d: %d %v %s", i, code, err, body)
				}
			}
			first.stop(syscall.SIGKILL) // right after the last 201

			start(t, "standalone-2", args...)
			waitPing(t, a)
			for i := range n {
				id := fmt.Sprintf("/durable/app-%02d", i)
				eventually(t, 10*time.Second, func() error {
					if _, err := a.app(id); err != nil {
						return fmt.Errorf("%s after SIGKILL and restart: %w", id, err)
					}
					return nil
				})
			}
		})
	}
}
