/* A container's exit code from its "die" event (see exit_event.h). */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "common/clock.h"
#include "match/exit_event.h"

typedef struct die_watch {
  const char *id;
  bool oom;
  bool died;     /* its die was seen: the stream stops there */
  bool has_code; /* and its exit code parsed into code */
  int64_t code;
} die_watch;

/* A dk_event_cb: non-zero stops the stream (libdockerapi's contract, as
 * curl's write callbacks), here at the container's die. */
static int on_event(void *ud, const dk_event *ev) {
  die_watch *w = ud;
  if (!ev->action || !ev->id || strcmp(ev->id, w->id))
    return 0;
  if (!strcmp(ev->action, "oom")) {
    w->oom = true;
    return 0;
  }
  if (strcmp(ev->action, "die"))
    return 0;
  w->died = true;
  json_object *o = json_tokener_parse(ev->json), *actor, *attrs, *v;
  if (o && json_object_object_get_ex(o, "Actor", &actor) &&
      json_object_object_get_ex(actor, "Attributes", &attrs) &&
      json_object_object_get_ex(attrs, "exitCode", &v)) {
    char *end = NULL;
    const char *s = json_object_get_string(v);
    long long c = s ? strtoll(s, &end, 10) : -1;
    if (s && end != s && !*end) {
      w->code = c;
      w->has_code = true;
    }
  }
  json_object_put(o);
  return w->died;
}

int jd_exit_event(int64_t *code, dk_client *dk, const char *id, const char *run_label,
                  int64_t since_ms, int64_t timeout_ms) {
  const char *types[] = {"container", NULL};
  const char *labels[] = {run_label, NULL};
  int64_t now = jd_unix_ms();
  dk_events_opts o = {.types = types,
                      .labels = labels,
                      .since = since_ms / 1000 - 1,
                      .until = (now + timeout_ms) / 1000 + 1};
  dk_call call = {.deadline_ms = jd_mono_ms() + timeout_ms};
  die_watch w = {.id = id};
  if (dk_system_events(dk, &o, on_event, &w, &call) <= 0 || !w.has_code || w.oom)
    return -1;
  *code = w.code;
  return 0;
}
