// Package deployplan is Marathon's deployment planning, shared by the api
// (which plans a change's deployment) and the scheduler (which carries it
// out and reports on it): the steps of a change in dependency order, the
// dependency graph and its cycle check, the plan as Marathon's events carry
// it, and the version an app's tasks run.
//
// It imports neither NATS nor Docker: only the records of pkg/events and
// the definitions of pkg/marathon.
package deployplan
