/* judger status — queues, hosts, running tasks, dead letters. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "cli/taskset_cli.h"
#include "common/utf8.h"
#include "queue/queue.h"
#include "queue/redis.h"
#include "queue/sentinel.h"
#include "queue/task.h"
#include "taskset/standings.h"
#include "taskset/taskset.h"
#include "taskset/taskset_rank.h"

static void usage(FILE *f) {
  fprintf(f, "usage: judger status [--redis URL] [--prefix P] [--config FILE] [--json]\n"
             "                     [--dead N] [--task ID] [--taskset ID [--watch]]\n\n"
             "Shows queue depths (waiting and pending per priority), pending entries\n"
             "per host, live hosts, running tasks with their progress and the last N\n"
             "dead letters (default 10). --task shows one task's status record and\n"
             "result. --taskset shows a taskset's progress line (done/total, running,\n"
             "queued, failed, cancelled, ETA) and its standings once it ended;\n"
             "--watch refreshes the line until it ends. --json prints the same as\n"
             "one JSON object (a taskset: its view, tasks and standings).\n"
             "The REDIS block (\"redis\" in JSON) tells how Redis is reached: mode\n"
             "(sentinel or direct), the master name, the primary, its replicas (link,\n"
             "offset lag in bytes), each sentinel (up or why not) and the\n"
             "min_replicas_acked in effect (docs/deployment.md).\n"
             "Exit: 0 ok, 1 no such task, 2 usage or no such taskset, 3 Redis.\n");
}

static const char *str_of(json_object *o, const char *k) {
  json_object *v = NULL;
  return json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : "";
}

static int64_t int_of(json_object *o, const char *k) {
  json_object *v = NULL;
  return json_object_object_get_ex(o, k, &v) ? json_object_get_int64(v) : 0;
}

static void add_str(json_object *o, const char *k, const char *v) {
  json_object_object_add(o, k, json_object_new_string(v));
}

static void add_int(json_object *o, const char *k, int64_t v) {
  json_object_object_add(o, k, json_object_new_int64(v));
}

/* One replica or sentinel of the topology; lag_from >= 0: the primary's
 * offset, for a replica's lag in bytes. */
static json_object *node_json(const jd_redis_node *n, long long lag_from) {
  json_object *o = json_object_new_object();
  add_str(o, "addr", n->addr);
  if (lag_from >= 0) {
    add_str(o, "link", n->up ? "up" : "down");
    add_int(o, "offset", n->offset);
    add_int(o, "lag", lag_from >= n->offset ? lag_from - n->offset : 0);
  } else {
    json_object_object_add(o, "up", json_object_new_boolean(n->up));
  }
  if (!n->up && *n->error)
    add_str(o, "error", n->error);
  return o;
}

/* The "redis" block: how Redis is reached (t, when topo_err is empty) and
 * the replicas a write that must survive waits for. */
static json_object *redis_json(const jd_redis_topology *t, const char *topo_err,
                               const jd_config *cfg, jd_queue *q) {
  json_object *o = json_object_new_object(), *reps = json_object_new_array();
  json_object *sents = json_object_new_array(), *prim = json_object_new_object();
  add_str(o, "mode", t->sentinel ? "sentinel" : "direct");
  add_str(o, "url", jd_redis_display_url(jd_queue_redis(q)));
  if (t->sentinel)
    add_str(o, "master", t->master);
  add_str(prim, "addr", t->primary.addr);
  add_int(prim, "offset", t->primary.offset);
  if (*t->primary.error)
    add_str(prim, "error", t->primary.error);
  json_object_object_add(o, "primary", prim);
  for (size_t i = 0; i < t->nreplicas && i < JD_REDIS_TOPOLOGY_REPLICAS_MAX; i++)
    json_object_array_add(reps, node_json(&t->replicas[i], t->primary.offset));
  json_object_object_add(o, "replicas", reps);
  for (size_t i = 0; i < t->nsentinels && i < JD_REDIS_SENTINELS_MAX; i++)
    json_object_array_add(sents, node_json(&t->sentinels[i], -1));
  json_object_object_add(o, "sentinels", sents);
  /* auto (-1): 1 when the primary reports replicas (ROLE lists the online
   * ones), as jd_queue_confirm decides. */
  bool autom = cfg->min_replicas_acked < 0;
  add_int(o, "min_replicas_acked", autom ? (t->nreplicas > 0 ? 1 : 0) : cfg->min_replicas_acked);
  json_object_object_add(o, "min_replicas_acked_auto", json_object_new_boolean(autom));
  add_int(o, "replica_wait_ms", cfg->replica_wait_ms ? cfg->replica_wait_ms : 1000);
  if (*topo_err)
    add_str(o, "error", topo_err);
  return o;
}

