/* Matches: collecting the result once every container is done (see
 * match_internal.h): the verdicts of the AIs and their instances,
 * player_<i>.log from the instances' spools, and the game logic's outputs
 * copied (capped, regular files only) into out_dir. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/tmpfile.h"
#include "common/util.h"
#include "match/match_internal.h"

/* ---- the game logic's outputs ------------------------------------------ */

typedef struct copy_ctx {
  jd_match *m;
  jd_match_result *res;
  const char *src_root;
  size_t root_len;
  int64_t budget;
  int nfiles;
  bool over;
} copy_ctx;

/* Files of the game logic's outputs copied at most. */
#define JD_OUT_FILES_MAX 10000

static __thread copy_ctx *copying;

static bool reserved_name(const char *rel) {
  return !strcmp(rel, "result.json") || !strcmp(rel, "game_logic.log") ||
         (!strncmp(rel, "player_", 7) && strstr(rel, ".log") && !strchr(rel, '/'));
}

static int copy_file(const char *src, const char *dst, int64_t *budget) {
  int in = open(src, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (in < 0)
    return -1;
  int outfd = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (outfd < 0) {
    close(in);
    return -1;
  }
  char buf[65536];
  int rc = 0;
  for (;;) {
    ssize_t n = read(in, buf, sizeof buf);
    if (n <= 0) {
      rc = n < 0 ? -1 : 0;
      break;
    }
    if ((int64_t)n > *budget) {
      rc = 1; /* over the cap: the file is cut */
      n = (ssize_t)*budget;
    }
    if (n > 0 && jd_write_all(outfd, buf, (size_t)n)) {
      rc = -1;
      break;
    }
    *budget -= n;
    if (rc)
      break;
  }
  close(in);
  close(outfd);
  return rc;
}

static int copy_entry(const char *path, const struct stat *st, int type, struct FTW *ftw) {
  (void)ftw;
  copy_ctx *c = copying;
  if (strlen(path) <= c->root_len)
    return 0;
  const char *rel = path + c->root_len + 1;
  char *dst = NULL;
  if (reserved_name(rel)) {
    jd_log(JD_LOG_WARN, "match.outputs", "%s: output %s skipped (a judger file has that name)",
           c->m->run_key, rel);
    return 0;
  }
  if (asprintf(&dst, "%s/%s", c->m->out_dir, rel) < 0)
    return -1;
  if (type == FTW_D) {
    mkdir(dst, 0755);
  } else if (type == FTW_F && S_ISREG(st->st_mode)) {
    /* Only regular files: a symlink or device planted by the game logic is
     * never followed or reproduced. A file that does not fit in what is
     * left of out_max, or past the file-count cap, is not copied and not
     * listed (never created empty or cut). */
    int rc = st->st_size > c->budget || c->nfiles >= JD_OUT_FILES_MAX ? 1 : 0;
    if (!rc) {
      int64_t before = c->budget;
      rc = copy_file(path, dst, &c->budget);
      if (rc == 1) { /* it grew past the budget while copied */
        unlink(dst);
        c->budget = before;
      }
    }
    c->nfiles++;
    if (rc == 1 && !c->over) {
      c->over = true;
      jd_log(JD_LOG_WARN, "match.outputs",
             "%s: outputs over %lld bytes or %d files: %s and later ones left out", c->m->run_key,
             (long long)c->m->spec->limits.out_max, JD_OUT_FILES_MAX, rel);
    }
    if (rc == 0) {
      char **n = realloc(c->res->files, (c->res->nfiles + 1) * sizeof *n);
      if (n) {
        c->res->files = n;
        n[c->res->nfiles] = strdup(rel);
        if (n[c->res->nfiles])
          c->res->nfiles++;
      }
    }
  }
  free(dst);
  return 0;
}

static void copy_outputs(jd_match *m, jd_match_result *res) {
  if (!m->gl_out || !jd_path_exists(m->gl_out))
    return;
  copy_ctx c = {.m = m,
                .res = res,
                .src_root = m->gl_out,
                .root_len = strlen(m->gl_out),
                .budget = m->spec->limits.out_max};
  copying = &c;
  nftw(m->gl_out, copy_entry, 16, FTW_PHYS);
  copying = NULL;
}

/* ---- verdicts and logs ------------------------------------------------- */

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
  if (u->message)
    r->message = strdup(u->message);
  else if (k != JD_KILL_NONE && u->kill_sent)
    r->message = strdup(jd_kill_reason_name(k));
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
    if (u->ai != (int)i)
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
    instance_from_unit(&res->instances[res->ninstances++], m->units[k]);
  if (m->nunits) {
    instance_from_unit(&res->game_logic, m->units[0]);
  } else {
    res->game_logic.name = strdup("game_logic");
    res->game_logic.ai = -1;
    res->game_logic.exit_code = -1;
    res->game_logic.verdict = m->gl_ready.cancelled ? JD_VERDICT_CANCEL : JD_VERDICT_UE;
  }
  game_logic_log(m);
  res->has_scores = m->scores != NULL;
  res->refused_commands = m->refusals;
  copy_outputs(m, res);
}
