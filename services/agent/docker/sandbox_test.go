package docker

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"

	"github.com/drover/drover/internal/testutil"
	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/marathon"
	"github.com/drover/drover/services/agent"
	"github.com/drover/drover/services/agent/sandbox/sandboxtest"
)

// fetchJSON is an app's fetch list, as the api stores it.
func fetchJSON(t *testing.T, uris ...marathon.FetchURI) []json.RawMessage {
	t.Helper()
	out := make([]json.RawMessage, 0, len(uris))
	for _, u := range uris {
		b, err := json.Marshal(u)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// sandboxes lists the sandboxes of the runtime's agent on the host.
func sandboxes(t *testing.T, r *Runtime) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(r.cfg.SandboxRoot, r.cfg.AgentID))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// sandboxApp serves its sandbox over HTTP, from inside the container.
func sandboxApp(fetch []json.RawMessage) marathon.App {
	app := httpdApp("")
	app.Container.Volumes = nil
	app.Args = []string{"-dir", marathon.DockerSandbox}
	app.Container.PortMappings = []marathon.PortMapping{{ContainerPort: 80, HostPort: ptr(0)}}
	app.Fetch = fetch
	return app
}

// TestLaunchFetchesIntoTheSandbox: a Docker app's fetch is downloaded on
// the host (from a server on 127.0.0.1, which the container could not
// reach), extracted and made executable as a host command's, before the
// container starts; the sandbox is bind-mounted read-write at
// /mnt/mesos/sandbox, where the container serves it from; the agent reads
// its files; a launch sent again leaves it as it is; a restarted agent
// finds it; a kill removes it.
func TestLaunchFetchesIntoTheSandbox(t *testing.T) {
	cli := requireDocker(t)
	ctx := t.Context()
	cfg := DefaultConfig()
	cfg.AgentID, cfg.PublishIP = newAgentID(t), "127.0.0.1"
	cfg.FetchAllowLocal = true // the test's server is on the loopback
	r := newRuntimeWith(t, cli, cfg)
	files := map[string][]byte{
		"/hello.txt": []byte("hello from the sandbox\n"),
		"/site.tgz":  sandboxtest.Gzip(t, sandboxtest.Tar(t, sandboxtest.Entry{Name: "site/index.html", Body: "extracted\n"})),
		"/tool":      []byte("#!/bin/sh\necho tool\n"),
	}
	base := sandboxtest.Serve(t, files)
	port := freePort(t, "127.0.0.1")
	app := sandboxApp(fetchJSON(t,
		marathon.FetchURI{URI: base + "/hello.txt"},
		marathon.FetchURI{URI: base + "/site.tgz", Extract: true},
		marathon.FetchURI{URI: base + "/tool", Executable: true, OutputFile: "bin/tool"}))
	spec := resolve(t, events.LaunchSpec{App: app, HostPorts: []int{port}})
	const id = "fetch.1"

	rep, err := r.Launch(ctx, id, spec)
	if err != nil || rep.State != events.TaskRunning {
		t.Fatalf("Launch = %+v, %v", rep, err)
	}
	dir := filepath.Join(r.cfg.SandboxRoot, cfg.AgentID, id)
	for path, want := range map[string]string{"hello.txt": "hello from the sandbox\n", "site/index.html": "extracted\n", "bin/tool": "#!/bin/sh\necho tool\n"} {
		if got := httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/%s", port, path)); got != want {
			t.Errorf("the container serves %s as %q, want %q", path, got, want)
		}
	}
	if st, err := os.Stat(filepath.Join(dir, "bin/tool")); err != nil || st.Mode().Perm() != 0o755 {
		t.Errorf("bin/tool: %v %v, want executable", st, err)
	}
	if st, err := os.Stat(dir); err != nil || st.Mode().Perm() != sandboxMode {
		t.Errorf("sandbox %v %v, want mode %o", st, err, sandboxMode)
	}
	info, err := cli.ContainerInspect(ctx, rep.ContainerID)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(info.Mounts, func(m container.MountPoint) bool { return m.Destination == marathon.DockerSandbox })
	if i < 0 || info.Mounts[i].Type != mount.TypeBind || info.Mounts[i].Source != dir || !info.Mounts[i].RW {
		t.Fatalf("mounts %+v, want %s bound read-write at %s", info.Mounts, dir, marathon.DockerSandbox)
	}

	// Written from the container's side, read by the agent.
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	_ = tw.WriteHeader(&tar.Header{Name: "written.txt", Mode: 0o644, Size: 8, Typeflag: tar.TypeReg})
	_, _ = tw.Write([]byte("written\n"))
	_ = tw.Close()
	if err := cli.CopyToContainer(ctx, rep.ContainerID, marathon.DockerSandbox, &buf, container.CopyToContainerOptions{}); err != nil {
		t.Fatalf("write into the mounted sandbox: %v", err)
	}
	if got, err := r.ReadSandbox(ctx, id, "written.txt", 0, 100); err != nil || string(got.Data) != "written\n" {
		t.Errorf("ReadSandbox written.txt = %q, %v", got.Data, err)
	}
	if got, err := r.ReadSandbox(ctx, id, "hello.txt", -1, 6); err != nil || string(got.Data) != "ndbox\n" || got.Size != 23 {
		t.Errorf("ReadSandbox hello.txt's tail = %+v, %v", got, err)
	}
	for path, want := range map[string]error{"../" + id + "/hello.txt": agent.ErrSandboxPath, "missing": agent.ErrSandboxNotFound} {
		if _, err := r.ReadSandbox(ctx, id, path, 0, 10); !errors.Is(err, want) {
			t.Errorf("ReadSandbox %s: %v, want %v", path, err, want)
		}
	}
	if _, err := r.ReadSandbox(ctx, "other.1", "hello.txt", 0, 10); !errors.Is(err, agent.ErrSandboxNotFound) {
		t.Errorf("ReadSandbox of a task not there: %v", err)
	}

	// A launch sent again adopts the container, and fetches nothing.
	files["/hello.txt"] = []byte("changed\n")
	again, err := r.Launch(ctx, id, spec)
	if err != nil || again.ContainerID != rep.ContainerID {
		t.Fatalf("second Launch = %+v, %v; want the same container", again, err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "hello.txt")); string(got) != "hello from the sandbox\n" {
		t.Errorf("a launch sent again fetched again: hello.txt %q", got)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "written.txt")); string(got) != "written\n" {
		t.Errorf("a launch sent again made the sandbox afresh: written.txt %q", got)
	}

	// A restarted agent: the sandbox is where it derives it.
	r.Close()
	r2 := newRuntimeWith(t, cli, r.cfg)
	if list, err := r2.List(ctx); err != nil || len(list) != 1 || list[0].TaskID != id {
		t.Fatalf("the restarted runtime lists %+v, %v", list, err)
	}
	if got, err := r2.ReadSandbox(ctx, id, "written.txt", 0, 100); err != nil || string(got.Data) != "written\n" {
		t.Errorf("the restarted runtime reads %q, %v", got.Data, err)
	}
	if err := r2.Kill(ctx, id, time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the killed task's sandbox is there: %v", err)
	}
	if left := sandboxes(t, r2); len(left) != 0 {
		t.Errorf("sandboxes left: %v", left)
	}
}

