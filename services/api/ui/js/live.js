// Live follows /v2/events (server-sent events) and tells the page what
// changed. It reconnects by itself, with a growing delay, whether the
// stream broke (a network error) or was refused (the API answered 5xx):
// EventSource gives up on its own after a refused attempt.

// The Marathon events that change what the pages show.
export const EVENT_TYPES = [
  "status_update_event", "health_status_changed_event", "unhealthy_instance_kill_event",
  "deployment_info", "deployment_success", "deployment_failed", "deployment_step_success", "deployment_step_failure",
  "api_post_event", "app_terminated_event", "group_change_success",
];

export class Live {
  // onEvent(type, data) is called for each event; onState(state, since)
  // whenever the connection's state changes: "connecting", "live", "lost".
  constructor(url, onEvent, onState) {
    // Light plans: the page reads only the events' types, and a stream in
    // the full format makes every deployment event carry the whole
    // cluster's apps twice, for as long as the page is open.
    this.url = url + "?plan-format=light&event_type=" + EVENT_TYPES.join(",");
    this.onEvent = onEvent;
    this.onState = onState;
    this.state = "connecting";
    this.failures = 0;
    this.lostSince = null;
    this.timer = null;
    this.es = null;
  }

  start() {
    this.connect();
    // A page left (or frozen in the back-forward cache) lets its stream go:
    // browsers allow a site only a few connections at once.
    window.addEventListener("pagehide", () => {
      clearTimeout(this.timer);
      if (this.es) this.es.close();
    });
    window.addEventListener("pageshow", (ev) => {
      if (ev.persisted) this.connect();
    });
  }

  connect() {
    clearTimeout(this.timer);
    if (this.es) this.es.close();
    const es = new EventSource(this.url);
    this.es = es;
    es.onopen = () => {
      if (es !== this.es) return;
      this.failures = 0;
      this.lostSince = null;
      this.set("live");
    };
    es.onerror = () => {
      if (es !== this.es) return;
      es.close();
      this.failures++;
      if (!this.lostSince) this.lostSince = new Date();
      this.set("lost");
      const delay = Math.min(5000, 250 * 2 ** Math.min(this.failures, 5));
      this.timer = setTimeout(() => this.connect(), delay);
    };
    for (const type of EVENT_TYPES) {
      es.addEventListener(type, (ev) => {
        if (es !== this.es) return;
        let data = null;
        try {
          data = JSON.parse(ev.data);
        } catch {
          // an event we cannot read still means something changed
        }
        this.onEvent(type, data);
      });
    }
  }

  set(state) {
    if (state === this.state) return;
    const prev = this.state;
    this.state = state;
    this.onState(state, prev, this.lostSince);
  }
}
