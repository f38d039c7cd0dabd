package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/drover/drover/services/agent/sandbox/sandboxtest"
)

// TestDockerAppFetch: a Docker app's fetch is downloaded by its agent
// (from a server on the host's loopback, which the container could not
// reach, with --fetch-allow-local), extracted into the task's sandbox under standalone's data
// directory, and mounted at /mnt/mesos/sandbox, where the container serves
// it from; the api reads the sandbox's files; a fetch that fails is the
// app's last task failure, saying why; deleting the apps removes their
// sandboxes.
func TestDockerAppFetch(t *testing.T) {
	cli := requireDocker(t)
	cs, _ := startCommandStandalone(t, "--fetch-allow-local") // the test's server is on the loopback
	removeContainers(t, cli, "drover.agent-id="+cs.host)
	dataDir := cs.args[slices.Index(cs.args, "--data-dir")+1]
	sandboxes := filepath.Join(dataDir, "docker-sandboxes", cs.host)
	base := sandboxtest.Serve(t, map[string][]byte{
		"/site.tar.gz": sandboxtest.Gzip(t, sandboxtest.Tar(t, sandboxtest.Entry{Name: "site/index.html", Body: "fetched for a container\n"})),
	})
	docker := func(id string, fetch ...map[string]any) map[string]any {
		return map[string]any{
			"id": id, "cpus": 0.1, "mem": 32, "instances": 1, "args": []string{"-dir", "/mnt/mesos/sandbox/site"},
			"container": map[string]any{"type": "DOCKER", "docker": map[string]any{"image": testImage, "network": "BRIDGE"},
				"portMappings": []map[string]any{{"containerPort": 80, "hostPort": 0}}},
			"fetch": fetch,
		}
	}

	cs.mustDo(http.MethodPost, "/v2/apps", docker("/dsb/web", map[string]any{"uri": base + "/site.tar.gz"}), http.StatusCreated)
	tk := cs.running("/dsb/web", 1, 60*time.Second)[0]
	eventually(t, 30*time.Second, func() error { // the container's server may not listen yet
		code, body, err := api{t: t, base: fmt.Sprintf("http://127.0.0.1:%d", tk.Ports[0])}.do(http.MethodGet, "/index.html", nil)
		if err != nil || code != http.StatusOK || string(body) != "fetched for a container\n" {
			return fmt.Errorf("GET the container's page: %d %v %q", code, err, body)
		}
		return nil
	})
	var file struct {
		Data string `json:"data"`
		Size int64  `json:"size"`
	}
	if err := json.Unmarshal(cs.mustDo(http.MethodGet, "/v2/tasks/"+tk.ID+"/files/site/index.html", nil, http.StatusOK), &file); err != nil ||
		file.Data != "fetched for a container\n" || file.Size != 24 {
		t.Errorf("the api reads the container's sandbox file as %+v, %v", file, err)
	}
	if _, err := os.Stat(filepath.Join(sandboxes, tk.ID, "site.tar.gz")); err != nil {
		t.Errorf("the sandbox on the host: %v", err)
	}

	cs.mustDo(http.MethodPost, "/v2/apps", docker("/dsb/bad", map[string]any{"uri": base + "/missing.tgz"}), http.StatusCreated)
	eventually(t, 60*time.Second, func() error {
		var out struct {
			App struct {
				LastTaskFailure *struct{ State, Message string } `json:"lastTaskFailure"`
			} `json:"app"`
		}
		if err := json.Unmarshal(cs.mustDo(http.MethodGet, "/v2/apps/dsb/bad", nil, http.StatusOK), &out); err != nil {
			return err
		}
		f := out.App.LastTaskFailure
		if f == nil || f.State != "TASK_FAILED" || !strings.Contains(f.Message, "fetch failed: fetch "+base+"/missing.tgz: GET: 404 Not Found") {
			return fmt.Errorf("last failure %+v, want TASK_FAILED saying the fetch's 404", f)
		}
		return nil
	})

	cs.mustDo(http.MethodDelete, "/v2/groups/dsb?force=true", nil, http.StatusOK)
	eventually(t, 60*time.Second, func() error {
		if left := containers(t, cli, "drover.agent-id="+cs.host); len(left) > 0 {
			return fmt.Errorf("%d containers left", len(left))
		}
		if left, err := os.ReadDir(sandboxes); err != nil || len(left) > 0 {
			return fmt.Errorf("sandboxes left: %v %v", left, err)
		}
		return nil
	})
}
