/* The judger's event log (see log.h). */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>

#include <json-c/json.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/utf8.h"
#include "common/util.h"

static jd_log_level min_level = JD_LOG_INFO;
static int as_json;
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;

void jd_log_set_level(jd_log_level level) { min_level = level; }
void jd_log_set_json(int json) { as_json = json; }

static void log_v(jd_log_level level, const char *event, const char *task_id, const char *fmt,
                  va_list ap) {
  static const char *names[] = {"debug", "info", "warn", "error"};
  if (level < min_level)
    return;
  char raw[2048], msg[2048];
  int n = vsnprintf(raw, sizeof raw, fmt, ap);
  size_t len = n < 0 ? 0 : (size_t)n < sizeof raw ? (size_t)n : sizeof raw - 1;
  /* Messages quote programs' bytes: valid UTF-8 in either form, and no
   * control character that could forge a line in the text form. */
  jd_utf8_clean(msg, sizeof msg, raw, len, as_json ? 0 : JD_UTF8_ESCAPE_CONTROLS);
  char ts[32];
  jd_time_rfc3339(ts, jd_unix_ms());
  pthread_mutex_lock(&log_mu);
  if (as_json) {
    json_object *o = json_object_new_object();
    json_object_object_add(o, "ts", json_object_new_string(ts));
    json_object_object_add(o, "level", json_object_new_string(names[level]));
    json_object_object_add(o, "event", json_object_new_string(event));
    if (task_id)
      json_object_object_add(o, "task_id", json_object_new_string(task_id));
    json_object_object_add(o, "msg", json_object_new_string(msg));
    fprintf(stderr, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    json_object_put(o);
  } else if (task_id) {
    fprintf(stderr, "%s %-5s %s: [%s] %s\n", ts, names[level], event, task_id, msg);
  } else {
    fprintf(stderr, "%s %-5s %s: %s\n", ts, names[level], event, msg);
  }
  pthread_mutex_unlock(&log_mu);
}

void jd_log(jd_log_level level, const char *event, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  log_v(level, event, NULL, fmt, ap);
  va_end(ap);
}

void jd_log_task(jd_log_level level, const char *event, const char *task_id, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  log_v(level, event, task_id, fmt, ap);
  va_end(ap);
}
