/* The result spool: results survive Redis outages and restarts (see
 * daemon_internal.h and docs/daemon.md). */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "common/log.h"
#include "common/tmpfile.h"
#include "common/utf8.h"
#include "common/util.h"
#include "daemon/daemon_internal.h"

static int spool_dir(char *out, size_t n, const jd_daemon *d) {
  return snprintf(out, n, "%s/spool/%s", d->cfg.state_dir, d->cfg.host_id) >= (int)n ? -1 : 0;
}

static int spool_path(char *out, size_t n, const jd_daemon *d, const char *task_id) {
  char dir[PATH_MAX];
  if (spool_dir(dir, sizeof dir, d))
    return -1;
  return snprintf(out, n, "%s/%s.json", dir, task_id) >= (int)n ? -1 : 0;
}

int jd_spool_write(const jd_daemon *d, jd_priority p, const char *entry_id,
                   const jd_result_rec *rec) {
  char dir[PATH_MAX], path[PATH_MAX];
  if (spool_dir(dir, sizeof dir, d) || spool_path(path, sizeof path, d, rec->task_id) ||
      jd_mkdir_p(dir, 0700))
    return -1;
  json_object *o = json_object_new_object();
  json_object_object_add(o, "priority", json_object_new_string(jd_priority_name(p)));
  json_object_object_add(o, "entry_id", json_object_new_string(entry_id));
  json_object_object_add(o, "task_id", json_object_new_string(rec->task_id));
  json_object_object_add(o, "attempt", json_object_new_int(rec->attempt));
  json_object_object_add(o, "claim", json_object_new_int64(rec->claim));
  json_object_object_add(o, "status", json_object_new_string(jd_task_status_name(rec->status)));
  /* A summary quotes a program's message, cut to a fixed size. */
  json_object_object_add(o, "summary", jd_json_str(rec->summary ? rec->summary : ""));
  json_object_object_add(o, "result", json_object_new_string(rec->json));
  const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
  int rc = jd_write_file(path, s, strlen(s));
  json_object_put(o);
  return rc;
}

void jd_spool_remove(const jd_daemon *d, const char *task_id) {
  char path[PATH_MAX];
  if (!spool_path(path, sizeof path, d, task_id))
    unlink(path);
}

static const char *jget(json_object *o, const char *k) {
  json_object *v = NULL;
  return json_object_object_get_ex(o, k, &v) && json_object_is_type(v, json_type_string)
             ? json_object_get_string(v)
             : NULL;
}

/* Stores one spooled result. The file goes once the result is stored, or
 * when it can never be (unreadable, incomplete); it stays while Redis is
 * away. */
static void spool_store_file(jd_daemon *d, const char *path) {
  char *text = NULL;
  json_object *o = NULL;
  if (jd_read_file(&text, NULL, path, 64u << 20) == 0)
    o = json_tokener_parse(text);
  if (!o) {
    jd_log(JD_LOG_WARN, "spool.bad", "%s: unreadable, removed", path);
    unlink(path);
    free(text);
    return;
  }
  jd_priority p = JD_PRIO_MATCH;
  jd_priority_parse(&p, jget(o, "priority"));
  json_object *att = NULL, *claim = NULL;
  json_object_object_get_ex(o, "attempt", &att);
  json_object_object_get_ex(o, "claim", &claim);
  /* The run's claim fences the spooled result too: if another run took
   * the task while Redis was away, this one is refused. */
  jd_result_rec rec = {jget(o, "task_id"),           json_object_get_int(att),
                       json_object_get_int64(claim), JD_TASK_STATUS_FINISHED,
                       jget(o, "summary"),           jget(o, "result")};
  bool status_ok = jd_task_status_parse(&rec.status, jget(o, "status")) == 0;
  jd_store_outcome out = JD_STORE_REFUSED;
  bool complete = rec.task_id && status_ok && rec.json;
  int rc = -1;
  if (complete)
    WITH_RETRY(rc, d, d->rq, false,
               jd_queue_store_result(&out, d->rq, p, jget(o, "entry_id"), &rec));
  /* Gone once stored, or when it can never be: incomplete, or an answer
   * Redis will never give otherwise. */
  if (!complete || rc == 0 || jd_queue_last(d->rq) == JD_REDIS_PROTO) {
    unlink(path);
    if (rc == 0)
      jd_log_task(out == JD_STORE_REFUSED ? JD_LOG_WARN : JD_LOG_INFO, "result.spooled",
                  rec.task_id, "from the spool: %s", jd_store_outcome_name(out));
  }
  json_object_put(o);
  free(text);
}

void jd_spool_flush(jd_daemon *d) {
  char dir[PATH_MAX];
  if (spool_dir(dir, sizeof dir, d))
    return;
  DIR *dh = opendir(dir);
  if (!dh)
    return;
  for (struct dirent *de = readdir(dh); de; de = readdir(dh)) {
    size_t n = strlen(de->d_name);
    if (n < 6 || strcmp(de->d_name + n - 5, ".json"))
      continue;
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", dir, de->d_name) < (int)sizeof path)
      spool_store_file(d, path);
  }
  closedir(dh);
}
