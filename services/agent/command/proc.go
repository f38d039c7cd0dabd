package command

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// errGone: the process is no longer there (or its pid is another's now).
var errGone = errors.New("process gone")

// procStart is when a process started, in clock ticks after boot
// (/proc/<pid>/stat's starttime): with its pid, it names one process
// for the life of the host.
func procStart(pid int) (uint64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return 0, errGone
		}
		return 0, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: unreadable", pid)
	}
	f := strings.Fields(s[i+1:])
	// After the command: state is field 3; starttime is field 22.
	if len(f) < 20 {
		return 0, fmt.Errorf("/proc/%d/stat: unreadable", pid)
	}
	if f[0] == "Z" || f[0] == "X" {
		return 0, errGone // exited, not yet reaped
	}
	return strconv.ParseUint(f[19], 10, 64)
}

// alive reports whether the process pid that started at start runs.
func alive(pid int, start uint64) bool {
	s, err := procStart(pid)
	return err == nil && s == start
}

// signalProc signals the process pid that started at start, through a
// pidfd: if the pid was reused, the signal goes nowhere (errGone).
func signalProc(pid int, start uint64, sig syscall.Signal) error {
	if pid <= 0 {
		return errGone
	}
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		if errors.Is(err, unix.ESRCH) {
			return errGone
		}
		return fmt.Errorf("pidfd_open %d: %w", pid, err)
	}
	defer unix.Close(fd)
	if !alive(pid, start) {
		return errGone
	}
	if err := unix.PidfdSendSignal(fd, sig, nil, 0); err != nil {
		if errors.Is(err, unix.ESRCH) {
			return errGone
		}
		return fmt.Errorf("signal %d: %w", pid, err)
	}
	return nil
}
