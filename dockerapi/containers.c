/* Containers: create, lifecycle, wait, inspect, archive, stats, list, prune.
 * The create body is built in container_body.c; the streamed calls live in
 * logs.c and attach.c. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "container_body.h"
#include "dockerapi/containers.h"
#include "internal.h"

/* ---- paths ---------------------------------------------------------------- */

/* "/containers/{id}{suffix}{query}" with the id escaped; NULL on OOM. */
static char *cpath(const char *id, const char *suffix, const dk_buf *q) {
  return dk__object_path("containers", id, suffix, q);
}

static int send_simple(dk_client *c, const char *method, const char *id, const char *suffix,
                       const dk_buf *q, const dk_call *call) {
  if (!id)
    return dk__err(DK_EINVAL, 0, "container id missing");
  char *path = cpath(id, suffix, q);
  if (!path)
    return dk__err(DK_ENOMEM, 0, NULL);
  int rc = dk__send_empty(c, method, path, call);
  free(path);
  return rc;
}

/* Like moby's client, 304 "already started/stopped/paused" is success: the
 * container is in the state the caller asked for. */
static int not_modified_ok(int rc) {
  if (rc == DK_ENOTMODIFIED) {
    dk_error_clear();
    return DK_OK;
  }
  return rc;
}

/* ---- create and lifecycle ------------------------------------------------- */

int dk_container_create_json(char **id_out, dk_client *c, const char *name, const char *json) {
  *id_out = NULL;
  if (!json)
    return dk__err(DK_EINVAL, 0, "container create: no body");
  dk_buf q = DK_BUF_INIT(4096);
  int rc = name ? dk__query(&q, "name", name) : DK_OK;
  char *path = rc ? NULL : dk__path("/containers/create%s", q.data ? q.data : "");
  dk_buf_free(&q);
  if (!path)
    return rc ? dk__err(rc, 0, NULL) : dk__err(DK_ENOMEM, 0, NULL);
  dk__req req = {.method = "POST",
                 .path = path,
                 .content_type = "application/json",
                 .body = json,
                 .body_len = strlen(json),
                 .resp_max = 1024 * 1024};
  dk__resp resp;
  json_object *o = NULL;
  rc = dk__do(c, &req, &resp);
  if (!rc)
    rc = dk__parse_json(&o, resp.body.data, resp.body.len);
  if (!rc) {
    *id_out = dk__json_strdup(o, "Id");
    if (!*id_out)
      rc = dk__err(DK_EPROTO, resp.status, "container create: answer without an Id");
  }
  json_object_put(o);
  dk__resp_free(&resp);
  free(path);
  return rc;
}

int dk_container_create(char **id_out, dk_client *c, const char *name,
                        const dk_container_config *cfg) {
  *id_out = NULL;
  if (!cfg || !cfg->image)
    return dk__err(DK_EINVAL, 0, "container create: an image is needed");
  if (cfg->aliases && !cfg->host.network_mode)
    return dk__err(DK_EINVAL, 0, "container create: aliases need host.network_mode");
  int oom = 0;
  json_object *body = dk__container_create_body(&oom, cfg);
  int rc;
  if (oom) {
    rc = dk__err(DK_ENOMEM, 0, NULL);
    goto cleanup;
  }
  rc = dk_container_create_json(id_out, c, name,
                                json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN));
cleanup:
  json_object_put(body);
  return rc;
}

int dk_container_start(dk_client *c, const char *id) {
  return not_modified_ok(send_simple(c, "POST", id, "/start", NULL, NULL));
}

int dk_container_stop(dk_client *c, const char *id, int timeout_s) {
  dk_buf q = DK_BUF_INIT(256);
  int rc = timeout_s >= 0 ? dk__query_int(&q, "t", timeout_s) : DK_OK;
  if (!rc)
    rc = not_modified_ok(send_simple(c, "POST", id, "/stop", &q, NULL));
  else
    rc = dk__err(rc, 0, NULL);
  dk_buf_free(&q);
  return rc;
}

int dk_container_kill(dk_client *c, const char *id, const char *signal) {
  dk_buf q = DK_BUF_INIT(256);
  int rc = signal ? dk__query(&q, "signal", signal) : DK_OK;
  if (!rc)
    rc = send_simple(c, "POST", id, "/kill", &q, NULL);
  else
    rc = dk__err(rc, 0, NULL);
  dk_buf_free(&q);
  return rc;
}

