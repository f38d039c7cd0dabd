package events

import (
	"fmt"
	"path"
	"strings"
)

// Bounds of a read of a sandbox file.
const (
	// SandboxTail is how much of a file's end a read without offset or
	// length returns: the last 64 KiB.
	SandboxTail = 64 << 10
	// SandboxMaxRead is the most one read returns: 1 MiB. An agent may
	// return less (a reply must fit in one NATS message: ask again from
	// the offset after it).
	SandboxMaxRead = 1 << 20
	// SandboxPathMax is the longest path a read may name.
	SandboxPathMax = 1024
)

// SandboxRead asks an agent for part of a file of a task's sandbox, on
// AgentSandbox (request/reply; the answer is a SandboxFile).
type SandboxRead struct {
	V      int    `json:"v"`
	TaskID string `json:"taskId"`
	// Path is the file's, relative to the sandbox: "stdout", "stderr", or
	// another file under it ("/" separated, no "..", no absolute path).
	Path string `json:"path"`
	// Offset is where to read from; negative: the last Length bytes.
	Offset int64 `json:"offset"`
	// Length is how much to read, at most SandboxMaxRead.
	Length int64 `json:"length"`
}

// Validate checks a read before it is sent or served.
func (r SandboxRead) Validate() error {
	switch {
	case r.TaskID == "" || len(r.TaskID) > 512:
		return fmt.Errorf("events: sandbox read: task id %q", r.TaskID)
	case r.Length < 0 || r.Length > SandboxMaxRead:
		return fmt.Errorf("events: sandbox read: length %d, want 0 to %d", r.Length, SandboxMaxRead)
	}
	return ValidSandboxPath(r.Path)
}

// ValidSandboxPath checks a path a SandboxRead may name: relative, clean,
// within the sandbox (the agent also refuses symbolic links that leave it).
func ValidSandboxPath(p string) error {
	switch {
	case p == "" || len(p) > SandboxPathMax:
		return fmt.Errorf("events: sandbox path %q: want 1 to %d characters", p, SandboxPathMax)
	case strings.ContainsRune(p, 0), strings.HasPrefix(p, "/"), path.Clean(p) != p, p == "..", strings.HasPrefix(p, "../"):
		return fmt.Errorf("events: sandbox path %q: want a clean path inside the sandbox", p)
	}
	return nil
}

// Why a SandboxFile holds no data (SandboxFile.Code).
const (
	SandboxNotFound    = "not_found"        // no such task here, or no such file in its sandbox
	SandboxNotCommand  = "not_command_task" // the task's runtime keeps no sandbox (the name is from when only host commands had one)
	SandboxBadRequest  = "bad_request"      // the read is malformed, or names a path outside the sandbox
	SandboxUnavailable = "unavailable"      // the agent could not read it (its error is in its log)
)

// SandboxFile is an agent's answer to a SandboxRead: the bytes read from
// Offset, and the file's size then; or, with Code set, why not.
type SandboxFile struct {
	V      int    `json:"v"`
	Data   []byte `json:"data,omitempty"`
	Offset int64  `json:"offset"`
	Size   int64  `json:"size"`
	Code   string `json:"code,omitempty"`
	Error  string `json:"error,omitempty"`
}
