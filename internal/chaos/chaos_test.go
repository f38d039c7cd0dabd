package chaos

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"
	"github.com/drover/drover/internal/testimage"
	"github.com/drover/drover/internal/testutil"
)

const testImage = "drover-test/httpd:chaos"

// proxied starts a proxy to the daemon and a client through it.
func proxied(t *testing.T) (*client.Client, *DockerProxy, *client.Client) {
	t.Helper()
	direct := testimage.RequireDocker(t)
	p := StartDockerProxy(t, direct.DaemonHost())
	cli, err := client.NewClientWithOpts(client.WithHost(p.Host()), client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.Close() })
	return direct, p, cli
}

func ping(cli *client.Client, timeout time.Duration) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	start := time.Now()
	_, err := cli.Ping(ctx)
	return time.Since(start), err
}

// createContainer creates a test image container through cli, labelled
// drover.chaos.test=run, removed through direct when the test ends.
func createContainer(t *testing.T, cli, direct *client.Client, run string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := cli.ContainerCreate(ctx, &container.Config{
		Image: testImage, AttachStderr: true,
		Labels: map[string]string{Label: "1", "drover.chaos.test": run},
	}, &container.HostConfig{}, nil, nil, "")
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = direct.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true})
	})
	return c.ID
}

func TestProxyDelay(t *testing.T) {
	_, p, cli := proxied(t)
	if _, err := ping(cli, 5*time.Second); err != nil {
		t.Fatalf("ping through a normal proxy: %v", err)
	}
	p.SetDelay(300 * time.Millisecond)
	took, err := ping(cli, 5*time.Second)
	if err != nil || took < 300*time.Millisecond {
		t.Fatalf("ping with a 300ms delay: took %s, err %v", took, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	if _, err := cli.ContainerList(ctx, container.ListOptions{All: true}); err != nil {
		t.Fatalf("list with a delay: %v", err)
	}
	if took := time.Since(start); took < 300*time.Millisecond {
		t.Errorf("list with a 300ms delay took %s", took)
	}

	p.SetDelayFor(func(r *http.Request) bool { return strings.HasSuffix(r.URL.Path, "/containers/json") }, 2*time.Second)
	if took, err := ping(cli, 5*time.Second); err != nil || took >= 2*time.Second {
		t.Errorf("ping, not delayed: took %s, err %v", took, err)
	}
	start = time.Now()
	if _, err := cli.ContainerList(ctx, container.ListOptions{}); err != nil {
		t.Fatalf("list, delayed: %v", err)
	}
	if took := time.Since(start); took < 2*time.Second {
		t.Errorf("list with a 2s delay for it took %s", took)
	}
}

func TestProxyStreams(t *testing.T) {
	direct, p, cli := proxied(t)
	testimage.BuildHTTPD(t, testImage)
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	p.SetDelay(300 * time.Millisecond)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	msgs, errs := cli.Events(ctx, events.ListOptions{Filters: filters.NewArgs(
		filters.Arg("type", "container"), filters.Arg("label", "drover.chaos.test="+run))})
	next := func(within time.Duration) (events.Message, error) {
		select {
		case m := <-msgs:
			return m, nil
		case err := <-errs:
			return events.Message{}, fmt.Errorf("events: %w", err)
		case <-time.After(within):
			return events.Message{}, fmt.Errorf("no event within %s", within)
		}
	}
	await := func(action events.Action) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			m, err := next(time.Until(deadline))
			if err != nil {
				t.Fatalf("want a %s event: %v", action, err)
			}
			if m.Action == action {
				return
			}
		}
	}
	// Through the proxy, so created and attached with a delay each.
	id := createContainer(t, cli, direct, run)
	await(events.ActionCreate)
	att, err := cli.ContainerAttach(ctx, id, container.AttachOptions{Stream: true, Stderr: true})
	if err != nil {
		t.Fatalf("attach through the proxy: %v", err)
	}
	defer att.Close()
	if err := direct.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
		t.Fatalf("start: %v", err)
	}
	await(events.ActionStart)
	// The hijacked attach stream carries the httpd's log.
	_ = att.Conn.SetReadDeadline(time.Now().Add(15 * time.Second))
	var got bytes.Buffer
	buf := make([]byte, 4096)
	for !strings.Contains(got.String(), "httpd serving") {
		n, err := att.Reader.Read(buf)
		got.Write(buf[:n])
		if err != nil {
			t.Fatalf("attach stream: %v after %q", err, got.String())
		}
	}

	// A stall holds the open stream: the kill event waits for Normal.
	p.Stall()
	if err := direct.ContainerKill(ctx, id, "KILL"); err != nil {
		t.Fatalf("kill: %v", err)
	}
	if m, err := next(time.Second); err == nil {
		t.Fatalf("an event came through a stalled proxy: %+v", m)
	}
	p.Normal()
	await(events.ActionKill)
}

func TestProxyStall(t *testing.T) {
	_, p, cli := proxied(t)
	p.Stall()
	took, err := ping(cli, time.Second)
	if !errors.Is(err, context.DeadlineExceeded) || took < time.Second || took > 3*time.Second {
		t.Fatalf("ping through a stalled proxy: took %s, err %v", took, err)
	}
	if client.IsErrConnectionFailed(err) {
		t.Errorf("a stall's timeout is a connection failure: %v", err)
	}
	p.Normal()
	if _, err := ping(cli, 5*time.Second); err != nil {
		t.Fatalf("ping after Normal: %v", err)
	}
}

