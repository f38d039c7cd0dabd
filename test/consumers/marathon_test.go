package consumers

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/drover/drover/test/consumertest"
)

// python is Debian's interpreter, which has Debian's python3-marathon (a
// python3 earlier on PATH, such as pyenv's, may not).
const python = "/usr/bin/python3"

// pythonChecks are the checks testdata/marathon_client.py prints, in order:
// each must print PASS.
var pythonChecks = []string{
	"events.attached", "apps.create", "apps.get", "apps.list", "apps.update", "apps.scale",
	"tasks.list", "tasks.kill-and-scale", "apps.restart", "apps.versions", "deployments.list",
	"queue.list", "apps.update-force", "deployments.delete", "groups", "apps.delete",
	"events.stream", "events.status", "events.deployments",
}

// TestPythonMarathon runs testdata/marathon_client.py, which drives Drover
// with Debian's python3-marathon client, unchanged: apps (create, get, list,
// update, scale, restart, delete), tasks (list, kill with scale),
// deployments, groups, the queue, and the parsed event stream. Each check
// the script prints is a subtest here.
func TestPythonMarathon(t *testing.T) {
	requireMarathonPy(t)
	d := consumertest.Start(t)
	cmd := exec.Command(python, "testdata/marathon_client.py", d.URL, consumertest.Image)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	results := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	done := false
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "DONE":
			done = true
		case strings.HasPrefix(line, "PASS "):
			results[strings.TrimPrefix(line, "PASS ")] = ""
		case strings.HasPrefix(line, "FAIL "):
			name, why, _ := strings.Cut(strings.TrimPrefix(line, "FAIL "), ": ")
			results[name] = why
		}
	}
	if err != nil || !done {
		t.Errorf("marathon_client.py: %v, finished=%v\nstdout:\n%s\nstderr:\n%s", err, done, out, tail(stderr.String(), 6000))
	}
	for _, name := range pythonChecks {
		t.Run(name, func(t *testing.T) {
			why, ran := results[name]
			switch {
			case !ran:
				t.Errorf("the script did not run this check")
			case why != "":
				t.Error(why)
			}
		})
	}
	if len(results) != len(pythonChecks) {
		t.Errorf("the script ran %d checks, the test knows %d: %v", len(results), len(pythonChecks), results)
	}
}

func requireMarathonPy(t *testing.T) {
	t.Helper()
	if out, err := exec.Command(python, "-c", "import marathon").CombinedOutput(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("python3-marathon is required in CI (.ci/run installs Debian's): %v %s", err, out)
		}
		t.Skipf("skipping: no python3-marathon (apt-get install python3-marathon); CI=true makes this a failure")
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