static void print_redis(json_object *r) {
  json_object *reps = NULL, *sents = NULL, *prim = NULL, *autom = NULL;
  json_object_object_get_ex(r, "replicas", &reps);
  json_object_object_get_ex(r, "sentinels", &sents);
  json_object_object_get_ex(r, "primary", &prim);
  json_object_object_get_ex(r, "min_replicas_acked_auto", &autom);
  jd_term_printf(stdout, "REDIS      %s%s%s  min_replicas_acked %lld%s  replica_wait_ms %lld\n",
                 str_of(r, "mode"), *str_of(r, "master") ? "  master " : "", str_of(r, "master"),
                 (long long)int_of(r, "min_replicas_acked"),
                 json_object_get_boolean(autom) ? " (auto)" : "",
                 (long long)int_of(r, "replica_wait_ms"));
  const char *paddr = str_of(prim, "addr");
  jd_term_printf(stdout, "  primary   %-32s offset %lld%s%s\n", *paddr ? paddr : "-",
                 (long long)int_of(prim, "offset"), *str_of(prim, "error") ? "  " : "",
                 str_of(prim, "error"));
  for (size_t i = 0; i < json_object_array_length(reps); i++) {
    json_object *n = json_object_array_get_idx(reps, i);
    jd_term_printf(stdout, "  replica   %-32s %-5s lag %lld bytes\n", str_of(n, "addr"),
                   str_of(n, "link"), (long long)int_of(n, "lag"));
  }
  for (size_t i = 0; i < json_object_array_length(sents); i++) {
    json_object *n = json_object_array_get_idx(sents, i), *up = NULL;
    json_object_object_get_ex(n, "up", &up);
    jd_term_printf(stdout, "  sentinel  %-32s %s%s%s\n", str_of(n, "addr"),
                   json_object_get_boolean(up) ? "up" : "down", *str_of(n, "error") ? "  " : "",
                   str_of(n, "error"));
  }
  if (*str_of(r, "error"))
    jd_term_printf(stdout, "  (%s)\n", str_of(r, "error"));
}

static void print_queue(json_object *root) {
  json_object *streams = NULL, *hosts = NULL, *running = NULL, *dead = NULL, *per = NULL;
  json_object_object_get_ex(root, "streams", &streams);
  json_object_object_get_ex(root, "hosts", &hosts);
  json_object_object_get_ex(root, "running", &running);
  json_object_object_get_ex(root, "dead", &dead);
  json_object_object_get_ex(root, "pending_per_host", &per);
  jd_term_printf(stdout, "\nQUEUES     waiting  pending\n");
  static const char *const names[] = {"build", "match", "auto"};
  for (int i = 0; i < 3; i++) {
    json_object *s = NULL;
    if (json_object_object_get_ex(streams, names[i], &s))
      jd_term_printf(stdout, "  %-7s %8lld %8lld\n", names[i], (long long)int_of(s, "waiting"),
                     (long long)int_of(s, "pending"));
  }
  jd_term_printf(stdout, "\nPENDING PER HOST\n");
  json_object_object_foreach(per, host, counts) {
    jd_term_printf(stdout, "  %-24s build=%lld match=%lld auto=%lld\n", host,
                   (long long)int_of(counts, "build"), (long long)int_of(counts, "match"),
                   (long long)int_of(counts, "auto"));
  }
  jd_term_printf(stdout, "\nLIVE HOSTS (%zu)\n", json_object_array_length(hosts));
  for (size_t i = 0; i < json_object_array_length(hosts); i++) {
    json_object *h = json_object_array_get_idx(hosts, i);
    const char *paused = str_of(h, "paused");
    jd_term_printf(stdout, "  %-24s %-9s slots %lld busy %lld version %s%s%s\n", str_of(h, "host"),
                   str_of(h, "state"), (long long)int_of(h, "slots"), (long long)int_of(h, "busy"),
                   str_of(h, "version"), paused && *paused ? "  paused: " : "",
                   paused ? paused : "");
  }
  jd_term_printf(stdout, "\nRUNNING (%zu)\n", json_object_array_length(running));
  for (size_t i = 0; i < json_object_array_length(running); i++) {
    json_object *t = json_object_array_get_idx(running, i), *p = NULL;
    json_object_object_get_ex(t, "progress", &p);
    jd_term_printf(stdout, "  %-24s host %-16s attempt %lld  %s\n", str_of(t, "task_id"),
                   str_of(t, "host"), (long long)int_of(t, "attempt"),
                   p ? json_object_to_json_string_ext(p, JSON_C_TO_STRING_PLAIN) : "");
  }
  jd_term_printf(stdout, "\nDEAD LETTERS (%lld in all, newest first)\n",
                 (long long)int_of(root, "dead_total"));
  for (size_t i = 0; i < json_object_array_length(dead); i++) {
    json_object *e = json_object_array_get_idx(dead, i);
    jd_term_printf(stdout, "  %-24s %-6s %s\n",
                   *str_of(e, "task_id") ? str_of(e, "task_id") : "(no id)", str_of(e, "priority"),
                   str_of(e, "reason"));
  }
}

