package e2e

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"
)

// TestUnhealthyContainerIsReplaced runs an app with an HTTP health check on
// real Docker, turns one container unhealthy (its /healthz answers 500), and
// waits for the scheduler to kill it and run a healthy replacement.
func TestUnhealthyContainerIsReplaced(t *testing.T) {
	cli := requireDocker(t)
	c := startCluster(t, cli, 1, 2)
	app := map[string]any{
		"id": "/health/web", "cpus": 0.1, "mem": 32, "instances": 2,
		"constraints": [][]string{{"hostname", "UNIQUE"}},
		"container": map[string]any{"type": "DOCKER", "docker": map[string]any{
			"image": testImage, "network": "BRIDGE",
			"portMappings": []map[string]any{{"containerPort": 80, "hostPort": 0}},
		}},
		"healthChecks": []map[string]any{{
			"protocol": "HTTP", "path": "/healthz", "portIndex": 0,
			"gracePeriodSeconds": 5, "intervalSeconds": 1, "timeoutSeconds": 1, "maxConsecutiveFailures": 2,
		}},
	}
	if code, body, err := c.api.do(http.MethodPost, "/v2/apps", app); err != nil || code != http.StatusCreated {
		t.Fatalf("POST: %d %v %s", code, err, body)
	}
	healthy := func() ([]task, error) {
		a, err := c.api.app("/health/web")
		if err != nil {
			return nil, err
		}
		var out []task
		for _, tk := range a.Tasks {
			if tk.State == "TASK_RUNNING" && len(tk.HealthCheckResults) == 1 && tk.HealthCheckResults[0].Alive {
				out = append(out, tk)
			}
		}
		return out, nil
	}
	var tasks []task
	eventually(t, 60*time.Second, func() (err error) {
		tasks, err = healthy()
		if err == nil && len(tasks) != 2 {
			err = fmt.Errorf("%d healthy tasks, want 2", len(tasks))
		}
		return err
	})

	victim := tasks[0]
	idx := slices.IndexFunc(c.hosts, func(h string) bool { return h == victim.Host })
	url := fmt.Sprintf("http://%s:%d/fail", c.addrs[idx], victim.Ports[0])
	resp, err := http.Post(url, "text/plain", nil)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	resp.Body.Close()
	turned := time.Now()
	eventually(t, 60*time.Second, func() error {
		now, err := healthy()
		if err != nil {
			return err
		}
		ids := taskIDs(now)
		if slices.Contains(ids, victim.ID) {
			return fmt.Errorf("the unhealthy task %s is still listed healthy or running", victim.ID)
		}
		if len(now) != 2 {
			return fmt.Errorf("%d healthy tasks, want 2", len(now))
		}
		return nil
	})
	t.Logf("unhealthy container replaced by a healthy one %s after its /healthz turned 500 (interval 1 s, 2 failures)", time.Since(turned))
	if n := len(containers(t, cli, "drover.task-id="+victim.ID)); n != 0 {
		t.Errorf("the unhealthy task's container is still there")
	}
}
