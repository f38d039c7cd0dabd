package consumers

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/drover/drover/test/consumertest"
)

// TestTerraformDeploymentEvents does what Terraform's Marathon provider does
// (through go-marathon): it follows /v2/events, creates an app and waits for
// a deployment_success whose id is one of the app's `deployments` in the
// POST's answer, updates it and waits for the one of the PUT's
// deploymentId, then deletes it and polls /v2/deployments until that
// deployment is gone (go-marathon's WaitOnDeployment).
func TestTerraformDeploymentEvents(t *testing.T) {
	d := consumertest.Start(t)
	events := followEvents(t, d.URL+"/v2/events")

	var created struct {
		Deployments []struct {
			ID string `json:"id"`
		} `json:"deployments"`
	}
	if err := json.Unmarshal(d.Must(http.MethodPost, "/v2/apps", consumertest.App("/tf/web", 1, 0), http.StatusCreated), &created); err != nil {
		t.Fatal(err)
	}
	if len(created.Deployments) != 1 || created.Deployments[0].ID == "" {
		t.Fatalf("POST's app has deployments %+v, want the one it started", created.Deployments)
	}
	waitDeploymentSuccess(t, d, events, created.Deployments[0].ID)

	var updated struct {
		DeploymentID string `json:"deploymentId"`
		Version      string `json:"version"`
	}
	if err := json.Unmarshal(d.Must(http.MethodPut, "/v2/apps/tf/web", map[string]any{"instances": 2}, http.StatusOK), &updated); err != nil {
		t.Fatal(err)
	}
	if updated.DeploymentID == "" || updated.Version == "" {
		t.Fatalf("PUT answered %+v, want deploymentId and version", updated)
	}
	waitDeploymentSuccess(t, d, events, updated.DeploymentID)
	d.Running("/tf/web", 2, 2*time.Minute)

	var deleted struct {
		DeploymentID string `json:"deploymentId"`
	}
	if err := json.Unmarshal(d.Must(http.MethodDelete, "/v2/apps/tf/web", nil, http.StatusOK), &deleted); err != nil {
		t.Fatal(err)
	}
	d.Eventually(2*time.Minute, func() error {
		var list []struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(d.Must(http.MethodGet, "/v2/deployments", nil, http.StatusOK), &list); err != nil {
			return err
		}
		if slices.ContainsFunc(list, func(x struct {
			ID string `json:"id"`
		}) bool {
			return x.ID == deleted.DeploymentID
		}) {
			return fmt.Errorf("deployment %s still listed", deleted.DeploymentID)
		}
		return nil
	})
}

// waitDeploymentSuccess waits for the deployment_success event of id, as
// Terraform does, and checks what go-marathon decodes of it.
func waitDeploymentSuccess(t *testing.T, d *consumertest.Drover, events *eventLog, id string) {
	t.Helper()
	d.Eventually(2*time.Minute, func() error {
		seen, err := events.snapshot()
		if err != nil {
			return err
		}
		for _, e := range seen {
			if e.Name == "deployment_failed" && e.Data["id"] == id {
				t.Fatalf("deployment_failed for %s: %v", id, e.Data)
			}
			if e.Name != "deployment_success" || e.Data["id"] != id {
				continue
			}
			if e.Data["eventType"] != "deployment_success" || e.Data["timestamp"] == nil {
				t.Fatalf("deployment_success %v lacks eventType or timestamp", e.Data)
			}
			plan, _ := e.Data["plan"].(map[string]any)
			if plan["id"] != id {
				t.Errorf("deployment_success plan.id = %v, want %s", plan["id"], id)
			}
			for _, field := range []string{"original", "target", "steps", "version"} {
				if _, ok := plan[field]; !ok {
					t.Errorf("deployment_success %s has no plan.%s", id, field)
				}
			}
			return nil
		}
		return fmt.Errorf("no deployment_success for %s among %d events", id, len(seen))
	})
}

