/* Matches: collecting the result once every container is done (see
 * match_internal.h): the verdicts of the AIs and their instances,
 * player_<i>.log from the instances' spools, and the list of the game
 * logic's outputs (match_outputs.c). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/tmpfile.h"
#include "common/utf8.h"
#include "common/util.h"
#include "match/match_clock.h"
#include "match/match_internal.h"

/* ---- verdicts and logs ------------------------------------------------- */

/* What the clock measured of u, and its cores. */
static void usage_from_unit(jd_instance_result *r, const jd_unit *u) {
  jd_unit_usage us;
  jd_clock_usage(&us, u);
  r->usage_known = us.known;
  r->usage_final = us.final;
  r->usage_source = jd_meter_backend_name(us.source);
  r->cpu_ns = us.usage.cpu_ns;
  r->memory_peak = us.usage.memory_peak;
  r->throttled_ns = us.usage.throttled_ns;
  r->throttled_periods = us.usage.throttled_periods;
  r->freeze_failures = us.freeze_failures;
  r->clocked = us.clocked;
  r->clock = us.clock ? us.clock : jd_clock_name(u->m->spec->limits.turns.clock);
  r->turns = us.turns;
  r->cpuset = u->cpuset[0] ? strdup(u->cpuset) : NULL;
  r->cpuset_shared = u->cpuset_shared;
}

static void instance_from_unit(jd_instance_result *r, const jd_unit *u) {
  r->name = strdup(u->ai < 0 ? "game_logic" : u->name);
  r->ai = u->ai;
  r->verdict = u->verdict;
  r->exit_code = u->exit_code;
  r->oom_killed = u->oom_killed;
  r->log_truncated = u->log_truncated;
  jd_kill_reason k = jd_unit_kill_reason(u);
  r->killed = u->kill_sent;
  r->started_ms = u->started_ms;
  r->ended_ms = u->started_ms ? u->ended_ms : 0;
  usage_from_unit(r, u);
  if (u->message) {
    r->message = strdup(u->message);
  } else if (u->oom_killed) {
    /* MLE, whatever kill of the judger's came after (jd_ending_settle). */
    const jd_role_limits *lim =
        u->ai < 0 ? &u->m->spec->limits.game_logic : jd_match_player_limits(u->m->spec, u->ai);
    if (asprintf(&r->message, "out of memory: killed at its memory limit (%lld bytes)",
                 (long long)lim->memory) < 0)
      r->message = NULL;
  } else if (k != JD_KILL_NONE && u->kill_sent) {
    r->message = strdup(jd_kill_reason_name(k));
  }
}

/* A failed build's output into out_dir/name (build_<i>.log,
 * build_game_logic.log), so the compiler's error is with the match's
 * outputs (also under --quiet, and in the daemon's task directory). The
 * log was capped at the build's log_max by the build; control characters
 * become "\xNN" text (terminal-safe, as jd_term_printf), newlines and tabs
 * stay, so the file is at most 4 times that cap. With no log (the source
 * could not be fetched), its one-line message. Through an O_EXCL
 * temporary relative to the directory (out_dir also holds the game's
 * outputs). Returns name (malloc'd) when written, else NULL. */
static char *build_log_write(jd_match *m, const char *name, const jd_ready *r) {
  const char *raw = r->build_log ? r->build_log : r->message ? r->message : "build failed";
  size_t len = strlen(raw);
  char *text = jd_utf8_dup(raw, len, 4 * len + 8, JD_UTF8_ESCAPE_CONTROLS | JD_UTF8_KEEP_LINES);
  char *out = NULL;
  if (text) {
    size_t n = strlen(text);
    bool nl = n && text[n - 1] == '\n';
    jd_tmpfile t;
    if (jd_tmpfile_open(&t, m->out_dir, name, 0644) == 0) {
      if (jd_write_all(t.fd, text, n) || (!nl && jd_write_all(t.fd, "\n", 1)))
        jd_tmpfile_abort(&t);
      else if (jd_tmpfile_commit(&t) == 0)
        out = strdup(name);
    }
  }
  if (!out)
    jd_log(JD_LOG_WARN, "match.logs", "%s: %s: %s", m->run_key, name,
           text ? strerror(errno) : "out of memory");
  free(text);
  return out;
}

/* Appends instance u (the nth of AI i) to its AI's log, after a header. */
static void player_log_add(jd_match *m, int fd, const jd_unit *u, size_t i, int nth) {
  char header[256], ts[32];
  jd_time_rfc3339(ts, u->started_ms ? u->started_ms : u->ended_ms);
  snprintf(header, sizeof header,
           "===== judger: instance %s of AI %zu (#%d, started %s, verdict %s, exit %lld) =====",
           u->name, i, nth, ts, jd_verdict_name(u->verdict), (long long)u->exit_code);
  if (jd_player_log_append(fd, header, u->spool_path))
    jd_log(JD_LOG_WARN, "match.logs", "%s: player_%zu.log: %s", m->run_key, i, strerror(errno));
}

/* Renames a log assembled in t into place; reports a failure. */
static void log_commit(jd_match *m, jd_tmpfile *t) {
  if (t->dirfd >= 0 && jd_tmpfile_commit(t))
    jd_log(JD_LOG_WARN, "match.logs", "%s: %s: %s", m->run_key, t->name, strerror(errno));
}

