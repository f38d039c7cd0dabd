package command

import (
	"bufio"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cgroupFS is where cgroup hierarchies are mounted.
const cgroupFS = "/sys/fs/cgroup"

// cgroups makes each task's cgroups, under parent directories found once.
type cgroups struct {
	v2 bool
	// parents: v1, the cpu and memory hierarchies' directories under which
	// tasks' cgroups go; v2, the one directory.
	cpu, mem string
}

// detectCgroups finds where this agent may make its tasks' cgroups: under
// its own cgroup in v1's cpu and memory hierarchies, or, on v2, under
// /sys/fs/cgroup/drover with the cpu and memory controllers enabled (a v2
// cgroup that holds processes cannot have limited children, and the agent
// is in one). nil and why, where it cannot: tasks then run unlimited.
func detectCgroups(agentID string) (*cgroups, string) {
	if os.Geteuid() != 0 {
		return nil, "the agent is not root"
	}
	own, err := ownCgroups()
	if err != nil {
		return nil, err.Error()
	}
	if exists(filepath.Join(cgroupFS, "cgroup.controllers")) {
		parent := filepath.Join(cgroupFS, "drover", agentID)
		for _, d := range []string{cgroupFS, filepath.Join(cgroupFS, "drover"), parent} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				return nil, "cgroup v2: " + err.Error()
			}
			if d != parent {
				if err := writeCgroupFile(filepath.Join(d, "cgroup.subtree_control"), []byte("+cpu +memory")); err != nil {
					return nil, fmt.Sprintf("cgroup v2: enable cpu and memory in %s: %v", d, err)
				}
			}
		}
		if err := writeCgroupFile(filepath.Join(parent, "cgroup.subtree_control"), []byte("+cpu +memory")); err != nil {
			return nil, fmt.Sprintf("cgroup v2: enable cpu and memory in %s: %v", parent, err)
		}
		return &cgroups{v2: true, cpu: parent, mem: parent}, ""
	}
	c := &cgroups{}
	for _, h := range []struct {
		controller string
		dir        *string
	}{{"cpu", &c.cpu}, {"memory", &c.mem}} {
		hier, path, ok := own.v1(h.controller)
		if !ok {
			return nil, "no cgroup v1 " + h.controller + " hierarchy"
		}
		d := filepath.Join(cgroupFS, hier, path, "drover-"+agentID)
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Sprintf("cgroup v1 %s: %v", h.controller, err)
		}
		*h.dir = d
	}
	return c, ""
}

// cgroupPaths is /proc/self/cgroup: hierarchy (its controllers, "" for v2) -> path.
type cgroupPaths map[string]string

func ownCgroups() (cgroupPaths, error) { return readCgroups("/proc/self/cgroup") }

func readCgroups(file string) (cgroupPaths, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := cgroupPaths{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) == 3 {
			out[parts[1]] = parts[2]
		}
	}
	return out, sc.Err()
}

// v1 finds the hierarchy holding controller: its mount name and our path in it.
func (p cgroupPaths) v1(controller string) (hier, path string, ok bool) {
	for h, path := range p {
		for _, c := range strings.Split(h, ",") {
			if c == controller && exists(filepath.Join(cgroupFS, h)) {
				return h, path, true
			}
		}
	}
	return "", "", false
}

