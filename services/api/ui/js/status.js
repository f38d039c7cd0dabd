// App and task status, as Marathon's UI shows them. Each status has a word
// and a symbol besides its colour, so it reads without colour.

import {h} from "./dom.js";

const APP_STATUS = {
  running: {label: "Running", icon: "●"},
  deploying: {label: "Deploying", icon: "↻"},
  waiting: {label: "Waiting", icon: "◷"},
  delayed: {label: "Delayed", icon: "▲"},
  suspended: {label: "Suspended", icon: "❚❚"},
};

// appStatus is an app's status: waiting (or delayed, in its launch
// backoff) while instances wait for an agent, which says more than the
// deployment that waits with them; then deploying while a deployment
// affects it; suspended at 0 instances; else running.
export function appStatus(app, queued) {
  if (queued) {
    return queued.delay && !queued.delay.overdue && queued.delay.timeLeftSeconds > 0 ? "delayed" : "waiting";
  }
  if (app.deployments && app.deployments.length > 0) return "deploying";
  if (app.instances === 0 && app.tasksRunning === 0) return "suspended";
  return "running";
}

export function statusBadge(status) {
  const s = APP_STATUS[status] || {label: status, icon: "?"};
  return h("span", {class: "status", dataset: {status}},
    h("span", {class: "status-icon", "aria-hidden": "true"}, s.icon), s.label);
}

// instancesText is "3 of 3": running of wanted.
export function instancesText(app) {
  return `${app.tasksRunning} of ${app.instances}`;
}

// health is an app's health summary: counts in words, with a bar.
export function healthCell(app) {
  const checks = app.healthChecks && app.healthChecks.length > 0;
  const live = app.tasksRunning + app.tasksStaged;
  if (!checks) return h("span", {class: "muted", title: "This app has no health checks"}, "No checks");
  const healthy = app.tasksHealthy;
  const unhealthy = app.tasksUnhealthy;
  const unknown = Math.max(0, live - healthy - unhealthy);
  const parts = [];
  if (healthy) parts.push(`${healthy} healthy`);
  if (unhealthy) parts.push(`${unhealthy} unhealthy`);
  if (unknown) parts.push(`${unknown} unknown`);
  const total = Math.max(1, healthy + unhealthy + unknown);
  const seg = (cls, n) => {
    const s = h("span", {class: "hb-" + cls});
    s.style.width = ((n / total) * 100).toFixed(1) + "%";
    return s;
  };
  return h("span", {class: "health"},
    h("span", {class: "hbar", "aria-hidden": "true"}, seg("healthy", healthy), seg("unhealthy", unhealthy), seg("unknown", unknown)),
    h("span", {class: "htext"}, parts.join(", ") || "no tasks"));
}

const TASK_ICON = {
  TASK_RUNNING: "●", TASK_STAGING: "○", TASK_STARTING: "◐", TASK_KILLING: "✕", TASK_UNREACHABLE: "?",
};

export function taskState(state) {
  const short = (state || "").replace(/^TASK_/, "").toLowerCase();
  const kind = state === "TASK_RUNNING" ? "running"
    : ["TASK_STAGING", "TASK_STARTING"].includes(state) ? "staging"
      : ["TASK_KILLING", "TASK_KILLED", "TASK_FINISHED"].includes(state) ? "stopping" : "failed";
  return h("span", {class: "tstate", dataset: {kind}},
    h("span", {class: "status-icon", "aria-hidden": "true"}, TASK_ICON[state] || "✕"),
    short.charAt(0).toUpperCase() + short.slice(1));
}

// taskHealth is one task's health from its check results.
export function taskHealth(task, app) {
  if (!app.healthChecks || app.healthChecks.length === 0) return h("span", {class: "muted"}, "—");
  const results = task.healthCheckResults || [];
  if (results.length === 0) return h("span", {class: "thealth", dataset: {health: "unknown"}}, "◌ Unknown");
  const alive = results.every((r) => r.alive);
  if (alive) return h("span", {class: "thealth", dataset: {health: "healthy"}}, "✓ Healthy");
  const cause = results.map((r) => r.lastFailureCause).filter(Boolean).join("; ");
  return h("span", {class: "thealth", dataset: {health: "unhealthy"}, title: cause || null}, "✗ Unhealthy");
}