/* AI i: its instances' verdicts and flags, its log, its score. */
static void collect_player(jd_match *m, jd_player_result *p, size_t i) {
  p->exit_code = -1;
  bool has_verdict = false;
  jd_verdict verdict = JD_VERDICT_OK;
  if (asprintf(&p->log, "player_%zu.log", i) < 0)
    p->log = NULL;
  /* Always present, even empty, so consumers need not special-case; built
   * in an O_EXCL temporary and renamed into place (out_dir also holds the
   * game's outputs). */
  jd_tmpfile log = {.dirfd = -1, .fd = -1};
  if (!p->log || jd_tmpfile_open(&log, m->out_dir, p->log, 0644))
    jd_log(JD_LOG_WARN, "match.logs", "%s: player_%zu.log: %s", m->run_key, i, strerror(errno));
  for (size_t k = 1; k < m->nunits; k++) {
    const jd_unit *u = m->units[k];
    if (u->ai != (int)i || !jd_unit_used(u))
      continue;
    p->instances++;
    p->oom_killed = p->oom_killed || u->oom_killed;
    p->log_truncated = p->log_truncated || u->log_truncated;
    /* The first instance that is not OK sets the verdict. */
    if (!has_verdict || verdict == JD_VERDICT_OK) {
      verdict = u->verdict;
      has_verdict = true;
      p->exit_code = u->exit_code;
    }
    if (log.dirfd >= 0)
      player_log_add(m, log.fd, u, i, p->instances);
  }
  log_commit(m, &log);
  if (m->ai_ready && m->ai_ready[i].cancelled) {
    verdict = JD_VERDICT_CANCEL;
    has_verdict = true;
    p->build_message = m->ai_ready[i].message ? strdup(m->ai_ready[i].message) : NULL;
    char name[40];
    snprintf(name, sizeof name, "build_%zu.log", i);
    p->build_log = build_log_write(m, name, &m->ai_ready[i]);
  }
  /* Never started: when the match ran (finished, or failed by its game
   * logic) the game logic chose so (OK, 0 instances); when the judger's
   * side stopped it (error, cancelled) the player never had its chance,
   * which must not read as a clean result (UE). */
  if (!has_verdict)
    verdict = m->has_status &&
                      (m->status == JD_MATCH_STATUS_ERROR || m->status == JD_MATCH_STATUS_CANCELLED)
                  ? JD_VERDICT_UE
                  : JD_VERDICT_OK;
  p->verdict = verdict;
  p->limits = *jd_match_player_limits(m->spec, (int)i);
  p->limits.user = strdup(p->limits.user); /* NULL on out of memory: no "limits" */
  if (m->scores)
    p->score = m->scores[i];
  if (m->messages && m->messages[i])
    p->message = strdup(m->messages[i]);
}

/* game_logic.log: its spool (in the work directory) copied into place. */
static void game_logic_log(jd_match *m) {
  jd_tmpfile t;
  if (jd_tmpfile_open(&t, m->out_dir, "game_logic.log", 0644)) {
    jd_log(JD_LOG_WARN, "match.logs", "%s: game_logic.log: %s", m->run_key, strerror(errno));
    return;
  }
  if (m->nunits && jd_player_log_append(t.fd, NULL, m->units[0]->spool_path)) {
    jd_log(JD_LOG_WARN, "match.logs", "%s: game_logic.log: %s", m->run_key, strerror(errno));
    jd_tmpfile_abort(&t);
    return;
  }
  log_commit(m, &t);
}

void jd_match_collect(jd_match *m, jd_match_result *res) {
  size_t nplayer_units = m->nunits > 1 ? m->nunits - 1 : 0;
  res->instances = calloc(nplayer_units ? nplayer_units : 1, sizeof *res->instances);
  /* res->nplayers: 0 when its players could not be allocated. */
  for (size_t i = 0; i < res->nplayers; i++)
    collect_player(m, &res->players[i], i);
  for (size_t k = 1; k < m->nunits && res->instances; k++)
    if (jd_unit_used(m->units[k]))
      instance_from_unit(&res->instances[res->ninstances++], m->units[k]);
  if (m->nunits) {
    instance_from_unit(&res->game_logic, m->units[0]);
  } else {
    res->game_logic.name = strdup("game_logic");
    res->game_logic.ai = -1;
    res->game_logic.exit_code = -1;
    /* Never run: its build failed, or the match failed before it could
     * (its inputs: the spec's fault, not the engine's). */
    res->game_logic.verdict = m->gl_ready.cancelled || m->status == JD_MATCH_STATUS_FAILED
                                  ? JD_VERDICT_CANCEL
                                  : JD_VERDICT_UE;
  }
  game_logic_log(m);
  if (m->gl_ready.cancelled)
    res->game_logic_build_log = build_log_write(m, "build_game_logic.log", &m->gl_ready);
  /* Scores of an end that came after a system fault set the status are
   * not the match's (docs/match-spec.md: null unless finished). */
  res->has_scores = m->scores && m->has_status && m->status == JD_MATCH_STATUS_FINISHED;
  res->refused_commands = m->refusals;
  jd_outputs_finish(m, res);
}
