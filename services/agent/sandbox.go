package agent

import (
	"context"
	"errors"

	"github.com/drover/drover/pkg/events"
	"github.com/nats-io/nats.go"
)

// sandboxReads is how many sandbox reads an agent serves at once; more
// are answered SandboxUnavailable.
const sandboxReads = 4

// replyOverhead is what a SandboxFile's JSON adds to its data (base64:
// 4 bytes for 3) besides the data.
const replyOverhead = 1024

// runSandbox answers reads of its tasks' sandbox files on its own
// AgentSandbox subject (the api's GET /v2/tasks/{id}/files/{path}) until
// ctx is done. A runtime without sandboxes answers every read
// SandboxNotCommand.
func (a *Agent) runSandbox(ctx context.Context) {
	reader, _ := a.rt.(SandboxReader)
	slots := make(chan struct{}, sandboxReads)
	sub, err := a.nc.Subscribe(events.AgentSandbox(a.cfg.AgentID), func(m *nats.Msg) {
		if m.Reply == "" {
			return
		}
		select {
		case slots <- struct{}{}:
		default:
			a.replySandbox(m, events.SandboxFile{Code: events.SandboxUnavailable, Error: "too many reads at once"})
			return
		}
		go func() {
			defer func() { <-slots }()
			a.replySandbox(m, a.readSandbox(ctx, reader, m.Data))
		}()
	})
	if err != nil {
		a.log.Warn("serve sandbox files", "error", err)
		return
	}
	<-ctx.Done()
	_ = sub.Unsubscribe()
}

// readSandbox serves one read: at most what fits in one reply.
func (a *Agent) readSandbox(ctx context.Context, reader SandboxReader, data []byte) events.SandboxFile {
	req, err := events.Decode[events.SandboxRead](data)
	if err == nil {
		err = req.Validate()
	}
	if err != nil {
		return events.SandboxFile{Code: events.SandboxBadRequest, Error: err.Error()}
	}
	if reader == nil {
		return events.SandboxFile{Code: events.SandboxNotCommand, Error: ErrNoSandbox.Error()}
	}
	fits := max((a.nc.MaxPayload()-replyOverhead)*3/4, 1024)
	chunk, err := reader.ReadSandbox(ctx, req.TaskID, req.Path, req.Offset, min(req.Length, fits))
	switch {
	case err == nil:
		return events.SandboxFile{Data: chunk.Data, Offset: chunk.Offset, Size: chunk.Size}
	case errors.Is(err, ErrSandboxNotFound):
		return events.SandboxFile{Code: events.SandboxNotFound, Error: ErrSandboxNotFound.Error()}
	case errors.Is(err, ErrNoSandbox):
		return events.SandboxFile{Code: events.SandboxNotCommand, Error: ErrNoSandbox.Error()}
	case errors.Is(err, ErrSandboxPath):
		return events.SandboxFile{Code: events.SandboxBadRequest, Error: ErrSandboxPath.Error()}
	}
	a.log.Warn("read sandbox file", "task", req.TaskID, "path", req.Path, "error", err)
	return events.SandboxFile{Code: events.SandboxUnavailable, Error: "the agent could not read the file"}
}

func (a *Agent) replySandbox(m *nats.Msg, f events.SandboxFile) {
	f.V = events.Version
	data, err := events.Encode(f)
	if err == nil {
		err = m.Respond(data)
	}
	if err != nil {
		a.log.Warn("answer sandbox read", "error", err)
	}
}
