package uitest

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/drover/drover/services/agent"
	"github.com/drover/drover/services/agent/memruntime"
)

// hostCommands stands for the command runtime: an in-memory runtime whose
// tasks' stdout is a long log (line 1 to 5000) and whose stderr is empty.
type hostCommands struct{ *memruntime.Runtime }

func (h hostCommands) Has(taskID string) bool { _, ok := h.Task(taskID); return ok }

var longLog = func() []byte {
	var b strings.Builder
	for i := 1; i <= 5000; i++ {
		fmt.Fprintf(&b, "line %d of the task's stdout\n", i)
	}
	return []byte(b.String())
}()

func (h hostCommands) ReadSandbox(_ context.Context, taskID, path string, offset, length int64) (agent.SandboxChunk, error) {
	if !h.Has(taskID) {
		return agent.SandboxChunk{}, agent.ErrSandboxNotFound
	}
	var data []byte
	switch path {
	case "stdout":
		data = longLog
	case "stderr":
	default:
		return agent.SandboxChunk{}, agent.ErrSandboxNotFound
	}
	size := int64(len(data))
	if offset < 0 {
		offset = max(size-length, 0)
	}
	from := min(offset, size)
	return agent.SandboxChunk{Data: data[from:min(from+length, size)], Offset: offset, Size: size}, nil
}

// TestUISandboxFiles: a host command's task row links its stdout and
// stderr; stdout opens at its tail, older parts come on demand, and a
// container's row has no link.
func TestUISandboxFiles(t *testing.T) {
	c := newCluster(t)
	b := newBrowser(t, c)
	c.startScheduler("sched-1", "master1")
	c.startAgentOn("host1", nil, func(containers *memruntime.Runtime) agent.Runtime {
		return &agent.Routed{Containers: containers, Commands: hostCommands{memruntime.New()}}
	})
	c.call(http.MethodPost, "/v2/apps", map[string]any{"id": "/hello", "cmd": "echo hello; sleep 1000", "cpus": 0.1, "mem": 32}, http.StatusCreated, nil)
	c.call(http.MethodPost, "/v2/apps", map[string]any{"id": "/web", "cpus": 0.1, "mem": 32,
		"container": map[string]any{"type": "DOCKER", "docker": map[string]any{"image": "nginx"}}}, http.StatusCreated, nil)
	c.waitRunning("/hello", 1)
	c.waitRunning("/web", 1)

	b.do("open /web's page", chromedp.Navigate(c.browserURL+"/ui/#/app/web"))
	b.waitJS("/web's task, without sandbox links", 10*time.Second,
		`document.querySelectorAll("#tasks-body tr").length === 1 && !document.querySelector("#tasks-body [data-file]")`)

	b.eval(`location.hash = "#/app/hello"`, nil)
	b.waitJS("/hello's task, with its files", 10*time.Second, `!!document.querySelector('#tasks-body button[data-file="stdout"]')`)
	b.click(`#tasks-body button[data-file="stdout"]`)
	b.waitJS("stdout's tail", 10*time.Second, `(() => {
		const pre = document.getElementById("task-file-body");
		return !document.getElementById("task-file").hidden && pre.textContent.endsWith("line 5000 of the task's stdout\n") &&
			!pre.textContent.includes("line 1 of the task's stdout\n");
	})()`)
	b.audit("sandbox file")
	for range 10 { // 64 KiB a click: 3 parts in all
		var done bool
		var shown int
		b.eval(`document.getElementById("task-file-older").disabled`, &done)
		if done {
			break
		}
		b.eval(`document.getElementById("task-file-body").textContent.length`, &shown)
		b.click("#task-file-older")
		b.waitJS("an older part", 10*time.Second, fmt.Sprintf(`document.getElementById("task-file-body").textContent.length > %d`, shown))
	}
	b.waitJS("the whole of stdout", 20*time.Second, `document.getElementById("task-file-body").textContent.startsWith("line 1 of the task's stdout\n") &&
		document.getElementById("task-file-older").disabled`)

	b.click(`#tasks-body button[data-file="stderr"]`)
	b.waitJS("stderr, empty", 10*time.Second, `document.getElementById("task-file-title").textContent.startsWith("stderr") &&
		document.getElementById("task-file-body").textContent === "" && document.getElementById("task-file").textContent.includes("Empty.")`)
	b.click("#task-file-close")
	b.waitJS("closed", 5*time.Second, `document.getElementById("task-file").hidden`)
}
