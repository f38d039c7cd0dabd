// Package e2e runs Drover's processes as a user would — the drover binary,
// its subcommands and flags — against the real Docker daemon, with the
// stand-in httpd image built from this repository.
package e2e