int dk_container_remove(dk_client *c, const char *id, bool force, bool volumes) {
  dk_buf q = DK_BUF_INIT(256);
  int rc = DK_OK;
  if (force)
    rc = dk__query_bool(&q, "force", 1);
  if (!rc && volumes)
    rc = dk__query_bool(&q, "v", 1);
  if (!rc)
    rc = send_simple(c, "DELETE", id, "", &q, NULL);
  else
    rc = dk__err(rc, 0, NULL);
  dk_buf_free(&q);
  return rc;
}

int dk_container_pause(dk_client *c, const char *id, const dk_call *call) {
  return send_simple(c, "POST", id, "/pause", NULL, call);
}

int dk_container_unpause(dk_client *c, const char *id, const dk_call *call) {
  return send_simple(c, "POST", id, "/unpause", NULL, call);
}

int dk_container_wait(int64_t *exit_code, dk_client *c, const char *id, const char *condition,
                      const dk_call *call) {
  *exit_code = -1;
  if (!id)
    return dk__err(DK_EINVAL, 0, "container id missing");
  dk_buf q = DK_BUF_INIT(256);
  int rc = dk__query(&q, "condition", condition ? condition : "not-running");
  char *path = rc ? NULL : cpath(id, "/wait", &q);
  dk_buf_free(&q);
  if (!path)
    return dk__err(rc ? rc : DK_ENOMEM, 0, NULL);
  json_object *o = NULL, *v = NULL, *err = NULL;
  rc = dk__send_json(c, "POST", path, NULL, &o, call);
  if (rc)
    goto cleanup;
  /* The status is 200 even when waiting failed; the failure is in "Error". */
  if (json_object_object_get_ex(o, "Error", &err) && json_object_is_type(err, json_type_object)) {
    const char *msg = dk__json_str(err, "Message");
    if (msg && *msg) {
      rc = dk__err(DK_ESTREAM, 200, "waiting for container %s: %s", id, msg);
      goto cleanup;
    }
  }
  if (!json_object_object_get_ex(o, "StatusCode", &v)) {
    rc = dk__err(DK_EPROTO, 200, "container wait: answer without StatusCode");
    goto cleanup;
  }
  *exit_code = json_object_get_int64(v);
cleanup:
  json_object_put(o);
  free(path);
  return rc;
}

/* ---- inspect -------------------------------------------------------------- */

/* RFC 3339 (with optional fraction and offset) -> unix nanoseconds. The
 * engine writes "0001-01-01T00:00:00Z" for "never": anything before the
 * epoch, or unparsable, is 0. */
static int64_t rfc3339_ns(const char *s) {
  int Y, M, D, h, m, sec, n = 0;
  if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &Y, &M, &D, &h, &m, &sec, &n) != 6 || Y < 1970)
    return 0;
  const char *p = s + n;
  int64_t frac = 0;
  int digits = 0;
  if (*p == '.') {
    for (p++; isdigit((unsigned char)*p); p++) {
      if (digits < 9) {
        frac = frac * 10 + (*p - '0');
        digits++;
      }
    }
  }
  for (; digits < 9; digits++)
    frac *= 10;
  int64_t off = 0;
  if (*p == '+' || *p == '-') {
    int oh = 0, om = 0;
    if (sscanf(p + 1, "%2d:%2d", &oh, &om) == 2)
      off = (int64_t)(oh * 3600 + om * 60) * (*p == '+' ? 1 : -1);
  }
  struct tm tm = {
      .tm_year = Y - 1900, .tm_mon = M - 1, .tm_mday = D, .tm_hour = h, .tm_min = m, .tm_sec = sec};
  time_t t = timegm(&tm);
  if (t < 0)
    return 0;
  return ((int64_t)t - off) * 1000000000 + frac;
}

static bool member_bool(json_object *o, const char *key) {
  return json_object_get_boolean(dk__json_get(o, key));
}

void dk_container_info_free(dk_container_info *i) {
  if (!i)
    return;
  free(i->id);
  free(i->name);
  free(i->image);
  free(i->status);
  free(i->error);
  free(i->started_at);
  free(i->finished_at);
  free(i->raw_json);
  free(i);
}

