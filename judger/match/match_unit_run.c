/* A unit's container from its create to how it ended (see
 * match_unit_internal.h): create and start, follow the logs into the
 * capped spool, the judger's kill, the wait, and who ended it. Unit
 * thread. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "common/clock.h"
#include "common/labels.h"
#include "common/log.h"
#include "common/oom.h"
#include "match/exit_event.h"
#include "match/kill_event.h"
#include "match/match_clock.h"
#include "match/match_unit_internal.h"

/* Bounds on engine calls a unit makes after its container ended: they must
 * not hang a match's cleanup if the engine stalls. */
#define UNIT_WAIT_MS 30000
/* Time judger-hold gets to copy the outputs out after the judger's stop. */
#define HOLD_STOP_MS 10000
/* Time the die event gets to show after the log stream ended. */
#define EXIT_EVENT_MS 2000
/* Bound on reading who ended a container (its die is already logged). */
#define KILL_EVENT_MS 5000

void unit_set_message(jd_unit *u, const char *what, int rc) {
  if (u->message)
    return;
  const dk_error *e = dk_error_last();
  if (asprintf(&u->message, "%s: %s", what, e && e->code == rc ? e->message : dk_strerror(rc)) < 0)
    u->message = NULL;
}

int unit_fail(jd_unit *u, const char *what, int rc) {
  u->engine_error = true;
  unit_set_message(u, what, rc);
  return -1;
}

/* The container was removed by someone else while the unit ran it (the
 * judger removes a container only once its unit waited for it): a system
 * fault, never the program's (match_internal.h, "outside"). */
void unit_vanished(jd_unit *u) {
  u->outside = true;
  u->engine_error = true;
  free(u->message);
  u->message = strdup("its container was removed from outside the judger (by another judger's "
                      "sweep, or docker rm) while it ran");
}

/* ---- the container ------------------------------------------------------ */

/* A dk_frame_cb: non-zero stops the stream (libdockerapi's contract). */
static int on_output(void *ud, int stream, const char *data, size_t len) {
  (void)stream;
  jd_log_spool *spool = ud;
  bool full = false;
  int rc = jd_log_spool_write(spool, data, len, &full);
  /* Past the cap: stop reading; the thread marks OLE and kills. A spool I/O
   * error also stops reading (and is reported), never the match. */
  return rc || full ? 1 : 0;
}

void unit_follow_logs(jd_unit *u, jd_log_spool *spool) {
  dk_logs_opts lo = {.follow = true};
  dk_call call = {.cancel = u->cancel};
  int rc = dk_container_logs(u->m->ctx->dk, u->id, &lo, on_output, spool, &call);
  if (rc == 1 && jd_log_spool_truncated(spool)) {
    u->log_truncated = true;
    int none = JD_KILL_NONE;
    atomic_compare_exchange_strong(&u->kill, &none, JD_KILL_OLE);
  } else if (rc && rc != DK_ECANCELED) {
    /* The stream broke (engine restart, I/O): the wait below still tells
     * how the container ended; the log may be short. */
    jd_log(JD_LOG_WARN, "match.logs", "%s: log stream ended early: %s", u->cname, dk_strerror(rc));
  }
}

/* Whether the create failed on the image's WORKDIR not being a directory
 * (Docker 20.10 says "Cannot mkdir: <dir> is not a directory" with a 500
 * at create, not at start): the program's fault, RE with the engine's
 * message (126, "cannot run"). Any other create failure stays ours. */
static bool workdir_refused(jd_unit *u, const char *image) {
  dk_image_info *info = NULL;
  if (!u->message || !strstr(u->message, "is not a directory") ||
      dk_image_inspect(&info, u->m->ctx->dk, image))
    return false;
  json_object *root = json_tokener_parse(info->raw_json), *conf = NULL, *wd = NULL;
  dk_image_info_free(info);
  bool refused = false;
  if (json_object_object_get_ex(root, "Config", &conf) &&
      json_object_object_get_ex(conf, "WorkingDir", &wd)) {
    const char *dir = json_object_get_string(wd);
    char needle[300];
    snprintf(needle, sizeof needle, "Cannot mkdir: %s is not a directory", dir ? dir : "");
    refused = dir && *dir && strstr(u->message, needle);
  }
  json_object_put(root);
  if (refused)
    u->exit_code = 126;
  return refused;
}

