package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/drover/drover/pkg/marathon"
	"github.com/drover/drover/services/agent"
	"github.com/drover/drover/services/agent/sandbox"
)

var _ agent.SandboxReader = (*Runtime)(nil)

// A Docker task's sandbox is a host directory, <SandboxRoot>/<agentId>/<taskId>,
// bind-mounted read-write at /mnt/mesos/sandbox (marathon.DockerSandbox,
// the task's MESOS_SANDBOX), as Mesos' Docker containerizer mounts the
// sandbox its fetcher filled. The runtime makes it, and fetches the app's
// fetch (or uris) into it, before it creates the container; it removes it
// when it removes the container (Kill; an ended container after
// RemoveDelay; a container that could not start), and sweeps away those
// whose container went otherwise (removed by hand, or while the agent was
// down). Its path is derived from the task id alone, so a restarted agent
// finds the sandboxes of the containers it adopts.
//
// The agent's directory is root's and closed (0700); each sandbox in it is
// open to every user (0777), so that the container's user, whoever the
// image makes it, can write in it: only the container reaches it. What
// the fetch wrote is the agent's user's, readable by all.
const sandboxMode = 0o777

// sweepEvery is how often List looks for sandboxes left without a container.
const sweepEvery = 30 * time.Second

// sandboxDir is where the sandbox of an agent's task is, "" without a root.
func sandboxDir(root, agentID, taskID string) string {
	if root == "" {
		return ""
	}
	return filepath.Join(root, agentID, taskID)
}

// sandbox is the task's sandbox, "" when the runtime has none.
func (r *Runtime) sandbox(taskID string) string {
	return sandboxDir(r.cfg.SandboxRoot, r.cfg.AgentID, taskID)
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// sandboxMarker is the file that marks a directory as a sandbox root, made
// by the runtime that made the root (or found it empty). The sweep removes
// every directory named like a task under <root>/<agentId>: it runs only
// under a marked root, and New refuses a root that holds anything without
// the mark, so that a mistaken --docker-sandbox-dir (/var/lib, with agent
// id docker) loses nothing.
const sandboxMarker = ".drover-sandboxes"

const markerText = "This directory holds the sandboxes of Drover agents' Docker tasks, <agentId>/<taskId>: the agents remove what is in it.\n"

// initSandboxes makes the agent's directory under the sandbox root, the
// root marked (markRoot). The root's missing parents are made passable
// (0711), as the command runtime's root, a sibling, needs its own to be.
func initSandboxes(cfg Config) error {
	if cfg.SandboxRoot == "" {
		return nil
	}
	if err := os.MkdirAll(cfg.SandboxRoot, 0o711); err != nil {
		return err
	}
	if err := markRoot(cfg.SandboxRoot, cfg.SandboxRootOptional); err != nil {
		return err
	}
	dir := filepath.Join(cfg.SandboxRoot, cfg.AgentID)
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return os.Chmod(dir, 0o700)
}

// markRoot makes sure root is a sandbox root: marked (sandboxMarker), or
// empty and marked now. One that holds anything without the mark is
// refused, saying what to do, unless adopt: the agent's default root, a
// path of Drover's own, which Drover made without a mark before there was
// one, is marked as it is. Agents sharing a root may start together: the
// mark is made before any agent's directory, so a root found holding one
// is looked at again for the mark.
func markRoot(root string, adopt bool) error {
	marker := filepath.Join(root, sandboxMarker)
	marked := func() (bool, error) {
		st, err := os.Lstat(marker)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return false, nil
		case err != nil:
			return false, err
		case !st.Mode().IsRegular():
			return false, fmt.Errorf("%s is not a regular file", marker)
		}
		return true, nil
	}
	if ok, err := marked(); ok || err != nil {
		return err
	}
	if !adopt {
		d, err := os.Open(root)
		if err != nil {
			return err
		}
		names, err := d.Readdirnames(5)
		d.Close()
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		if len(names) > 0 {
			if ok, err := marked(); ok || err != nil {
				return err
			}
			return fmt.Errorf("%s holds files (%s) and no %s: it is not a directory a Drover agent made for its Docker tasks' sandboxes, whose contents the agent would remove; "+
				"give --docker-sandbox-dir a new or empty directory (or, if it is one an earlier Drover made, create the file %s in it)",
				root, strings.Join(names, ", "), sandboxMarker, marker)
		}
	}
	return os.WriteFile(marker, []byte(markerText), 0o644)
}

// isMarked reports whether the root still has its mark.
func isMarked(root string) bool {
	st, err := os.Lstat(filepath.Join(root, sandboxMarker))
	return err == nil && st.Mode().IsRegular()
}

