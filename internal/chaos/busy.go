package chaos

import (
	"errors"
	"os/exec"
	"runtime"
	"sync"
	"syscall"
	"testing"
)

// BusyLoops are shell processes spinning on the CPU, each in its own process
// group. They are separate processes, not goroutines, so the load they make
// competes with the test binary the way other work on the machine does,
// whatever GOMAXPROCS is.
type BusyLoops struct {
	cmds []*exec.Cmd
	once sync.Once
}

// StartBusyLoops starts n busy-loop processes (n <= 0 is 2×runtime.NumCPU),
// killed and reaped when the test ends.
func StartBusyLoops(t testing.TB, n int) *BusyLoops {
	t.Helper()
	if n <= 0 {
		n = 2 * runtime.NumCPU()
	}
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Fatalf("chaos: busy loops need sh: %v", err)
	}
	b := &BusyLoops{}
	t.Cleanup(b.Stop)
	for i := 0; i < n; i++ {
		cmd := exec.Command(sh, "-c", "while :; do :; done")
		// Own process group, so Stop kills the group; killed too if the
		// test binary dies first.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			t.Fatalf("chaos: start busy loop: %v", err)
		}
		b.cmds = append(b.cmds, cmd)
	}
	return b
}

// Pids are the busy loops' process ids (each also its process group id).
func (b *BusyLoops) Pids() []int {
	pids := make([]int, len(b.cmds))
	for i, cmd := range b.cmds {
		pids[i] = cmd.Process.Pid
	}
	return pids
}

// Stop kills every busy loop's process group and reaps the processes. It is
// safe to call more than once; the test's cleanup calls it.
func (b *BusyLoops) Stop() {
	b.once.Do(func() {
		for _, cmd := range b.cmds {
			if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
				_ = cmd.Process.Kill()
			}
		}
		for _, cmd := range b.cmds {
			_ = cmd.Wait()
		}
	})
}
