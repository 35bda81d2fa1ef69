/* judger status — queues, hosts, running tasks, dead letters. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "common/utf8.h"
#include "queue/queue.h"
#include "queue/task.h"

static void usage(FILE *f) {
  fprintf(f, "usage: judger status [--redis URL] [--prefix P] [--config FILE] [--json]\n"
             "                     [--dead N] [--task ID]\n\n"
             "Shows queue depths (waiting and pending per priority), pending entries\n"
             "per host, live hosts, running tasks with their progress and the last N\n"
             "dead letters (default 10). --task shows one task's status record and\n"
             "result. --json prints the same as one JSON object.\n");
}

static const char *str_of(json_object *o, const char *k) {
  json_object *v = NULL;
  return json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : "";
}

static int64_t int_of(json_object *o, const char *k) {
  json_object *v = NULL;
  return json_object_object_get_ex(o, k, &v) ? json_object_get_int64(v) : 0;
}

static void print_human(json_object *root) {
  json_object *streams = NULL, *hosts = NULL, *running = NULL, *dead = NULL, *per = NULL;
  json_object_object_get_ex(root, "streams", &streams);
  json_object_object_get_ex(root, "hosts", &hosts);
  json_object_object_get_ex(root, "running", &running);
  json_object_object_get_ex(root, "dead", &dead);
  json_object_object_get_ex(root, "pending_per_host", &per);
  jd_term_printf(stdout, "QUEUES     waiting  pending\n");
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

static int show_task(jd_queue *q, const char *id) {
  if (!jd_task_id_valid(id)) {
    fprintf(stderr, "judger status: bad task id '%s'\n", id);
    return JD_EXIT_USAGE;
  }
  char *text = NULL;
  bool found = false;
  if (jd_queue_task_json(&text, &found, q, id)) {
    fprintf(stderr, "judger status: %s\n", jd_queue_error(q));
    return JD_EXIT_SYSTEM;
  }
  printf("%s\n", text);
  free(text);
  return found ? JD_EXIT_OK : JD_EXIT_PROGRAM;
}

/* Shows the queue (or one task) of cfg; returns the exit code. */
static int show(const jd_config *cfg, const char *task, bool json, size_t ndead) {
  int code = JD_EXIT_SYSTEM;
  jd_queue *q = NULL;
  char *text = NULL;
  json_object *root = NULL;
  jd_queue_opts qo = {.redis_url = cfg->redis, .prefix = cfg->prefix, .group = cfg->group};
  if (jd_queue_new(&q, &qo)) {
    fprintf(stderr, "judger status: bad Redis URL (" JD_REDIS_URL_FORMS ")\n");
    code = JD_EXIT_USAGE;
    goto cleanup;
  }
  if (task) {
    code = show_task(q, task);
    goto cleanup;
  }
  if (jd_queue_status_json(&text, q, ndead)) {
    fprintf(stderr, "judger status: %s\n", jd_queue_error(q));
    goto cleanup;
  }
  if (json) {
    printf("%s\n", text);
  } else {
    root = json_tokener_parse(text);
    print_human(root);
  }
  code = JD_EXIT_OK;
cleanup:
  json_object_put(root);
  free(text);
  jd_queue_free(q);
  return code;
}

typedef struct status_args {
  jd_cli cli;
  const char *task;
  bool json;
  size_t ndead;
} status_args;

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
    fprintf(stderr, "judger status: %s\n", err);
    goto done;
  }
  code = show(&cfg, a.task, a.json, a.ndead);
done:
  jd_config_clear(&cfg);
  jd_cli_free(&a.cli);
  return code;
}
