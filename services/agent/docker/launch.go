package docker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"

	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/marathon"
)

// Launch creates and starts a task's container, pulling its image when it
// is absent or the app forces a pull. Before it creates the container it
// makes the task's sandbox and fetches the app's URIs into it (a fetch
// that fails fails the launch, and leaves no sandbox). A container already
// there is started if it never was, and reported as it is, its sandbox
// untouched.
//
// The usual launch is three Docker calls (create, start, inspect): the
// container's name is the task's, so a create that finds it taken is how a
// launch sent again learns the task exists, and a create refused for a
// missing image is how a pull is found needed. On a loaded daemon each
// call can take a second; asking first (inspect the task, inspect the
// image) cost two more on every launch. A launch sent again does find the
// task's sandbox there, and asks first: the sandbox of a task that runs is
// never made afresh.
func (r *Runtime) Launch(ctx context.Context, taskID string, spec marathon.TaskSpec) (events.TaskReport, error) {
	cs, err := buildSpec(r.cfg, taskID, spec)
	if err != nil {
		return events.TaskReport{}, err
	}
	applyPrivileged(cs.Host, r.privMode, r.privDrop)
	if err := r.ready(ctx); err != nil {
		return events.TaskReport{}, err
	}
	r.beginLaunch(taskID)
	defer r.endLaunch(taskID)
	sandboxThere := r.sandbox(taskID) != "" && exists(r.sandbox(taskID))
	if spec.ForcePull || (cs.Network != nil && len(cs.Network.EndpointsConfig) > 0) || sandboxThere {
		// A forced pull (the registry may be down) and a user network (it
		// may be gone) can fail a launch sent again of a task that runs:
		// look for its container first, as a launch once always did. So
		// does a launch that finds the task's sandbox, not to make afresh
		// the sandbox of a task that runs.
		info, err := r.inspectTask(ctx, taskID)
		if err == nil {
			return r.adopt(ctx, taskID, info)
		}
		if !errors.Is(err, errNoContainer) {
			return events.TaskReport{}, fmt.Errorf("docker: inspect %s: %w", cs.Name, err)
		}
	}
	if err := r.checkNetworks(ctx, cs.Network); err != nil {
		return events.TaskReport{}, err
	}
	// Mesos' order: the fetch, then the image.
	if err := r.prepareSandbox(ctx, taskID, spec); err != nil {
		return events.TaskReport{}, err
	}
	keep := false
	defer func() {
		if !keep {
			r.removeSandbox(taskID)
		}
	}()
	if spec.ForcePull {
		if err := r.ensureImage(ctx, cs.Config.Image, true); err != nil {
			return events.TaskReport{}, err
		}
	}
	created, err := r.create(ctx, cs)
	if isConflict(err) { // the task's container is there already
		keep = true // its sandbox, made again: it goes when the container does
		info, err := r.inspectTask(ctx, taskID)
		if err != nil {
			return events.TaskReport{}, fmt.Errorf("docker: inspect %s: %w", cs.Name, err)
		}
		return r.adopt(ctx, taskID, info)
	}
	if err != nil {
		return events.TaskReport{}, fmt.Errorf("docker: create %s: %w", cs.Name, r.sandboxUnseen(taskID, err))
	}
	for _, w := range created.Warnings {
		r.log.Warn("docker create warning", "task", taskID, "warning", w)
	}
	if left, err := r.start(ctx, taskID, created.ID); err != nil {
		keep = left // a container left keeps its sandbox, its mount's source
		return events.TaskReport{}, err
	}
	keep = true
	info, err := r.cli.ContainerInspect(ctx, created.ID)
	if err != nil {
		return events.TaskReport{}, fmt.Errorf("docker: inspect %s: %w", cs.Name, err)
	}
	rep := r.report(info)
	r.log.Info("task launched", "task", taskID, "app", rep.AppID, "container", created.ID[:12], "state", rep.State, "fetched", len(spec.Fetch))
	return rep, nil
}