int unit_create(jd_unit *u, const unit_cfg *cfg) {
  dk_client *dk = u->m->ctx->dk;
  if (cfg->vols.refused) {
    /* Its image declares a volume the judger cannot cover: the program's
     * fault, like an image whose WORKDIR is a file (RE, 126). */
    if (asprintf(&u->message, "image refused: %s", cfg->vols.why) < 0)
      u->message = NULL;
    u->exit_code = 126;
    return -1;
  }
  char *id = NULL;
  int rc = dk_container_create(&id, dk, u->cname, &cfg->cc);
  if (rc) {
    unit_set_message(u, "create", rc);
    u->engine_error = !workdir_refused(u, cfg->cc.image);
    return -1;
  }
  /* Published under the match's lock: the loop thread hands the game
   * logic's id to player units (their networks connect it). */
  pthread_mutex_lock(&u->m->mu);
  u->id = id;
  pthread_mutex_unlock(&u->m->mu);
  return 0;
}

int unit_start(jd_unit *u) {
  dk_client *dk = u->m->ctx->dk;
  int rc = dk_container_start(dk, u->id);
  if (rc == DK_ENOTFOUND) {
    unit_vanished(u);
    return -1;
  }
  if (rc == DK_EBADREQ) {
    /* The runtime refused what the image gave it (a WORKDIR that is not a
     * directory, a missing or non-executable entry point): the configuration
     * is the judger's and the same for every program, so this is the
     * program's fault, RE with the engine's message and the runtime's exit
     * code (126/127), not UE. The engine's own failures are 5xx. */
    unit_set_message(u, "start", rc);
    dk_container_info *info = NULL;
    u->exit_code =
        !dk_container_inspect(&info, dk, u->id) && info->exit_code > 0 ? info->exit_code : 127;
    dk_container_info_free(info);
    return -1;
  }
  if (rc) {
    u->engine_error = true;
    unit_set_message(u, "start", rc);
    return -1;
  }
  return 0;
}

/* Sends the judger's kill: to the game logic first SIGUSR2, which
 * judger-hold turns into killing the game and copying its outputs out
 * (bounded by HOLD_STOP_MS, then SIGKILL); to a player SIGKILL. Sets
 * u->kill_sent when it reached the container, *unsure when the call failed
 * in a way that does not say "not running" (409) or "gone" (404): the
 * engine may have delivered it all the same. */
static void unit_kill(jd_unit *u, bool *unsure) {
  dk_client *dk = u->m->ctx->dk;
  int rc = dk_container_kill(dk, u->id, u->ai < 0 ? "SIGUSR2" : NULL);
  if (!rc && u->ai < 0) {
    dk_call call = {.deadline_ms = jd_mono_ms() + HOLD_STOP_MS};
    int64_t code;
    if (dk_container_wait(&code, dk, u->id, NULL, &call) == DK_ETIMEDOUT)
      rc = dk_container_kill(dk, u->id, NULL);
  }
  /* 409: it already stopped on its own; then it was not killed and its
   * own exit decides the verdict. */
  *unsure = rc && rc != DK_ECONFLICT && rc != DK_ENOTFOUND;
  if (!rc)
    u->kill_sent = true;
  else if (*unsure)
    jd_log(JD_LOG_WARN, "match.kill", "%s: %s", u->cname, dk_strerror(rc));
}

/* Who else ended the container: a "kill" event before its die that is not
 * the judger's (the caller knows its kill did not reach it) is an outside
 * kill (kill_event.h): a system fault, never the program's. An "oom"
 * before the die is its memory limit's. Read only for a non-zero exit the
 * judger's kill did not cause; a read that fails leaves the verdict to the
 * exit code as before. removing: the engine was removing the container
 * when the judger inspected it (`docker rm -f`, another judger's sweep:
 * the removal is marked before its kill). */
static void unit_outside_kill(jd_unit *u, bool removing) {
  char label[200];
  snprintf(label, sizeof label, "%s=%s", JD_LABEL_RUN, u->m->run_key);
  jd_kill_event ev;
  if (jd_kill_event_read(&ev, u->m->ctx->dk, u->id, label, u->since_ms, KILL_EVENT_MS)) {
    jd_log(JD_LOG_WARN, "match.events", "%s: cannot read who ended it (exit %lld)", u->cname,
           (long long)u->exit_code);
    return;
  }
  if (ev.oom) {
    u->oom_killed = true;
    return;
  }
  if (!ev.killed)
    return;
  u->outside = true;
  u->engine_error = true;
  free(u->message);
  char sig[24] = "";
  if (ev.signal)
    snprintf(sig, sizeof sig, "signal %d, ", ev.signal);
  if (asprintf(&u->message,
               "its container was killed%s from outside the judger (%sexit %lld; not an OOM "
               "kill, not the judger's kill)",
               removing ? " and removed" : "", sig, (long long)u->exit_code) < 0)
    u->message = NULL;
}

