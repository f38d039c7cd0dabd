// Create or edit an app: a form for the common fields and a JSON editor
// for all of them, on one definition. A form field writes only its own
// part of the definition, and only when it is changed, so what the form
// cannot show (health checks, port names, ...) is kept. The API is the
// validator: its 422 details are shown next to the fields their paths
// name, and every one is listed above the form.

import {h, replace, appPath} from "../dom.js";
import {api, APIError} from "../api.js";
import {definition} from "./app.js";

const NEW_APP = {
  id: "",
  instances: 1,
  cpus: 0.1,
  mem: 128,
  container: {type: "DOCKER", docker: {image: "", network: "BRIDGE"}},
};

// docker is def.container.docker, made when asked to.
function docker(def, make) {
  if (!def.container && make) def.container = {type: "DOCKER"};
  if (!def.container) return null;
  if (!def.container.docker && make) def.container.docker = {};
  return def.container.docker || null;
}

function lines(text) {
  return text.split("\n").map((l) => l.trim()).filter(Boolean);
}

class LineError extends Error {
  constructor(line, msg) {
    super(`Line ${line}: ${msg}`);
  }
}

function int(s, line, what) {
  if (!/^\d+$/.test(s)) throw new LineError(line, `${what} must be a whole number, got "${s}"`);
  return Number(s);
}

function kvLines(text, sep = "=") {
  const out = {};
  lines(text).forEach((l, i) => {
    const at = l.indexOf(sep);
    if (at <= 0) throw new LineError(i + 1, `expected KEY${sep}VALUE, got "${l}"`);
    out[l.slice(0, at).trim()] = l.slice(at + 1).trim();
  });
  return out;
}

function numberField(key) {
  return {
    read: (def) => (def[key] === undefined || def[key] === null ? "" : String(def[key])),
    write: (def, v) => {
      if (v.trim() === "") delete def[key];
      else if (Number.isNaN(Number(v))) throw new Error(`"${v}" is not a number`);
      else def[key] = Number(v);
    },
  };
}

