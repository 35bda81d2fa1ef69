/* The live hub (see live_hub.h). First version: a stub. */
#include <stdlib.h>

#include "daemon/live_hub.h"

struct jd_live_hub {
  jd_live_caps caps;
};

int jd_live_hub_new(jd_live_hub **out, const jd_live_caps *caps) {
  *out = calloc(1, sizeof **out);
  if (!*out)
    return -1;
  (*out)->caps = *caps;
  return 0;
}
void jd_live_hub_free(jd_live_hub *h) { free(h); }
int jd_live_hub_open(jd_live_hub *h, const char *task_id) {
  (void)h;
  (void)task_id;
  return 0;
}
void jd_live_hub_push(jd_live_hub *h, const char *task_id, int64_t seq, const char *json,
                      size_t len) {
  (void)h, (void)task_id, (void)seq, (void)json, (void)len;
}
void jd_live_hub_close(jd_live_hub *h, const char *task_id, const char *replay, size_t len) {
  (void)h, (void)task_id, (void)replay, (void)len;
}
void jd_live_hub_stats_get(jd_live_hub_stats *out, const jd_live_hub *h) {
  (void)h;
  *out = (jd_live_hub_stats){0};
}
int jd_live_hub_watchers(const jd_live_hub *h) {
  (void)h;
  return 0;
}
