package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/drover/drover/internal/testutil"
	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/events/natsbus"
	"github.com/drover/drover/pkg/marathon"
	"github.com/drover/drover/services/api/readmodel"
)

// testDocker is the scenario's app (examples/test-docker.json), written here.
const testDocker = `{
  "id": "test-docker",
  "cpus": 0.5,
  "mem": 64.0,
  "instances": 3,
  "constraints": [["hostname", "UNIQUE"]],
  "container": {
    "type": "DOCKER",
    "docker": {
      "image": "httpd",
      "privileged": true,
      "network": "BRIDGE",
      "parameters": [{"key": "publish", "value": "80:80"}]
    },
    "volumes": [{"containerPath": "/usr/local/apache2/htdocs", "hostPath": "/srv/htdocs", "mode": "RO"}]
  }
}`

// harness is an api Server on an in-process JetStream, driven through Handler.
type harness struct {
	t   *testing.T
	js  *testutil.JetStream
	bus *natsbus.Bus
	srv *Server
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	js := testutil.RunJetStream(t)
	bus := js.Bus(t)
	h := &harness{t: t, js: js, bus: bus, srv: newTestServer(t, bus)}
	waitLoaded(t, h.srv) // until then /ping is 503, and reads wait
	return h
}

func newTestServer(t *testing.T, bus *natsbus.Bus) *Server {
	t.Helper()
	cfg := DefaultConfig()
	cfg.ID = "test"
	cfg.Hostname = "master1"
	cfg.Master = "nats://127.0.0.1:4222"
	cfg.Version = "1.2.3"
	cfg.BodyLimit = 64 << 10
	srv, err := New(cfg, bus, testutil.Logger(t))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(srv.Close)
	return srv
}

// do sends a request to the server's handler; headers are "Name: value".
func (h *harness) do(method, path, body string, headers ...string) *httptest.ResponseRecorder {
	h.t.Helper()
	return serve(h.t, h.srv, method, path, body, headers...)
}

func serve(t testing.TB, srv *Server, method, path, body string, headers ...string) *httptest.ResponseRecorder {
	t.Helper()
	return testutil.Serve(t, srv.Handler(), method, path, body, headers...)
}

// serveReader sends a request whose body has no known length.
func serveReader(t testing.TB, srv *Server, method, path string, body io.Reader) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, io.MultiReader(body))
	req.ContentLength = -1
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, req)
	return rec
}

// expect checks a response's status and decodes its JSON body.
func expect[T any](t *testing.T, rec *httptest.ResponseRecorder, status int) T {
	t.Helper()
	var v T
	if rec.Code != status {
		t.Fatalf("status %d, want %d; body %s", rec.Code, status, rec.Body.String())
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("content type %q, want JSON; body %s", ct, rec.Body.String())
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("decode %s: %v", rec.Body.String(), err)
	}
	return v
}

// object is a decoded JSON object.
type object = map[string]any

// errorBody is Marathon's error body, decoded.
type errorBody struct {
	Message string `json:"message"`
	Details []struct {
		Path   string   `json:"path"`
		Errors []string `json:"errors"`
	} `json:"details"`
}

func (e errorBody) has(path, msg string) bool {
	for _, d := range e.Details {
		if d.Path != path {
			continue
		}
		for _, m := range d.Errors {
			if m == msg {
				return true
			}
		}
	}
	return false
}

// putInstance writes an instance record as the scheduler would.
func (h *harness) putInstance(in events.Instance) {
	h.t.Helper()
	in.V = events.Version
	data, err := events.Encode(in)
	if err != nil {
		h.t.Fatal(err)
	}
	if _, err := h.bus.Instances.Put(context.Background(), events.InstanceKey(in.TaskID), data); err != nil {
		h.t.Fatalf("put instance: %v", err)
	}
}

// putLeader writes the leader record as a scheduler would.
func (h *harness) putLeader(hostname string) {
	h.t.Helper()
	h.putLeaderRecord(events.LeaderRecord{V: events.Version, SchedulerID: "s1", Hostname: hostname, Epoch: 1, Since: time.Now()})
}

// putLeaderRecord writes the scheduler lock as a scheduler would.
func (h *harness) putLeaderRecord(rec events.LeaderRecord) {
	h.t.Helper()
	data, err := events.Encode(rec)
	if err != nil {
		h.t.Fatal(err)
	}
	if _, err := h.bus.Leader.Put(context.Background(), events.LeaderKey, data); err != nil {
		h.t.Fatalf("put leader: %v", err)
	}
}

// createApp POSTs an app and checks it was created.
func (h *harness) createApp(js string) object {
	h.t.Helper()
	return expect[object](h.t, h.do(http.MethodPost, "/v2/apps", js), http.StatusCreated)
}

// finishDeployments deletes every deployment record, as the scheduler does
// once a deployment's apps have converged, and waits for the read model.
func (h *harness) finishDeployments() {
	h.t.Helper()
	ctx := context.Background()
	keys, err := h.bus.Deployments.ListKeys(ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	for k := range keys.Keys() {
		if err := h.bus.Deployments.Delete(ctx, k); err != nil {
			h.t.Fatal(err)
		}
	}
	rev := readmodel.LastSeq(ctx, h.bus.Deployments)
	if err := h.srv.rm.CaughtUp(ctx, events.BucketDeployments, rev); err != nil {
		h.t.Fatal(err)
	}
}

// unknownParam is the refusal of an unknown docker parameter: it names it.
func unknownParam(key string) string {
	return fmt.Sprintf("unknown docker parameter %q: Drover supports %s", key, strings.Join(marathon.SupportedParameters(), ", "))
}
