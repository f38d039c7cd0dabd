package natsutil

import "github.com/nats-io/nats-server/v2/server"

// Secured reports whether server options authenticate clients (users,
// nkeys, a token, or operator JWTs): whether a node is fit to listen
// beyond loopback. Users who can log in in-process only (InProcessUsers)
// do not count, and a user unauthenticated clients log in as
// (NoAuthUser) lets anyone in.
func Secured(opts *server.Options) bool {
	if opts.NoAuthUser != "" {
		return false
	}
	users := 0
	for _, u := range opts.Users {
		if !inProcessOnly(u) {
			users++
		}
	}
	return users > 0 || len(opts.Nkeys) > 0 || opts.Authorization != "" || opts.Username != "" ||
		len(opts.TrustedOperators) > 0 || len(opts.TrustedKeys) > 0
}
