/* judger submit — enqueue a task (docs/queue.md). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "cli/taskset_cli.h"
#include "common/clock.h"
#include "common/utf8.h"
#include "common/util.h"
#include "queue/queue.h"
#include "queue/task.h"
#include "taskset/taskset.h"

static void usage(FILE *f) {
  fprintf(f, "usage: judger submit [--redis URL] [--prefix P] [--config FILE]\n"
             "                     [--priority build|match|auto] [--wait SECONDS]\n"
             "                     TASK.json|- | --taskset FILE|-\n\n"
             "Checks the task envelope and adds it to the priority's stream. The\n"
             "priority defaults to the task's type (build or match), and prints the\n"
             "task id, the priority and the entry id.\n"
             "With --wait the command then waits up to SECONDS for the task's result\n"
             "and prints it: stdout carries the result's JSON alone (the ids and the\n"
             "waiting go to stderr), so `judger submit --wait 600 t.json | jq` works.\n"
             "--taskset submits a taskset file (docs/tasksets.md): all its tasks or\n"
             "none (an invalid member is named, exit 2); it prints the taskset id,\n"
             "the number of tasks and the priority. With --wait its progress goes to\n"
             "stderr and its standings JSON (or its view when it has none) to stdout.\n"
             "The submission counts once the replicas min_replicas_acked asks for\n"
             "have it (WAIT replica_wait_ms): unconfirmed, it exits 3 (submit again:\n"
             "a task id runs once).\n"
             "Exit: 0 ok, 2 invalid task, 3 Redis unreachable, unconfirmed or no\n"
             "result in time.\n");
}

typedef struct submit_args {
  jd_cli cli;
  const char *prio_name, *file;
  const char *taskset; /* --taskset FILE */
  double wait_s;       /* < 0: do not wait */
} submit_args;

/* Reads the command line into a. 0 to go on; -1 to exit at once with
 * *code (help, usage error). */
static int parse_args(submit_args *a, int argc, char **argv, int *code) {
  *code = JD_EXIT_USAGE;
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    bool has_value = i + 1 < argc, taken = false;
    if (jd_cli_take_option(&taken, code, &a->cli, &i))
      return -1;
    if (taken)
      continue;
    if (!strcmp(arg, "--priority") && has_value) {
      a->prio_name = argv[++i];
    } else if (!strcmp(arg, "--wait") && has_value) {
      if (jd_cli_seconds(&a->wait_s, "submit", "--wait", argv[++i], 7 * 86400))
        return -1;
    } else if (!strcmp(arg, "--taskset") && has_value) {
      a->taskset = argv[++i];
    } else if (arg[0] == '-' && strcmp(arg, "-")) {
      jd_cli_bad_option("submit", arg, usage);
      return -1;
    } else if (!a->file) {
      a->file = arg;
    } else {
      jd_cli_bad_argument("submit", arg, usage);
      return -1;
    }
  }
  if (!a->file == !a->taskset) {
    usage(stderr);
    return -1;
  }
  return 0;
}

/* Waits up to wait_s for the task's result and prints it; the exit code. */
static int wait_result(jd_queue *q, const char *task_id, double wait_s) {
  int64_t deadline = jd_unix_ms() + (int64_t)(wait_s * 1000);
  char *result = NULL;
  int rc = jd_queue_get_result(&result, q, task_id);
  while (!rc && !result && jd_unix_ms() < deadline) {
    usleep(100000);
    rc = jd_queue_get_result(&result, q, task_id);
  }
  if (!result) {
    jd_term_printf(stderr, "judger submit: no result for %s within %.1f s%s%s\n", task_id, wait_s,
                   rc ? ": " : "", rc ? jd_queue_error(q) : "");
    return JD_EXIT_SYSTEM;
  }
  printf("%s\n", result);
  free(result);
  return JD_EXIT_OK;
}

/* Reads and checks the task; the exit code (0 when *json and *task are set). */
static int read_task(char **json, jd_task **task, const char *file) {
  char err[512];
  if (jd_cli_read_input(json, file, 16u << 20)) {
    jd_term_printf(stderr, "judger submit: %s: %s\n", file, strerror(errno));
    return JD_EXIT_USAGE;
  }
  if (jd_task_parse(task, *json, 0, err, sizeof err)) {
    jd_term_printf(stderr, "judger submit: invalid task: %s\n", err);
    return JD_EXIT_USAGE;
  }
  return JD_EXIT_OK;
}

/* Follows taskset id until it ends (progress on stderr) or wait_s passes;
 * then its standings or view on stdout. The exit code. */