// prepareSandbox makes the task's sandbox afresh (one there is what a
// launch that died left) and fetches the spec's URIs into it, with the
// command runtime's fetcher and the runtime's limits, its http(s) URIs
// kept off the host's loopback and link-local addresses unless
// cfg.FetchAllowLocal. A fetch that fails
// leaves no directory, and its error says what failed ("fetch failed:
// fetch <uri>: ..."), as a host command's does. Without sandboxes, a spec
// with URIs to fetch fails: it would run without its files.
func (r *Runtime) prepareSandbox(ctx context.Context, taskID string, spec marathon.TaskSpec) error {
	dir := r.sandbox(taskID)
	if dir == "" {
		if len(spec.Fetch) > 0 {
			return fmt.Errorf("docker: app %s has URIs to fetch, but agent %s mounts no sandbox into its containers (%s)",
				spec.AppID, r.cfg.AgentID, r.noSandboxes)
		}
		return nil
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("docker: sandbox: %w", err)
	}
	err := os.Mkdir(dir, sandboxMode)
	if err == nil {
		err = os.Chmod(dir, sandboxMode) // through the umask
	}
	if err != nil {
		r.removeSandbox(taskID)
		return fmt.Errorf("docker: sandbox: %w", err)
	}
	if len(spec.Fetch) == 0 {
		return nil
	}
	if err := sandbox.FetchWith(ctx, dir, spec.Fetch, r.cfg.Fetch, r.fetchClient, r.log.With("task", taskID)); err != nil {
		r.removeSandbox(taskID)
		return fmt.Errorf("fetch failed: %w", err)
	}
	return nil
}

// removeSandbox removes the task's sandbox, if it has one. An agent that
// is not root may fail to remove what the container wrote there as
// another user: that is logged, and the sweep tries again.
func (r *Runtime) removeSandbox(taskID string) {
	dir := r.sandbox(taskID)
	if dir == "" || validTaskID(taskID) != nil { // never the agent's directory, nor the root
		return
	}
	if err := os.RemoveAll(dir); err != nil {
		r.log.Warn("remove sandbox", "task", taskID, "error", err)
	}
}

// sandboxUnseen explains a create refused because the daemon cannot see
// the sandbox directory; other errors are returned as they are.
func (r *Runtime) sandboxUnseen(taskID string, err error) error {
	dir := r.sandbox(taskID)
	if dir == "" || err == nil || !strings.Contains(err.Error(), "bind source path does not exist") || !strings.Contains(err.Error(), dir) {
		return err
	}
	return fmt.Errorf("the Docker daemon does not see the task's sandbox %s: a daemon on another host, or an agent in a container without %s mounted at the same path (mount it so, give --docker-sandbox-dir one the daemon sees, or run the agent with --no-docker-sandboxes): %w",
		dir, r.cfg.SandboxRoot, err)
}

// beginLaunch marks a task's launch under way, until endLaunch: the sweep
// leaves its sandbox alone while it has no container yet. It clears the
// mark an earlier sweep set on the task's sandbox: a launch that creates
// the container after the next sweep's listing began must not find its
// sandbox gone at that sweep.
func (r *Runtime) beginLaunch(taskID string) {
	r.mu.Lock()
	r.launching[taskID]++
	delete(r.orphans, taskID)
	r.mu.Unlock()
}

func (r *Runtime) endLaunch(taskID string) {
	r.mu.Lock()
	if r.launching[taskID]--; r.launching[taskID] <= 0 {
		delete(r.launching, taskID)
	}
	r.mu.Unlock()
}

// trashPrefix begins the name a swept sandbox is moved to before it is
// removed: no task id has it (validTaskID), so no launch makes or uses it.
const trashPrefix = "+trash-"

// sweepRetry is how often the sweep tries again to move aside or remove a
// directory it failed to (an agent that is not root, facing files a
// container wrote as root): once logged, the failure is retried quietly.
const sweepRetry = 10 * time.Minute

// sweepFailure is a directory of the agent's the sweep failed to move
// aside (a task id) or to remove (a name with trashPrefix), or is
// removing: one for each such directory there, no more.
type sweepFailure struct {
	removing bool      // a removal of it is under way
	start    time.Time // the listing of the sweep that last tried it
	retryAt  time.Time // no try before
	warned   bool      // its failure was logged
}

// failed records a try of name that failed, logging it once (then Debug),
// and when to try again. Called with r.mu held.
func (r *Runtime) failed(name string, f *sweepFailure, what string, err error) {
	f.removing, f.retryAt = false, f.start.Add(sweepRetry)
	if f.warned {
		r.log.Debug(what+": failed again", "dir", name, "error", err)
		return
	}
	f.warned = true
	r.log.Warn(what+": failed; retried every "+sweepRetry.String()+", logged at debug level (an agent that is not root cannot remove files a container wrote as root: remove them as root)",
		"dir", filepath.Join(r.cfg.SandboxRoot, r.cfg.AgentID, name), "error", err)
}

