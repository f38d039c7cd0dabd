// Package consumers runs Marathon's third-party consumers, unchanged, against
// `drover standalone` on the real Docker daemon: Debian's python3-marathon
// client (a script under testdata), and HAProxy configured from
// /v2/apps?embed=apps.tasks the way marathon-lb configures it. Prometheus'
// Marathon service discovery is tested in test/prometheus, a module of its
// own so that this one does not carry Prometheus. docs/API.md lists what
// each consumer reads and which test covers it.
package consumers
