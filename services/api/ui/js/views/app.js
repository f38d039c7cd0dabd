// An app's page: its status and actions (scale, restart, suspend, edit,
// destroy), why it waits, its last task failure, the deployments that
// affect it, and three tabs: instances (kill, kill and scale), the
// configuration as JSON, and its versions (with rollback).

import {h, replace, keyedRows, num, mib, ago, agoTime, duration, time, appPath} from "../dom.js";
import {api, APIError} from "../api.js";
import {appStatus, statusBadge, instancesText, taskState, taskHealth} from "../status.js";
import {deploymentCard} from "./deployments.js";

// Computed fields of GET /v2/apps/{id}: not part of the definition.
const COMPUTED = ["tasksStaged", "tasksRunning", "tasksHealthy", "tasksUnhealthy", "deployments", "tasks", "lastTaskFailure",
  "taskStats", "readinessCheckResults"];

// definition is the app as written: without the computed fields, and
// (for an editor) without its version.
export function definition(app, keepVersion = true) {
  const def = {...app};
  for (const k of COMPUTED) delete def[k];
  if (!keepVersion) {
    delete def.version;
    delete def.versionInfo;
  }
  return def;
}

const REASONS = {
  AgentUnreachable: "agent unreachable",
  DockerUnavailable: "Docker daemon down on the agent",
  UnfulfilledRole: "role not offered",
  DeclinedByPolicy: "agent policy refuses it (privileged or host path)",
  UnfulfilledConstraint: "constraints not met",
  NoCorrespondingReservationFound: "no reservation",
  AgentMaintenance: "agent in maintenance",
  InsufficientCpus: "not enough CPUs",
  InsufficientMemory: "not enough memory",
  InsufficientDisk: "not enough disk",
  InsufficientGpus: "not enough GPUs",
  InsufficientPorts: "ports not available",
  DeclinedScarceResources: "scarce resources reserved",
};

const TABS = [["instances", "Instances"], ["config", "Configuration"], ["versions", "Versions"]];

// hostCommand: the app runs on its agents' hosts, without an image (a cmd
// or args): its tasks have a sandbox with stdout and stderr.
export function hostCommand(app) {
  const image = app.container && app.container.docker && app.container.docker.image;
  return !image && (!!app.cmd || (app.args || []).length > 0);
}