// create creates the container; refused for a missing image, it pulls the
// image and creates again (a refusal for anything else is returned as it
// is: the image is there, and the second create is refused the same way).
func (r *Runtime) create(ctx context.Context, cs containerSpec) (container.CreateResponse, error) {
	created, err := r.cli.ContainerCreate(ctx, cs.Config, cs.Host, cs.Network, nil, cs.Name)
	if !isNotFound(err) {
		return created, err
	}
	if err := r.ensureImage(ctx, cs.Config.Image, false); err != nil {
		return container.CreateResponse{}, err
	}
	return r.cli.ContainerCreate(ctx, cs.Config, cs.Host, cs.Network, nil, cs.Name)
}

// adopt reports a task whose container exists, starting it if it was
// created but never started.
func (r *Runtime) adopt(ctx context.Context, taskID string, info container.InspectResponse) (events.TaskReport, error) {
	if info.State != nil && info.State.Status == container.StateCreated && info.State.Error == "" {
		if _, err := r.start(ctx, taskID, info.ID); err != nil {
			return events.TaskReport{}, err
		}
		started, err := r.cli.ContainerInspect(ctx, info.ID)
		if err != nil {
			return events.TaskReport{}, fmt.Errorf("docker: inspect %s: %w", info.ID, err)
		}
		info = started
	}
	return r.report(info), nil
}

// start starts a task's container; one that cannot start is removed, its
// sandbox too, so that the failure is the task's end. One whose removal
// fails is left (left is true), and its sandbox with it, the source of
// its mount: they go together later (a kill of the task removes both; the
// sweep takes the sandbox once the container is gone).
func (r *Runtime) start(ctx context.Context, taskID, id string) (left bool, err error) {
	err = r.cli.ContainerStart(ctx, id, container.StartOptions{})
	if err == nil {
		return false, nil
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if rmErr := r.cli.ContainerRemove(rctx, id, container.RemoveOptions{Force: true, RemoveVolumes: true}); rmErr != nil && !isNotFound(rmErr) {
		r.log.Warn("remove container that did not start", "container", id, "error", rmErr)
		left = true
	} else {
		r.removeSandbox(taskID)
	}
	return left, fmt.Errorf("docker: start: %w", r.sandboxUnseen(taskID, err))
}

// checkNetworks makes sure the named networks a container joins exist, so
// that a missing one fails the launch (TASK_FAILED) saying so.
func (r *Runtime) checkNetworks(ctx context.Context, nc *network.NetworkingConfig) error {
	if nc == nil {
		return nil
	}
	for _, name := range slices.Sorted(maps.Keys(nc.EndpointsConfig)) {
		_, err := r.cli.NetworkInspect(ctx, name, network.InspectOptions{})
		if isNotFound(err) {
			return fmt.Errorf("docker: network %q does not exist on agent %s: create it (docker network create %s) or run the app on another network",
				name, r.cfg.AgentID, name)
		}
		if err != nil {
			return fmt.Errorf("docker: inspect network %q: %w", name, err)
		}
	}
	return nil
}

// ensureImage pulls ref unless it is present and no pull is forced.
func (r *Runtime) ensureImage(ctx context.Context, ref string, force bool) error {
	if !force {
		_, err := r.cli.ImageInspect(ctx, ref)
		if err == nil {
			return nil
		}
		if !isNotFound(err) {
			return fmt.Errorf("docker: inspect image %s: %w", ref, err)
		}
	}
	pctx, cancel := context.WithTimeout(ctx, r.cfg.PullTimeout)
	defer cancel()
	r.log.Info("pulling image", "image", ref, "forced", force)
	rc, err := r.cli.ImagePull(pctx, ref, image.PullOptions{})
	if err != nil {
		return fmt.Errorf("docker: pull %s: %w", ref, err)
	}
	defer rc.Close()
	if err := readPullOutput(rc); err != nil {
		return fmt.Errorf("docker: pull %s: %w", ref, err)
	}
	return nil
}

// readPullOutput drains a pull's JSON progress stream and returns the error it reports.
func readPullOutput(rd io.Reader) error {
	dec := json.NewDecoder(rd)
	for {
		var m struct {
			Error       string `json:"error"`
			ErrorDetail *struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		if m.ErrorDetail != nil && m.ErrorDetail.Message != "" {
			return errors.New(m.ErrorDetail.Message)
		}
		if m.Error != "" {
			return errors.New(m.Error)
		}
	}
}
