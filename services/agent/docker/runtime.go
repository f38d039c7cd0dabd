package docker

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"

	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/services/agent"
	"github.com/drover/drover/services/agent/sandbox"
)

var _ agent.Runtime = (*Runtime)(nil)

// Runtime runs one agent's tasks as containers on a Docker daemon.
type Runtime struct {
	cfg Config
	cli *client.Client
	log *slog.Logger
	hub agent.EventHub

	privMode string   // PrivilegedFull or PrivilegedCaps
	privDrop []string // capabilities PrivilegedCaps drops

	fetchClient *http.Client            // the tasks' fetches' (cfg.FetchAllowLocal)
	removeAll   func(path string) error // os.RemoveAll, but in tests: the sweep's removals
	noSandboxes string                  // why the runtime has none, when cfg.SandboxRoot is ""

	// negotiated gates every client call but Ping behind one successful
	// API version negotiation: the client's lazy one races with itself.
	negMu      sync.Mutex
	negotiated atomic.Bool

	ctx    context.Context // the runtime's life: ended by Close
	cancel context.CancelFunc
	watch  sync.Once
	wg     sync.WaitGroup

	mu             sync.Mutex
	cache          map[string]cached        // container id -> last inspection
	killing        map[string]bool          // task ids being killed by Kill
	known          map[string]knownState    // task id -> last state emitted
	oom            map[string]bool          // task ids the daemon reported out of memory
	removing       map[string]bool          // container ids being removed
	launching      map[string]int           // task ids being launched (sweepSandboxes)
	orphans        map[string]time.Time     // task id -> when its sandbox was first found without a container
	sweepFailures  map[string]*sweepFailure // directories of the agent's the sweep is removing, or failed to
	swept          time.Time                // when the sandboxes were last swept (its listing's start)
	unmarkedWarned bool                     // the sweep found the root without its mark, and said so
}

type knownState struct {
	state events.TaskState
	at    time.Time
}

// forgetAfter is how long an ended task's last state is kept.
const forgetAfter = 10 * time.Minute

type cached struct {
	status string // the container's state when inspected
	info   container.InspectResponse
}

