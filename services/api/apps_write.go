package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/marathon"
	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"github.com/nats-io/nats.go/jetstream"
)

// HeaderDeploymentID carries the id of the deployment a change started.
const HeaderDeploymentID = "Marathon-Deployment-Id"

// deleteAttempts bounds the compare-and-set retries of a delete racing
// with other writers of the same app.
const deleteAttempts = 3

// ConflictError is a write that lost a race with another one: 409.
type ConflictError struct{ Message string }

func (e *ConflictError) Error() string { return e.Message }

// changeResult is Marathon's answer to a change: the deployment it started
// and the version it made.
type changeResult struct {
	DeploymentID string `json:"deploymentId"`
	Version      string `json:"version"`
}

// createApp is POST /v2/apps: validate, then create the app with KV Create
// and the deployment that starts it.
func (s *Server) createApp(c echo.Context) error {
	body, err := readBody(c, s.cfg.BodyLimit)
	if err != nil {
		return err
	}
	app, err := parseNewApp(body)
	if err != nil {
		return err
	}
	now := s.now()
	version := formatTime(now)
	app.Version = version
	app.VersionInfo = &marathon.VersionInfo{LastScalingAt: version, LastConfigChangeAt: version}
	deployment := events.Deployment{
		V: events.Version, ID: uuid.NewString(), Version: version, AffectedApps: []string{app.ID},
		Steps: [][]events.DeploymentAction{
			{{Action: events.ActionStart, App: app.ID}},
			{{Action: events.ActionScale, App: app.ID}},
		},
		CreatedAt: now,
	}
	data, err := events.Encode(events.AppRecord{V: events.Version, App: *app, DeploymentID: deployment.ID})
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	appRev, err := s.bus.Apps.Create(ctx, events.AppKey(app.ID), data)
	if errors.Is(err, jetstream.ErrKeyExists) {
		return &AppExistsError{ID: app.ID}
	}
	if err != nil {
		return fmt.Errorf("api: create app %s: %w", app.ID, err)
	}
	s.logger.Info("app created", "app", app.ID, "deployment", deployment.ID, "revision", appRev)
	depRev := s.recordDeployment(ctx, deployment)
	s.awaitWrites(ctx, map[string]uint64{events.BucketApps: appRev, events.BucketDeployments: depRev})
	s.publishAPIPost(ctx, c, app)

	c.Response().Header().Set(echo.HeaderLocation, "/v2/apps"+app.ID)
	c.Response().Header().Set(HeaderDeploymentID, deployment.ID)
	tasks := []task{}
	return writeJSON(c, http.StatusCreated, appResponse{
		App: *app, Deployments: []deploymentRef{{ID: deployment.ID}}, Tasks: &tasks,
	})
}

// parseNewApp decodes, normalises, defaults and validates a POSTed app.
func parseNewApp(body []byte) (*marathon.App, error) {
	var app marathon.App
	if err := decodeJSON(body, &app); err != nil {
		return nil, err
	}
	if app.ID == "" {
		var probe struct {
			ID *string `json:"id"`
		}
		_ = json.Unmarshal(body, &probe)
		if probe.ID == nil {
			return nil, &InvalidJSONError{Details: []marathon.FieldError{{Path: "/id", Errors: []string{"error.path.missing"}}}}
		}
	}
	id, err := marathon.NormalizeID(app.ID, "/")
	if err != nil {
		var ie *marathon.IDError
		if errors.As(err, &ie) {
			return nil, &ValidationError{Details: []marathon.FieldError{{Path: "/id", Errors: []string{ie.Reason}}}}
		}
		return nil, err
	}
	app.ID = id
	var details []marathon.FieldError
	for i, dep := range app.Dependencies {
		norm, err := marathon.NormalizeID(dep, marathon.ParentID(id))
		var ie *marathon.IDError
		if errors.As(err, &ie) {
			details = append(details, marathon.FieldError{Path: fmt.Sprintf("/dependencies(%d)", i), Errors: []string{ie.Reason}})
			continue
		}
		app.Dependencies[i] = norm
	}
	if len(details) > 0 {
		return nil, &ValidationError{Details: details}
	}
	marathon.ApplyDefaults(&app)
	if errs := marathon.Validate(&app); errs != nil {
		return nil, &ValidationError{Details: errs}
	}
	return &app, nil
}

