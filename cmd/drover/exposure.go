package main

import (
	"fmt"
	"log/slog"
	"net"
	"strings"
)

// insecureFlags let an operator serve without authentication beyond
// loopback, knowingly.
type insecureFlags struct {
	InsecureNoAuth bool `help:"Serve beyond loopback without authentication (the API without --auth-file, NATS without --config). Anyone who reaches the port can then run privileged containers with host mounts on every host: root everywhere."`
}

// loopback reports whether a listen address (host:port) is on loopback
// only: a loopback IP or "localhost". Every other name, and an empty host
// (every interface), is not.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// checkExposure refuses a service listening beyond loopback without
// authentication, unless the operator said --insecure-no-auth, in which
// case it warns loudly. what names the service, fix how to secure it.
func checkExposure(logger *slog.Logger, what, addr string, secured, insecure bool, fix string) error {
	if secured || addr == "" || loopback(addr) {
		return nil
	}
	if !insecure {
		return fmt.Errorf("refusing to serve %s on %s without authentication: %s, listen on 127.0.0.1, "+
			"or accept that anyone who reaches it is root on every host with --insecure-no-auth (see docs/SECURITY.md)", what, addr, fix)
	}
	for range 3 {
		logger.Warn("!!! INSECURE: " + what + " on " + addr + " has NO AUTHENTICATION: anyone who reaches it can run " +
			"privileged containers with host mounts on every host (--insecure-no-auth). See docs/SECURITY.md.")
	}
	return nil
}
