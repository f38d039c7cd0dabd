// Package natsauth is Drover's NATS security: the subject permissions of
// each role (an agent, the api, the scheduler), and the configuration that
// enforces them (drover nats gen-config: a CA and certificates for mutual
// TLS, a nats-server authorization block with one user per role, and each
// role's credentials). Its tests show that a stolen credential stays in
// its lane, and that the real services work under these permissions.
// docs/SECURITY.md is the threat model.
package natsauth