int dk_container_inspect(dk_container_info **out, dk_client *c, const char *id) {
  *out = NULL;
  if (!id)
    return dk__err(DK_EINVAL, 0, "container id missing");
  char *path = cpath(id, "/json", NULL);
  if (!path)
    return dk__err(DK_ENOMEM, 0, NULL);
  json_object *o = NULL, *state = NULL;
  dk_container_info *i = NULL;
  int oom = 0;
  int rc = dk__get_json(c, path, &o, NULL);
  if (rc)
    goto cleanup;
  if (!json_object_is_type(o, json_type_object) || !dk__json_str(o, "Id")) {
    rc = dk__err(DK_EPROTO, 200, "container inspect: answer without an Id");
    goto cleanup;
  }
  i = calloc(1, sizeof *i);
  if (!i) {
    rc = dk__err(DK_ENOMEM, 0, NULL);
    goto cleanup;
  }
  i->id = dk__json_strdup_oom(o, "Id", &oom);
  const char *name = dk__json_str(o, "Name");
  if (name && (i->name = strdup(name[0] == '/' ? name + 1 : name)) == NULL)
    oom = 1;
  i->image = dk__json_strdup_oom(o, "Image", &oom);
  i->restart_count = (int)dk__json_int64(o, "RestartCount", 0);
  json_object_object_get_ex(o, "State", &state);
  i->status = dk__json_strdup_oom(state, "Status", &oom);
  i->running = member_bool(state, "Running");
  i->oom_killed = member_bool(state, "OOMKilled");
  i->dead = member_bool(state, "Dead");
  i->exit_code = dk__json_int64(state, "ExitCode", 0);
  i->pid = (int)dk__json_int64(state, "Pid", 0);
  i->error = dk__json_strdup_oom(state, "Error", &oom);
  i->started_at = dk__json_strdup_oom(state, "StartedAt", &oom);
  i->finished_at = dk__json_strdup_oom(state, "FinishedAt", &oom);
  i->started_ns = rfc3339_ns(i->started_at);
  i->finished_ns = rfc3339_ns(i->finished_at);
  i->raw_json = dk__json_text(o);
  if (oom || !i->raw_json) {
    rc = dk__err(DK_ENOMEM, 0, NULL);
    goto cleanup;
  }
  *out = i;
  i = NULL;
cleanup:
  dk_container_info_free(i);
  json_object_put(o);
  free(path);
  return rc;
}

/* ---- archive -------------------------------------------------------------- */

int dk_container_archive_get(dk_client *c, const char *id, const char *path,
                             int (*cb)(void *ud, const char *data, size_t len), void *ud,
                             const dk_call *call) {
  if (!id || !path || !cb)
    return dk__err(DK_EINVAL, 0, "archive get: id, path and callback are needed");
  dk_buf q = DK_BUF_INIT(8192);
  int rc = dk__query(&q, "path", path);
  char *p = rc ? NULL : cpath(id, "/archive", &q);
  dk_buf_free(&q);
  if (!p)
    return dk__err(rc ? rc : DK_ENOMEM, 0, NULL);
  dk__req req = {.method = "GET", .path = p, .on_data = cb, .data_ud = ud, .call = call};
  dk__resp resp;
  rc = dk__do(c, &req, &resp);
  dk__resp_free(&resp);
  free(p);
  return rc;
}

int dk_container_archive_put(dk_client *c, const char *id, const char *dir, const void *tar,
                             size_t tar_len) {
  if (!id || !dir || !tar || !tar_len)
    return dk__err(DK_EINVAL, 0, "archive put: id, directory and a tar are needed");
  dk_buf q = DK_BUF_INIT(8192);
  int rc = dk__query(&q, "path", dir);
  char *p = rc ? NULL : cpath(id, "/archive", &q);
  dk_buf_free(&q);
  if (!p)
    return dk__err(rc ? rc : DK_ENOMEM, 0, NULL);
  dk__req req = {.method = "PUT",
                 .path = p,
                 .content_type = "application/x-tar",
                 .body = tar,
                 .body_len = tar_len,
                 .resp_max = 1024 * 1024};
  dk__resp resp;
  rc = dk__do(c, &req, &resp);
  dk__resp_free(&resp);
  free(p);
  return rc;
}

/* ---- stats ---------------------------------------------------------------- */

void dk_container_stats_free(dk_container_stats *s) {
  if (!s)
    return;
  free(s->raw_json);
  free(s);
}