export function appView({main, query, ui}, id) {
  const tab = TABS.some(([t]) => t === query.get("tab")) ? query.get("tab") : "instances";
  const base = "#/app/" + appPath(id);
  const selected = new Set();
  let app = null;

  const title = h("h1", {class: "app-title"}, id);
  const badge = h("span", {class: "app-badge"});
  const counts = h("span", {class: "app-counts", id: "app-counts"});
  const actions = h("div", {class: "btns app-actions"});
  const facts = h("dl", {class: "facts wide"});
  const notices = h("div", {class: "stack notices"});
  const panel = h("section", {id: "tab-panel", "aria-labelledby": "tab-" + tab});

  // Instances tab.
  const tbody = h("tbody", {id: "tasks-body"});
  const selectAll = h("input", {type: "checkbox", id: "select-all", "aria-label": "Select every task"});
  const killBtn = h("button", {class: "btn", type: "button", id: "kill-tasks", disabled: true}, "✕ Kill");
  const killScaleBtn = h("button", {class: "btn", type: "button", id: "kill-scale-tasks", disabled: true}, "✕ Kill and scale down");
  const selInfo = h("span", {class: "muted", "aria-live": "polite"});
  const tasksTable = h("table", {class: "grid tasks", id: "tasks-table"},
    h("caption", {class: "sr-only"}, "Instances of " + id),
    h("thead", {}, h("tr", {},
      h("th", {scope: "col", class: "check"}, selectAll),
      h("th", {scope: "col"}, "Task"),
      h("th", {scope: "col"}, "Host"),
      h("th", {scope: "col"}, "Ports"),
      h("th", {scope: "col"}, "State"),
      h("th", {scope: "col"}, "Health"),
      h("th", {scope: "col"}, "Started"),
      h("th", {scope: "col"}, "Version"),
      h("th", {scope: "col"}, "Sandbox"))),
    tbody);
  const noTasks = h("p", {class: "empty", hidden: true}, "No instances.");

  // The sandbox file shown under the tasks (a host command's stdout or
  // stderr, as Mesos' UI showed them): its tail, older parts on demand.
  const fileTitle = h("h2", {class: "card-title", id: "task-file-title"});
  const fileInfo = h("span", {class: "muted", "aria-live": "polite"});
  const filePre = h("pre", {class: "json task-file", id: "task-file-body", tabindex: "0", "aria-labelledby": "task-file-title"});
  const olderBtn = h("button", {class: "btn small", type: "button", id: "task-file-older"}, "↑ Older");
  const fileBox = h("section", {class: "card", id: "task-file", hidden: true, "aria-labelledby": "task-file-title"},
    h("div", {class: "toolbar"}, fileTitle,
      h("span", {class: "btns"}, olderBtn,
        h("button", {class: "btn small", type: "button", id: "task-file-refresh", onclick: () => loadFile(true)}, "↻ Refresh"),
        h("button", {class: "btn small", type: "button", id: "task-file-close", onclick: closeFile}, "✕ Close"))),
    fileInfo, filePre);
  let file = null; // {taskId, name, offset: where what is shown starts, size}
  olderBtn.addEventListener("click", () => loadFile(false));

  const updateSelection = () => {
    const n = selected.size;
    killBtn.disabled = killScaleBtn.disabled = n === 0;
    selInfo.textContent = n ? `${n} selected` : "";
    const total = tbody.querySelectorAll("input[type=checkbox]").length;
    selectAll.checked = n > 0 && n === total;
    selectAll.indeterminate = n > 0 && n < total;
  };
  selectAll.addEventListener("change", () => {
    for (const cb of tbody.querySelectorAll("input[type=checkbox]")) {
      cb.checked = selectAll.checked;
      if (cb.checked) selected.add(cb.value);
      else selected.delete(cb.value);
    }
    updateSelection();
  });
  const kill = async (scale) => {
    const ids = [...selected];
    const ok = await ui.act(() => api.killTasks(ids, scale),
      `Killing ${ids.length} task${ids.length === 1 ? "" : "s"}${scale ? " and scaling down" : ""}`);
    if (ok) {
      selected.clear();
      for (const cb of tbody.querySelectorAll("input[type=checkbox]")) cb.checked = false;
      updateSelection();
    }
  };
  killBtn.addEventListener("click", () => kill(false));
  killScaleBtn.addEventListener("click", () => kill(true));

  const tabs = h("nav", {class: "tabs", "aria-label": "App sections"},
    h("ul", {}, TABS.map(([t, label]) => h("li", {},
      h("a", {href: `${base}?tab=${t}`, id: "tab-" + t, "aria-current": t === tab ? "page" : null}, label)))));

  replace(main,
    h("nav", {class: "crumbs", "aria-label": "Breadcrumb"}, h("a", {href: "#/apps"}, "Applications"), " / ", h("span", {}, id)),
    h("div", {class: "page-head app-head"},
      h("div", {class: "app-heading"}, title, badge, counts),
      actions),
    facts, notices, tabs, panel);

  if (tab === "instances") {
    replace(panel,
      h("div", {class: "toolbar"}, killBtn, killScaleBtn, selInfo),
      tasksTable, noTasks, fileBox);
  }

  function openFile(taskId, name) {
    file = {taskId, name, offset: 0, size: 0};
    replace(fileTitle, name + " of ", h("code", {}, taskId));
    fileBox.hidden = false;
    filePre.textContent = "";
    loadFile(true);
  }

  function closeFile() {
    file = null;
    fileBox.hidden = true;
  }

  // loadFile shows the file's tail (tail) or prepends the part before what
  // is shown.
  async function loadFile(tail) {
    const f = file;
    if (!f) return;
    const chunk = 64 * 1024;
    try {
      let r;
      if (tail) {
        r = await api.taskFile(f.taskId, f.name, {length: chunk});
      } else {
        const from = Math.max(f.offset - chunk, 0);
        r = await api.taskFile(f.taskId, f.name, {offset: from, length: f.offset - from});
      }
      if (file !== f) return;
      if (tail) {
        filePre.textContent = r.data;
        f.offset = r.offset;
        filePre.scrollTop = filePre.scrollHeight;
      } else {
        filePre.textContent = r.data + filePre.textContent;
        f.offset = r.offset;
      }
      f.size = r.size;
      olderBtn.disabled = f.offset === 0;
      fileInfo.textContent = r.size === 0 ? "Empty." : f.offset === 0 ? `All ${r.size} bytes.` : `The last ${r.size - f.offset} of ${r.size} bytes.`;
    } catch (err) {
      if (file !== f) return;
      fileInfo.textContent = err.message;
      olderBtn.disabled = true;
    }
  }

  const view = {
    async refresh() {
      let queue;
      let deployments;
      let versions = null;
      try {
        [app, queue, deployments, versions] = await Promise.all([
          api.app(id), api.queue(), api.deployments(), tab === "versions" ? api.versions(id) : null]);
      } catch (err) {
        if (err instanceof APIError && err.status === 404) {
          renderGone();
          return;
        }
        throw err;
      }
      const q = queue.find((x) => x.app.id === id);
      const status = appStatus(app, q);
      renderHead(status);
      renderNotices(q, deployments.filter((d) => d.affectedApps.includes(id)));
      if (tab === "instances") {
        renderTasks();
        if (file && file.offset >= Math.max(file.size - 64 * 1024, 0)) loadFile(true); // following the tail
      } else if (tab === "config") renderConfig();
      else renderVersions(versions);
    },
  };

  function renderGone() {
    replace(main,
      h("nav", {class: "crumbs", "aria-label": "Breadcrumb"}, h("a", {href: "#/apps"}, "Applications")),
      h("h1", {}, id),
      h("div", {class: "empty"}, h("p", {}, "This application does not exist (any more)."),
        h("p", {}, h("a", {href: "#/apps"}, "Back to the applications"))));
  }

  function renderHead(status) {
    replace(badge, statusBadge(status));
    counts.dataset.status = status;
    replace(counts, instancesText(app), h("span", {class: "muted"}, " running"));
    const suspended = app.instances === 0;
    const sig = JSON.stringify([suspended, app.instances]);
    if (actions.dataset.sig !== sig) {
      actions.dataset.sig = sig;
      replace(actions,
        h("button", {class: "btn", type: "button", id: "act-scale", onclick: scale}, suspended ? "▶ Resume…" : "⇅ Scale…"),
        h("button", {class: "btn", type: "button", id: "act-restart", onclick: restart}, "↻ Restart"),
        suspended ? null : h("button", {class: "btn", type: "button", id: "act-suspend", onclick: suspend}, "❚❚ Suspend"),
        h("a", {class: "btn", href: "#/edit/" + appPath(id), id: "act-edit"}, "✎ Edit"),
        h("button", {class: "btn danger", type: "button", id: "act-destroy", onclick: destroy}, "Destroy…"));
    }
    const docker = app.container && app.container.docker;
    replace(facts,
      h("dt", {}, "Image"), h("dd", {}, docker ? h("code", {}, docker.image) : "—"),
      h("dt", {}, "Command"), h("dd", {}, app.cmd ? h("code", {}, app.cmd) : app.args ? h("code", {}, app.args.join(" ")) : "—"),
      h("dt", {}, "CPUs"), h("dd", {}, num(app.cpus)),
      h("dt", {}, "Memory"), h("dd", {}, mib(app.mem)),
      h("dt", {}, "Disk"), h("dd", {}, mib(app.disk)),
      h("dt", {}, "Constraints"), h("dd", {}, (app.constraints || []).length
        ? app.constraints.map((c, i) => [i ? ", " : "", h("code", {}, c.join(":"))]) : "—"),
      h("dt", {}, "Version"), h("dd", {}, time(app.version)),
      h("dt", {}, "Config changed"), h("dd", {}, time(app.versionInfo && app.versionInfo.lastConfigChangeAt)));
  }

  function renderNotices(q, deps) {
    const items = [];
    if (q) {
      const s = q.processedOffersSummary || {};
      const reasons = (s.rejectSummaryLastOffers || []).filter((r) => r.declined > 0);
      const delayed = q.delay && !q.delay.overdue && q.delay.timeLeftSeconds > 0;
      items.push(h("section", {class: "card notice", dataset: {kind: "waiting"}, id: "waiting", "aria-labelledby": "waiting-title"},
        h("h2", {class: "card-title", id: "waiting-title"}, delayed ? "▲ Delayed" : "◷ Waiting for agents"),
        h("p", {}, `${q.count} instance${q.count === 1 ? "" : "s"} not placed yet, since `, time(q.since, ago(q.since)), "."),
        delayed ? h("p", {}, `Launches are held back for ${duration(q.delay.timeLeftSeconds)} more after failures (launch backoff). `,
          h("button", {class: "btn small", type: "button", onclick: () => ui.act(() => api.resetDelay(id), "Launch delay reset")}, "Launch now")) : null,
        s.processedOffersCount === 0 ? h("p", {}, "No agent was available at the last placement.")
          : s.unusedOffersCount === 0 ? h("p", {}, `At the last placement, every agent (${s.processedOffersCount}) could take it.`)
            : h("p", {}, `At the last placement, ${s.unusedOffersCount} of ${s.processedOffersCount} agent${s.processedOffersCount === 1 ? "" : "s"} could not take it:`),
        reasons.length ? h("ul", {class: "reasons"}, reasons.map((r) => h("li", {},
          h("strong", {}, `${r.declined} agent${r.declined === 1 ? "" : "s"}`), `: ${REASONS[r.reason] || r.reason} `,
          h("code", {class: "muted"}, r.reason)))) : null));
    }
    const f = app.lastTaskFailure;
    if (f) {
      items.push(h("section", {class: "card notice", dataset: {kind: "failure"}, id: "last-failure", "aria-labelledby": "failure-title"},
        h("h2", {class: "card-title", id: "failure-title"}, "✗ Last task failure"),
        h("dl", {class: "facts"},
          h("dt", {}, "When"), h("dd", {}, time(f.timestamp), " (", ago(f.timestamp), ")"),
          h("dt", {}, "State"), h("dd", {}, f.state),
          h("dt", {}, "Message"), h("dd", {}, f.message || "—"),
          h("dt", {}, "Host"), h("dd", {}, f.host || "—"),
          h("dt", {}, "Task"), h("dd", {}, h("code", {}, f.taskId)),
          h("dt", {}, "Version"), h("dd", {}, time(f.version)))));
    }
    for (const d of deps) items.push(deploymentCard(d, ui));
    const sig = JSON.stringify([q, f, deps]);
    if (notices.dataset.sig !== sig) {
      notices.dataset.sig = sig;
      replace(notices, items);
    }
  }

  function renderTasks() {
    const tasks = [...(app.tasks || [])].sort((a, b) => (a.startedAt || a.stagedAt || "").localeCompare(b.startedAt || b.stagedAt || ""));
    for (const t of [...selected]) {
      if (!tasks.some((x) => x.id === t)) selected.delete(t);
    }
    keyedRows(tbody, tasks, (t) => t.id, (t) => JSON.stringify([t, app.version, (app.healthChecks || []).length]), taskRow);
    tasksTable.hidden = tasks.length === 0;
    noTasks.hidden = tasks.length !== 0;
    updateSelection();
  }

  function taskRow(t) {
    const cb = h("input", {type: "checkbox", value: t.id, "aria-label": "Select task " + t.id, checked: selected.has(t.id)});
    cb.addEventListener("change", () => {
      if (cb.checked) selected.add(t.id);
      else selected.delete(t.id);
      updateSelection();
    });
    const current = t.version === app.version ||
      (app.versionInfo && t.version >= app.versionInfo.lastConfigChangeAt);
    return h("tr", {dataset: {taskId: t.id, state: t.state}},
      h("td", {class: "check"}, cb),
      h("th", {scope: "row", class: "task-id"}, h("code", {}, t.id)),
      h("td", {}, t.host || "—"),
      h("td", {class: "ports"}, t.ports.length ? t.ports.map((p, i) => [i ? " " : "",
        h("a", {href: `http://${t.host}:${p}/`, target: "_blank", rel: "noopener noreferrer", title: `Open ${t.host}:${p}`}, String(p))]) : "—"),
      h("td", {}, taskState(t.state)),
      h("td", {}, taskHealth(t, app)),
      h("td", {}, t.startedAt ? agoTime(t.startedAt) : h("span", {class: "muted"}, "not yet")),
      h("td", {}, time(t.version), current ? null : h("span", {class: "tag"}, " outdated")),
      h("td", {class: "sandbox"}, hostCommand(app) ? ["stdout", "stderr"].map((name, i) => [i ? " " : "",
        h("button", {class: "btn small", type: "button", dataset: {file: name}, "aria-label": `${name} of ${t.id}`,
          onclick: () => openFile(t.id, name)}, name)]) : h("span", {class: "muted", title: "A container: see docker logs on its host"}, "—")));
  }

  function renderConfig() {
    const json = JSON.stringify(definition(app), null, 2);
    if (panel.dataset.sig === json) return;
    panel.dataset.sig = json;
    replace(panel,
      h("div", {class: "toolbar"},
        h("a", {class: "btn", href: "#/edit/" + appPath(id) + "?mode=json"}, "✎ Edit as JSON")),
      h("pre", {class: "json", id: "app-json", tabindex: "0", "aria-label": "App definition as JSON"}, json));
  }

  function renderVersions(versions) {
    const sig = JSON.stringify([versions, app.version]);
    if (panel.dataset.sig === sig) return;
    panel.dataset.sig = sig;
    replace(panel,
      h("p", {class: "muted"}, `${versions.length} version${versions.length === 1 ? "" : "s"}, newest first.`),
      h("ul", {class: "versions", id: "versions-list"}, versions.map((v) => {
        const isCurrent = v === app.version;
        const pre = h("pre", {class: "json", hidden: true, tabindex: "0"});
        const show = h("button", {class: "btn small", type: "button", "aria-expanded": "false"}, "Show");
        show.addEventListener("click", async () => {
          const open = pre.hidden;
          pre.hidden = !open;
          show.setAttribute("aria-expanded", String(open));
          show.textContent = open ? "Hide" : "Show";
          if (open && !pre.textContent) {
            try {
              pre.textContent = JSON.stringify(await api.version(id, v), null, 2);
            } catch (err) {
              pre.textContent = err.message;
            }
          }
        });
        return h("li", {dataset: {version: v}},
          h("div", {class: "version-row"},
            time(v), isCurrent ? h("span", {class: "tag current"}, "current") : null,
            h("span", {class: "btns"}, show,
              isCurrent ? null : h("button", {class: "btn small", type: "button", onclick: () => rollbackTo(v)}, "↶ Roll back to this version"))),
          pre);
      })));
  }

  async function rollbackTo(v) {
    const ok = await ui.dialog({title: "Roll back?", body: h("p", {}, `${id} goes back to its definition of `, time(v), " in a new deployment."), ok: "Roll back"});
    if (ok) await ui.act((force) => api.rollback(id, v, force), `Rolling ${id} back`);
  }

  async function scale() {
    const input = h("input", {type: "number", id: "scale-input", min: "0", step: "1", value: String(app.instances || 1), required: true});
    const ok = await ui.dialog({
      title: `Scale ${id}`,
      body: [h("label", {for: "scale-input"}, "Instances"), input],
      ok: "Scale",
    });
    if (!ok) return;
    const n = Number(input.value);
    if (!Number.isInteger(n) || n < 0) {
      ui.toast("Instances must be a whole number, 0 or more", "error");
      return;
    }
    await ui.act((force) => api.scale(id, n, force), `Scaling ${id} to ${n}`);
  }

  async function restart() {
    const ok = await ui.dialog({title: `Restart ${id}?`, body: h("p", {}, "Every task is replaced, as its upgrade strategy allows."), ok: "Restart"});
    if (ok) await ui.act((force) => api.restart(id, force), `Restarting ${id}`);
  }

  async function suspend() {
    const ok = await ui.dialog({title: `Suspend ${id}?`, body: h("p", {}, "It is scaled to 0 instances: every task is killed. Resume scales it up again."), ok: "Suspend"});
    if (ok) await ui.act((force) => api.scale(id, 0, force), `Suspending ${id}`);
  }

  async function destroy() {
    const ok = await ui.dialog({
      title: `Destroy ${id}?`,
      body: h("p", {}, "The app and its tasks are deleted. This cannot be undone (a rollback of its deployment recreates it)."),
      ok: "Destroy", danger: true,
    });
    if (!ok) return;
    try {
      await api.destroy(id);
      ui.toast(`Destroying ${id}`);
      ui.navigate("#/apps");
    } catch (err) {
      ui.toast(err.message, "error");
    }
  }

  return view;
}