// TestFetchFailureFailsTheLaunch: a fetch that fails fails the launch
// (TASK_FAILED, not an invalid spec), saying which URI and why; no
// container is created and no sandbox is left; nothing is written outside
// the sandbox.
func TestFetchFailureFailsTheLaunch(t *testing.T) {
	cli := requireDocker(t)
	cfg := DefaultConfig()
	cfg.AgentID = newAgentID(t)
	cfg.Fetch.MaxBytes, cfg.Fetch.MaxExtractedBytes = 3000, 1024 // a tarball of one small file is 2048 bytes
	cfg.FetchAllowLocal = true                                   // the test's server is on the loopback
	r := newRuntimeWith(t, cli, cfg)
	outside := t.TempDir()
	base := sandboxtest.Serve(t, map[string][]byte{
		"/big":          bytes.Repeat([]byte("x"), 4096),
		"/small":        []byte("x"),
		"/bomb.tar.gz":  sandboxtest.Gzip(t, sandboxtest.Tar(t, sandboxtest.Entry{Name: "big", Body: strings.Repeat("x", 4096)})),
		"/dotdot.tar":   sandboxtest.Tar(t, sandboxtest.Entry{Name: "../../" + filepath.Base(outside) + "/evil", Body: "x"}),
		"/not-a.tar.gz": []byte("plain text"),
	})
	for i, tc := range []struct {
		name string
		uri  marathon.FetchURI
		want string
	}{
		{"404", marathon.FetchURI{URI: base + "/missing.tgz"}, "fetch failed: fetch " + base + "/missing.tgz: GET: 404 Not Found"},
		{"unreachable", marathon.FetchURI{URI: "http://127.0.0.1:1/x"}, "connection refused"},
		{"output file out of the sandbox", marathon.FetchURI{URI: base + "/small", OutputFile: "../../" + filepath.Base(outside) + "/evil"}, "leaves the sandbox"},
		{"absolute output file", marathon.FetchURI{URI: base + "/small", OutputFile: outside + "/evil"}, "leaves the sandbox"},
		{"archive entry out of the sandbox", marathon.FetchURI{URI: base + "/dotdot.tar", Extract: true}, "leaves the sandbox"},
		{"too big", marathon.FetchURI{URI: base + "/big"}, "more than the 3000 bytes allowed"},
		{"unpacks too big", marathon.FetchURI{URI: base + "/bomb.tar.gz", Extract: true}, "unpacks to more than the 1024 bytes allowed"},
		{"not an archive", marathon.FetchURI{URI: base + "/not-a.tar.gz", Extract: true}, "not a valid archive"},
		{"a scheme not fetched", marathon.FetchURI{URI: "ftp://127.0.0.1/x"}, `scheme "ftp" is not supported`},
		{"a missing file", marathon.FetchURI{URI: "file:///nonexistent/drover/x"}, "no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app := sandboxApp(fetchJSON(t, tc.uri))
			app.Container.PortMappings = nil
			_, err := r.Launch(t.Context(), fmt.Sprintf("bad.%d", i), resolve(t, events.LaunchSpec{App: app}))
			if err == nil || errors.Is(err, agent.ErrInvalidSpec) || !strings.HasPrefix(err.Error(), "fetch failed: fetch ") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Launch = %v, want a failure saying %q", err, tc.want)
			}
		})
	}
	if list, err := r.List(t.Context()); err != nil || len(list) != 0 {
		t.Errorf("failed fetches left tasks %+v, %v", list, err)
	}
	if left := sandboxes(t, r); len(left) != 0 {
		t.Errorf("failed fetches left sandboxes %v", left)
	}
	if left, _ := os.ReadDir(outside); len(left) > 0 {
		t.Errorf("written outside the sandbox: %v", left)
	}
}