// sweepSandboxes removes the sandboxes of tasks whose containers went
// without the runtime removing them (by hand, or while the agent was
// down), every sweepEvery at most. present holds the task ids of every
// container of the agent, listed from listedAt on. A sandbox goes once two
// sweeps in a row found it without a container and without a launch of
// its task under way, the second on a listing begun after the first
// decided: a launch that created its container while the first listed is
// in the second's list, and one begun after the first decided cleared its
// mark (beginLaunch). The second moves it aside (trashPrefix) under the
// lock that beginLaunch takes, then removes it in the background: a launch
// of the task begun after makes its sandbox afresh at the task's path,
// which the removal no longer touches. Moved-aside directories an earlier
// removal left (an agent stopped meanwhile, files it could not remove) are
// removed too. A directory it fails to move aside or remove is logged once
// and tried again every sweepRetry (sweepFailure). A root without its
// mark (sandboxMarker) is not swept.
func (r *Runtime) sweepSandboxes(present map[string]bool, listedAt time.Time) {
	if r.cfg.SandboxRoot == "" {
		return
	}
	r.mu.Lock()
	if listedAt.Sub(r.swept) < sweepEvery {
		r.mu.Unlock()
		return
	}
	r.swept = listedAt
	unmarkedWarned := r.unmarkedWarned
	r.mu.Unlock()
	if !isMarked(r.cfg.SandboxRoot) {
		if !unmarkedWarned {
			r.log.Warn("sandboxes are not swept: the sandbox root has lost its mark, so it may not be Drover's (recreate the file if it is)",
				"root", r.cfg.SandboxRoot, "mark", sandboxMarker)
			r.mu.Lock()
			r.unmarkedWarned = true
			r.mu.Unlock()
		}
		return
	}
	agentDir := filepath.Join(r.cfg.SandboxRoot, r.cfg.AgentID)
	entries, err := os.ReadDir(agentDir)
	if err != nil {
		r.log.Warn("list sandboxes", "error", err)
		return
	}
	now := time.Now()
	var trash []string
	r.mu.Lock()
	seen := make(map[string]bool, len(entries))
	// due: the directory is not being removed, nor waiting to be tried again.
	due := func(name string) (*sweepFailure, bool) {
		f := r.sweepFailures[name]
		if f == nil {
			f = &sweepFailure{}
		}
		return f, !f.removing && !listedAt.Before(f.retryAt)
	}
	for _, e := range entries {
		id := e.Name()
		seen[id] = true
		if strings.HasPrefix(id, trashPrefix) {
			if f, ok := due(id); ok {
				f.removing, f.start = true, listedAt
				r.sweepFailures[id] = f
				trash = append(trash, id)
			}
			continue
		}
		if !e.IsDir() || validTaskID(id) != nil {
			continue
		}
		first, marked := r.orphans[id]
		switch {
		case present[id] || r.launching[id] > 0:
			delete(r.orphans, id)
			delete(r.sweepFailures, id)
		case marked && listedAt.After(first):
			f, ok := due(id)
			if !ok {
				continue
			}
			name := trashPrefix + id + "." + strconv.FormatInt(now.UnixNano(), 36)
			if err := os.Rename(filepath.Join(agentDir, id), filepath.Join(agentDir, name)); err != nil {
				f.start = listedAt
				r.sweepFailures[id] = f
				r.failed(id, f, "move aside the sandbox of a task without a container", err)
				continue
			}
			delete(r.orphans, id)
			delete(r.sweepFailures, id)
			r.log.Info("removing the sandbox of a task without a container", "task", id)
			seen[name] = true
			r.sweepFailures[name] = &sweepFailure{removing: true, start: listedAt}
			trash = append(trash, name)
		case !marked:
			r.orphans[id] = now
		}
	}
	for id := range r.orphans {
		if !seen[id] {
			delete(r.orphans, id)
		}
	}
	for name, f := range r.sweepFailures {
		if !seen[name] && !f.removing {
			delete(r.sweepFailures, name) // removed, or moved, by another hand
		}
	}
	r.mu.Unlock()
	if len(trash) == 0 {
		return
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		for _, name := range trash {
			err := r.removeAll(filepath.Join(agentDir, name))
			r.mu.Lock()
			if f := r.sweepFailures[name]; err != nil && f != nil {
				r.failed(name, f, "remove the sandbox of a task without a container", err)
			} else {
				delete(r.sweepFailures, name)
			}
			r.mu.Unlock()
		}
	}()
}

// ReadSandbox reads a file of a task's sandbox (sandbox.ReadFile: through
// an os.Root on it, regular files only), from the host, without a Docker
// call. A runtime without sandboxes has none to read (agent.ErrNoSandbox).
func (r *Runtime) ReadSandbox(_ context.Context, taskID, path string, offset, length int64) (agent.SandboxChunk, error) {
	if r.cfg.SandboxRoot == "" {
		return agent.SandboxChunk{}, fmt.Errorf("docker: task %s: %w", taskID, agent.ErrNoSandbox)
	}
	if err := validTaskID(taskID); err != nil {
		return agent.SandboxChunk{}, fmt.Errorf("docker: read sandbox: %w: %w", agent.ErrSandboxNotFound, err)
	}
	chunk, err := sandbox.ReadFile(r.sandbox(taskID), path, offset, length)
	if err != nil {
		return chunk, fmt.Errorf("docker: read sandbox %s: %w", taskID, err)
	}
	return chunk, nil
}