// Each field: its input, how it reads and writes the definition, and the
// paths of the API's validation errors it answers for.
const FIELDS = [
  {name: "id", group: "app", span: 3, label: "ID", help: "Such as /shop/web (in the group /shop)", required: true,
    read: (d) => d.id || "", write: (d, v) => (d.id = v.trim()), paths: [/^\/id\b/]},
  {name: "instances", group: "app", span: 1, label: "Instances", type: "number", step: "1", min: "0", ...numberField("instances"), paths: [/^\/instances\b/]},
  {name: "cpus", group: "app", span: 1, label: "CPUs", type: "number", step: "any", min: "0", ...numberField("cpus"), paths: [/^\/cpus\b/]},
  {name: "mem", group: "app", span: 1, label: "Memory (MiB)", type: "number", step: "any", min: "0", ...numberField("mem"), paths: [/^\/mem\b/]},
  {name: "disk", group: "app", span: 1, label: "Disk (MiB)", type: "number", step: "any", min: "0", ...numberField("disk"), paths: [/^\/disk\b/]},
  {name: "image", group: "container", span: 3, label: "Docker image", help: "Such as httpd, or registry.example.com/team/app:1.2",
    read: (d) => (docker(d) && docker(d).image) || "",
    write: (d, v) => (docker(d, true).image = v.trim()),
    paths: [/^\/container\/docker\/image\b/, /^\/container\/docker$/, /^\/container$/, /^\/container\/type\b/]},
  {name: "cmd", group: "app", span: 5, label: "Command", help: "Run by a shell in the container; empty: the image's own",
    read: (d) => d.cmd || "",
    write: (d, v) => {
      if (v.trim() === "") delete d.cmd;
      else d.cmd = v;
    },
    paths: [/^\/cmd\b/, /^\/args\b/]},
  {name: "network", group: "container", span: 1, label: "Network", kind: "select", options: ["BRIDGE", "HOST", "NONE", "USER"],
    read: (d) => (docker(d) && docker(d).network) || "BRIDGE",
    write: (d, v) => (docker(d, true).network = v),
    paths: [/^\/container\/docker\/network\b/, /^\/networks\b/]},
  {name: "privileged", group: "container", span: 1, label: "Privileged container", kind: "checkbox",
    read: (d) => !!(docker(d) && docker(d).privileged),
    write: (d, v) => (docker(d, true).privileged = v),
    paths: [/^\/container\/docker\/privileged\b/]},
  {name: "forcePullImage", group: "container", span: 1, label: "Pull the image on every launch", kind: "checkbox",
    read: (d) => !!(docker(d) && docker(d).forcePullImage),
    write: (d, v) => (docker(d, true).forcePullImage = v),
    paths: [/^\/container\/docker\/forcePullImage\b/]},
  {name: "ports", group: "container", span: 2, label: "Ports", kind: "textarea",
    help: "One per line: containerPort[:hostPort][/udp]; without a host port, any free one. Host network: port[/udp].",
    read: (d) => {
      const host = (docker(d) && docker(d).network) === "HOST";
      if (host) return (d.portDefinitions || []).map((p) => `${p.port}${p.protocol && p.protocol !== "tcp" ? "/" + p.protocol : ""}`).join("\n");
      const pms = (d.container && (d.container.portMappings || (d.container.docker && d.container.docker.portMappings))) || [];
      return pms.map((p) => `${p.containerPort}${p.hostPort ? ":" + p.hostPort : ""}${p.protocol && p.protocol !== "tcp" ? "/" + p.protocol : ""}`).join("\n");
    },
    write: (d, v) => {
      const host = (docker(d) && docker(d).network) === "HOST";
      const parsed = lines(v).map((l, i) => {
        const m = /^(\d+)(?::(\d+))?(?:\/(tcp|udp|udp,tcp|tcp,udp))?$/.exec(l);
        if (!m || (host && m[2])) throw new LineError(i + 1, `expected ${host ? "port[/protocol]" : "containerPort[:hostPort][/protocol]"}, got "${l}"`);
        return {a: int(m[1], i + 1, "port"), b: m[2] === undefined ? 0 : int(m[2], i + 1, "host port"), protocol: m[3] || "tcp"};
      });
      if (host) {
        d.portDefinitions = parsed.map((p) => ({port: p.a, protocol: p.protocol}));
        return;
      }
      const pms = parsed.map((p) => ({containerPort: p.a, hostPort: p.b, protocol: p.protocol}));
      const c = d.container || (d.container = {type: "DOCKER"});
      if (c.docker && c.docker.portMappings && !c.portMappings) c.docker.portMappings = pms;
      else c.portMappings = pms;
      if (pms.length) delete d.portDefinitions;
    },
    paths: [/^\/container\/(docker\/)?portMappings\b/, /^\/portDefinitions\b/, /^\/ports\b/, /^\/requirePorts\b/]},
  {name: "constraints", group: "placement", span: 2, label: "Constraints", kind: "textarea",
    help: "One per line: field:OPERATOR[:value], such as hostname:UNIQUE",
    read: (d) => (d.constraints || []).map((c) => c.join(":")).join("\n"),
    write: (d, v) => {
      d.constraints = lines(v).map((l, i) => {
        const parts = l.split(":");
        if (parts.length < 2 || parts.length > 3 || parts.some((p) => p.trim() === "")) {
          throw new LineError(i + 1, `expected field:OPERATOR[:value], got "${l}"`);
        }
        return parts.map((p, j) => (j === 1 ? p.trim().toUpperCase() : p.trim()));
      });
    },
    paths: [/^\/constraints\b/]},
  {name: "env", group: "placement", span: 2, label: "Environment", kind: "textarea", help: "One per line: NAME=value",
    read: (d) => Object.entries(d.env || {}).filter(([, v]) => typeof v === "string").map(([k, v]) => `${k}=${v}`).join("\n"),
    write: (d, v) => {
      const kept = Object.fromEntries(Object.entries(d.env || {}).filter(([, x]) => typeof x !== "string"));
      d.env = {...kept, ...kvLines(v)};
    },
    paths: [/^\/env\b/]},
  {name: "labels", group: "placement", span: 2, label: "Labels", kind: "textarea", help: "One per line: key=value",
    read: (d) => Object.entries(d.labels || {}).map(([k, v]) => `${k}=${v}`).join("\n"),
    write: (d, v) => (d.labels = kvLines(v)),
    paths: [/^\/labels\b/]},
  {name: "volumes", group: "container", span: 2, label: "Volumes", kind: "textarea",
    help: "One per line: hostPath:containerPath[:RO|RW]",
    read: (d) => ((d.container && d.container.volumes) || []).filter((v) => v.hostPath)
      .map((v) => `${v.hostPath}:${v.containerPath}:${v.mode || "RW"}`).join("\n"),
    write: (d, v) => {
      const c = d.container || (d.container = {type: "DOCKER"});
      const other = (c.volumes || []).filter((x) => !x.hostPath);
      c.volumes = [...other, ...lines(v).map((l, i) => {
        const parts = l.split(":");
        if (parts.length < 2 || parts.length > 3) throw new LineError(i + 1, `expected hostPath:containerPath[:RO|RW], got "${l}"`);
        const mode = (parts[2] || "RW").toUpperCase();
        if (mode !== "RO" && mode !== "RW") throw new LineError(i + 1, `mode must be RO or RW, got "${parts[2]}"`);
        return {hostPath: parts[0], containerPath: parts[1], mode};
      })];
    },
    paths: [/^\/container\/volumes\b/]},
  {name: "parameters", group: "container", span: 2, label: "Docker parameters", kind: "textarea",
    help: "docker run flags, one per line: key=value, such as publish=80:80",
    read: (d) => ((docker(d) && docker(d).parameters) || []).map((p) => `${p.key}=${p.value}`).join("\n"),
    write: (d, v) => {
      docker(d, true).parameters = lines(v).map((l, i) => {
        const at = l.indexOf("=");
        if (at <= 0) throw new LineError(i + 1, `expected key=value, got "${l}"`);
        return {key: l.slice(0, at).trim(), value: l.slice(at + 1).trim()};
      });
    },
    paths: [/^\/container\/docker\/parameters\b/]},
];

