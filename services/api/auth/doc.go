// Package auth is the api's guard: who may call it, and how it listens.
//
// With a credentials file (credentials.go: users with bcrypt passwords or
// SHA-256 hashed tokens, and a role each), the Guard authenticates basic,
// bearer and login-cookie requests (login.go, session.go), brakes password
// guessing (brake.go), and lets viewers read and operators write; with or
// without, it refuses cross-origin writes and, on loopback, requests for
// other host names (DNS rebinding). Listen serves HTTPS with a certificate
// read again when it is renewed (tls.go). docs/SECURITY.md is the threat
// model.
package auth
