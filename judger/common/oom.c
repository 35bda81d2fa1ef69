#include "common/oom.h"

#include <string.h>

#include "common/clock.h"

static int oom_event(void *ud, const dk_event *ev) {
  const char *id = ud;
  return ev->action && ev->id && !strcmp(ev->action, "oom") && !strcmp(ev->id, id);
}

bool jd_oom_reported(dk_client *dk, const char *id, int64_t since_ms) {
  const char *types[] = {"container", NULL};
  dk_events_opts o = {
      .types = types, .since = since_ms / 1000 - 1, .until = jd_unix_ms() / 1000 + 4};
  dk_call call = {.deadline_ms = jd_mono_ms() + 7000};
  return dk_system_events(dk, &o, oom_event, (void *)id, &call) > 0;
}
