"""Drives Drover with Debian's python3-marathon (the `marathon` package,
0.13.0), unchanged, the way a Marathon user's script does.

    /usr/bin/python3 marathon_client.py http://127.0.0.1:8080 IMAGE

It runs apps, tasks, deployments, groups, the queue and the parsed event
stream through a scale and a rolling restart, and prints one line per check:
"PASS name" or "FAIL name: why". A check that fails does not stop the ones
after it (they may fail for the same reason). The last line is "DONE".
marathon_test.go runs it and turns each line into a subtest.
"""

import sys
import threading
import time
import traceback

from marathon import MarathonClient
from marathon.exceptions import ConflictError, NotFoundError
from marathon.models import MarathonApp, MarathonGroup
from marathon.models.app import MarathonHealthCheck
from marathon.models.container import (MarathonContainer,
                                       MarathonContainerPortMapping,
                                       MarathonDockerContainer)
from marathon.models.events import (MarathonApiPostEvent,
                                    MarathonDeploymentInfo,
                                    MarathonDeploymentSuccess,
                                    MarathonEventStreamAttached,
                                    MarathonGroupChangeSuccess,
                                    MarathonHealthStatusChangedEvent,
                                    MarathonStatusUpdateEvent)

URL, IMAGE = sys.argv[1], sys.argv[2]
DEADLINE = 180  # seconds: generous, for a busy machine
client = MarathonClient(URL, timeout=30)


class Check:
    """A named check: `with Check("name"):` prints PASS or FAIL."""

    def __init__(self, name):
        self.name = name

    def __enter__(self):
        return self

    def __exit__(self, kind, err, tb):
        if kind is None:
            print("PASS " + self.name, flush=True)
        else:
            why = "".join(traceback.format_exception_only(kind, err)).strip()
            lines = [f.lineno for f in traceback.extract_tb(tb) if f.filename == __file__]
            print("FAIL %s: %s (line %s)" % (self.name, why.replace("\n", " "), lines[-1] if lines else "?"), flush=True)
        return True  # go on with the next check


def wait_for(what, cond):
    """Calls cond until it returns a true value, and returns it."""
    deadline = time.time() + DEADLINE
    last = None
    while time.time() < deadline:
        try:
            got = cond()
            if got:
                return got
        except Exception as e:  # the condition's own errors, until the deadline
            last = e
        time.sleep(0.2)
    raise AssertionError("not within %ds: %s (last error: %r)" % (DEADLINE, what, last))


def web_app(instances, **extra):
    return MarathonApp(
        cpus=0.1, mem=32, instances=instances,
        container=MarathonContainer(type="DOCKER", docker=MarathonDockerContainer(
            image=IMAGE, network="BRIDGE",
            port_mappings=[MarathonContainerPortMapping(container_port=80, host_port=0, protocol="tcp")])),
        health_checks=[MarathonHealthCheck(
            protocol="HTTP", path="/healthz", port_index=0, grace_period_seconds=30,
            interval_seconds=1, timeout_seconds=2, max_consecutive_failures=5)],
        **extra)


def running(app_id, n):
    """The app's tasks once exactly n run and pass their health checks."""
    def cond():
        app = client.get_app(app_id, embed_tasks=True)
        tasks = [t for t in app.tasks if t.state == "TASK_RUNNING"
                 and t.health_check_results and all(r.alive for r in t.health_check_results)]
        if app.tasks_running == n and len(app.tasks) == n and len(tasks) == n and not app.deployments:
            return tasks
        return None
    return wait_for("%s has %d healthy running tasks" % (app_id, n), cond)


def no_deployment(deployment_id):
    return wait_for("deployment %s finished" % deployment_id,
                    lambda: all(d.id != deployment_id for d in client.list_deployments()))


# The event stream: every event parsed into python-marathon's classes.
events, stream_errors = [], []


def follow():
    try:
        for event in client.event_stream():
            events.append(event)
    except Exception as e:
        stream_errors.append("%s: %s" % (type(e).__name__, e))


threading.Thread(target=follow, daemon=True).start()

with Check("events.attached"):
    wait_for("event_stream_attached", lambda: any(isinstance(e, MarathonEventStreamAttached) for e in events))

deployment_ids = []

with Check("apps.create"):
    created = client.create_app("/py/web", web_app(1, labels={"owner": "py"}, env={"GREETING": "one"}))
    assert created.id == "/py/web", created.id
    assert created.instances == 1, created.instances
    assert created.container.docker.image == IMAGE, created.container.docker.image
    assert created.labels == {"owner": "py"}, created.labels

