package natsutil

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/nats-io/nats-server/v2/server"
	"golang.org/x/crypto/bcrypt"
)

// connTypeInProcess is nats-server's name for a connection made through
// Server.InProcessConn (jwt.ConnectionTypeInProcess).
const connTypeInProcess = "IN_PROCESS"

// InProcessUsers are two users that only the process running a node can
// log in as (their connections must be in-process, their passwords are
// random per process and never leave it): System, in the system account,
// may only ask the JetStream meta leader to step down; Reader, in the
// global account, may only hear the subjects it is given. drover nats
// uses them to keep the meta leader off the leading scheduler's master
// (internal/metaplace), an act nats-server allows the system account only.
type InProcessUsers struct {
	System, Reader Login
	// ReaderSubjects are the subjects Reader may subscribe to.
	ReaderSubjects []string

	systemHash, readerHash string
}

// Login is a user name and password.
type Login struct{ User, Password string }

// ErrInProcessUsers: the server's options cannot take InProcessUsers.
var ErrInProcessUsers = errors.New("nats: in-process users need a system account, and no operator mode")

// Names of the in-process users.
const (
	inProcessSystemUser = "drover-node-system"
	inProcessReaderUser = "drover-node-reader"
)

// NewInProcessUsers makes the users with fresh random passwords; Reader may
// subscribe to readerSubjects.
func NewInProcessUsers(readerSubjects ...string) (*InProcessUsers, error) {
	u := &InProcessUsers{ReaderSubjects: readerSubjects}
	var err error
	if u.System, u.systemHash, err = newLogin(inProcessSystemUser); err != nil {
		return nil, err
	}
	if u.Reader, u.readerHash, err = newLogin(inProcessReaderUser); err != nil {
		return nil, err
	}
	return u, nil
}

func newLogin(user string) (Login, string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return Login{}, "", fmt.Errorf("nats: password for %s: %w", user, err)
	}
	pw := base64.RawURLEncoding.EncodeToString(b)
	// The password is random and long: the hash's cost adds nothing but
	// time to every in-process login; bcrypt only keeps nats-server from
	// warning of a plain-text password.
	hash, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		return Login{}, "", fmt.Errorf("nats: password for %s: %w", user, err)
	}
	return Login{User: user, Password: pw}, string(hash), nil
}

// addTo adds the users to a node's options. The system user joins the
// system account (declared when the options do not: "$SYS"). A node that
// authenticated nobody keeps letting everyone in: when the only users are
// the system account's, nats-server makes unauthenticated clients log in as
// a user of the global account with every permission (server.go,
// configureAccounts: its "no-auth-user for $G"), as long as no other
// account is declared, which addTo checks. Options that authenticate
// clients must come from a configuration file, whose authorization block
// keeps nats-server from adding that user.
func (u *InProcessUsers) addTo(opts *server.Options, fromFile bool) error {
	if len(opts.TrustedOperators) > 0 || len(opts.TrustedKeys) > 0 || opts.NoSystemAccount {
		return ErrInProcessUsers
	}
	secured := Secured(opts)
	if secured && !fromFile {
		return fmt.Errorf("%w: options that authenticate clients must come from a configuration file", ErrInProcessUsers)
	}
	sysName := opts.SystemAccount
	if sysName == "" {
		sysName = server.DEFAULT_SYSTEM_ACCOUNT
	}
	var sys *server.Account
	for _, a := range opts.Accounts {
		switch {
		case a.Name == sysName:
			sys = a
		case !secured && a.Name != server.DEFAULT_GLOBAL_ACCOUNT:
			return fmt.Errorf("%w: a node without authentication declares account %q", ErrInProcessUsers, a.Name)
		}
	}
	if sys == nil {
		if opts.SystemAccount != "" {
			return fmt.Errorf("%w: system account %q is not declared", ErrInProcessUsers, sysName)
		}
		sys = server.NewAccount(sysName)
		opts.Accounts = append(opts.Accounts, sys)
	}
	inProcess := map[string]struct{}{connTypeInProcess: {}}
	opts.Users = append(opts.Users,
		&server.User{Username: u.System.User, Password: u.systemHash, Account: sys, AllowedConnectionTypes: inProcess,
			Permissions: &server.Permissions{
				Publish:   &server.SubjectPermission{Allow: []string{server.JSApiLeaderStepDown}},
				Subscribe: &server.SubjectPermission{Allow: []string{"_INBOX.>"}},
			}},
		&server.User{Username: u.Reader.User, Password: u.readerHash, AllowedConnectionTypes: inProcess,
			Permissions: &server.Permissions{
				Publish:   &server.SubjectPermission{Deny: []string{">"}},
				Subscribe: &server.SubjectPermission{Allow: append([]string{}, u.ReaderSubjects...)},
			}})
	return nil
}

// inProcessOnly says whether a user can log in in-process only.
func inProcessOnly(u *server.User) bool {
	_, ok := u.AllowedConnectionTypes[connTypeInProcess]
	return ok && len(u.AllowedConnectionTypes) == 1
}
