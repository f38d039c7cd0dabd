// The cluster, as Mesos' UI on :5050 showed it: every agent with its
// attributes, resources used of total, Docker's health, last heartbeat
// and tasks; which scheduler leads; and the health of NATS underneath
// (GET /v2/drover/cluster). Heartbeats are no events, so besides the
// events it reloads every few seconds while shown.

import {h, replace, keyedRows, num, mib, bytes, agoTime, bar, appPath} from "../dom.js";
import {api} from "../api.js";
import {taskState} from "../status.js";

const POLL_MS = 3000;

const AGENT_STATE = {
  ACTIVE: {label: "Active", icon: "●"},
  DOCKER_DEGRADED: {label: "Docker slow", icon: "◐"},
  DOCKER_DOWN: {label: "Docker down", icon: "▲"},
  UNREACHABLE: {label: "Unreachable", icon: "✕"},
};

export function clusterView({main}) {
  const overview = h("div", {class: "cards", id: "cluster-overview"});
  const tbody = h("tbody", {id: "agents-body"});
  const agentsTable = h("table", {class: "grid agents", id: "agents-table"},
    h("caption", {class: "sr-only"}, "Agents"),
    h("thead", {}, h("tr", {},
      h("th", {scope: "col"}, "Agent"),
      h("th", {scope: "col"}, "State"),
      h("th", {scope: "col"}, "Attributes"),
      h("th", {scope: "col"}, "CPUs"),
      h("th", {scope: "col"}, "Memory"),
      h("th", {scope: "col"}, "Disk"),
      h("th", {scope: "col"}, "Ports"),
      h("th", {scope: "col"}, "Docker"),
      h("th", {scope: "col"}, "Last heartbeat"),
      h("th", {scope: "col"}, "Tasks"))),
    tbody);
  const noAgents = h("div", {class: "empty", hidden: true},
    h("p", {}, "No agent has registered yet."),
    h("p", {}, "Start one on every host: ", h("code", {}, "drover agent --nats nats://MASTER:4222")));
  const streams = h("div", {id: "streams"});
  const agentsHead = h("h2", {id: "agents-title"}, "Agents");
  replace(main,
    h("div", {class: "page-head"}, h("h1", {}, "Cluster")),
    overview,
    h("section", {"aria-labelledby": "agents-title"}, agentsHead, agentsTable, noAgents),
    h("section", {"aria-labelledby": "nats-title"}, h("h2", {id: "nats-title"}, "NATS JetStream streams"), streams));

  let data = null;
  const open = new Set(); // agents whose task lists are open
  const poll = setInterval(() => view.refresh().catch(() => {}), POLL_MS);

  const view = {
    async refresh() {
      data = await api.cluster();
      render();
    },
    destroy() {
      clearInterval(poll);
    },
  };

  function render() {
    const {agents, leader, nats, totals, agentStates, heldReplacements} = data;
    const stateText = Object.entries(agentStates).map(([s, n]) => `${n} ${(AGENT_STATE[s] || {label: s}).label.toLowerCase()}`).join(", ");
    const js = nats.jetstream;
    const unhealthyStreams = nats.streams.filter((s) => !s.healthy);
    const sig = JSON.stringify([leader, nats.status, nats.serverName, nats.clusterName, nats.servers, js && [js.streams, js.consumers,
      Math.round(js.storage / 65536), Math.round(js.memory / 65536)], unhealthyStreams.length, nats.errors, totals, agentStates, heldReplacements, nats.connectedUrl]);
    if (overview.dataset.sig !== sig) {
      overview.dataset.sig = sig;
      replace(overview,
        card("Scheduler leader", leader ? "ok" : "bad", "leader-card", leader
          ? [h("p", {class: "big"}, leader.hostname || leader.schedulerId),
            h("dl", {class: "facts"},
              h("dt", {}, "Scheduler"), h("dd", {}, h("code", {}, leader.schedulerId)),
              h("dt", {}, "Leading since"), h("dd", {}, agoTime(leader.since)),
              h("dt", {}, "Epoch"), h("dd", {}, String(leader.epoch)))]
          : [h("p", {class: "big"}, "▲ No leader"), h("p", {}, "No scheduler holds the lock: nothing is placed or replaced until one does.")]),
        card("NATS", nats.connected ? (unhealthyStreams.length || nats.errors.length ? "warn" : "ok") : "bad", "nats-card", [
          h("p", {class: "big"}, (nats.connected ? "● " : "✕ ") + nats.status.charAt(0) + nats.status.slice(1).toLowerCase()),
          h("dl", {class: "facts"},
            h("dt", {}, "Server"), h("dd", {}, nats.serverName || "—"),
            h("dt", {}, "Cluster"), h("dd", {}, nats.clusterName || h("span", {class: "muted"}, "none (single server)")),
            h("dt", {}, "Connected to"), h("dd", {}, h("code", {}, nats.connectedUrl || "—")),
            h("dt", {}, "Known servers"), h("dd", {}, nats.servers.length ? nats.servers.map((s, i) => [i ? ", " : "", h("code", {}, s)]) : "—"),
            h("dt", {}, "Streams"), h("dd", {}, unhealthyStreams.length
              ? `▲ ${unhealthyStreams.length} of ${nats.streams.length} without a current leader or replica`
              : `${nats.streams.length} healthy`)),
          nats.errors.length ? h("ul", {class: "error-text"}, nats.errors.map((e) => h("li", {}, e))) : null]),
        card("JetStream", js ? "ok" : "warn", "jetstream-card", js ? [
          h("dl", {class: "facts"},
            h("dt", {}, "Storage"), h("dd", {}, bytes(js.storage), js.maxStorage > 0 ? ` of ${bytes(js.maxStorage)}` : ""),
            h("dt", {}, "Memory"), h("dd", {}, bytes(js.memory), js.maxMemory > 0 ? ` of ${bytes(js.maxMemory)}` : ""),
            h("dt", {}, "Streams"), h("dd", {}, String(js.streams)),
            h("dt", {}, "Consumers"), h("dd", {}, String(js.consumers)),
            h("dt", {}, "API calls"), h("dd", {}, `${num(js.apiTotal, 0)} (${num(js.apiErrors, 0)} errors)`))]
          : [h("p", {}, "Account information unavailable.")]),
        card("Resources", "ok", "resources-card", [
          h("p", {}, `${agents.length} agent${agents.length === 1 ? "" : "s"}${stateText ? ": " + stateText : ""} · ${totals.tasks} task${totals.tasks === 1 ? "" : "s"}`),
          heldReplacements ? h("p", {class: "error-text", id: "silent-majority"},
            `▲ Most agents went silent together: the scheduler suspects itself or the network and holds the replacement of ${heldReplacements} task${heldReplacements === 1 ? "" : "s"} (see the queue).`) : null,
          h("div", {class: "res-bars"},
            h("span", {class: "res-label"}, "CPUs"), bar(totals.used.cpus, totals.total.cpus, "CPUs"),
            h("span", {class: "res-label"}, "Memory"), bar(totals.used.mem, totals.total.mem, "Memory", mib),
            h("span", {class: "res-label"}, "Disk"), bar(totals.used.disk, totals.total.disk, "Disk", mib))]));
    }
    replace(agentsHead, `Agents (${agents.length})`);
    agentsTable.hidden = agents.length === 0;
    noAgents.hidden = agents.length !== 0;
    keyedRows(tbody, agents, (a) => a.id, (a) => JSON.stringify([a, open.has(a.id)]), agentRow);
    renderStreams(nats.streams);
  }

  function agentRow(a) {
    const st = AGENT_STATE[a.state] || {label: a.state, icon: "?"};
    const attrs = Object.entries(a.attributes);
    // The leader records each agent every 5 s: later than 12 s is late.
    const stale = Date.now() - Date.parse(a.lastSeen) > 12000;
    const details = h("details", {open: open.has(a.id)},
      h("summary", {}, `${a.tasks.length} task${a.tasks.length === 1 ? "" : "s"}`),
      a.tasks.length ? h("ul", {class: "agent-tasks"}, a.tasks.map((t) => h("li", {title: t.id},
        taskState(t.state), " ", h("a", {href: "#/app/" + appPath(t.appId)}, t.appId),
        t.ports.length ? h("span", {class: "muted"}, " :" + t.ports.join(", :")) : null))) : h("p", {class: "muted"}, "None"));
    details.addEventListener("toggle", () => {
      if (details.open) open.add(a.id);
      else open.delete(a.id);
    });
    return h("tr", {dataset: {agentId: a.id, hostname: a.hostname, state: a.state}},
      h("th", {scope: "row"}, h("span", {class: "hostname"}, a.hostname),
        a.id !== a.hostname ? [h("br"), h("code", {class: "small muted", title: "Agent id"}, a.id)] : null,
        a.address && a.address !== a.hostname ? [h("br"), h("span", {class: "small muted", title: "Address"}, a.address)] : null),
      h("td", {}, h("span", {class: "agent-state", dataset: {state: a.state}}, h("span", {class: "status-icon", "aria-hidden": "true"}, st.icon), st.label)),
      h("td", {}, attrs.length ? h("span", {class: "chips"}, attrs.map(([k, v]) => h("span", {class: "chip"}, `${k}=${v}`))) : h("span", {class: "muted"}, "—")),
      h("td", {class: "res"}, bar(a.used.cpus, a.total.cpus, "CPUs")),
      h("td", {class: "res"}, bar(a.used.mem, a.total.mem, "Memory", mib)),
      h("td", {class: "res"}, bar(a.used.disk, a.total.disk, "Disk", mib)),
      h("td", {class: "res"}, a.total.ports ? bar(a.used.ports, a.total.ports, "Ports", (v) => num(v, 0)) : h("span", {class: "muted"}, "none")),
      h("td", {}, a.docker.healthy && a.docker.degraded
        ? h("span", {class: "docker", dataset: {healthy: "degraded"}, title: a.docker.error || null}, "◐ Slow",
          a.docker.error ? [h("br"), h("span", {class: "small"}, a.docker.error)] : null)
        : a.docker.healthy
        ? h("span", {class: "docker", dataset: {healthy: "true"}}, "✓ Healthy",
          a.docker.apiVersion ? [h("br"), h("span", {class: "small muted"}, `API ${a.docker.apiVersion}`)] : null)
        : h("span", {class: "docker", dataset: {healthy: "false"}, title: a.docker.error || null}, "✗ Down", a.docker.error ? h("br") : null,
          a.docker.error ? h("span", {class: "small"}, a.docker.error) : null)),
      h("td", {class: stale ? "stale" : null}, agoTime(a.lastSeen), stale ? h("span", {class: "small"}, " ▲ late") : null),
      h("td", {}, details));
  }

  function renderStreams(list) {
    const sig = JSON.stringify(list.map((s) => [s.name, s.leader, s.peers, s.healthy, s.replicas]));
    if (streams.dataset.sig === sig) return;
    streams.dataset.sig = sig;
    replace(streams, h("details", {},
      h("summary", {}, `${list.length} streams and buckets: ${list.filter((s) => s.healthy).length} healthy`),
      h("table", {class: "grid compact"},
        h("thead", {}, h("tr", {},
          h("th", {scope: "col"}, "Stream"), h("th", {scope: "col", class: "num"}, "Replicas"), h("th", {scope: "col"}, "Leader"),
          h("th", {scope: "col"}, "Other replicas"), h("th", {scope: "col"}, "Health"))),
        h("tbody", {}, list.map((s) => h("tr", {},
          h("th", {scope: "row"}, h("code", {}, s.name)),
          h("td", {class: "num"}, String(s.replicas)),
          h("td", {}, s.leader || "—"),
          h("td", {}, s.peers.length ? s.peers.map((p, i) => [i ? ", " : "", `${p.name} (${p.offline ? "offline" : p.current ? "current" : "lagging " + p.lag})`]) : "—"),
          h("td", {}, s.healthy ? "✓ Healthy" : "✗ Degraded")))))));
  }

  return view;
}

function card(title, state, id, body) {
  return h("section", {class: "card", id, dataset: {state}, "aria-label": title}, h("h2", {class: "card-title"}, title), body);
}