const GROUPS = [["app", "Application"], ["container", "Docker container"], ["placement", "Placement, environment and labels"]];

export function formView({main, query, ui}, id) {
  const editing = id !== null;
  let def = editing ? null : structuredClone(NEW_APP);
  let mode = query.get("mode") === "json" ? "json" : "form";
  let loaded = !editing;

  const summary = h("div", {class: "error-summary", id: "form-errors", tabindex: "-1", hidden: true});
  const inputs = {};
  const errorsOf = {};
  const dirty = new Set(); // the fields changed since the form was filled
  const form = h("form", {class: "app-form", id: "app-form", novalidate: true});
  const groups = {};
  for (const [g] of GROUPS) {
    groups[g] = h("div", {class: "form-grid"});
  }
  for (const f of FIELDS) {
    const inputId = "f-" + f.name;
    const err = h("p", {class: "field-error", id: inputId + "-error", hidden: true});
    const help = f.help ? h("small", {class: "help", id: inputId + "-help"}, f.help) : null;
    const describedBy = [help ? inputId + "-help" : null, inputId + "-error"].filter(Boolean).join(" ");
    let input;
    if (f.kind === "select") {
      input = h("select", {id: inputId, name: f.name, "aria-describedby": describedBy}, f.options.map((o) => h("option", {value: o}, o)));
    } else if (f.kind === "textarea") {
      input = h("textarea", {id: inputId, name: f.name, rows: "3", spellcheck: "false", "aria-describedby": describedBy});
    } else if (f.kind === "checkbox") {
      input = h("input", {type: "checkbox", id: inputId, name: f.name, "aria-describedby": describedBy});
    } else {
      input = h("input", {type: f.type || "text", id: inputId, name: f.name, step: f.step, min: f.min, autocomplete: "off",
        spellcheck: "false", required: f.required, "aria-describedby": describedBy, readonly: editing && f.name === "id"});
    }
    input.addEventListener(f.kind === "checkbox" || f.kind === "select" ? "change" : "input", () => {
      dirty.add(f.name);
      writeField(f);
    });
    inputs[f.name] = input;
    errorsOf[f.name] = err;
    const cls = `field span-${f.span}` + (f.kind === "checkbox" ? " check" : "");
    groups[f.group].append(f.kind === "checkbox"
      ? h("div", {class: cls, dataset: {field: f.name}}, h("label", {for: inputId}, input, " ", f.label), help, err)
      : h("div", {class: cls, dataset: {field: f.name}}, h("label", {for: inputId}, f.label), input, help, err));
  }
  const jsonErr = h("p", {class: "field-error", id: "f-json-error", hidden: true});
  const json = h("textarea", {id: "f-json", class: "json-editor", rows: "24", spellcheck: "false", "aria-describedby": "f-json-help f-json-error"});
  json.addEventListener("input", () => {
    try {
      def = JSON.parse(json.value);
      showError(jsonErr, null);
    } catch (err) {
      showError(jsonErr, "Not valid JSON yet: " + err.message);
    }
  });
  const jsonPane = h("div", {class: "json-pane", id: "json-pane"},
    h("label", {for: "f-json"}, "App definition (JSON)"),
    h("small", {class: "help", id: "f-json-help"}, "Every field of Marathon's app definition. The form's fields are part of it."),
    json, jsonErr);
  const formPane = h("div", {id: "form-pane"},
    GROUPS.map(([g, legend]) => h("fieldset", {}, h("legend", {}, legend), groups[g])));

  const modeBtns = {};
  const modes = h("div", {class: "segmented", role: "group", "aria-label": "Editor"},
    ["form", "json"].map((m) => {
      const b = h("button", {type: "button", class: "btn", id: "mode-" + m, "aria-pressed": "false"}, m === "form" ? "Form" : "JSON");
      b.addEventListener("click", () => setMode(m));
      modeBtns[m] = b;
      return b;
    }));
  const submit = h("button", {type: "submit", class: "btn primary", id: "submit-app"}, editing ? "Save changes" : "Create application");
  const cancel = h("a", {class: "btn", href: editing ? "#/app/" + appPath(id) : "#/apps"}, "Cancel");
  form.append(summary, modes, formPane, jsonPane, h("div", {class: "form-actions"}, submit, cancel));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    save();
  });

  replace(main,
    h("nav", {class: "crumbs", "aria-label": "Breadcrumb"}, h("a", {href: "#/apps"}, "Applications"), " / ",
      editing ? [h("a", {href: "#/app/" + appPath(id)}, id), " / edit"] : "new"),
    h("div", {class: "page-head"}, h("h1", {}, editing ? `Edit ${id}` : "Create an application")),
    form);

  function showError(el, msg) {
    el.textContent = msg || "";
    el.hidden = !msg;
  }

  function writeField(f) {
    const input = inputs[f.name];
    if (!def) return true;
    try {
      f.write(def, f.kind === "checkbox" ? input.checked : input.value);
      showError(errorsOf[f.name], null);
      input.removeAttribute("aria-invalid");
      // The host network keeps its ports elsewhere: show them again.
      if (f.name === "network") inputs.ports.value = FIELDS.find((x) => x.name === "ports").read(def);
      return true;
    } catch (err) {
      showError(errorsOf[f.name], err.message);
      input.setAttribute("aria-invalid", "true");
      return false;
    }
  }

  function fillForm() {
    dirty.clear();
    for (const f of FIELDS) {
      const v = f.read(def);
      if (f.kind === "checkbox") inputs[f.name].checked = v;
      else inputs[f.name].value = v;
    }
  }

  function setMode(m) {
    if (m === "form" && mode === "json") {
      try {
        def = JSON.parse(json.value);
      } catch (err) {
        showError(jsonErr, "Fix the JSON first: " + err.message);
        json.focus();
        return;
      }
    }
    mode = m;
    if (def && m === "form") fillForm();
    else if (def) json.value = JSON.stringify(def, null, 2);
    formPane.hidden = m !== "form";
    jsonPane.hidden = m !== "json";
    for (const [k, b] of Object.entries(modeBtns)) b.setAttribute("aria-pressed", String(k === m));
  }

  function clearErrors() {
    showError(jsonErr, null);
    for (const f of FIELDS) {
      showError(errorsOf[f.name], null);
      inputs[f.name].removeAttribute("aria-invalid");
    }
    replace(summary);
    summary.hidden = true;
  }

  // showDetails puts each of the API's details next to its field, and
  // lists them all in the summary, each linked to its field.
  function showDetails(message, details) {
    const perField = {};
    const items = [];
    for (const d of details) {
      const f = FIELDS.find((x) => x.paths.some((re) => re.test(d.path)));
      const text = (d.errors || []).join("; ");
      const idx = /\((\d+)\)/.exec(d.path);
      const where = f && f.kind === "textarea" && idx ? `line ${Number(idx[1]) + 1}: ` : "";
      if (f) (perField[f.name] = perField[f.name] || []).push(where + text);
      const target = f && mode === "form" ? "f-" + f.name : "f-json";
      items.push(h("li", {}, h("a", {href: "#" + target, onclick: (e) => {
        e.preventDefault();
        document.getElementById(target).focus();
      }}, h("code", {}, d.path || "/")), " ", text));
    }
    for (const [name, msgs] of Object.entries(perField)) {
      showError(errorsOf[name], msgs.join(" "));
      inputs[name].setAttribute("aria-invalid", "true");
    }
    if (mode === "json" && details.length) showError(jsonErr, details.map((d) => `${d.path}: ${(d.errors || []).join("; ")}`).join("\n"));
    replace(summary, h("h2", {}, message), items.length ? h("ul", {}, items) : null);
    summary.hidden = false;
    summary.focus();
  }

  async function save() {
    clearErrors();
    if (mode === "json") {
      try {
        def = JSON.parse(json.value);
      } catch (err) {
        showDetails("The definition is not valid JSON", [{path: "/", errors: [err.message]}]);
        return;
      }
    } else {
      const bad = FIELDS.filter((f) => dirty.has(f.name) && !writeField(f));
      if (bad.length) {
        showDetails("Some fields need fixing", bad.map((f) => ({path: f.label, errors: [errorsOf[f.name].textContent]})));
        return;
      }
    }
    submit.disabled = true;
    try {
      const saved = await send(false);
      if (saved === false) return;
      const target = editing ? id : (saved && saved.id) || def.id;
      ui.toast(editing ? `Saved ${target}` : `Created ${target}`);
      ui.announce(editing ? `Saved ${target}` : `Created ${target}`);
      ui.navigate("#/app/" + appPath(target));
    } catch (err) {
      if (err instanceof APIError && err.details.length) showDetails(err.message, err.details);
      else if (err instanceof APIError && err.status === 409 && !editing) {
        showError(errorsOf.id, err.message);
        inputs.id.setAttribute("aria-invalid", "true");
        showDetails(err.message, [{path: "/id", errors: [err.message]}]);
      } else showDetails(err.message, []);
    } finally {
      submit.disabled = false;
    }
  }

  async function send(force) {
    if (!editing) return api.create(def);
    try {
      return await api.update(id, def, force);
    } catch (err) {
      if (!force && err instanceof APIError && err.status === 409 && err.body.deployments && err.body.deployments.length) {
        const ok = await ui.dialog({
          title: "Locked by a deployment",
          body: [h("p", {}, err.message), h("p", {}, "Saving anyway cancels the running deployment.")],
          ok: "Save anyway", danger: true,
        });
        return ok ? send(true) : false;
      }
      throw err;
    }
  }

  setMode(mode);
  return {
    async refresh() {
      if (loaded) return;
      const app = await api.app(id);
      def = definition(app, false);
      loaded = true;
      setMode(mode);
    },
  };
}