with Check("apps.get"):
    tasks = running("/py/web", 1)
    app = client.get_app("/py/web", embed_tasks=True)
    assert app.tasks_healthy == 1, app.tasks_healthy
    task = tasks[0]
    assert task.app_id == "/py/web", task.app_id
    assert task.host, "task has no host"
    assert len(task.ports) == 1 and task.ports[0] > 0, task.ports
    assert task.started_at is not None, "task has no startedAt"
    assert app.version_info.last_config_change_at is not None, "no versionInfo.lastConfigChangeAt"

with Check("apps.list"):
    apps = client.list_apps(embed_tasks=True)
    web = [a for a in apps if a.id == "/py/web"]
    assert len(web) == 1, [a.id for a in apps]
    assert len(web[0].tasks) == 1, web[0].tasks
    assert [a.id for a in client.list_apps(label="owner==py")] == ["/py/web"]
    assert client.list_apps(label="owner==nobody") == []
    assert [a.id for a in client.list_apps(app_id="/py/")] == ["/py/web"]

with Check("apps.update"):
    before = {t.id for t in client.list_tasks("/py/web")}
    answer = client.update_app("/py/web", MarathonApp(env={"GREETING": "two"}))
    assert answer.get("deploymentId"), answer
    deployment_ids.append(answer["deploymentId"])
    no_deployment(answer["deploymentId"])
    tasks = running("/py/web", 1)
    assert tasks[0].id not in before, "the task was not replaced by the new version"
    assert client.get_app("/py/web").env == {"GREETING": "two"}

with Check("apps.scale"):
    answer = client.scale_app("/py/web", instances=3)
    assert answer.get("deploymentId"), answer
    deployment_ids.append(answer["deploymentId"])
    assert len(running("/py/web", 3)) == 3
    answer = client.scale_app("/py/web", delta=-1)
    deployment_ids.append(answer["deploymentId"])
    assert len(running("/py/web", 2)) == 2
    assert client.get_app("/py/web").instances == 2

with Check("tasks.list"):
    tasks = client.list_tasks("/py/web")
    assert len(tasks) == 2, tasks
    assert all(t.app_id == "/py/web" for t in tasks), [t.app_id for t in tasks]
    everyone = client.list_tasks()
    assert {t.id for t in tasks} <= {t.id for t in everyone}, "GET /v2/tasks lacks the app's tasks"
    endpoints = [e for e in client.list_endpoints() if e.app_id == "/py/web"]
    assert len(endpoints) == 2, endpoints

with Check("tasks.kill-and-scale"):
    tasks = client.list_tasks("/py/web")
    victim = tasks[0].id
    # With scale=true Marathon answers the deployment that lowers instances.
    answer = client.kill_task("/py/web", victim, scale=True)
    assert answer.get("deploymentId"), answer
    deployment_ids.append(answer["deploymentId"])
    left = running("/py/web", 1)
    assert left[0].id != victim, "the killed task is still there"
    assert client.get_app("/py/web").instances == 1
    answer = client.scale_app("/py/web", instances=2)
    deployment_ids.append(answer["deploymentId"])
    tasks = running("/py/web", 2)
    assert client.kill_given_tasks([tasks[0].id], scale=True) is True
    left = running("/py/web", 1)
    assert left[0].id == tasks[1].id, (left, tasks)

with Check("apps.restart"):
    answer = client.scale_app("/py/web", instances=2)
    deployment_ids.append(answer["deploymentId"])
    before = {t.id for t in running("/py/web", 2)}
    answer = client.restart_app("/py/web")
    assert answer.get("deploymentId"), answer
    deployment_ids.append(answer["deploymentId"])
    no_deployment(answer["deploymentId"])
    after = {t.id for t in running("/py/web", 2)}
    assert not (before & after), "tasks kept through the restart: %s" % (before & after)

with Check("apps.versions"):
    versions = client.list_versions("/py/web")
    assert len(versions) >= 2, versions
    app = client.get_version("/py/web", versions[-1])
    assert app.id == "/py/web" and app.env == {"GREETING": "one"}, app

with Check("deployments.list"):
    # Two instances on one host under hostname:UNIQUE: one runs, the other
    # cannot be placed, so the deployment stays and the queue holds it.
    answer = client.create_app("/py/stuck", web_app(2, constraints=[["hostname", "UNIQUE"]]))
    deployments = wait_for("the deployment of /py/stuck", lambda: [
        d for d in client.list_deployments() if "/py/stuck" in d.affected_apps])
    d = deployments[0]
    assert d.id and d.version, d
    assert d.total_steps >= 1 and 1 <= d.current_step <= d.total_steps, (d.current_step, d.total_steps)
    assert d.current_actions and d.current_actions[0].app == "/py/stuck", d.current_actions

