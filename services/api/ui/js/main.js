// The Drover web UI: a hash router over a few views, live through
// /v2/events. Views are objects with refresh() (load and render) and
// destroy(); the router refreshes the current view when an event says
// that something changed, and after the event stream recovers.

import {h, replace, ago} from "./dom.js";
import {api, eventsURL, APIError} from "./api.js";
import {Live} from "./live.js";
import {appsView} from "./views/apps.js";
import {appView} from "./views/app.js";
import {formView} from "./views/form.js";
import {deploymentsView} from "./views/deployments.js";
import {clusterView} from "./views/cluster.js";

const main = document.getElementById("main");
const banner = document.getElementById("banner");
const liveEl = document.getElementById("live");
const toastEl = document.getElementById("toast");
const announceEl = document.getElementById("announce");

const routes = [
  {re: /^\/apps$/, nav: "apps", view: (ctx) => appsView(ctx)},
  {re: /^\/create$/, nav: "apps", view: (ctx) => formView(ctx, null)},
  {re: /^\/edit\/(.+)$/, nav: "apps", view: (ctx, m) => formView(ctx, "/" + m[1])},
  {re: /^\/app\/(.+)$/, nav: "apps", view: (ctx, m) => appView(ctx, "/" + m[1])},
  {re: /^\/deployments$/, nav: "deployments", view: (ctx) => deploymentsView(ctx)},
  {re: /^\/cluster$/, nav: "cluster", view: (ctx) => clusterView(ctx)},
];

let current = null; // the mounted view
let generation = 0;

// UI services the views share.
export const ui = {
  navigate(hash) {
    if (location.hash === hash) route();
    else location.hash = hash;
  },
  announce(text) {
    announceEl.textContent = "";
    setTimeout(() => (announceEl.textContent = text), 50);
  },
  toast(text, kind = "ok") {
    replace(toastEl, text);
    toastEl.dataset.kind = kind;
    toastEl.setAttribute("role", kind === "error" ? "alert" : "status");
    toastEl.hidden = false;
    clearTimeout(toastEl._t);
    toastEl._t = setTimeout(() => (toastEl.hidden = true), kind === "error" ? 8000 : 4000);
  },
  // dialog shows a modal; it resolves true when confirmed. body may hold
  // inputs: their values are read by the caller once it resolves.
  dialog({title, body = [], ok = "OK", danger = false}) {
    const dlg = document.getElementById("dialog");
    replace(document.getElementById("dialog-title"), title);
    replace(document.getElementById("dialog-body"), ...[].concat(body));
    const okBtn = document.getElementById("dialog-ok");
    okBtn.textContent = ok;
    okBtn.className = "btn " + (danger ? "danger" : "primary");
    const cancel = document.getElementById("dialog-cancel");
    cancel.type = "button";
    cancel.onclick = () => dlg.close("cancel");
    return new Promise((resolve) => {
      dlg.returnValue = "";
      dlg.addEventListener("close", () => resolve(dlg.returnValue === "ok"), {once: true});
      dlg.showModal();
    });
  },
  // act runs a change; a 409 from a deployment lock offers to force it.
  async act(fn, done) {
    try {
      await fn(false);
    } catch (err) {
      if (err instanceof APIError && err.status === 409 && err.body.deployments && err.body.deployments.length) {
        const ids = err.body.deployments.map((d) => d.id).join(", ");
        const force = await ui.dialog({
          title: "Locked by a deployment",
          body: [h("p", {}, err.message), h("p", {}, `Forcing it cancels deployment ${ids}.`)],
          ok: "Force the change", danger: true,
        });
        if (!force) return false;
        try {
          await fn(true);
        } catch (err2) {
          ui.toast(err2.message, "error");
          return false;
        }
      } else {
        ui.toast(err.message, "error");
        return false;
      }
    }
    if (done) {
      ui.toast(done);
      ui.announce(done);
    }
    scheduleRefresh(0);
    return true;
  },
  setBanner(key, text) {
    bannerMessages.set(key, text);
    if (!text) bannerMessages.delete(key);
    renderBanner();
  },
  get live() {
    return live.state;
  },
};

const bannerMessages = new Map();
function renderBanner() {
  const msgs = [...bannerMessages.values()];
  replace(banner, ...msgs.map((m) => h("p", {}, m)));
  banner.hidden = msgs.length === 0;
}