// create makes a task's cgroups with its limits (cpus: a CFS quota and
// shares; mem: MiB); it returns their directories, one for v2.
func (c *cgroups) create(taskID string, cpus, mem float64, log *slog.Logger) ([]string, error) {
	cpuDir, memDir := filepath.Join(c.cpu, taskID), filepath.Join(c.mem, taskID)
	dirs := []string{cpuDir}
	if memDir != cpuDir {
		dirs = append(dirs, memDir)
	}
	for _, d := range dirs {
		if err := os.Mkdir(d, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			removeCgroups(dirs)
			return nil, fmt.Errorf("cgroup %s: %w", d, err)
		}
	}
	var errs []error
	set := func(dir, file, value string) {
		if err := writeCgroupFile(filepath.Join(dir, file), []byte(value)); err != nil {
			errs = append(errs, fmt.Errorf("%s=%s: %w", file, value, err))
		}
	}
	const period = 100_000
	quota := max(int64(cpus*period), 1000)
	switch {
	case c.v2:
		if cpus > 0 {
			set(cpuDir, "cpu.max", fmt.Sprintf("%d %d", quota, period))
		}
		if mem > 0 {
			set(memDir, "memory.max", strconv.FormatInt(int64(mem*(1<<20)), 10))
		}
	default:
		if cpus > 0 {
			set(cpuDir, "cpu.cfs_period_us", strconv.Itoa(period))
			set(cpuDir, "cpu.cfs_quota_us", strconv.FormatInt(quota, 10))
			set(cpuDir, "cpu.shares", strconv.FormatInt(max(int64(cpus*1024), 2), 10))
		}
		if mem > 0 {
			set(memDir, "memory.limit_in_bytes", strconv.FormatInt(int64(mem*(1<<20)), 10))
		}
	}
	if len(errs) > 0 {
		log.Warn("task limits not all set", "task", taskID, "error", errors.Join(errs...))
	}
	return dirs, nil
}

// writeCgroupFile writes a cgroup's control file, which must exist:
// unlike os.WriteFile it never creates one.
func writeCgroupFile(name string, b []byte) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// cgroupProcs lists the processes in the cgroups.
func cgroupProcs(dirs []string) []int {
	var pids []int
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "cgroup.procs"))
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(f); err == nil {
				pids = append(pids, pid)
			}
		}
	}
	return pids
}

// killCgroups sends sig to every process in the cgroups but except.
func killCgroups(dirs []string, sig syscall.Signal, except int) {
	for _, pid := range cgroupProcs(dirs) {
		if pid != except && pid > 1 {
			_ = syscall.Kill(pid, sig)
		}
	}
}

// removeCgroups kills what is left in the cgroups and removes them,
// trying for a while: a killed process leaves its cgroup once reaped.
func removeCgroups(dirs []string) error {
	var err error
	for try := 0; try < 50; try++ {
		killCgroups(dirs, syscall.SIGKILL, 0)
		err = nil
		for _, d := range dirs {
			if rerr := syscall.Rmdir(d); rerr != nil && !errors.Is(rerr, syscall.ENOENT) {
				err = fmt.Errorf("remove cgroup %s: %w", d, rerr)
			}
		}
		if err == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return err
}

// joinCgroups moves the calling process into the cgroups.
func joinCgroups(dirs []string) error {
	pid := []byte(strconv.Itoa(os.Getpid()))
	for _, d := range dirs {
		if err := writeCgroupFile(filepath.Join(d, "cgroup.procs"), pid); err != nil {
			return fmt.Errorf("join cgroup %s: %w", d, err)
		}
	}
	return nil
}

// leaveCgroups moves the calling process back to where it came from.
func leaveCgroups(dirs []string, from cgroupPaths) {
	pid := []byte(strconv.Itoa(os.Getpid()))
	v2 := exists(filepath.Join(cgroupFS, "cgroup.controllers"))
	for _, d := range dirs {
		for h, path := range from {
			if (h == "") != v2 {
				continue
			}
			root := filepath.Join(cgroupFS, h)
			if strings.HasPrefix(d, root+"/") {
				_ = writeCgroupFile(filepath.Join(root, path, "cgroup.procs"), pid)
				break
			}
		}
	}
}

// oomKilled reports whether the memory cgroup among dirs killed a process
// for want of memory.
func oomKilled(dirs []string) bool {
	for _, d := range dirs {
		for _, f := range []string{"memory.events", "memory.oom_control"} {
			b, err := os.ReadFile(filepath.Join(d, f))
			if err != nil {
				continue
			}
			for _, line := range strings.Split(string(b), "\n") {
				if k, v, ok := strings.Cut(line, " "); ok && k == "oom_kill" && strings.TrimSpace(v) != "0" {
					return true
				}
			}
		}
	}
	return false
}