with Check("queue.list"):
    item = wait_for("/py/stuck in the queue", lambda: [
        q for q in client.list_queue() if q.app.id == "/py/stuck" and q.count == 1])[0]
    assert item.app.instances == 2, item.app.instances
    assert item.delay is not None, "no delay"

with Check("apps.update-force"):
    # What Jenkins' Marathon plugin does: PUT the whole definition with
    # force=true over a running deployment, which it overrides; without
    # force the locked app is a 409.
    try:
        client.update_app("/py/stuck", web_app(1))
        raise AssertionError("an update of a locked app without force was accepted")
    except ConflictError:
        pass
    answer = client.update_app("/py/stuck", web_app(1), force=True)
    assert answer.get("deploymentId"), answer
    deployment_ids.append(answer["deploymentId"])
    running("/py/stuck", 1)
    assert all(x.id != d.id for x in client.list_deployments()), "the overridden deployment is still listed"

with Check("deployments.delete"):
    client.scale_app("/py/stuck", instances=2)
    d = wait_for("the new deployment of /py/stuck", lambda: [
        x for x in client.list_deployments() if "/py/stuck" in x.affected_apps])[0]
    client.delete_deployment(d.id, force=True)
    wait_for("the deployment removed", lambda: all(x.id != d.id for x in client.list_deployments()))
    client.delete_app("/py/stuck", force=True)
    wait_for("/py/stuck deleted", lambda: "/py/stuck" not in [a.id for a in client.list_apps()])

with Check("groups"):
    answer = client.create_group(MarathonGroup(id="/pygroup", apps=[web_app(1, id="/pygroup/a")]))
    assert answer.get("deploymentId"), answer
    deployment_ids.append(answer["deploymentId"])
    running("/pygroup/a", 1)
    groups = client.list_groups()
    assert "/pygroup" in [g.id for g in groups], [g.id for g in groups]
    group = client.get_group("/pygroup")
    assert [a.id for a in group.apps] == ["/pygroup/a"], group.apps
    answer = client.scale_group("/pygroup", 2)
    deployment_ids.append(answer["deploymentId"])
    running("/pygroup/a", 2)
    answer = client.delete_group("/pygroup", force=True)
    assert answer.get("deploymentId"), answer
    wait_for("/pygroup deleted", lambda: "/pygroup/a" not in [a.id for a in client.list_apps()])

with Check("apps.delete"):
    answer = client.delete_app("/py/web")
    assert answer.get("deploymentId"), answer

    def gone():
        try:
            client.get_app("/py/web")
            return False
        except NotFoundError:
            return True
    wait_for("/py/web deleted", gone)
    wait_for("its tasks gone", lambda: not [t for t in client.list_tasks() if t.app_id == "/py/web"])

with Check("events.stream"):
    want = {MarathonApiPostEvent, MarathonStatusUpdateEvent, MarathonHealthStatusChangedEvent,
            MarathonDeploymentInfo, MarathonDeploymentSuccess, MarathonGroupChangeSuccess}
    wait_for("every kind of event, or the stream's end",
             lambda: stream_errors or want <= {type(e) for e in events})
    assert not stream_errors, "the event stream broke: %s" % stream_errors

with Check("events.status"):
    updates = [e for e in events if isinstance(e, MarathonStatusUpdateEvent) and e.app_id == "/py/web"]
    assert any(e.task_status == "TASK_RUNNING" for e in updates), "no TASK_RUNNING of /py/web"
    assert any(e.task_status == "TASK_KILLED" for e in updates), "no TASK_KILLED of /py/web"
    assert all(e.host and e.task_id for e in updates), "status updates without host or taskId"

with Check("events.deployments"):
    successes = {e.id for e in events if isinstance(e, MarathonDeploymentSuccess)}
    missing = [d for d in deployment_ids if d not in successes]
    assert not missing, "no deployment_success for %s" % missing
    infos = [e for e in events if isinstance(e, MarathonDeploymentInfo)]
    assert infos and all(e.plan.id and e.plan.steps for e in infos), "deployment_info without plan"
    assert all(e.plan.target.apps is not None for e in infos), "deployment_info without plan.target"

print("DONE", flush=True)