// TestTraefikReadiness reads what Traefik's Marathon provider reads:
// /v2/apps?embed=apps.tasks&embed=apps.deployments&embed=apps.readiness, an
// app's readinessChecks and its readinessCheckResults (taskId, ready), and
// each task's startedAt in RFC 3339, with its host and ports.
func TestTraefikReadiness(t *testing.T) {
	d := consumertest.Start(t)
	app := consumertest.App("/traefik/web", 2, 0)
	app["container"].(map[string]any)["docker"].(map[string]any)["portMappings"].([]map[string]any)[0]["name"] = "http"
	app["readinessChecks"] = []map[string]any{{
		"name": "ready", "protocol": "HTTP", "path": "/healthz", "portName": "http",
		"intervalSeconds": 2, "timeoutSeconds": 1, "httpStatusCodesForReady": []int{200},
	}}
	app["labels"] = map[string]string{"traefik.frontend.rule": "Host:web.example"}
	d.Must(http.MethodPost, "/v2/apps", app, http.StatusCreated)
	d.Running("/traefik/web", 2, 2*time.Minute)

	type readiness struct {
		TaskID string `json:"taskId"`
		Ready  bool   `json:"ready"`
	}
	var got struct {
		Apps []struct {
			ID              string            `json:"id"`
			Labels          map[string]string `json:"labels"`
			ReadinessChecks []struct {
				Name     string `json:"name"`
				PortName string `json:"portName"`
			} `json:"readinessChecks"`
			ReadinessCheckResults *[]readiness `json:"readinessCheckResults"`
			Deployments           *[]any       `json:"deployments"`
			Tasks                 []struct {
				ID        string `json:"id"`
				Host      string `json:"host"`
				Ports     []int  `json:"ports"`
				State     string `json:"state"`
				StartedAt string `json:"startedAt"`
			} `json:"tasks"`
		} `json:"apps"`
	}
	d.Eventually(time.Minute, func() error {
		body := d.Must(http.MethodGet, "/v2/apps?embed=apps.tasks&embed=apps.deployments&embed=apps.readiness", nil, http.StatusOK)
		if err := json.Unmarshal(body, &got); err != nil {
			return err
		}
		if len(got.Apps) != 1 || len(got.Apps[0].Tasks) != 2 {
			return fmt.Errorf("apps = %s, want /traefik/web with 2 tasks", body)
		}
		a := got.Apps[0]
		if a.ReadinessCheckResults == nil || a.Deployments == nil {
			return fmt.Errorf("readinessCheckResults or deployments missing: %s", body)
		}
		// Marathon lists a task's readiness results while a deployment
		// waits for it, then drops them: Traefik takes a task without a
		// result as ready. Any result listed must name a task and be ready.
		for _, r := range *a.ReadinessCheckResults {
			if !slices.ContainsFunc(a.Tasks, func(tk struct {
				ID        string `json:"id"`
				Host      string `json:"host"`
				Ports     []int  `json:"ports"`
				State     string `json:"state"`
				StartedAt string `json:"startedAt"`
			}) bool {
				return tk.ID == r.TaskID
			}) || !r.Ready {
				return fmt.Errorf("readiness result %+v: not a ready task of the app", r)
			}
		}
		return nil
	})
	a := got.Apps[0]
	if len(a.ReadinessChecks) != 1 || a.ReadinessChecks[0].Name != "ready" || a.ReadinessChecks[0].PortName != "http" {
		t.Errorf("readinessChecks = %+v, want the app's", a.ReadinessChecks)
	}
	if a.Labels["traefik.frontend.rule"] != "Host:web.example" {
		t.Errorf("labels = %v", a.Labels)
	}
	for _, tk := range a.Tasks {
		if _, err := time.Parse(time.RFC3339, tk.StartedAt); err != nil {
			t.Errorf("task %s startedAt %q is not RFC 3339: %v", tk.ID, tk.StartedAt, err)
		}
		if tk.State != "TASK_RUNNING" || tk.Host != consumertest.Host || len(tk.Ports) != 1 {
			t.Errorf("task %+v, want running on %s with one port", tk, consumertest.Host)
		}
	}
}
