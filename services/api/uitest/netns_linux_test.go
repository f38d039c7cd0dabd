package uitest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// isolatedLoopback makes a network namespace of its own, with nothing but
// its loopback interface, and listens on 127.0.0.1 there; it returns the
// listener and the namespace for the browser to join (nsenter --net).
// Chromium aborts page loads and requests with ERR_NETWORK_CHANGED when
// this machine's interfaces come and go, as other tests' namespaces,
// bridges and Docker networks make them do while this one runs; in a
// namespace of its own it sees none of that. Without root or nsenter it
// reports false, and the browser shares this machine's network.
func isolatedLoopback(t *testing.T) (ln net.Listener, nsPath, nsenter string, ok bool) {
	t.Helper()
	nsenter, err := exec.LookPath("nsenter")
	if err != nil || os.Geteuid() != 0 {
		return nil, "", "", false
	}
	type made struct {
		ln   net.Listener
		path string
		err  error
	}
	res := make(chan made, 1)
	done := make(chan struct{})
	go func() {
		// Never unlocked: when this goroutine returns, its thread ends,
		// and the namespace with it once the browser has gone.
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			res <- made{err: fmt.Errorf("unshare: %w", err)}
			return
		}
		if err := loopbackUp(); err != nil {
			res <- made{err: err}
			return
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0") // a socket of this thread's namespace
		if err != nil {
			res <- made{err: err}
			return
		}
		res <- made{ln: ln, path: fmt.Sprintf("/proc/%d/task/%d/ns/net", os.Getpid(), unix.Gettid())}
		<-done
	}()
	m := <-res
	if m.err != nil {
		t.Logf("no network namespace for the browser (%v): it shares this machine's network", m.err)
		return nil, "", "", false
	}
	t.Cleanup(func() { close(done) })
	return m.ln, m.path, nsenter, true
}

// loopbackUp brings up lo, which a new network namespace has down.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("socket: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("lo flags: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("lo up: %w", err)
	}
	return nil
}

// inNamespace makes the browser's command run in the namespace at nsPath.
func inNamespace(cmd *exec.Cmd, nsenter, nsPath string) {
	if nsPath != "" {
		cmd.Args = append([]string{"nsenter", "--net=" + nsPath, "--", cmd.Path}, cmd.Args[1:]...)
		cmd.Path = nsenter
	}
	// As chromedp does by default: the browser dies with the test.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