/* How the container ended, from its inspect: its exit code, an OOM kill,
 * an outside kill, and which ending wins. unsure: a kill call of the
 * judger's that may have reached it. */
static void unit_ending(jd_unit *u, const dk_container_info *info, bool unsure) {
  /* The judger's kill reached the running container (a kill event of its
   * own is in the log): no other kill can be told from it. Nor when its
   * kill call failed in a way that does not say "not running" (409) or
   * "gone" (404): the engine may have delivered it all the same. */
  bool delivered = u->kill_sent;
  bool maybe_ours = delivered || unsure;
  u->exit_code = info->exit_code;
  u->oom_killed = info->oom_killed;
  /* Ended with a non-zero code the judger's kill did not cause: its own
   * doing, its memory limit's, or an outside kill (kill_event.h). */
  if (!maybe_ours && !u->oom_killed && u->exit_code != 0) {
    unit_outside_kill(u, info->status &&
                             (!strcmp(info->status, "removing") || !strcmp(info->status, "dead")));
    if (u->outside)
      return;
  }
  /* SIGKILL that was not ours: the memory limit's, reported late? */
  if (!u->oom_killed && u->exit_code == 137 && !delivered)
    u->oom_killed = jd_oom_reported(u->m->ctx->dk, u->id, u->since_ms);
  /* Which ending wins, so the fields agree with the verdict: a kill call
   * that succeeded did not necessarily end it (a program that exited by
   * itself as the kill went out keeps its own exit); an OOM kill wins over
   * the judger's; "the match ended" reads as exit 0 (docs/match-spec.md). */
  jd_ending e = {.exit_code = u->exit_code,
                 .oom_killed = u->oom_killed,
                 .kill_sent = delivered,
                 .kill = (jd_kill_reason)atomic_load(&u->kill)};
  jd_ending_settle(&e);
  u->exit_code = e.exit_code;
  u->kill_sent = e.kill_sent;
}

void unit_wait(jd_unit *u) {
  dk_client *dk = u->m->ctx->dk;
  bool unsure = false; /* a kill call that may have reached it */
  /* Its last figures, and a thaw of a container the clock froze (a frozen
   * process takes no signal on some kernels), before any kill. */
  jd_clock_release(u->m, u);
  if (atomic_load(&u->kill) != JD_KILL_NONE)
    unit_kill(u, &unsure);
  /* Ended on its own with 0: the die event says so before the engine's
   * cleanup is over (exit_event.h). */
  char label[200];
  snprintf(label, sizeof label, "%s=%s", JD_LABEL_RUN, u->m->run_key);
  int64_t ecode = -1;
  if (!u->kill_sent && atomic_load(&u->kill) == JD_KILL_NONE &&
      !jd_exit_event(&ecode, dk, u->id, label, u->since_ms, EXIT_EVENT_MS) && ecode == 0) {
    u->exit_code = 0;
    return;
  }
  dk_call wcall = {.deadline_ms = jd_mono_ms() + UNIT_WAIT_MS};
  int64_t code = -1;
  int rc = dk_container_wait(&code, dk, u->id, NULL, &wcall);
  u->exit_code = code;
  /* Gone before the judger removed it: someone else did (another judger's
   * sweep, docker rm -f). */
  if (rc == DK_ENOTFOUND) {
    unit_vanished(u);
    return;
  }
  if (rc) {
    u->engine_error = true;
    unit_set_message(u, "wait", rc);
  }
  dk_container_info *info = NULL;
  if (!rc && !(rc = dk_container_inspect(&info, dk, u->id))) {
    unit_ending(u, info, unsure);
  } else if (rc == DK_ENOTFOUND) {
    unit_vanished(u);
  } else if (rc && !u->engine_error) {
    u->engine_error = true;
    unit_set_message(u, "inspect", rc);
  }
  dk_container_info_free(info);
}