static int wait_taskset(jd_queue *q, const char *id, double wait_s) {
  int64_t deadline = jd_unix_ms() + (int64_t)(wait_s * 1000);
  jd_taskset_view v;
  bool found = false, ended = false;
  jd_term_printf(stderr, "judger submit: waiting up to %.1f s for taskset %s\n", wait_s, id);
  if (jd_taskset_watch(&v, &found, &ended, q, id, deadline, stderr)) {
    jd_term_printf(stderr, "judger submit: taskset %s: %s\n", id,
                   found ? jd_queue_error(q) : "gone from Redis");
    return JD_EXIT_SYSTEM;
  }
  if (!ended) {
    jd_term_printf(stderr, "judger submit: taskset %s did not end within %.1f s\n", id, wait_s);
    return JD_EXIT_SYSTEM;
  }
  return jd_cli_taskset_final(q, "submit", &v, deadline);
}

/* judger submit --taskset FILE: the exit code. */
static int submit_taskset(const jd_config *cfg, const submit_args *a) {
  char *json = NULL;
  jd_queue *q = NULL;
  jd_taskset *ts = NULL;
  int code = JD_EXIT_USAGE;
  if (jd_cli_read_input(&json, a->taskset, JD_CLI_TASKSET_MAX_BYTES)) {
    jd_term_printf(stderr, "judger submit: %s: %s\n", a->taskset, strerror(errno));
    goto cleanup;
  }
  jd_queue_opts qo = jd_cli_queue_opts(cfg);
  if (jd_queue_new(&q, &qo)) {
    jd_term_printf(stderr, "judger submit: bad Redis URL (" JD_REDIS_URL_FORMS ")\n");
    goto cleanup;
  }
  code = jd_cli_taskset_submit(&ts, q, "submit", json, a->prio_name);
  if (code)
    goto cleanup;
  /* Under --wait stdout carries the end's JSON alone. */
  FILE *ids = a->wait_s >= 0 ? stderr : stdout;
  fprintf(ids, "%s %zu tasks %s\n", ts->id, ts->n, jd_priority_name(ts->prio));
  fflush(ids);
  code = a->wait_s >= 0 ? wait_taskset(q, ts->id, a->wait_s) : JD_EXIT_OK;
cleanup:
  jd_taskset_free(ts);
  jd_queue_free(q);
  free(json);
  return code;
}

int jd_cmd_submit(int argc, char **argv) {
  submit_args a = {.cli = JD_CLI_INIT("submit", JD_CMD_SUBMIT, usage), .wait_s = -1};
  if (jd_cli_begin(&a.cli, argc, argv))
    return JD_EXIT_SYSTEM;
  int code = JD_EXIT_USAGE;
  char err[512];
  char *json = NULL, *entry = NULL;
  jd_task *task = NULL;
  jd_queue *q = NULL;
  jd_config cfg = {0};
  if (parse_args(&a, argc, argv, &code))
    goto cleanup;
  if (jd_cli_load(&cfg, &a.cli, err, sizeof err)) {
    jd_term_printf(stderr, "judger submit: %s\n", err);
    goto cleanup;
  }
  if (a.taskset) {
    code = submit_taskset(&cfg, &a);
    goto cleanup;
  }
  code = read_task(&json, &task, a.file);
  if (code)
    goto cleanup;
  code = JD_EXIT_USAGE;
  jd_priority prio = task->kind == JD_TASK_BUILD ? JD_PRIO_BUILD : JD_PRIO_MATCH;
  if (a.prio_name && jd_priority_parse(&prio, a.prio_name)) {
    jd_term_printf(stderr, "judger submit: --priority must be build, match or auto\n");
    goto cleanup;
  }
  jd_queue_opts qo = jd_cli_queue_opts(&cfg);
  if (jd_queue_new(&q, &qo)) {
    jd_term_printf(stderr, "judger submit: bad Redis URL (" JD_REDIS_URL_FORMS ")\n");
    goto cleanup;
  }
  code = JD_EXIT_SYSTEM;
  /* The group is made before the first entry so no judger can miss it. */
  if (jd_queue_setup(q) || jd_queue_submit(&entry, q, prio, task->id, json)) {
    jd_term_printf(stderr, "judger submit: %s\n", jd_queue_error(q));
    goto cleanup;
  }
  /* Confirmed by the replicas before it is reported: a submission a
   * failover could lose is not one the platform may count on. */
  char what[400];
  snprintf(what, sizeof what, "%s submitted as %s", task->id, entry);
  code = jd_cli_confirm(q, "submit", what, "a task id runs once");
  if (code)
    goto cleanup;
  /* Under --wait stdout is the result's alone (a pipe into a JSON reader):
   * the ids go to stderr. */
  FILE *ids = a.wait_s >= 0 ? stderr : stdout;
  fprintf(ids, "%s %s %s\n", task->id, jd_priority_name(prio), entry);
  fflush(ids);
  if (a.wait_s >= 0)
    jd_term_printf(stderr, "judger submit: waiting up to %.1f s for the result of %s\n", a.wait_s,
                   task->id);
  code = a.wait_s >= 0 ? wait_result(q, task->id, a.wait_s) : JD_EXIT_OK;
cleanup:
  free(entry);
  jd_queue_free(q);
  jd_task_free(task);
  free(json);
  jd_config_clear(&cfg);
  jd_cli_free(&a.cli);
  return code;
}
