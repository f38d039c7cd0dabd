// The apps list: every app with its status, "N of M" instances, resources,
// health and running deployments; filtered by id and label selector (the
// API's ?id= and ?label=), the filter kept in the address.

import {h, replace, keyedRows, num, mib, appPath} from "../dom.js";
import {api} from "../api.js";
import {appStatus, statusBadge, instancesText, healthCell} from "../status.js";

let firstPaint = true;

export function appsView({main, query}) {
  const filter = {id: query.get("id") || "", label: query.get("label") || ""};
  const idInput = h("input", {type: "search", id: "filter-id", name: "id", value: filter.id, placeholder: "web", autocomplete: "off",
    "aria-describedby": "filter-id-help"});
  const labelInput = h("input", {type: "search", id: "filter-label", name: "label", value: filter.label, placeholder: "env==prod, tier",
    autocomplete: "off", "aria-describedby": "filter-label-help"});
  const summary = h("p", {class: "summary", id: "apps-summary"});
  const tbody = h("tbody", {id: "apps-body"});
  const empty = h("div", {class: "empty", hidden: true});
  // Fixed column widths: the browser lays out 500 rows without measuring them.
  const table = h("table", {class: "grid apps", id: "apps-table"},
    h("caption", {class: "sr-only"}, "Applications"),
    h("colgroup", {}, ["c-id", "c-status", "c-inst", "c-cpus", "c-mem", "c-health", "c-deps"].map((c) => h("col", {class: c}))),
    h("thead", {}, h("tr", {},
      h("th", {scope: "col"}, "ID"),
      h("th", {scope: "col"}, "Status"),
      h("th", {scope: "col", class: "num"}, "Instances"),
      h("th", {scope: "col", class: "num"}, "CPUs"),
      h("th", {scope: "col", class: "num"}, "Memory"),
      h("th", {scope: "col"}, "Health"),
      h("th", {scope: "col"}, "Deployments"))),
    tbody);

  let debounce = null;
  const onFilter = () => {
    clearTimeout(debounce);
    debounce = setTimeout(() => {
      filter.id = idInput.value.trim();
      filter.label = labelInput.value.trim();
      const qs = new URLSearchParams();
      if (filter.id) qs.set("id", filter.id);
      if (filter.label) qs.set("label", filter.label);
      const s = qs.toString();
      history.replaceState(null, "", "#/apps" + (s ? "?" + s : ""));
      view.refresh().catch((err) => replace(summary, h("span", {class: "error-text"}, err.message)));
    }, 200);
  };
  idInput.addEventListener("input", onFilter);
  labelInput.addEventListener("input", onFilter);

  replace(main,
    h("div", {class: "page-head"},
      h("h1", {}, "Applications"),
      h("a", {class: "btn primary", href: "#/create", id: "create-app"}, "+ Create application")),
    h("form", {class: "filters", role: "search", "aria-label": "Filter applications", onsubmit: (e) => e.preventDefault()},
      h("div", {class: "field"},
        h("label", {for: "filter-id"}, "ID contains"), idInput,
        h("small", {id: "filter-id-help", class: "help"}, "Part of an app id")),
      h("div", {class: "field"},
        h("label", {for: "filter-label"}, "Labels"), labelInput,
        h("small", {id: "filter-label-help", class: "help"}, "Selector: key, key==value, key!=value, key in (a,b); comma means and"))),
    summary, table, empty);

  const view = {
    async refresh() {
      const [apps, queue] = await Promise.all([api.apps(filter), api.queue()]);
      const queued = new Map(queue.map((q) => [q.app.id, q]));
      const rows = apps.map((app) => ({app, status: appStatus(app, queued.get(app.id))}));
      render(rows);
    },
    destroy() {
      clearTimeout(debounce);
    },
  };

  function render(rows) {
    if (firstPaint) performance.mark("drover:apps-fetched");
    keyedRows(tbody, rows, (r) => r.app.id, signature, row);
    const counts = {};
    let running = 0;
    let wanted = 0;
    for (const r of rows) {
      counts[r.status] = (counts[r.status] || 0) + 1;
      running += r.app.tasksRunning;
      wanted += r.app.instances;
    }
    const parts = [`${rows.length} application${rows.length === 1 ? "" : "s"}`, `${running} of ${wanted} instances running`];
    for (const s of ["deploying", "waiting", "delayed", "suspended"]) {
      if (counts[s]) parts.push(`${counts[s]} ${s}`);
    }
    replace(summary, parts.join(" · "));
    const filtered = filter.id || filter.label;
    table.hidden = rows.length === 0;
    empty.hidden = rows.length !== 0;
    replace(empty, filtered ? h("p", {}, "No application matches the filter.")
      : [h("p", {}, "No applications yet."), h("p", {}, h("a", {href: "#/create"}, "Create one"), ", or POST one to /v2/apps.")]);
    if (firstPaint) {
      firstPaint = false;
      performance.mark("drover:apps-built");
      // Two frames: the list is painted when the second one starts.
      requestAnimationFrame(() => requestAnimationFrame(() => {
        performance.mark("drover:apps-rendered", {detail: {rows: rows.length}});
      }));
    }
  }
  return view;
}

function signature({app, status}) {
  return JSON.stringify([status, app.tasksRunning, app.tasksStaged, app.instances, app.cpus, app.mem, app.tasksHealthy,
    app.tasksUnhealthy, (app.healthChecks || []).length, app.deployments.map((d) => d.id), app.labels, app.version]);
}

function row({app, status}) {
  const labels = Object.entries(app.labels || {});
  const deps = app.deployments.length;
  return h("tr", {dataset: {appId: app.id, status}},
    h("th", {scope: "row", class: "id"},
      h("a", {href: "#/app/" + appPath(app.id)}, app.id),
      labels.length ? h("span", {class: "chips"},
        labels.slice(0, 3).map(([k, v]) => h("span", {class: "chip"}, v ? `${k}=${v}` : k)),
        labels.length > 3 ? h("span", {class: "chip more"}, `+${labels.length - 3}`) : null) : null),
    h("td", {}, statusBadge(status)),
    h("td", {class: "num instances", dataset: {status}}, instancesText(app)),
    h("td", {class: "num"}, num(app.cpus)),
    h("td", {class: "num"}, mib(app.mem)),
    h("td", {}, healthCell(app)),
    h("td", {}, deps ? h("a", {href: "#/deployments"}, `${deps} running`) : h("span", {class: "muted"}, "—")));
}
