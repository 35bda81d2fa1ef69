/* judger submit — enqueue a task (docs/queue.md). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "daemon/config.h"
#include "queue/queue.h"
#include "queue/task.h"
#include "common/util.h"
#include "common/clock.h"

static void usage(FILE *f) {
  fprintf(f, "usage: judger submit [--redis URL] [--prefix P] [--config FILE]\n"
             "                     [--priority build|match|auto] [--wait SECONDS] TASK.json|-\n\n"
             "Checks the task envelope and adds it to the priority's stream. The\n"
             "priority defaults to the task's type (build or match). With --wait the\n"
             "command waits for the task's result and prints result.json.\n"
             "Prints the task id and the entry id. Exit: 0 ok, 2 invalid task,\n"
             "3 Redis unreachable or no result in time.\n");
}

static int read_all(char **out, const char *path) {
  if (strcmp(path, "-"))
    return jd_read_file(out, NULL, path, 16u << 20);
  size_t cap = 65536, n = 0;
  char *buf = malloc(cap + 1);
  if (!buf)
    return -1;
  for (;;) {
    if (n == cap) {
      if (cap >= (16u << 20)) {
        free(buf);
        errno = EFBIG;
        return -1;
      }
      char *p = realloc(buf, cap * 2 + 1);
      if (!p) {
        free(buf);
        return -1;
      }
      buf = p;
      cap *= 2;
    }
    ssize_t r = read(0, buf + n, cap - n);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0) {
      free(buf);
      return -1;
    }
    if (r == 0)
      break;
    n += (size_t)r;
  }
  buf[n] = '\0';
  *out = buf;
  return 0;
}

int jd_cmd_submit(int argc, char **argv) {
  const char *flags[16] = {0};
  int nflags = 0;
  const char *config = NULL, *prio_name = NULL, *file = NULL;
  double wait_s = -1;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      usage(stdout);
      return JD_EXIT_OK;
    }
    bool has_value = i + 1 < argc;
    if (!strcmp(a, "--redis") && has_value && nflags < 12) {
      flags[nflags++] = "redis";
      flags[nflags++] = argv[++i];
    } else if (!strcmp(a, "--prefix") && has_value && nflags < 12) {
      flags[nflags++] = "prefix";
      flags[nflags++] = argv[++i];
    } else if (!strcmp(a, "--config") && has_value) {
      config = argv[++i];
    } else if (!strcmp(a, "--priority") && has_value) {
      prio_name = argv[++i];
    } else if (!strcmp(a, "--wait") && has_value) {
      wait_s = atof(argv[++i]);
    } else if (a[0] == '-' && strcmp(a, "-")) {
      fprintf(stderr, "judger submit: unknown or incomplete option '%s'\n", a);
      usage(stderr);
      return JD_EXIT_USAGE;
    } else if (!file) {
      file = a;
    } else {
      usage(stderr);
      return JD_EXIT_USAGE;
    }
  }
  if (!file) {
    usage(stderr);
    return JD_EXIT_USAGE;
  }
  int code = JD_EXIT_SYSTEM;
  char err[512];
  char *json = NULL;
  jd_task *task = NULL;
  jd_queue *q = NULL;
  char *entry = NULL, *result = NULL;
  jd_config cfg;
  jd_config_source src = {.file = config, .flags = flags};
  if (jd_config_load(&cfg, &src, err, sizeof err)) {
    fprintf(stderr, "judger submit: %s\n", err);
    return JD_EXIT_USAGE;
  }
  if (read_all(&json, file)) {
    fprintf(stderr, "judger submit: %s: %s\n", file, strerror(errno));
    code = JD_EXIT_USAGE;
    goto cleanup;
  }
  if (jd_task_parse(&task, json, err, sizeof err)) {
    fprintf(stderr, "judger submit: invalid task: %s\n", err);
    code = JD_EXIT_USAGE;
    goto cleanup;
  }
  jd_priority prio = task->kind == JD_TASK_BUILD ? JD_PRIO_BUILD : JD_PRIO_MATCH;
  if (prio_name && jd_priority_parse(&prio, prio_name)) {
    fprintf(stderr, "judger submit: --priority must be build, match or auto\n");
    code = JD_EXIT_USAGE;
    goto cleanup;
  }
  jd_queue_opts qo = {.redis_url = cfg.redis, .prefix = cfg.prefix, .group = cfg.group};
  if (jd_queue_new(&q, &qo)) {
    fprintf(stderr, "judger submit: bad Redis URL '%s'\n", cfg.redis);
    code = JD_EXIT_USAGE;
    goto cleanup;
  }
  /* The group is made before the first entry so no judger can miss it. */
  if (jd_queue_setup(q) || jd_queue_submit(&entry, q, prio, task->id, json)) {
    fprintf(stderr, "judger submit: %s\n", jd_queue_error(q));
    goto cleanup;
  }
  printf("%s %s %s\n", task->id, jd_priority_name(prio), entry);
  fflush(stdout);
  if (wait_s >= 0) {
    int64_t deadline = jd_unix_ms() + (int64_t)(wait_s * 1000);
    int rc = 0;
    while (!(rc = jd_queue_get_result(&result, q, task->id)) && !result && jd_unix_ms() < deadline)
      usleep(100000);
    if (!result) {
      fprintf(stderr, "judger submit: no result for %s within %.1f s%s%s\n", task->id, wait_s,
              rc ? ": " : "", rc ? jd_queue_error(q) : "");
      goto cleanup;
    }
    printf("%s\n", result);
  }
  code = JD_EXIT_OK;
cleanup:
  free(result);
  free(entry);
  jd_queue_free(q);
  jd_task_free(task);
  free(json);
  jd_config_clear(&cfg);
  return code;
}
