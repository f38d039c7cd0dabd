// Package plandemand tells the api and the scheduler whether anyone
// receives deployment events with full plans (Marathon's original and
// target root groups): an open GET /v2/events stream, on any api replica,
// that takes deployment events without ?plan-format=light, or an HTTP
// callback subscription (Marathon posts full events to callbacks). While
// nobody does, deployment events are published light: a full plan is
// O(apps) bytes per event, O(apps²) per rollout of every app, kept in
// DROVER_EVENTS for a day whether read or not.
//
// An api replica with such a consumer announces it on events.PlanDemand
// (core NATS: no stream keeps it) at once, and every
// events.PlanDemandEvery while it lasts (Announcer). A Tracker, in every
// api replica and in every scheduler from its start (standbys too, so a
// new leader knows the demand already), holds each notice for
// events.PlanDemandHold.
package plandemand