// deleteApp is DELETE /v2/apps/{id}: delete the app's key at the revision
// read (compare-and-set), and record the deployment that stops it.
func (s *Server) deleteApp(c echo.Context) error {
	raw := wildcardPath(c)
	if raw == "" {
		return echo.ErrMethodNotAllowed
	}
	if err := s.awaitReady(c); err != nil {
		return err
	}
	id, err := pathAppID(raw)
	if err != nil {
		return err
	}
	var rev uint64
	s.rm.read(func(st *state) {
		if e, ok := st.apps[id]; ok {
			rev = e.rev
		}
	})
	if rev == 0 {
		return &AppNotFoundError{ID: id}
	}
	ctx := c.Request().Context()
	if err := s.casDelete(ctx, id, rev); err != nil {
		return err
	}
	// The delete marker's revision is not returned: the bucket's last
	// sequence now is at least that.
	var appsRev uint64
	if st, err := s.bus.Apps.Status(ctx); err == nil {
		if bs, ok := st.(*jetstream.KeyValueBucketStatus); ok && bs.StreamInfo() != nil {
			appsRev = bs.StreamInfo().State.LastSeq
		}
	}
	now := s.now()
	deployment := events.Deployment{
		V: events.Version, ID: uuid.NewString(), Version: formatTime(now), AffectedApps: []string{id},
		Steps:     [][]events.DeploymentAction{{{Action: events.ActionStop, App: id}}},
		CreatedAt: now,
	}
	s.logger.Info("app deleted", "app", id, "deployment", deployment.ID)
	depRev := s.recordDeployment(ctx, deployment)
	s.awaitWrites(ctx, map[string]uint64{events.BucketApps: appsRev, events.BucketDeployments: depRev})
	c.Response().Header().Set(HeaderDeploymentID, deployment.ID)
	return writeJSON(c, http.StatusOK, changeResult{DeploymentID: deployment.ID, Version: deployment.Version})
}

// casDelete deletes an app's key at revision rev, re-reading the key when
// another writer got there first.
func (s *Server) casDelete(ctx context.Context, id string, rev uint64) error {
	key := events.AppKey(id)
	for range deleteAttempts {
		err := s.bus.Apps.Delete(ctx, key, jetstream.LastRevision(rev))
		if err == nil {
			return nil
		}
		if !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			return fmt.Errorf("api: delete app %s: %w", id, err)
		}
		entry, err := s.bus.Apps.Get(ctx, key)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return &AppNotFoundError{ID: id}
		}
		if err != nil {
			return fmt.Errorf("api: read app %s: %w", id, err)
		}
		rev = entry.Revision()
	}
	return &ConflictError{Message: fmt.Sprintf("App '%s' is being changed by another request; try again.", id)}
}

// recordDeployment writes the deployment a change started and returns its
// revision. The change itself is already written, and the scheduler acts
// on the apps bucket, so a failure here is logged, not returned.
func (s *Server) recordDeployment(ctx context.Context, d events.Deployment) uint64 {
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

// awaitWrites waits, within SyncTimeout, until the read model shows the
// given revisions, so that this client's next read sees its write. Past
// the bound the write stands and the wait is only logged.
func (s *Server) awaitWrites(ctx context.Context, revs map[string]uint64) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.SyncTimeout)
	defer cancel()
	for bucket, rev := range revs {
		if rev == 0 {
			continue
		}
		if err := s.rm.caughtUp(ctx, bucket, rev); err != nil {
			s.logger.Warn("read model behind a write", "bucket", bucket, "revision", rev, "error", err)
			return
		}
	}
}

// apiPostEvent is Marathon's api_post_event.
type apiPostEvent struct {
	EventType     string       `json:"eventType"`
	Timestamp     string       `json:"timestamp"`
	ClientIP      string       `json:"clientIp"`
	URI           string       `json:"uri"`
	AppDefinition marathon.App `json:"appDefinition"`
}

const eventAPIPost = "api_post_event"

// publishAPIPost publishes api_post_event for an app written through the
// API. It is best effort: a failure is logged.
func (s *Server) publishAPIPost(ctx context.Context, c echo.Context, app *marathon.App) {
	ev := apiPostEvent{
		EventType: eventAPIPost, Timestamp: formatTime(s.now()), ClientIP: c.RealIP(),
		URI: c.Request().URL.Path, AppDefinition: *app,
	}
	data, err := json.Marshal(ev)
	if err == nil {
		ctx, cancel := context.WithTimeout(ctx, s.cfg.SyncTimeout)
		defer cancel()
		_, err = s.bus.JS.Publish(ctx, events.Event(eventAPIPost), data)
	}
	if err != nil {
		s.logger.Warn("publish event", "event", eventAPIPost, "app", app.ID, "error", err)
	}
}

// now is the server's clock, in UTC with millisecond precision (the
// precision of the versions it writes).
func (s *Server) now() time.Time { return s.clock().UTC().Truncate(time.Millisecond) }
