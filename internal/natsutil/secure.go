package natsutil

import "github.com/nats-io/nats-server/v2/server"

// Secured reports whether server options authenticate clients (users,
// nkeys, a token, or operator JWTs): whether a node is fit to listen
// beyond loopback.
func Secured(opts *server.Options) bool {
	return len(opts.Users) > 0 || len(opts.Nkeys) > 0 || opts.Authorization != "" || opts.Username != "" ||
		len(opts.TrustedOperators) > 0 || len(opts.TrustedKeys) > 0
}