// hostAddr is one of this host's IPv4 addresses that is not loopback nor
// link-local, for a server a Docker app's fetch may reach.
func hostAddr(t *testing.T) string {
	t.Helper()
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil && p.Addr().Is4() && !p.Addr().IsLoopback() && !p.Addr().IsLinkLocalUnicast() {
			return p.Addr().String()
		}
	}
	t.Skip("this host has no address but loopback and link-local ones")
	return ""
}

// TestFetchRefusesLocalAddresses: by default (no FetchAllowLocal) a Docker
// app's fetch from the host's loopback fails the launch, saying why and
// which flag allows it, and so does one redirected there from a server on
// another address, before the redirect is followed; neither creates a
// container or leaves a sandbox, nor reaches the local server.
func TestFetchRefusesLocalAddresses(t *testing.T) {
	cli := requireDocker(t)
	cfg := DefaultConfig()
	cfg.AgentID = newAgentID(t)
	r := newRuntimeWith(t, cli, cfg)
	local := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		t.Errorf("the host's loopback was reached: %s", req.URL)
	}))
	defer local.Close()
	l, err := net.Listen("tcp", net.JoinHostPort(hostAddr(t), "0"))
	if err != nil {
		t.Fatal(err)
	}
	redirector := &httptest.Server{Listener: l, Config: &http.Server{Handler: http.RedirectHandler(local.URL+"/secret", http.StatusFound)}}
	redirector.Start()
	defer redirector.Close()
	const refused = "the agent refuses loopback and link-local addresses for Docker apps (--fetch-allow-local)"
	for i, tc := range []struct{ uri, want string }{
		{local.URL + "/secret", "fetch failed: fetch " + local.URL + "/secret: " + refused},
		{redirector.URL + "/conf", "fetch failed: fetch " + redirector.URL + "/conf: redirected to " + local.URL + "/secret: " + refused},
	} {
		app := sandboxApp(fetchJSON(t, marathon.FetchURI{URI: tc.uri}))
		app.Container.PortMappings = nil
		_, err := r.Launch(t.Context(), fmt.Sprintf("local.%d", i), resolve(t, events.LaunchSpec{App: app}))
		if err == nil || err.Error() != tc.want {
			t.Errorf("Launch fetching %s = %v, want %q", tc.uri, err, tc.want)
		}
	}
	if list, err := r.List(t.Context()); err != nil || len(list) != 0 {
		t.Errorf("refused fetches left tasks %+v, %v", list, err)
	}
	if left := sandboxes(t, r); len(left) != 0 {
		t.Errorf("refused fetches left sandboxes %v", left)
	}
}