/* The status as text; queue: false when only the redis block is known. */
static void print_human(json_object *root, bool queue) {
  json_object *redis = NULL;
  if (json_object_object_get_ex(root, "redis", &redis))
    print_redis(redis);
  if (queue)
    print_queue(root);
}

static int show_task(jd_queue *q, const char *id) {
  if (!jd_task_id_valid(id)) {
    jd_term_printf(stderr, "judger status: bad task id '%s'\n", id);
    return JD_EXIT_USAGE;
  }
  char *text = NULL;
  bool found = false;
  if (jd_queue_task_json(&text, &found, q, id)) {
    jd_term_printf(stderr, "judger status: %s\n", jd_queue_error(q));
    return JD_EXIT_SYSTEM;
  }
  printf("%s\n", text);
  free(text);
  return found ? JD_EXIT_OK : JD_EXIT_PROGRAM;
}

typedef struct status_args {
  jd_cli cli;
  const char *task, *taskset;
  bool json, watch;
  size_t ndead;
} status_args;

/* The line under the progress line: what it does not say. */
static void taskset_details(const jd_taskset_view *v) {
  char elapsed[32];
  int64_t end = v->finished_ms > 0 ? v->finished_ms : v->now_ms;
  jd_duration_text(elapsed, sizeof elapsed, v->submitted_ms > 0 ? end - v->submitted_ms : -1);
  jd_term_printf(
      stdout, "  state %s  priority %s  finished %lld  held %lld  slots %lld  elapsed %s%s%s\n",
      v->state, jd_priority_name(v->prio), (long long)v->c.finished, (long long)v->c.held,
      (long long)v->slots, elapsed, *v->cancel_reason ? "  reason: " : "", v->cancel_reason);
}

/* The standings table of a set that ended (computed from its results). */
static int taskset_table(jd_queue *q, const jd_taskset_view *v) {
  if (!v->standings || !strcmp(v->state, "running"))
    return JD_EXIT_OK;
  jd_standings *s = NULL;
  char *text = NULL, err[512];
  if (jd_taskset_standings(&s, NULL, q, v->id, err, sizeof err) || jd_standings_text(&text, s)) {
    jd_term_printf(stderr, "judger status: standings of %s: %s\n", v->id,
                   s ? "out of memory" : err);
    jd_standings_free(s);
    return JD_EXIT_SYSTEM;
  }
  if (jd_standings_count(s))
    jd_term_printf(stdout, "\n%s", text);
  free(text);
  jd_standings_free(s);
  return JD_EXIT_OK;
}

static int no_taskset(const char *id) {
  jd_term_printf(stderr, "judger status: no taskset '%s'\n", id);
  return JD_EXIT_USAGE;
}

/* --taskset ID: the exit code. */
static int show_taskset(jd_queue *q, const char *id, bool json, bool watch) {
  jd_taskset_view v;
  bool found = false, ended = false;
  if (!jd_task_id_valid(id)) {
    jd_term_printf(stderr, "judger status: bad taskset id '%s'\n", id);
    return JD_EXIT_USAGE;
  }
  /* Without --watch the deadline (1 ms past the epoch) ends it after one read. */
  if (jd_taskset_watch(&v, &found, &ended, q, id, watch ? 0 : 1, json ? NULL : stdout)) {
    if (!found)
      return no_taskset(id);
    jd_term_printf(stderr, "judger status: %s\n", jd_queue_error(q));
    return JD_EXIT_SYSTEM;
  }
  if (!json) {
    taskset_details(&v);
    return taskset_table(q, &v);
  }
  char *text = NULL;
  if (jd_queue_taskset_json(&text, &found, q, id, JD_TASKSET_MAX_MEMBERS_DEFAULT)) {
    jd_term_printf(stderr, "judger status: %s\n", jd_queue_error(q));
    return JD_EXIT_SYSTEM;
  }
  if (!found)
    return no_taskset(id);
  printf("%s\n", text);
  free(text);
  return JD_EXIT_OK;
}

