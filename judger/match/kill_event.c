/* Who ended a container, from the engine's events (see kill_event.h). */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "common/clock.h"
#include "match/kill_event.h"

typedef struct kill_watch {
  const char *id;
  jd_kill_event *ev;
} kill_watch;

/* The "signal" attribute of a kill event, 0 when absent or not a number. */
static int kill_signal(const char *json) {
  json_object *o = json_tokener_parse(json), *actor, *attrs, *v;
  int sig = 0;
  if (o && json_object_object_get_ex(o, "Actor", &actor) &&
      json_object_object_get_ex(actor, "Attributes", &attrs) &&
      json_object_object_get_ex(attrs, "signal", &v)) {
    char *end = NULL;
    const char *s = json_object_get_string(v);
    long n = s ? strtol(s, &end, 10) : 0;
    if (s && end != s && !*end && n > 0 && n < 128)
      sig = (int)n;
  }
  json_object_put(o);
  return sig;
}

/* A dk_event_cb: non-zero stops the stream (libdockerapi's contract, as
 * curl's write callbacks), here once the container's die is seen. */
static int on_event(void *ud, const dk_event *e) {
  kill_watch *w = ud;
  if (!e->action || !e->id || strcmp(e->id, w->id))
    return 0;
  if (!strcmp(e->action, "oom")) {
    w->ev->oom = true;
  } else if (!strcmp(e->action, "kill")) {
    w->ev->killed = true;
    w->ev->signal = e->json ? kill_signal(e->json) : 0;
  } else if (!strcmp(e->action, "die")) {
    w->ev->died = true;
  }
  return w->ev->died;
}

int jd_kill_event_read(jd_kill_event *out, dk_client *dk, const char *id, const char *run_label,
                       int64_t since_ms, int64_t timeout_ms) {
  memset(out, 0, sizeof *out);
  const char *types[] = {"container", NULL};
  const char *labels[] = {run_label, NULL};
  int64_t now = jd_unix_ms();
  dk_events_opts o = {.types = types,
                      .labels = labels,
                      .since = since_ms / 1000 - 1,
                      .until = (now + timeout_ms) / 1000 + 1};
  dk_call call = {.deadline_ms = jd_mono_ms() + timeout_ms};
  kill_watch w = {.id = id, .ev = out};
  if (dk_system_events(dk, &o, on_event, &w, &call) <= 0 || !out->died)
    return -1;
  return 0;
}