// TestLaunchFailureRemovesTheSandbox: a launch that fails after its fetch
// (here, its image cannot be pulled) leaves no sandbox.
func TestLaunchFailureRemovesTheSandbox(t *testing.T) {
	cli := requireDocker(t)
	cfg := DefaultConfig()
	cfg.AgentID, cfg.FetchAllowLocal = newAgentID(t), true // the test's server is on the loopback
	r := newRuntimeWith(t, cli, cfg)
	base := sandboxtest.Serve(t, map[string][]byte{"/hello.txt": []byte("hi")})
	app := sandboxApp(fetchJSON(t, marathon.FetchURI{URI: base + "/hello.txt"}))
	app.Container.PortMappings = nil
	app.Container.Docker.Image = "drover-test/absent:nope"
	if _, err := r.Launch(t.Context(), "web.1", resolve(t, events.LaunchSpec{App: app})); err == nil || !strings.Contains(err.Error(), "pull") {
		t.Fatalf("Launch = %v, want a pull error", err)
	}
	if left := sandboxes(t, r); len(left) != 0 {
		t.Errorf("a failed launch left sandboxes %v", left)
	}
}

// TestNoSandboxes: a runtime without a sandbox root mounts nothing (the
// app still has MESOS_SANDBOX), reads no sandbox, and fails the launch of
// an app with URIs to fetch, saying why, creating nothing.
func TestNoSandboxes(t *testing.T) {
	cli := requireDocker(t)
	cfg := DefaultConfig()
	cfg.AgentID = newAgentID(t)
	r := startRuntime(t, cli, cfg)
	app := sandboxApp(nil)
	app.Container.PortMappings = nil
	rep, err := r.Launch(t.Context(), "plain.1", resolve(t, events.LaunchSpec{App: app}))
	if err != nil {
		t.Fatal(err)
	}
	info, err := cli.ContainerInspect(t.Context(), rep.ContainerID)
	if err != nil || len(info.Mounts) != 0 || !slices.Contains(info.Config.Env, "MESOS_SANDBOX=/mnt/mesos/sandbox") {
		t.Fatalf("mounts %+v, %v", info.Mounts, err)
	}
	if _, err := r.ReadSandbox(t.Context(), "plain.1", "stdout", 0, 10); !errors.Is(err, agent.ErrNoSandbox) {
		t.Errorf("ReadSandbox = %v, want ErrNoSandbox", err)
	}
	app.Fetch = fetchJSON(t, marathon.FetchURI{URI: "http://127.0.0.1:1/x"})
	_, err = r.Launch(t.Context(), "fetch.1", resolve(t, events.LaunchSpec{App: app}))
	if err == nil || errors.Is(err, agent.ErrInvalidSpec) || !strings.Contains(err.Error(), "mounts no sandbox") {
		t.Fatalf("Launch with a fetch = %v", err)
	}
	if list, _ := r.List(t.Context()); len(list) != 1 {
		t.Errorf("tasks %+v, want plain.1 alone", list)
	}
}