function parseHash() {
  const raw = location.hash.replace(/^#/, "") || "/apps";
  const [path, qs] = raw.split("?");
  return {path: decodeURI(path), query: new URLSearchParams(qs || "")};
}

function route() {
  const {path, query} = parseHash();
  if (!path.startsWith("/")) return; // an in-page anchor, not a route
  const r = routes.find((x) => x.re.test(path));
  if (!r) {
    location.replace("#/apps");
    return;
  }
  const gen = ++generation;
  if (current && current.destroy) current.destroy();
  for (const a of document.querySelectorAll("[data-nav]")) {
    if (a.dataset.nav === r.nav) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  const ctx = {main, query, ui, path};
  const focusMain = current !== null; // not on first load
  current = r.view(ctx, path.match(r.re));
  current.gen = gen;
  ui.setBanner("load", null);
  refreshNow().then(() => {
    if (focusMain && gen === generation) {
      const h1 = main.querySelector("h1");
      (h1 || main).setAttribute("tabindex", "-1");
      (h1 || main).focus({preventScroll: true});
      window.scrollTo(0, 0);
    }
  });
}

// Refreshes are coalesced: at most one runs at a time, and events during
// it lead to one more afterwards.
let refreshing = null;
let pending = false;
let timer = null;
let retryDelay = 0;
let retryTimer = null;

async function refreshNow() {
  if (!current) return;
  if (refreshing) {
    pending = true;
    return refreshing;
  }
  const view = current;
  refreshing = (async () => {
    try {
      await view.refresh();
      if (view === current) ui.setBanner("load", null);
      retryDelay = 0;
    } catch (err) {
      if (view !== current) return;
      // Try again by itself, sooner at first: the API may be restarting.
      retryDelay = Math.min(10000, retryDelay ? retryDelay * 2 : 1000);
      ui.setBanner("load", `Could not load this page: ${err.message}. Trying again in ${Math.round(retryDelay / 1000)} s.`);
      clearTimeout(retryTimer);
      retryTimer = setTimeout(() => scheduleRefresh(0), retryDelay);
    }
  })();
  await refreshing;
  refreshing = null;
  if (pending) {
    pending = false;
    scheduleRefresh(0);
  }
}

export function scheduleRefresh(delay = 150) {
  if (timer) return;
  timer = setTimeout(() => {
    timer = null;
    refreshNow();
  }, delay);
}

// Header: running deployments and the leader.
let headerTimer = null;
async function refreshHeader() {
  clearTimeout(headerTimer);
  headerTimer = setTimeout(refreshHeader, 5000);
  try {
    const deps = await api.deployments();
    const c = document.getElementById("nav-deployments");
    c.textContent = deps.length ? String(deps.length) : "";
    c.title = deps.length ? `${deps.length} running` : "";
  } catch {
    // the banner of the view says it
  }
  const badge = document.getElementById("leader-badge");
  try {
    const l = await api.leader();
    badge.textContent = "Leader: " + l.leader;
    badge.dataset.state = "ok";
  } catch (err) {
    if (err instanceof APIError && err.status === 404) {
      badge.textContent = "⚠ No scheduler leader";
      badge.dataset.state = "none";
    }
  }
}

function showLive(state, prev, lostSince) {
  liveEl.dataset.state = state;
  const text = liveEl.querySelector(".live-text");
  if (state === "live") {
    text.textContent = "Live";
    liveEl.title = "Following /v2/events";
    ui.setBanner("live", null);
    if (prev === "lost") {
      ui.announce("Live updates are back.");
      scheduleRefresh(0);
      refreshHeader();
    }
  } else if (state === "lost") {
    text.textContent = "Reconnecting…";
    const at = lostSince ? lostSince.toLocaleTimeString("en-GB") : "";
    ui.setBanner("live", `Live updates lost${at ? " at " + at : ""}: reconnecting to the API. What you see may be out of date.`);
  }
}

const live = new Live(eventsURL(), (type) => {
  scheduleRefresh();
  if (type.startsWith("deployment") || type === "api_post_event" || type === "app_terminated_event") refreshHeader();
  if (current && current.onEvent) current.onEvent(type);
}, showLive);

document.getElementById("skip").addEventListener("click", (ev) => {
  ev.preventDefault();
  main.focus();
});
window.addEventListener("hashchange", route);
// "3 s ago" stays true between reloads.
setInterval(() => {
  for (const el of main.querySelectorAll("time[data-ago]")) el.textContent = ago(el.dateTime);
}, 1000);
live.start();
route();
refreshHeader();
