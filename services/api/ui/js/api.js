// The /v2 API, relative to the UI's own address (/ui/ → ../v2/...), so the
// UI works behind a proxy that moves the whole server under a prefix.

import {appPath} from "./dom.js";

const base = new URL("../", document.baseURI);

export class APIError extends Error {
  constructor(status, body, method, url) {
    super((body && body.message) || `${method} ${url}: HTTP ${status}`);
    this.status = status;
    this.body = body || {};
    this.details = (body && body.details) || [];
  }
}

export async function request(method, path, body, {query} = {}) {
  const url = new URL(path, base);
  if (query) {
    for (const [k, v] of Object.entries(query)) {
      if (Array.isArray(v)) v.forEach((x) => url.searchParams.append(k, x));
      else if (v !== undefined && v !== null && v !== "") url.searchParams.set(k, v);
    }
  }
  const init = {method, headers: {Accept: "application/json"}, cache: "no-store"};
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = typeof body === "string" ? body : JSON.stringify(body);
  }
  let resp;
  try {
    resp = await fetch(url, init);
  } catch (err) {
    throw new APIError(0, {message: `Cannot reach the API (${err.message})`}, method, url.pathname);
  }
  const text = await resp.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = {message: text};
    }
  }
  if (resp.status === 401) {
    // Authentication is on and this browser has no session (or it ended):
    // the login form brings it back here.
    location.assign(new URL("auth/login?next=" + encodeURIComponent(location.pathname + location.hash), base));
  }
  if (!resp.ok) throw new APIError(resp.status, data, method, url.pathname);
  return data;
}

export const api = {
  apps: (filter = {}) => request("GET", "v2/apps", undefined,
    {query: {id: filter.id, label: filter.label, embed: ["apps.counts", "apps.deployments"]}}).then((r) => r.apps),
  app: (id) => request("GET", `v2/apps/${appPath(id)}`, undefined, {query: {embed: ["app.taskStats", "app.readiness"]}}).then((r) => r.app),
  versions: (id) => request("GET", `v2/apps/${appPath(id)}/versions`).then((r) => r.versions),
  version: (id, v) => request("GET", `v2/apps/${appPath(id)}/versions/${encodeURIComponent(v)}`),
  create: (def) => request("POST", "v2/apps", def),
  // An edit sends the whole definition: what it leaves out goes back to its default.
  update: (id, def, force) => request("PUT", `v2/apps/${appPath(id)}`, def,
    {query: {partialUpdate: "false", force: force ? "true" : ""}}),
  scale: (id, n, force) => request("PUT", `v2/apps/${appPath(id)}`, {instances: n}, {query: {force: force ? "true" : ""}}),
  restart: (id, force) => request("POST", `v2/apps/${appPath(id)}/restart`, undefined, {query: {force: force ? "true" : ""}}),
  destroy: (id) => request("DELETE", `v2/apps/${appPath(id)}`),
  rollback: (id, version, force) => request("PUT", `v2/apps/${appPath(id)}`, {id, version}, {query: {force: force ? "true" : ""}}),
  killTasks: (ids, scale) => request("POST", "v2/tasks/delete", {ids}, {query: {scale: scale ? "true" : ""}}),
  // A host command's sandbox file (stdout, stderr): the last length bytes, or from offset.
  taskFile: (taskId, name, {offset, length} = {}) => request("GET",
    `v2/tasks/${encodeURIComponent(taskId)}/files/${name.split("/").map(encodeURIComponent).join("/")}`, undefined,
    {query: {offset, length}}),
  queue: () => request("GET", "v2/queue").then((r) => r.queue),
  resetDelay: (id) => request("DELETE", `v2/queue/${appPath(id)}/delay`),
  deployments: () => request("GET", "v2/deployments"),
  cancelDeployment: (id, force) => request("DELETE", `v2/deployments/${encodeURIComponent(id)}`, undefined, {query: {force: force ? "true" : ""}}),
  cluster: () => request("GET", "v2/drover/cluster"),
  leader: () => request("GET", "v2/leader"),
  info: () => request("GET", "v2/info"),
};

export function eventsURL() {
  return new URL("v2/events", base).href;
}
