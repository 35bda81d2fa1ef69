/* Submitting a taskset, its end, its standings: what submit, status and
 * taskset share (cli/taskset_cli.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/taskset_cli.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/utf8.h"
#include "taskset/taskset.h"
#include "taskset/taskset_rank.h"

int jd_cli_taskset_submit(jd_taskset **out, jd_queue *q, const char *cmd, const char *json,
                          const char *prio_name) {
  char err[1024];
  jd_taskset *ts = NULL;
  if (out)
    *out = NULL;
  if (jd_taskset_parse(&ts, json, 0, 0, err, sizeof err)) {
    fprintf(stderr, "judger %s: invalid taskset: %s\n", cmd, err);
    return JD_EXIT_USAGE;
  }
  if (prio_name && jd_priority_parse(&ts->prio, prio_name)) {
    fprintf(stderr, "judger %s: --priority must be build, match or auto\n", cmd);
    jd_taskset_free(ts);
    return JD_EXIT_USAGE;
  }
  jd_taskset_view v;
  bool found = false;
  int code = JD_EXIT_SYSTEM;
  /* The group is made before the first entry so no judger can miss it. */
  if (jd_queue_setup(q) || jd_queue_taskset_view(&v, &found, q, ts->id)) {
    jd_term_printf(stderr, "judger %s: %s\n", cmd, jd_queue_error(q));
  } else if (found) {
    fprintf(stderr, "judger %s: taskset %s exists: give the new one another id\n", cmd, ts->id);
    code = JD_EXIT_USAGE;
  } else if (jd_taskset_submit(q, ts, err, sizeof err)) {
    fprintf(stderr, "judger %s: %s\n", cmd, err);
    /* Redis answered but refused (a member's task id in use, or another
     * submitter took the set's id between the look and ours): the set's
     * fault, nothing written. */
    if (!jd_queue_lost(q))
      code = JD_EXIT_USAGE;
  } else {
    char what[160];
    snprintf(what, sizeof what, "taskset %s submitted", ts->id);
    code = jd_cli_confirm(q, cmd, what, "then 'exists' means it survived");
  }
  if (code || !out)
    jd_taskset_free(ts);
  else
    *out = ts;
  return code;
}

jd_queue_opts jd_cli_queue_opts(const jd_config *cfg) {
  return (jd_queue_opts){.redis_url = cfg->redis,
                         .prefix = cfg->prefix,
                         .group = cfg->group,
                         .min_replicas_acked = cfg->min_replicas_acked,
                         .replica_wait_ms = cfg->replica_wait_ms};
}

int jd_cli_confirm(jd_queue *q, const char *cmd, const char *what, const char *again) {
  bool confirmed = false;
  if (jd_queue_confirm(&confirmed, q)) {
    jd_term_printf(stderr,
                   "judger %s: %s, but whether a replica has it could not be asked (%s): "
                   "submit again (%s)\n",
                   cmd, what, jd_queue_error(q), again);
    return JD_EXIT_SYSTEM;
  }
  if (!confirmed) {
    jd_term_printf(stderr,
                   "judger %s: %s, but no replica confirmed it within replica_wait_ms: "
                   "submit again (%s)\n",
                   cmd, what, again);
    return JD_EXIT_SYSTEM;
  }
  return JD_EXIT_OK;
}

/* Waits until deadline_ms for the standings the daemon writes once a set
 * ended; NULL when none came. */
static char *stored_standings(jd_queue *q, const char *id, int64_t deadline_ms) {
  char *json = NULL;
  while (!jd_queue_taskset_get_standings(&json, q, id) && !json && jd_unix_ms() < deadline_ms) {
    struct timespec ts = {.tv_sec = 0, .tv_nsec = 100 * 1000000L};
    nanosleep(&ts, NULL);
  }
  return json;
}

int jd_cli_taskset_final(jd_queue *q, const char *cmd, const jd_taskset_view *v,
                         int64_t deadline_ms) {
  char *json = NULL;
  if (v->standings) {
    /* A finished set's are written by a daemon within a second or so; a
     * cancelled set's only if its members all ended: not waited for. */
    int64_t until = jd_unix_ms() + (strcmp(v->state, "finished") ? 0 : 5000);
    json = stored_standings(q, v->id, until < deadline_ms ? until : deadline_ms);
  }
  if (!json && v->standings && !strcmp(v->state, "finished")) {
    char err[512];
    if (jd_taskset_standings_json(&json, q, v->id, err, sizeof err))
      fprintf(stderr, "judger %s: %s\n", cmd, err);
    else
      fprintf(stderr, "judger %s: standings of %s computed here (none stored yet)\n", cmd, v->id);
  }
  bool found = true;
  if (!json && jd_queue_taskset_json(&json, &found, q, v->id, JD_TASKSET_MAX_MEMBERS_DEFAULT)) {
    jd_term_printf(stderr, "judger %s: %s\n", cmd, jd_queue_error(q));
    return JD_EXIT_SYSTEM;
  }
  printf("%s\n", json);
  free(json);
  return fflush(stdout) ? JD_EXIT_SYSTEM : JD_EXIT_OK;
}
