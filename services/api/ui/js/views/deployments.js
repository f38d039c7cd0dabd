// Running deployments: their steps, the current step's actions, and
// rollback (DELETE /v2/deployments/{id}) or stop (the same with force).

import {h, replace, appPath, time} from "../dom.js";
import {api} from "../api.js";

export function deploymentsView({main, ui}) {
  const list = h("div", {id: "deployments-list", class: "stack"});
  replace(main,
    h("div", {class: "page-head"}, h("h1", {}, "Deployments")),
    h("p", {class: "muted"}, "Each change to an app is a deployment until its tasks match the new definition."),
    list);
  return {
    async refresh() {
      const deps = await api.deployments();
      if (deps.length === 0) {
        replace(list, h("div", {class: "empty"}, h("p", {}, "No deployment is running.")));
        return;
      }
      replaceKeyed(list, deps, (d) => deploymentCard(d, ui));
    },
  };
}

// replaceKeyed renders the cards again only when a deployment changed.
function replaceKeyed(list, deps, build) {
  const sig = JSON.stringify(deps);
  if (list.dataset.sig === sig) return;
  list.dataset.sig = sig;
  replace(list, deps.map(build));
}

// deploymentCard is one deployment, with its actions; the app page shows
// the same card for the deployments affecting its app.
export function deploymentCard(d, ui, headingLevel = "h2") {
  const steps = h("ol", {class: "steps"},
    d.steps.map((s, i) => {
      const n = i + 1;
      const state = n < d.currentStep ? "done" : n === d.currentStep ? "current" : "todo";
      const word = state === "done" ? "done" : state === "current" ? "in progress" : "to do";
      return h("li", {dataset: {state}},
        h("span", {class: "step-state"}, `${n}. ${word}:`),
        h("ul", {class: "actions-list"}, s.actions.map((a) => h("li", {},
          h("span", {class: "action"}, humanAction(a.action)), " ",
          h("a", {href: "#/app/" + appPath(a.app)}, a.app)))));
    }));
  const current = d.currentActions.map((a) => {
    const ready = (a.readinessCheckResults || []);
    return h("li", {},
      h("span", {class: "action"}, humanAction(a.action)), " ", h("a", {href: "#/app/" + appPath(a.app)}, a.app),
      ready.length ? ` — ${ready.filter((r) => r.ready).length} of ${ready.length} tasks ready` : "");
  });
  return h("section", {class: "card deployment", dataset: {deploymentId: d.id}, "aria-label": `Deployment ${d.id}`},
    h("div", {class: "card-head"},
      h(headingLevel, {class: "card-title"}, "Deployment ", h("code", {}, d.id)),
      h("div", {class: "btns"},
        h("button", {class: "btn", type: "button", onclick: () => rollback(d, ui, false)}, "↶ Roll back"),
        h("button", {class: "btn danger", type: "button", onclick: () => rollback(d, ui, true)}, "■ Stop"))),
    h("dl", {class: "facts"},
      h("dt", {}, "Apps"), h("dd", {}, d.affectedApps.map((a, i) => [i ? ", " : "", h("a", {href: "#/app/" + appPath(a)}, a)])),
      h("dt", {}, "Started"), h("dd", {}, time(d.version)),
      h("dt", {}, "Progress"), h("dd", {}, `Step ${d.currentStep} of ${d.totalSteps}`),
      h("dt", {}, "Now"), h("dd", {}, current.length ? h("ul", {class: "plain"}, current) : "—"),
      h("dt", {}, "Steps"), h("dd", {}, steps)));
}

const ACTIONS = {
  StartApplication: "Start", StopApplication: "Stop", ScaleApplication: "Scale", RestartApplication: "Restart",
  ResolveArtifacts: "Resolve artifacts",
};

function humanAction(a) {
  return ACTIONS[a] || a;
}

async function rollback(d, ui, force) {
  const ok = await ui.dialog(force ? {
    title: "Stop this deployment?",
    body: [h("p", {}, "The deployment is cancelled where it stands: its apps keep their new definition and the tasks running now.")],
    ok: "Stop deployment", danger: true,
  } : {
    title: "Roll back this deployment?",
    body: [h("p", {}, "Its apps go back to the definition they had before it, in a new deployment; an app it created is destroyed.")],
    ok: "Roll back",
  });
  if (!ok) return;
  await ui.act(() => api.cancelDeployment(d.id, force), force ? `Deployment ${d.id} stopped` : `Rolling back deployment ${d.id}`);
}