// TestSweepSandboxes: a sandbox whose task has no container goes once two
// sweeps in a row found it so, the second on a listing begun after the
// first; one whose task has a container, or is being launched, stays. It
// needs no daemon: New does not call one.
func TestSweepSandboxes(t *testing.T) {
	cfg := DefaultConfig()
	cfg.AgentID, cfg.SandboxRoot = "sweep", t.TempDir()
	r, err := New(cfg, testutil.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, id := range []string{"running.1", "gone.1", "launching.1"} {
		if err := os.Mkdir(r.sandbox(id), sandboxMode); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(r.cfg.SandboxRoot, "sweep", "stray-file"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	r.beginLaunch("launching.1")
	present := map[string]bool{"running.1": true}
	sweep := func(listedAt time.Time) {
		t.Helper()
		r.sweepSandboxes(present, listedAt)
		r.wg.Wait() // the removals
	}
	want := func(names ...string) {
		t.Helper()
		if got := sandboxes(t, r); !slices.Equal(got, names) {
			t.Fatalf("sandboxes %v, want %v", got, names)
		}
	}
	t0 := time.Now()
	sweep(t0)
	want("gone.1", "launching.1", "running.1", "stray-file")
	sweep(t0.Add(time.Second)) // too soon: no sweep
	want("gone.1", "launching.1", "running.1", "stray-file")
	r.mu.Lock()
	r.swept = time.Time{}
	r.mu.Unlock()
	sweep(t0.Add(-time.Minute)) // a listing begun before the first sweep decided
	want("gone.1", "launching.1", "running.1", "stray-file")
	sweep(time.Now().Add(time.Minute))
	want("launching.1", "running.1", "stray-file")

	// A sandbox whose container came between two sweeps stays.
	if err := os.Mkdir(r.sandbox("late.1"), sandboxMode); err != nil {
		t.Fatal(err)
	}
	sweep(time.Now().Add(2 * time.Minute))
	present["late.1"] = true
	sweep(time.Now().Add(3 * time.Minute))
	r.endLaunch("launching.1")
	want("late.1", "launching.1", "running.1", "stray-file")
}

// TestSweepAndALaunchOfTheTask: a launch of a task whose sandbox a sweep
// marked (a launch sent again after the agent died, its container not yet
// there) clears the mark, so that the next sweep, whose listing began
// before the launch created the container, does not remove the sandbox; a
// sandbox the sweep removes is moved aside at once, so that a launch of
// its task begun after finds the path free and keeps what it makes there;
// a moved-aside directory an earlier removal left is removed.
func TestSweepAndALaunchOfTheTask(t *testing.T) {
	cfg := DefaultConfig()
	cfg.AgentID, cfg.SandboxRoot = "race", t.TempDir()
	r, err := New(cfg, testutil.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	mk := func(id string) {
		t.Helper()
		if err := os.Mkdir(r.sandbox(id), sandboxMode); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(r.sandbox(id), "fetched"), []byte(id), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mk("relaunched.1")
	mk("gone.1")
	left := filepath.Join(r.cfg.SandboxRoot, "race", trashPrefix+"old.1.x")
	if err := os.MkdirAll(filepath.Join(left, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	sweep := func(listedAt time.Time) {
		t.Helper()
		r.mu.Lock()
		r.swept = time.Time{}
		r.mu.Unlock()
		r.sweepSandboxes(map[string]bool{}, listedAt)
	}
	sweep(time.Now()) // marks both
	r.wg.Wait()
	if exists(left) {
		t.Errorf("the moved-aside directory an earlier removal left is there")
	}

	// relaunched.1's launch begins and creates its container; the next
	// sweep's listing began before it did.
	listedAt := time.Now().Add(time.Minute)
	r.beginLaunch("relaunched.1")
	r.endLaunch("relaunched.1")
	sweep(listedAt)
	if exists(r.sandbox("gone.1")) {
		t.Fatal("gone.1's sandbox is at its path after the sweep decided to remove it, not moved aside at once")
	}
	mk("gone.1") // a launch of gone.1 begins now
	r.wg.Wait()  // the removal
	for _, id := range []string{"gone.1", "relaunched.1"} {
		if b, err := os.ReadFile(filepath.Join(r.sandbox(id), "fetched")); err != nil || string(b) != id {
			t.Errorf("%s's sandbox lost what its launch put there: %q, %v", id, b, err)
		}
	}
	if got := sandboxes(t, r); !slices.Equal(got, []string{"gone.1", "relaunched.1"}) {
		t.Errorf("sandboxes %v", got)
	}
}

// TestSweepRemovalFails: a sandbox the sweep cannot remove (an agent that
// is not root, files a container wrote as root) is logged once, at Warn,
// and tried again every sweepRetry, not at every sweep; once removed, or
// gone by another hand, nothing of it is kept.
func TestSweepRemovalFails(t *testing.T) {
	var logs testutil.SyncBuffer
	cfg := DefaultConfig()
	cfg.AgentID, cfg.SandboxRoot = "stuck", t.TempDir()
	r, err := New(cfg, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var tries atomic.Int32
	var fail atomic.Bool
	fail.Store(true)
	r.removeAll = func(p string) error {
		tries.Add(1)
		if fail.Load() {
			return fmt.Errorf("unlinkat %s/root-owned: %w", p, os.ErrPermission)
		}
		return os.RemoveAll(p)
	}
	for _, id := range []string{"stuck.1", "byhand.1"} {
		if err := os.Mkdir(r.sandbox(id), sandboxMode); err != nil {
			t.Fatal(err)
		}
	}
	t0 := time.Now()
	sweepAt := func(d time.Duration) {
		t.Helper()
		r.sweepSandboxes(map[string]bool{}, t0.Add(d))
		r.wg.Wait()
	}
	warns := func() int { return strings.Count(logs.String(), "level=WARN msg=\"remove the sandbox") }
	sweepAt(0)           // marks them
	sweepAt(time.Minute) // moves them aside, fails to remove them
	if n := tries.Load(); n != 2 || warns() != 2 {
		t.Fatalf("first removals: %d tries, %d warnings; want 2 and 2:\n%s", n, warns(), logs.String())
	}
	var byHand string
	for _, name := range sandboxes(t, r) {
		if strings.HasPrefix(name, trashPrefix+"byhand.1.") {
			byHand = name
		}
	}
	if byHand == "" {
		t.Fatalf("sandboxes %v: byhand.1 not moved aside", sandboxes(t, r))
	}
	if err := os.Remove(filepath.Join(r.cfg.SandboxRoot, "stuck", byHand)); err != nil {
		t.Fatal(err)
	}
	for d := 2 * time.Minute; d < 11*time.Minute; d += time.Minute {
		sweepAt(d)
	}
	if n := tries.Load(); n != 2 || warns() != 2 {
		t.Fatalf("within %s: %d tries, %d warnings; want none more:\n%s", sweepRetry, n, warns(), logs.String())
	}
	r.mu.Lock()
	kept := len(r.sweepFailures)
	r.mu.Unlock()
	if kept != 1 {
		t.Errorf("%d failures kept, want stuck.1's alone (byhand.1's went with its directory)", kept)
	}
	sweepAt(11 * time.Minute)
	if n := tries.Load(); n != 3 || warns() != 2 || !strings.Contains(logs.String(), "failed again") {
		t.Fatalf("after %s: %d tries, %d warnings; want one more try, logged at debug level:\n%s", sweepRetry, n, warns(), logs.String())
	}
	fail.Store(false)
	sweepAt(22 * time.Minute)
	r.mu.Lock()
	kept = len(r.sweepFailures)
	r.mu.Unlock()
	if left := sandboxes(t, r); len(left) != 0 || kept != 0 {
		t.Errorf("after a removal that worked: sandboxes %v, %d failures kept", left, kept)
	}
}

// TestSandboxRootMark: a root the runtime makes, or finds empty, is marked;
// a marked one is used as it is; one that holds files without the mark (a
// mistaken --docker-sandbox-dir such as /var/lib, with agent id docker) is
// refused, saying what to do, and nothing in it is touched, unless it is
// the agent's default (optional) root, marked as it is; a root that lost
// its mark is not swept.
func TestSandboxRootMark(t *testing.T) {
	newAt := func(root string, optional bool) (*Runtime, error) {
		t.Helper()
		cfg := DefaultConfig()
		cfg.AgentID, cfg.SandboxRoot, cfg.SandboxRootOptional = "docker", root, optional
		return New(cfg, testutil.Logger(t))
	}
	fresh := filepath.Join(t.TempDir(), "new", "sandboxes")
	for _, root := range []string{fresh, t.TempDir()} {
		r, err := newAt(root, false)
		if err != nil {
			t.Fatalf("%s: %v", root, err)
		}
		r.Close()
		if !isMarked(root) {
			t.Errorf("%s is not marked", root)
		}
		if r, err = newAt(root, false); err != nil { // marked, and holding the agent's directory
			t.Fatalf("%s again: %v", root, err)
		}
		r.Close()
	}

	varLib := t.TempDir() // /var/lib, with agent id docker
	for _, p := range []string{"docker/containers.1", "docker/volumes", "apt/lists"} {
		if err := os.MkdirAll(filepath.Join(varLib, p), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if r, err := newAt(varLib, false); err == nil || !strings.Contains(err.Error(), "no "+sandboxMarker) || !strings.Contains(err.Error(), "new or empty directory") {
		if r != nil {
			r.Close()
		}
		t.Fatalf("New under a root that holds files without the mark: %v", err)
	}
	if isMarked(varLib) || !exists(filepath.Join(varLib, "docker/containers.1")) {
		t.Fatal("the refused root was marked or touched")
	}
	if st, _ := os.Stat(filepath.Join(varLib, "docker")); st.Mode().Perm() != 0o755 {
		t.Errorf("the refused root's directory %s became %v", "docker", st.Mode())
	}

	// The default root, made by a Drover before the mark, is adopted.
	old := t.TempDir()
	if err := os.MkdirAll(filepath.Join(old, "docker", "t.1"), 0o777); err != nil {
		t.Fatal(err)
	}
	r, err := newAt(old, true)
	if err != nil || r.cfg.SandboxRoot != old || !isMarked(old) {
		t.Fatalf("the default root made before the mark: %v, root %q, marked %v", err, r.cfg.SandboxRoot, isMarked(old))
	}
	defer r.Close()

	// A root that lost its mark is not swept.
	if err := os.Remove(filepath.Join(old, sandboxMarker)); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	for i := range 3 {
		r.sweepSandboxes(map[string]bool{}, t0.Add(time.Duration(i)*time.Minute))
		r.wg.Wait()
	}
	if got := sandboxes(t, r); !slices.Equal(got, []string{"t.1"}) {
		t.Errorf("an unmarked root was swept: %v", got)
	}
}

// TestSandboxRootSharedAtStart: agents sharing a new root (one Docker
// daemon, several agents) and starting together all find it theirs.
func TestSandboxRootSharedAtStart(t *testing.T) {
	for range 20 {
		root := filepath.Join(t.TempDir(), "shared")
		errs := make(chan error, 8)
		for i := range cap(errs) {
			go func() {
				cfg := DefaultConfig()
				cfg.AgentID, cfg.SandboxRoot = fmt.Sprintf("agent-%d", i), root
				r, err := New(cfg, nil)
				if err == nil {
					r.Close()
				}
				errs <- err
			}()
		}
		for range cap(errs) {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestRemoveSandboxNeverTheRoot: no task id names the agent's directory
// or the root.
func TestRemoveSandboxNeverTheRoot(t *testing.T) {
	cfg := DefaultConfig()
	cfg.AgentID, cfg.SandboxRoot = "a", t.TempDir()
	r, err := New(cfg, testutil.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := os.Mkdir(r.sandbox("t.1"), sandboxMode); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"", ".", "..", "../a", "/"} {
		r.removeSandbox(id)
	}
	if got := sandboxes(t, r); !slices.Equal(got, []string{"t.1"}) {
		t.Fatalf("sandboxes %v", got)
	}
	if st, err := os.Stat(filepath.Join(cfg.SandboxRoot, "a")); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("the agent's directory: %v %v, want 0700", st, err)
	}
}

// TestSandboxUnseen: a create refused because the daemon does not see the
// task's sandbox (as Docker 20.10 words it) says why and what to do; other
// errors pass as they are.
func TestSandboxUnseen(t *testing.T) {
	cfg := DefaultConfig()
	cfg.AgentID, cfg.SandboxRoot = "a", t.TempDir()
	r, err := New(cfg, testutil.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	refused := errors.New(`Error response from daemon: invalid mount config for type "bind": bind source path does not exist: ` + r.sandbox("t.1"))
	err = r.sandboxUnseen("t.1", refused)
	if !errors.Is(err, refused) || !strings.Contains(err.Error(), "does not see the task's sandbox") || !strings.Contains(err.Error(), "--no-docker-sandboxes") {
		t.Errorf("sandboxUnseen = %v", err)
	}
	other := errors.New(`invalid mount config for type "bind": bind source path does not exist: /srv/mine`)
	if err := r.sandboxUnseen("t.1", other); err != other {
		t.Errorf("an app's own volume's error became %v", err)
	}
}

// TestEndedTaskSandboxGoesWithItsContainer: a task that ended keeps its
// sandbox while its container stays (RemoveDelay), readable, and loses it
// when the runtime removes the container.
func TestEndedTaskSandboxGoesWithItsContainer(t *testing.T) {
	cli := requireDocker(t)
	cfg := DefaultConfig()
	cfg.AgentID, cfg.RemoveDelay = newAgentID(t), 5*time.Second
	cfg.FetchAllowLocal = true // the test's server is on the loopback
	r := newRuntimeWith(t, cli, cfg)
	base := sandboxtest.Serve(t, map[string][]byte{"/hello.txt": []byte("hi")})
	app := sandboxApp(fetchJSON(t, marathon.FetchURI{URI: base + "/hello.txt"}))
	app.Container.PortMappings = nil
	app.Args = []string{"-addr", "no-such-address"} // httpd exits at once
	if _, err := r.Launch(t.Context(), "ends.1", resolve(t, events.LaunchSpec{App: app})); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, wait, 50*time.Millisecond, func() error {
		list, err := r.List(t.Context())
		if err != nil || len(list) != 1 || list[0].State != events.TaskFailed {
			return fmt.Errorf("tasks %+v, %v; want ends.1 failed", list, err)
		}
		return nil
	})
	if got, err := r.ReadSandbox(t.Context(), "ends.1", "hello.txt", 0, 10); err != nil || string(got.Data) != "hi" {
		t.Errorf("the ended task's sandbox: %q, %v", got.Data, err)
	}
	testutil.Eventually(t, wait, 100*time.Millisecond, func() error {
		list, err := r.List(t.Context())
		if err != nil || len(list) != 0 {
			return fmt.Errorf("tasks %+v, %v; want the ended container removed", list, err)
		}
		if left := sandboxes(t, r); len(left) != 0 {
			return fmt.Errorf("sandboxes %v", left)
		}
		return nil
	})
}
