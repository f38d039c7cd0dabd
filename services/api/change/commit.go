package change

import (
	"context"
	"errors"
	"fmt"

	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/services/api/apierr"
	"github.com/drover/drover/services/api/readmodel"
	"github.com/labstack/echo/v4"
	"github.com/nats-io/nats.go/jetstream"
)

// commit writes a staged change: every app by compare-and-set, then its deployment
// record, then (with force) the cancellation of the deployments it
// overrides (Cancel: each one's deployment_failed); it waits for the read
// model to show the writes and publishes the change's events. It returns
// the ids of the apps it wrote. A race lost on the first app is an
// *errRetry: nothing is written. One lost on a later app (a group change)
// leaves what was written, deployed, and is a 409.
func (s *Writer) commit(ctx context.Context, c echo.Context, p *Staged) ([]string, error) {
	var (
		written []string
		lastRev uint64
	)
	for i, op := range p.Ops {
		rev, err := s.writeApp(ctx, op, p.Deployment.ID)
		if err != nil {
			var retry *errRetry
			if errors.As(err, &retry) && i > 0 {
				p.Deployment.AffectedApps = written
				s.recordDeployment(ctx, p.Deployment)
				return written, &apierr.ConflictError{Message: fmt.Sprintf("App '%s' was changed by another request meanwhile; "+
					"the other apps were changed (deployment %s).", op.ID, p.Deployment.ID)}
			}
			return written, err
		}
		written = append(written, op.ID)
		lastRev = max(lastRev, rev)
	}
	depRev := s.recordDeployment(ctx, p.Deployment)
	for _, id := range p.Locks {
		// The root before this change is where the cancelled deployment
		// was taking the apps.
		if ok, err := s.Cancel(ctx, id, p.Plan.Original); err != nil {
			s.logger.Warn("cancel deployment", "deployment", id, "error", err)
		} else if ok {
			s.logger.Info("deployment cancelled by a forced change", "deployment", id, "by", p.Deployment.ID)
		}
	}
	s.logger.Info("change", "apps", written, "deployment", p.Deployment.ID, "version", p.Deployment.Version)
	s.AwaitWrites(ctx, map[string]uint64{events.BucketApps: lastRev, events.BucketDeployments: depRev})
	s.publishChange(c, p)
	return written, nil
}

// writeApp writes one op by compare-and-set and returns the revision.
func (s *Writer) writeApp(ctx context.Context, op Op, deploymentID string) (uint64, error) {
	key := events.AppKey(op.ID)
	if op.Next == nil {
		// A delete marker's revision is not returned: the bucket's last
		// sequence after it is at least that.
		err := s.bus.Apps.Delete(ctx, key, jetstream.LastRevision(op.Prev.Rev))
		if isCASError(err) {
			return 0, &errRetry{key: key}
		}
		if err != nil {
			return 0, fmt.Errorf("api: delete app %s: %w", op.ID, err)
		}
		return readmodel.LastSeq(ctx, s.bus.Apps), nil
	}
	data, err := events.Encode(op.record(deploymentID))
	if err != nil {
		return 0, err
	}
	var rev uint64
	if op.Prev == nil {
		rev, err = s.bus.Apps.Create(ctx, key, data)
		if errors.Is(err, jetstream.ErrKeyExists) && op.MustBeNew {
			return 0, &apierr.AppExistsError{ID: op.ID}
		}
	} else {
		rev, err = s.bus.Apps.Update(ctx, key, data, op.Prev.Rev)
	}
	if isCASError(err) {
		return 0, &errRetry{key: key}
	}
	if err != nil {
		return 0, fmt.Errorf("api: write app %s: %w", op.ID, err)
	}
	return rev, nil
}

func isCASError(err error) bool {
	var apiErr *jetstream.APIError
	return errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch) ||
		(errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
			apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)) // the latter on replicated streams
}

// checkLocks refuses a change to apps a running deployment holds, unless
// forced. Besides the read model's view, the deployment each app's record
// names is looked up in the bucket, so that a deployment written an
// instant ago by another replica locks as well.
func (s *Writer) checkLocks(ctx context.Context, p *Staged, force bool) error {
	seen := map[string]bool{p.Deployment.ID: true}
	for _, id := range p.Locks {
		seen[id] = true
	}
	for _, op := range p.Ops {
		if op.Prev == nil || op.Prev.Rec.DeploymentID == "" || seen[op.Prev.Rec.DeploymentID] {
			continue
		}
		id := op.Prev.Rec.DeploymentID
		seen[id] = true
		if _, err := s.bus.Deployments.Get(ctx, id); err == nil {
			p.Locks = append(p.Locks, id)
		} else if !errors.Is(err, jetstream.ErrKeyNotFound) {
			return fmt.Errorf("api: read deployment %s: %w", id, err)
		}
	}
	if len(p.Locks) > 0 && !force {
		return &apierr.DeploymentLockedError{IDs: p.Locks}
	}
	return nil
}

// recordDeployment writes the deployment a change started and returns its
// revision. The change itself is already written, and the scheduler acts
// on the apps bucket, so a failure here is logged, not returned.
func (s *Writer) recordDeployment(ctx context.Context, d events.Deployment) uint64 {
	data, err := events.Encode(d)
	if err == nil {
		var rev uint64
		if rev, err = s.bus.Deployments.Create(ctx, d.ID, data); err == nil {
			return rev
		}
	}
	s.logger.Error("record deployment", "deployment", d.ID, "apps", d.AffectedApps, "error", err)
	return 0
}

// AwaitWrites waits, within SyncTimeout, until the read model shows the
// given revisions, so that this client's next read sees its write. Past
// the bound the write stands and the wait is only logged.
func (s *Writer) AwaitWrites(ctx context.Context, revs map[string]uint64) {
	ctx, cancel := context.WithTimeout(ctx, s.syncTimeout)
	defer cancel()
	for bucket, rev := range revs {
		if rev == 0 {
			continue
		}
		if err := s.rm.CaughtUp(ctx, bucket, rev); err != nil {
			s.logger.Warn("read model behind a write", "bucket", bucket, "revision", rev, "error", err)
			return
		}
	}
}
