// DOM and formatting helpers. Everything is built with createElement and
// textContent: no HTML strings, so no data from the API is ever markup.

// h builds an element: h("a", {href: "#/x", class: "y", onclick: fn}, "text", child).
// Attributes set to null, undefined or false are left out; true sets an empty one.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith("on") && typeof v === "function") {
        el.addEventListener(k.slice(2), v);
      } else if (k === "class") {
        el.className = v;
      } else if (k === "dataset") {
        Object.assign(el.dataset, v);
      } else if (k === "value" || k === "checked" || k === "selected") {
        el[k] = v;
      } else {
        el.setAttribute(k, v === true ? "" : String(v));
      }
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

// replace sets an element's children.
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// keyedRows updates a tbody so that it holds one row per item, in order:
// a row whose signature did not change is kept as it is (with its focus
// and selection); others are built again with build(item).
export function keyedRows(tbody, items, key, signature, build) {
  const old = new Map();
  for (const tr of tbody.children) old.set(tr.dataset.key, tr);
  let prev = null;
  for (const item of items) {
    const k = key(item);
    const sig = signature(item);
    let tr = old.get(k);
    if (tr && tr.dataset.sig === sig) {
      old.delete(k);
    } else {
      const fresh = build(item);
      fresh.dataset.key = k;
      fresh.dataset.sig = sig;
      if (tr) {
        old.delete(k);
        tr.replaceWith(fresh);
      }
      tr = fresh;
    }
    const want = prev ? prev.nextSibling : tbody.firstChild;
    if (want !== tr) tbody.insertBefore(tr, want);
    prev = tr;
  }
  for (const tr of old.values()) tr.remove();
}

// Formatting.

export function num(n, digits = 2) {
  if (n === null || n === undefined || Number.isNaN(n)) return "—";
  return Number(n.toFixed(digits)).toLocaleString("en-US");
}

// mib formats an amount of MiB (as Marathon counts mem and disk).
export function mib(n) {
  if (n === null || n === undefined) return "—";
  if (n >= 1024 * 1024) return num(n / 1024 / 1024, 1) + " TiB";
  if (n >= 1024) return num(n / 1024, 1) + " GiB";
  return num(n, 0) + " MiB";
}

export function bytes(n) {
  if (!n) return "0 B";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return num(n, i ? 1 : 0) + " " + units[i];
}

export function ago(iso, now = Date.now()) {
  if (!iso) return "—";
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return "—";
  let s = Math.round((now - t) / 1000);
  if (s < 0) s = 0;
  if (s < 60) return s + " s ago";
  const m = Math.floor(s / 60);
  if (m < 60) return m + " min ago";
  const hr = Math.floor(m / 60);
  if (hr < 48) return hr + " h " + (m % 60) + " min ago";
  return Math.floor(hr / 24) + " days ago";
}

export function duration(seconds) {
  seconds = Math.max(0, Math.round(seconds));
  if (seconds < 60) return seconds + " s";
  const m = Math.floor(seconds / 60);
  if (m < 60) return m + " min " + (seconds % 60) + " s";
  return Math.floor(m / 60) + " h " + (m % 60) + " min";
}

// when is a timestamp in the browser's time zone.
export function when(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString("en-GB", {
    year: "numeric", month: "short", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit",
  });
}

// time is an element showing a timestamp, with the exact value as its title.
export function time(iso, text) {
  return h("time", {datetime: iso || null, title: iso || null}, text ?? when(iso));
}

// agoTime is "3 s ago", with the exact time as its title; the page keeps
// every such element current (main.js ticks them each second).
export function agoTime(iso) {
  return h("time", {datetime: iso, title: when(iso) + " (" + iso + ")", dataset: {ago: ""}}, ago(iso));
}

// bar is a labelled usage bar: the numbers are in its text, so it reads
// without colour; the level (ok, high, full) also changes its pattern.
export function bar(used, total, label, fmt = (v) => num(v)) {
  const pct = total > 0 ? Math.min(100, (used / total) * 100) : 0;
  const level = pct >= 90 ? "full" : pct >= 70 ? "high" : "ok";
  const fill = h("span", {class: "bar-fill"});
  fill.style.width = pct.toFixed(1) + "%";
  return h("div", {class: "bar", dataset: {level}},
    h("span", {class: "bar-track", role: "img", "aria-label": `${label}: ${fmt(used)} of ${fmt(total)} used, ${Math.round(pct)}%`}, fill),
    h("span", {class: "bar-text"}, `${fmt(used)} / ${fmt(total)}`));
}

// encodeId makes an app id (with slashes) part of a URL path.
export function appPath(id) {
  return id.split("/").filter(Boolean).map(encodeURIComponent).join("/");
}