// New connects to the daemon (lazily: an unreachable daemon is not an error
// here, Ping reports it).
func New(cfg Config, logger *slog.Logger) (*Runtime, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("docker: config: %w", err)
	}
	opts := []client.Opt{client.FromEnv, client.WithAPIVersionNegotiation()}
	if cfg.Host != "" {
		opts = append(opts, client.WithHost(cfg.Host))
	}
	privMode, privDrop, err := resolvePrivileged(cfg.Privileged)
	if err != nil {
		return nil, fmt.Errorf("docker: privileged mode: %w", err)
	}
	// A client on a transport of ours, which the options set up for the
	// host (unless TLS from the environment brings its own); then the
	// same client again, its transport behind the bound on calls in flight.
	raw := &http.Transport{}
	cli, err := client.NewClientWithOpts(append([]client.Opt{
		client.WithHTTPClient(&http.Client{Transport: raw, CheckRedirect: client.CheckRedirect}),
		client.WithHost(client.DefaultDockerHost)}, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("docker: client: %w", err)
	}
	hc := cli.HTTPClient()
	hc.Transport = newLimitedTransport(hc.Transport, raw, cfg.MaxConcurrentCalls)
	if cli, err = client.NewClientWithOpts(append(opts, client.WithHTTPClient(hc))...); err != nil {
		return nil, fmt.Errorf("docker: client: %w", err)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("component", "docker", "agent", cfg.AgentID)
	noSandboxes := "--no-docker-sandboxes"
	if err := initSandboxes(cfg); err != nil {
		if !cfg.SandboxRootOptional {
			return nil, fmt.Errorf("docker: sandbox root (--docker-sandbox-dir names another, --no-docker-sandboxes keeps none): %w", err)
		}
		logger.Warn("Docker tasks get no sandbox: the default sandbox root cannot be used by this agent (an agent that is not root cannot make it). "+
			"To give them one, run the agent as root, make the directory and give it to the agent's user, or give --docker-sandbox-dir a directory the agent may write that the Docker daemon sees at the same path; "+
			"--no-docker-sandboxes says none is wanted. Docker apps with URIs to fetch fail to launch here meanwhile",
			"root", cfg.SandboxRoot, "error", err)
		noSandboxes = "its sandbox root " + cfg.SandboxRoot + " could not be used: see its log"
		cfg.SandboxRoot = ""
	}
	if privMode == PrivilegedCaps {
		logger.Warn("privileged tasks run with every capability this host grants, not --privileged", "dropped", privDrop)
	}
	fetchClient := sandbox.RefuseLocalClient()
	if cfg.FetchAllowLocal {
		fetchClient = http.DefaultClient
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Runtime{
		fetchClient:   fetchClient,
		noSandboxes:   noSandboxes,
		cfg:           cfg,
		cli:           cli,
		privMode:      privMode,
		privDrop:      privDrop,
		log:           logger,
		ctx:           ctx,
		cancel:        cancel,
		cache:         map[string]cached{},
		killing:       map[string]bool{},
		known:         map[string]knownState{},
		oom:           map[string]bool{},
		removing:      map[string]bool{},
		launching:     map[string]int{},
		orphans:       map[string]time.Time{},
		sweepFailures: map[string]*sweepFailure{},
		removeAll:     os.RemoveAll,
	}, nil
}

// Close stops watching the daemon and closes the client. Containers keep running.
func (r *Runtime) Close() error {
	r.cancel()
	r.wg.Wait()
	return r.cli.Close()
}

// Ping checks the daemon and reports the negotiated API version.
func (r *Runtime) Ping(ctx context.Context) (events.DockerHealth, error) {
	err := r.ready(ctx)
	if err == nil {
		_, err = r.cli.Ping(ctx)
	}
	if err != nil {
		err = fmt.Errorf("docker: ping: %w", unavailable(err))
		return events.DockerHealth{Healthy: false, Error: err.Error()}, err
	}
	return events.DockerHealth{Healthy: true, APIVersion: r.cli.ClientVersion()}, nil
}

// ready negotiates the API version with the daemon, once it answers.
func (r *Runtime) ready(ctx context.Context) error {
	if r.negotiated.Load() {
		return nil
	}
	r.negMu.Lock()
	defer r.negMu.Unlock()
	if r.negotiated.Load() {
		return nil
	}
	ping, err := r.cli.Ping(ctx)
	if err != nil {
		return err
	}
	r.cli.NegotiateAPIVersionPing(ping)
	r.negotiated.Store(true)
	return nil
}

// agentFilter selects this agent's containers.
func (r *Runtime) agentFilter() filters.Args {
	return filters.NewArgs(filters.Arg("label", LabelAgentID+"="+r.cfg.AgentID))
}

// List reports every container of this agent, running or ended, by task id.
// A container is inspected once per state it is seen in; an ended one is
// removed in the background, with its sandbox, once it has been ended for
// RemoveDelay. Sandboxes without a container are swept away.
func (r *Runtime) List(ctx context.Context) ([]events.TaskReport, error) {
	listedAt := time.Now()
	infos, err := r.inspectAll(ctx)
	if err != nil {
		return nil, unavailable(err)
	}
	out := make([]events.TaskReport, 0, len(infos))
	present := make(map[string]bool, len(infos))
	now := time.Now()
	for _, info := range infos {
		rep := r.report(info)
		if rep.TaskID == "" {
			continue
		}
		present[rep.TaskID] = true
		out = append(out, rep)
		if rep.State.Terminal() {
			if ended := finishedAt(info.State); !ended.IsZero() && now.Sub(ended) > r.cfg.RemoveDelay {
				r.removeLater(info.ID, rep.TaskID)
			}
		}
	}
	r.sweepSandboxes(present, listedAt)
	slices.SortFunc(out, func(a, b events.TaskReport) int { return cmp.Compare(a.TaskID, b.TaskID) })
	return out, nil
}

// inspectAll lists this agent's containers and inspects those whose state
// changed since they were last inspected.
func (r *Runtime) inspectAll(ctx context.Context) ([]container.InspectResponse, error) {
	if err := r.ready(ctx); err != nil {
		return nil, fmt.Errorf("docker: %w", err)
	}
	summaries, err := r.cli.ContainerList(ctx, container.ListOptions{All: true, Filters: r.agentFilter()})
	if err != nil {
		return nil, fmt.Errorf("docker: list containers: %w", err)
	}
	seen := make(map[string]bool, len(summaries))
	out := make([]container.InspectResponse, 0, len(summaries))
	for _, s := range summaries {
		seen[s.ID] = true
		r.mu.Lock()
		c, ok := r.cache[s.ID]
		r.mu.Unlock()
		if !ok || c.status != s.State {
			info, err := r.cli.ContainerInspect(ctx, s.ID)
			if err != nil {
				if isNotFound(err) {
					continue // removed meanwhile
				}
				return nil, fmt.Errorf("docker: inspect %s: %w", s.ID, err)
			}
			c = cached{status: s.State, info: info}
			r.mu.Lock()
			r.cache[s.ID] = c
			r.mu.Unlock()
		}
		out = append(out, c.info)
	}
	r.mu.Lock()
	for id := range r.cache {
		if !seen[id] {
			delete(r.cache, id)
		}
	}
	r.mu.Unlock()
	return out, nil
}

// report describes a container's task, knowing whether Kill is stopping it.
func (r *Runtime) report(info container.InspectResponse) events.TaskReport {
	var taskID string
	if info.Config != nil {
		taskID = info.Config.Labels[LabelTaskID]
	}
	r.mu.Lock()
	killing := r.killing[taskID]
	oom := r.oom[taskID]
	r.mu.Unlock()
	rep := reportOf(info, killing)
	if oom && rep.State == events.TaskFailed && info.State != nil {
		_, rep.Message = exitState(info.State.ExitCode, true, false, "")
	}
	return rep
}

// removeLater removes an ended container and the sandbox of its task in
// the background, once.
func (r *Runtime) removeLater(id, taskID string) {
	r.mu.Lock()
	if r.removing[id] {
		r.mu.Unlock()
		return
	}
	r.removing[id] = true
	r.mu.Unlock()
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		ctx, cancel := context.WithTimeout(r.ctx, 30*time.Second)
		defer cancel()
		if err := r.cli.ContainerRemove(ctx, id, container.RemoveOptions{RemoveVolumes: true}); err != nil && !isNotFound(err) {
			r.log.Warn("remove ended container", "container", id, "error", err)
		} else {
			r.removeSandbox(taskID)
		}
		r.mu.Lock()
		delete(r.removing, id)
		r.mu.Unlock()
	}()
}

// emit reports a task state change once: nothing after a terminal state,
// nothing twice in a row.
func (r *Runtime) emit(rep events.TaskReport, at time.Time) {
	if rep.TaskID == "" {
		return
	}
	r.mu.Lock()
	prev, ok := r.known[rep.TaskID]
	if ok && (prev.state == rep.State || prev.state.Terminal()) {
		r.mu.Unlock()
		return
	}
	r.known[rep.TaskID] = knownState{state: rep.State, at: time.Now()}
	for id, k := range r.known {
		if k.state.Terminal() && time.Since(k.at) > forgetAfter {
			delete(r.known, id)
		}
	}
	r.mu.Unlock()
	r.hub.Publish(agent.RuntimeEvent{Task: rep, At: at})
}

var errNoContainer = errors.New("no such container")

// inspectTask inspects a task's container by name.
func (r *Runtime) inspectTask(ctx context.Context, taskID string) (container.InspectResponse, error) {
	if err := r.ready(ctx); err != nil {
		return container.InspectResponse{}, err
	}
	info, err := r.cli.ContainerInspect(ctx, ContainerName(r.cfg.AgentID, taskID))
	if isNotFound(err) {
		return info, errNoContainer
	}
	return info, err
}

// unavailable marks an error that shows no daemon is there (connection
// refused, socket gone) as agent.ErrRuntimeUnavailable. The client reports
// a context's deadline as itself, so a slow daemon is never marked.
func unavailable(err error) error {
	if err == nil || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) || !client.IsErrConnectionFailed(err) {
		return err
	}
	return fmt.Errorf("%w: %w", agent.ErrRuntimeUnavailable, err)
}

func isNotFound(err error) bool { return err != nil && cerrdefs.IsNotFound(err) }

func isConflict(err error) bool { return err != nil && cerrdefs.IsConflict(err) }
