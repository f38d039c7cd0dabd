package api

import (
	"net/http"

	"github.com/drover/drover/services/api/change"
	"github.com/drover/drover/services/api/readmodel"
	"github.com/drover/drover/services/api/view"
	"github.com/labstack/echo/v4"
)

// changeRequest is what a write handler makes of its request: the change
// to make and, unless it is 200 with the change result, how to answer it.
type changeRequest struct {
	build change.Build
	// dryRun answers the steps of the change's deployment instead of
	// making it.
	dryRun bool
	// answer, when set, is the status, Location (when not "") and body
	// of the answer to the change made.
	answer func(p *change.Staged) (status int, location string, body any)
}

// writeChange is every write handler's skeleton: read force (def when the
// query does not set it), read the rest of the request (prepare: the path
// id, the body), make the change and answer it with its
// Marathon-Deployment-Id header and its result.
func (s *Server) writeChange(c echo.Context, def bool, prepare func() (*changeRequest, error)) error {
	force, err := boolParam(c, "force", def)
	if err != nil {
		return err
	}
	req, err := prepare()
	if err != nil {
		return err
	}
	if req.dryRun {
		return s.dryRun(c, req.build)
	}
	p, err := s.change(c, force, req.build)
	if err != nil {
		return err
	}
	if req.answer == nil {
		return answerChange(c, p)
	}
	status, location, body := req.answer(p)
	setChangeHeaders(c, p)
	if location != "" {
		c.Response().Header().Set(echo.HeaderLocation, location)
	}
	return writeJSON(c, status, body)
}

// writeAppChange is writeChange for a change to the app the path names.
func (s *Server) writeAppChange(c echo.Context, raw string, def bool, build func(st *readmodel.State, id string) (*change.Spec, error)) error {
	return s.writeChange(c, def, func() (*changeRequest, error) {
		id, err := pathAppID(raw)
		if err != nil {
			return nil, err
		}
		return &changeRequest{build: func(st *readmodel.State) (*change.Spec, error) { return build(st, id) }}, nil
	})
}

// change makes a change (changeWriter.change) once the read model has
// caught up with the buckets (awaitReady).
func (s *Server) change(c echo.Context, force bool, build change.Build) (*change.Staged, error) {
	if err := s.awaitReady(c); err != nil {
		return nil, err
	}
	return s.changes.Make(c, force, build)
}

// answerChange is the answer to most changes: 200 with the change result.
func answerChange(c echo.Context, p *change.Staged) error {
	setChangeHeaders(c, p)
	return writeJSON(c, http.StatusOK, p.Result())
}

// dryRun answers the steps of the deployment a change would start,
// staged as change stages it, without writing anything.
func (s *Server) dryRun(c echo.Context, build change.Build) error {
	p, err := s.changes.Stage(build)
	if err != nil {
		return err
	}
	steps := []view.Step{}
	for _, step := range p.Deployment.Steps {
		steps = append(steps, view.Step{Actions: step})
	}
	return writeJSON(c, http.StatusOK, map[string][]view.Step{"steps": steps})
}

// setChangeHeaders sets Marathon-Deployment-Id for a change.
func setChangeHeaders(c echo.Context, p *change.Staged) {
	c.Response().Header().Set(HeaderDeploymentID, p.Deployment.ID)
}
