package chaos

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"
	"github.com/google/uuid"
)

// Label marks every container this package makes ("drover.chaos=1").
const Label = "drover.chaos"

// ChurnLabel holds the id of the churn that made a container.
const ChurnLabel = "drover.chaos.churn"

// Churn is a loop creating, starting and force-removing containers on a
// Docker daemon, to load it the way other tenants would.
type Churn struct {
	cli    *client.Client
	image  string
	id     string
	stop   chan struct{}
	done   chan struct{}
	once   sync.Once
	cycles atomic.Int64
	fails  atomic.Int64

	mu      sync.Mutex
	made    map[string]struct{} // created, not yet known removed
	lastErr error
}

// StartContainerChurn starts a churn of containers of image, whose default
// command must keep running, through cli: one create-start-remove cycle at a
// time, at most one every `every` (<= 0 is 100 ms). The test's cleanup stops
// it and removes every container it made.
func StartContainerChurn(t testing.TB, cli *client.Client, image string, every time.Duration) *Churn {
	t.Helper()
	if every <= 0 {
		every = 100 * time.Millisecond
	}
	c := &Churn{cli: cli, image: image, id: uuid.NewString(),
		stop: make(chan struct{}), done: make(chan struct{}), made: map[string]struct{}{}}
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Errorf("chaos: churn cleanup: %v", err)
		}
	})
	go c.loop(every)
	return c
}

// Cycles is how many create-start-remove cycles have completed.
func (c *Churn) Cycles() int { return int(c.cycles.Load()) }

// Failures is how many cycles failed; Err is the last failure.
func (c *Churn) Failures() int { return int(c.fails.Load()) }

// Err is the last cycle's failure, nil when none failed.
func (c *Churn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastErr
}

// Stop ends the loop and removes the containers it made, also any left with
// its ChurnLabel. It waits for the cycle under way rather than cancel it: the
// daemon finishes a create whose request was cancelled, after the listing
// that would have found its container. Containers of other churns are not
// touched. Only the first call does the work; the test's cleanup calls it.
func (c *Churn) Stop() error {
	var err error
	c.once.Do(func() {
		close(c.stop)
		<-c.done
		err = c.removeAll()
	})
	return err
}

func (c *Churn) loop(every time.Duration) {
	defer close(c.done)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		if err := c.cycle(); err != nil {
			c.fails.Add(1)
			c.mu.Lock()
			c.lastErr = err
			c.mu.Unlock()
		}
		select {
		case <-c.stop:
			return
		case <-tick.C:
		}
	}
}

func (c *Churn) cycle() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	created, err := c.cli.ContainerCreate(ctx, &container.Config{
		Image:  c.image,
		Labels: map[string]string{Label: "1", ChurnLabel: c.id},
	}, &container.HostConfig{}, nil, nil, "")
	if err != nil {
		return fmt.Errorf("create: %w", err)
	}
	c.mu.Lock()
	c.made[created.ID] = struct{}{}
	c.mu.Unlock()
	if err := c.cli.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
		return fmt.Errorf("start %s: %w", created.ID, err)
	}
	if err := c.remove(ctx, created.ID); err != nil {
		return err
	}
	c.cycles.Add(1)
	return nil
}

func (c *Churn) remove(ctx context.Context, id string) error {
	err := c.cli.ContainerRemove(ctx, id, container.RemoveOptions{Force: true})
	if err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("remove %s: %w", id, err)
	}
	c.mu.Lock()
	delete(c.made, id)
	c.mu.Unlock()
	return nil
}

// removeAll removes what the loop left: containers it recorded and any
// carrying its label (a create whose answer was lost still made one).
func (c *Churn) removeAll() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	args := filters.NewArgs(filters.Arg("label", ChurnLabel+"="+c.id))
	left, err := c.cli.ContainerList(ctx, container.ListOptions{All: true, Filters: args})
	if err != nil {
		return fmt.Errorf("list: %w", err)
	}
	c.mu.Lock()
	for _, ct := range left {
		c.made[ct.ID] = struct{}{}
	}
	ids := make([]string, 0, len(c.made))
	for id := range c.made {
		ids = append(ids, id)
	}
	c.mu.Unlock()
	for _, id := range ids {
		if err := c.remove(ctx, id); err != nil {
			return err
		}
	}
	left, err = c.cli.ContainerList(ctx, container.ListOptions{All: true, Filters: args})
	if err != nil {
		return fmt.Errorf("list: %w", err)
	}
	if len(left) > 0 {
		return fmt.Errorf("%d containers of churn %s remain", len(left), c.id)
	}
	return nil
}