int dk_container_stats_get(dk_container_stats **out, dk_client *c, const char *id,
                           const dk_call *call) {
  *out = NULL;
  if (!id)
    return dk__err(DK_EINVAL, 0, "container id missing");
  const char *ver = NULL;
  int rc = dk_client_api_version(&ver, c);
  if (rc)
    return rc;
  dk_buf q = DK_BUF_INIT(256);
  rc = dk__query(&q, "stream", "false");
  /* one-shot skips the second sample (and its ~1 s wait) on 1.41+. */
  if (!rc && dk_api_version_cmp(ver, "1.41") >= 0)
    rc = dk__query(&q, "one-shot", "true");
  char *path = rc ? NULL : cpath(id, "/stats", &q);
  dk_buf_free(&q);
  if (!path)
    return dk__err(rc ? rc : DK_ENOMEM, 0, NULL);
  json_object *o = NULL;
  dk_container_stats *s = NULL;
  rc = dk__get_json(c, path, &o, call);
  if (rc)
    goto cleanup;
  s = calloc(1, sizeof *s);
  if (!s) {
    rc = dk__err(DK_ENOMEM, 0, NULL);
    goto cleanup;
  }
  json_object *mem = dk__json_get(o, "memory_stats");
  json_object *cpu = dk__json_get(o, "cpu_stats");
  s->memory_usage = dk__json_int64(mem, "usage", 0);
  s->memory_limit = dk__json_int64(mem, "limit", 0);
  s->memory_max_usage = dk__json_int64(mem, "max_usage", -1);
  s->cpu_total_ns = dk__json_int64(dk__json_get(cpu, "cpu_usage"), "total_usage", 0);
  s->system_cpu_ns = dk__json_int64(cpu, "system_cpu_usage", 0);
  json_object *thr = dk__json_get(cpu, "throttling_data");
  s->throttled_time_ns = dk__json_int64(thr, "throttled_time", -1);
  s->throttled_periods = dk__json_int64(thr, "throttled_periods", -1);
  /* A container that is not running has the zero time: no sample. */
  const char *read = dk__json_str(o, "read");
  s->sampled = read && strncmp(read, "0001-01-01T", 11) != 0;
  s->pids_current = dk__json_int64(dk__json_get(o, "pids_stats"), "current", 0);
  s->raw_json = dk__json_text(o);
  if (!s->raw_json) {
    rc = dk__err(DK_ENOMEM, 0, NULL);
    goto cleanup;
  }
  *out = s;
  s = NULL;
cleanup:
  dk_container_stats_free(s);
  json_object_put(o);
  free(path);
  return rc;
}

/* ---- list and prune ------------------------------------------------------- */

void dk_container_list_free(dk_container_list *l) {
  if (!l)
    return;
  for (size_t i = 0; i < l->count; i++) {
    free(l->items[i].id);
    free(l->items[i].name);
    free(l->items[i].image);
    free(l->items[i].state);
    free(l->items[i].status);
  }
  free(l->items);
  free(l);
}

int dk_container_list_by_label(dk_container_list **out, dk_client *c, bool all,
                               const char *const *labels) {
  *out = NULL;
  dk_buf q = DK_BUF_INIT(8192);
  int rc = dk__query_bool(&q, "all", all);
  if (!rc)
    rc = dk__query_label_filters(&q, labels);
  char *path = rc ? NULL : dk__path("/containers/json%s", q.data);
  dk_buf_free(&q);
  if (!path)
    return dk__err(rc ? rc : DK_ENOMEM, 0, NULL);
  json_object *o = NULL;
  dk_container_list *l = NULL;
  int oom = 0;
  size_t n = 0;
  rc = dk__get_json_array(&o, &n, c, path, "container list");
  if (rc)
    goto cleanup;
  l = calloc(1, sizeof *l);
  if (!l || (n && !(l->items = calloc(n, sizeof *l->items)))) {
    rc = dk__err(DK_ENOMEM, 0, NULL);
    goto cleanup;
  }
  for (size_t i = 0; i < n; i++) {
    json_object *it = json_object_array_get_idx(o, i);
    dk_container_summary *s = &l->items[l->count++];
    s->id = dk__json_strdup_oom(it, "Id", &oom);
    const char *image = dk__json_str(it, "Image");
    if (image && !(s->image = strdup(dk__ref_short(image))))
      oom = 1;
    s->state = dk__json_strdup_oom(it, "State", &oom);
    s->status = dk__json_strdup_oom(it, "Status", &oom);
    json_object *names = dk__json_get(it, "Names");
    const char *nm =
        names && json_object_is_type(names, json_type_array) && json_object_array_length(names) > 0
            ? json_object_get_string(json_object_array_get_idx(names, 0))
            : NULL;
    if (nm && !(s->name = strdup(nm[0] == '/' ? nm + 1 : nm)))
      oom = 1;
  }
  if (oom) {
    rc = dk__err(DK_ENOMEM, 0, NULL);
    goto cleanup;
  }
  *out = l;
  l = NULL;
cleanup:
  dk_container_list_free(l);
  json_object_put(o);
  free(path);
  return rc;
}

int dk_container_prune(size_t *deleted, dk_client *c, const char *const *labels) {
  return dk__prune_by_label(deleted, c, "containers", labels, "ContainersDeleted");
}
