package testutil

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Request sends an HTTP request with a JSON body (nil for none) and returns
// the status and body of the answer.
func Request(method, url string, body []byte, timeout time.Duration) (int, []byte, error) {
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: timeout}).Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	return resp.StatusCode, out, err
}

// FreePort is a TCP port free on 127.0.0.1 a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Task is a task as GET /v2/apps/{id} lists it: the fields the tests read.
type Task struct {
	ID                 string `json:"id"`
	AppID              string `json:"appId"`
	Host               string `json:"host"`
	SlaveID            string `json:"slaveId"`
	State              string `json:"state"`
	StartedAt          string `json:"startedAt"`
	Ports              []int  `json:"ports"`
	HealthCheckResults []struct {
		Alive               bool `json:"alive"`
		ConsecutiveFailures int  `json:"consecutiveFailures"`
	} `json:"healthCheckResults"`
}

// Started is when the task started; zero before it has.
func (t Task) Started() time.Time {
	at, _ := time.Parse(time.RFC3339Nano, t.StartedAt)
	return at
}

// App is an app as GET /v2/apps/{id} answers it: the fields the tests read.
type App struct {
	ID           string `json:"id"`
	TasksRunning int    `json:"tasksRunning"`
	TasksStaged  int    `json:"tasksStaged"`
	Tasks        []Task `json:"tasks"`
}

// GetApp reads GET {base}/v2/apps/{id}.
func GetApp(base, id string, timeout time.Duration) (App, error) {
	code, body, err := Request(http.MethodGet, base+"/v2/apps/"+strings.TrimPrefix(id, "/"), nil, timeout)
	if err != nil {
		return App{}, err
	}
	if code != http.StatusOK {
		return App{}, fmt.Errorf("GET app: %d %s", code, body)
	}
	var out struct {
		App App `json:"app"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return App{}, fmt.Errorf("GET app: %w: %s", err, body)
	}
	return out.App, nil
}

// OpenEvents opens base's /v2/events with query ("" or "?..."), asking for
// server-sent events, and fails the test unless the answer is a 200 event
// stream. The stream ends when cancel is called or the test does.
func OpenEvents(t testing.TB, base, query string) (resp *http.Response, cancel func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v2/events"+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		resp.Body.Close()
		t.Fatalf("/v2/events%s: %d %q", query, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	return resp, cancel
}