/* The whole status with the redis block; the exit code. Redis
 * unreachable: the block alone (what the sentinels said), exit 3. */
static int show_all(jd_queue *q, const jd_config *cfg, const status_args *a) {
  jd_redis_topology topo = {0};
  jd_redis *r = jd_queue_redis(q);
  char err[512] = "", topo_err[300] = "";
  char *text = NULL;
  json_object *root = NULL;
  if (jd_redis_topology_get(&topo, r)) {
    /* A refused ROLE (an ACL without +role) or an odd answer still leaves
     * the queue's status to show. */
    if (jd_redis_last(r) == JD_REDIS_CONN)
      snprintf(err, sizeof err, "%s", jd_redis_error(r));
    else
      snprintf(topo_err, sizeof topo_err, "%s", jd_redis_error(r));
  }
  if (!*err && jd_queue_status_json(&text, q, a->ndead))
    snprintf(err, sizeof err, "%s", jd_queue_error(q));
  if (text && !(root = json_tokener_parse(text)))
    snprintf(err, sizeof err, "the status is not JSON");
  free(text);
  if (!root || *err) {
    json_object_put(root);
    root = json_object_new_object();
  }
  json_object_object_add(root, "redis", redis_json(&topo, topo_err, cfg, q));
  if (*err)
    add_str(root, "error", err);
  if (a->json)
    printf("%s\n",
           json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                                    JSON_C_TO_STRING_NOSLASHESCAPE));
  else
    print_human(root, !*err);
  if (*err)
    jd_term_printf(stderr, "judger status: %s\n", err);
  json_object_put(root);
  return *err ? JD_EXIT_SYSTEM : JD_EXIT_OK;
}

/* Shows the queue (or one task) of cfg; returns the exit code. */
static int show(const jd_config *cfg, const status_args *a) {
  int code = JD_EXIT_SYSTEM;
  jd_queue *q = NULL;
  jd_queue_opts qo = jd_cli_queue_opts(cfg);
  if (jd_queue_new(&q, &qo)) {
    jd_term_printf(stderr, "judger status: bad Redis URL (" JD_REDIS_URL_FORMS ")\n");
    code = JD_EXIT_USAGE;
  } else if (a->task) {
    code = show_task(q, a->task);
  } else if (a->taskset) {
    code = show_taskset(q, a->taskset, a->json, a->watch);
  } else {
    code = show_all(q, cfg, a);
  }
  jd_queue_free(q);
  return code;
}

/* Reads the command line into a. 0 to go on; -1 to exit at once with
 * *code (help, usage error). */
static int parse_args(status_args *a, int argc, char **argv, int *code) {
  *code = JD_EXIT_USAGE;
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    bool has_value = i + 1 < argc, taken = false;
    if (jd_cli_take_option(&taken, code, &a->cli, &i))
      return -1;
    if (taken) {
      continue;
    } else if (!strcmp(arg, "--json")) {
      a->json = true;
    } else if (!strcmp(arg, "--dead") && has_value) {
      long long n = 0;
      if (jd_cli_count(&n, "status", "--dead", argv[++i], 100000))
        return -1;
      a->ndead = (size_t)n;
    } else if (!strcmp(arg, "--task") && has_value) {
      a->task = argv[++i];
    } else if (!strcmp(arg, "--taskset") && has_value) {
      a->taskset = argv[++i];
    } else if (!strcmp(arg, "--watch")) {
      a->watch = true;
    } else {
      jd_cli_bad_option("status", arg, usage);
      return -1;
    }
  }
  return 0;
}

int jd_cmd_status(int argc, char **argv) {
  status_args a = {.cli = JD_CLI_INIT("status", JD_CMD_STATUS, usage), .ndead = 10};
  if (jd_cli_begin(&a.cli, argc, argv))
    return JD_EXIT_SYSTEM;
  int code = JD_EXIT_USAGE;
  char err[512];
  jd_config cfg = {0};
  if (parse_args(&a, argc, argv, &code))
    goto done;
  if (jd_cli_load(&cfg, &a.cli, err, sizeof err)) {
    jd_term_printf(stderr, "judger status: %s\n", err);
    goto done;
  }
  if (a.watch && !a.taskset) {
    jd_term_printf(stderr, "judger status: --watch follows a --taskset\n");
    goto done;
  }
  code = show(&cfg, &a);
done:
  jd_config_clear(&cfg);
  jd_cli_free(&a.cli);
  return code;
}