func TestProxyRefuse(t *testing.T) {
	_, p, cli := proxied(t)
	errs := openEventsStream(t, p, cli)
	p.Refuse()
	select {
	case err := <-errs:
		t.Logf("open stream on Refuse: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("Refuse left an open events stream open")
	}
	if _, err := os.Stat(strings.TrimPrefix(p.Host(), "unix://")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the socket of a refusing proxy: %v", err)
	}
	took, err := ping(cli, 5*time.Second)
	if err == nil || !client.IsErrConnectionFailed(err) || took > time.Second {
		t.Fatalf("ping through a refusing proxy: took %s, err %v", took, err)
	}
	t.Logf("refused ping: %v (underneath: dial ENOENT)", err)
	p.Normal()
	testutil.Eventually(t, 5*time.Second, 50*time.Millisecond, func() error {
		_, err := ping(cli, time.Second)
		return err
	})
}

// openEventsStream opens Docker's events stream through p, open until the
// test ends, once p holds its connection.
func openEventsStream(t *testing.T, p *DockerProxy, cli *client.Client) <-chan error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	_, errs := cli.Events(ctx, events.ListOptions{})
	testutil.Eventually(t, 5*time.Second, 10*time.Millisecond, func() error {
		p.mu.Lock()
		defer p.mu.Unlock()
		if len(p.conns) == 0 {
			return errors.New("the events stream has no connection yet")
		}
		return nil
	})
	return errs
}

// TestProxyShutDown: like a daemon after SIGTERM, the socket is gone for a
// new dial while an open connection (here the events stream) is served on.
func TestProxyShutDown(t *testing.T) {
	_, p, cli := proxied(t)
	errs := openEventsStream(t, p, cli)
	p.ShutDown()
	if _, err := os.Stat(strings.TrimPrefix(p.Host(), "unix://")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the socket of a shut-down proxy: %v", err)
	}
	fresh, err := client.NewClientWithOpts(client.WithHost(p.Host()), client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	if took, err := ping(fresh, 5*time.Second); err == nil || !client.IsErrConnectionFailed(err) {
		t.Fatalf("a new connection to a shut-down proxy: took %s, err %v", took, err)
	}
	select {
	case err := <-errs:
		t.Fatalf("ShutDown ended the open events stream: %v", err)
	case <-time.After(500 * time.Millisecond):
	}
	p.Normal()
	testutil.Eventually(t, 5*time.Second, 50*time.Millisecond, func() error {
		_, err := ping(fresh, time.Second)
		return err
	})
}

func TestBusyLoops(t *testing.T) {
	var pids []int
	t.Run("run", func(t *testing.T) {
		b := StartBusyLoops(t, 0)
		pids = b.Pids()
		if len(pids) != 2*runtime.NumCPU() {
			t.Fatalf("%d loops, want 2×%d", len(pids), runtime.NumCPU())
		}
		testutil.Eventually(t, 10*time.Second, 100*time.Millisecond, func() error {
			for _, pid := range pids {
				if ticks, err := cpuTicks(pid); err != nil || ticks == 0 {
					return fmt.Errorf("pid %d: %d ticks of CPU, %v", pid, ticks, err)
				}
			}
			return nil
		})
		load, _ := os.ReadFile("/proc/loadavg")
		t.Logf("%d loops running; loadavg %s", len(pids), bytes.TrimSpace(load))
	})
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("busy loop %d after cleanup: kill 0 gave %v", pid, err)
		}
	}
}

// cpuTicks is utime+stime of a process, from /proc/pid/stat.
func cpuTicks(pid int) (int, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command's closing parenthesis: state is the 3rd
	// field of the line, utime and stime the 14th and 15th.
	f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("short stat %q", stat)
	}
	u, _ := strconv.Atoi(f[11])
	s, _ := strconv.Atoi(f[12])
	return u + s, nil
}

func TestContainerChurn(t *testing.T) {
	cli := testimage.RequireDocker(t)
	testimage.BuildHTTPD(t, testImage)
	var id string // this churn's: another test's may run on the daemon meanwhile
	t.Run("run", func(t *testing.T) {
		c := StartContainerChurn(t, cli, testImage, 100*time.Millisecond)
		id = c.id
		testutil.Eventually(t, 60*time.Second, 100*time.Millisecond, func() error {
			if n := c.Cycles(); n < 3 {
				return fmt.Errorf("%d cycles, %d failures (last: %v)", n, c.Failures(), c.Err())
			}
			return nil
		})
		t.Logf("%d cycles, %d failures", c.Cycles(), c.Failures())
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	left, err := cli.ContainerList(ctx, container.ListOptions{All: true,
		Filters: filters.NewArgs(filters.Arg("label", ChurnLabel+"="+id))})
	if err != nil {
		t.Fatal(err)
	}
	if len(left) > 0 {
		t.Errorf("%d containers of the churn (%s=%s) after its cleanup", len(left), ChurnLabel, id)
	}
}
