// Package prometheus runs Prometheus' Marathon service discovery
// (github.com/prometheus/prometheus/discovery/marathon), unchanged, against
// `drover standalone` on the real Docker daemon, and checks the targets and
// labels it derives. It is a module of its own, so that Drover's go.mod does
// not carry Prometheus; `.ci/run` vets and tests it.
package prometheus
