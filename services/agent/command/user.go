package command

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"strconv"

	"github.com/drover/drover/services/agent"
)

// taskUser is who a task runs as.
type taskUser struct {
	Name   string   `json:"name"`
	UID    uint32   `json:"uid"`
	GID    uint32   `json:"gid"`
	Groups []uint32 `json:"groups,omitempty"`
	Home   string   `json:"home,omitempty"`
	// Switch: the supervisor switches to this user (the agent runs as
	// root); otherwise the task runs as the agent's own user.
	Switch bool `json:"switch"`
}

// resolveUser finds the user a task runs as: the app's, else the
// runtime's default. Only an agent running as root switches users; root
// itself only when allowRoot. A user that does not exist is an error
// saying so.
func resolveUser(name, defaultUser string, allowRoot bool) (taskUser, error) {
	if name == "" {
		name = defaultUser
	}
	self := os.Geteuid()
	if name == "" {
		if self == 0 && !allowRoot {
			return taskUser{}, fmt.Errorf("%w: no user to run the task as: the agent has no default user and runs as root", agent.ErrInvalidSpec)
		}
		return currentUser()
	}
	u, err := user.Lookup(name)
	if err != nil {
		var unknown user.UnknownUserError
		if errors.As(err, &unknown) {
			return taskUser{}, fmt.Errorf("user %q does not exist on this host", name)
		}
		return taskUser{}, fmt.Errorf("look up user %q: %w", name, err)
	}
	tu, err := userOf(u)
	if err != nil {
		return taskUser{}, err
	}
	switch {
	case tu.UID == 0 && !allowRoot:
		return taskUser{}, fmt.Errorf("%w: %w: tasks may not run as root (uid 0) on this agent (--command-allow-root)", agent.ErrInvalidSpec, agent.ErrPolicy)
	case self != 0 && int(tu.UID) != self:
		return taskUser{}, fmt.Errorf("the agent runs as uid %d, not root, so it cannot run a task as user %q", self, name)
	}
	tu.Switch = self == 0
	return tu, nil
}

func currentUser() (taskUser, error) {
	u, err := user.Current()
	if err != nil {
		return taskUser{UID: uint32(os.Getuid()), GID: uint32(os.Getgid())}, nil
	}
	return userOf(u)
}

func userOf(u *user.User) (taskUser, error) {
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return taskUser{}, fmt.Errorf("user %q: %w", u.Username, err)
	}
	tu := taskUser{Name: u.Username, UID: uint32(uid), GID: uint32(gid), Home: u.HomeDir}
	if ids, err := u.GroupIds(); err == nil {
		for _, id := range ids {
			if g, err := strconv.ParseUint(id, 10, 32); err == nil {
				tu.Groups = append(tu.Groups, uint32(g))
			}
		}
	}
	return tu, nil
}
