package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/services/api/apierr"
	"github.com/drover/drover/services/api/readmodel"
	"github.com/labstack/echo/v4"
	"github.com/nats-io/nats.go"
)

// sandboxWait bounds one read of a sandbox file from its agent.
const sandboxWait = 5 * time.Second

// sandboxReplies bounds the replies one read gathers (a reply is most of
// a NATS message: 1 MiB takes two at the default 1 MB max payload).
const sandboxReplies = 16

// TaskFile is the answer of GET /v2/tasks/{taskId}/files/{path}: as
// Mesos' /files/read, the bytes read (Data, as text: bytes that are no
// UTF-8 become U+FFFD) and where they start; and the file's size.
type TaskFile struct {
	Data   string `json:"data"`
	Offset int64  `json:"offset"`
	Size   int64  `json:"size"`
}

// taskFile is GET /v2/tasks/{taskId}/files/{path}?offset=&length=: a part
// of a file of a host command's sandbox ("stdout", "stderr", or another
// file under it), read by its agent over NATS (events.AgentSandbox).
// Without offset, the last length bytes; length defaults to 64 KiB and is
// at most 1 MiB. 404 for a task that does not run, a file not there, or a
// task in a container (no sandbox); 503 when its agent does not answer,
// 504 when not in time.
func (s *Server) taskFile(c echo.Context) error {
	taskID := c.Param("taskId")
	path, err := url.PathUnescape(c.Param("*"))
	if err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "path: "+err.Error())
	}
	offset, length, err := fileRange(c.QueryParam("offset"), c.QueryParam("length"))
	if err != nil {
		return err
	}
	if err := events.ValidSandboxPath(path); err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, fmt.Sprintf("path %q: want a path inside the task's sandbox", path))
	}
	if err := s.awaitReady(c); err != nil {
		return err
	}
	var (
		inst  events.Instance
		found bool
	)
	s.rm.Read(func(st *readmodel.State) { inst, found = st.Instances[events.InstanceKey(taskID)] })
	if !found {
		return &apierr.TaskNotFoundError{ID: taskID}
	}
	f, err := s.readSandbox(c.Request().Context(), inst, path, offset, length)
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, f)
}

// fileRange reads offset (default -1: the end) and length (default
// SandboxTail, at most SandboxMaxRead).
func fileRange(offsetParam, lengthParam string) (offset, length int64, err error) {
	offset, length = -1, events.SandboxTail
	if offsetParam != "" {
		if offset, err = strconv.ParseInt(offsetParam, 10, 64); err != nil || offset < -1 {
			return 0, 0, echo.NewHTTPError(http.StatusBadRequest, "offset: want a number of bytes, or -1 for the end")
		}
	}
	if lengthParam != "" {
		if length, err = strconv.ParseInt(lengthParam, 10, 64); err != nil || length < 0 || length > events.SandboxMaxRead {
			return 0, 0, echo.NewHTTPError(http.StatusBadRequest, fmt.Sprintf("length: want 0 to %d bytes", events.SandboxMaxRead))
		}
	}
	return offset, length, nil
}

// readSandbox asks the task's agent for the range, again from where its
// answer ended while the answer is short of it (a reply is at most one
// NATS message), until the range or the file ends.
func (s *Server) readSandbox(ctx context.Context, inst events.Instance, path string, offset, length int64) (TaskFile, error) {
	var out TaskFile
	var data []byte
	for i := range sandboxReplies {
		f, err := s.askSandbox(ctx, inst, events.SandboxRead{V: events.Version, TaskID: inst.TaskID, Path: path, Offset: offset, Length: length})
		if err != nil {
			return TaskFile{}, err
		}
		if i == 0 {
			out.Offset = f.Offset
		}
		data = append(data, f.Data...)
		out.Size = f.Size
		length -= int64(len(f.Data))
		offset = f.Offset + int64(len(f.Data))
		if len(f.Data) == 0 || length <= 0 || offset >= f.Size {
			break
		}
	}
	out.Data = string(data)
	return out, nil
}

// askSandbox sends one read to the task's agent and reads its answer.
func (s *Server) askSandbox(ctx context.Context, inst events.Instance, req events.SandboxRead) (events.SandboxFile, error) {
	data, err := events.Encode(req)
	if err != nil {
		return events.SandboxFile{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.sandboxWait)
	defer cancel()
	m, err := s.bus.JS.Conn().RequestWithContext(ctx, events.AgentSandbox(inst.AgentID), data)
	if err != nil {
		timeout := errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout)
		return events.SandboxFile{}, &apierr.AgentUnavailableError{AgentID: inst.AgentID, Timeout: timeout, Err: err}
	}
	f, err := events.Decode[events.SandboxFile](m.Data)
	if err != nil {
		return events.SandboxFile{}, &apierr.AgentUnavailableError{AgentID: inst.AgentID, Err: err}
	}
	switch f.Code {
	case "":
		return f, nil
	case events.SandboxNotFound:
		return f, &apierr.SandboxFileNotFoundError{TaskID: inst.TaskID, Path: req.Path, Why: "not in the task's sandbox"}
	case events.SandboxNotCommand:
		return f, &apierr.SandboxFileNotFoundError{TaskID: inst.TaskID, Path: req.Path, Why: "the task has no sandbox on its agent (one that mounts none into its containers: see docker logs)"}
	case events.SandboxBadRequest:
		return f, echo.NewHTTPError(http.StatusBadRequest, fmt.Sprintf("path %q: %s", req.Path, f.Error))
	}
	return f, &apierr.AgentUnavailableError{AgentID: inst.AgentID, Err: fmt.Errorf("%s: %s", f.Code, f.Error)}
}
