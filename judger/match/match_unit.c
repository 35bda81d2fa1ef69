/* One container of a match and the thread doing its engine calls (see
 * match_internal.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/labels.h"
#include "common/log.h"
#include "common/oom.h"
#include "common/util.h"
#include "common/volumes.h"
#include "match/exit_event.h"
#include "match/hold.h"
#include "match/kill_event.h"
#include "match/match_internal.h"
#include "match/warm.h"

/* Bounds on engine calls a unit makes after its container ended: they must
 * not hang a match's cleanup if the engine stalls. */
#define UNIT_WAIT_MS 30000
/* Time judger-hold gets to copy the outputs out after the judger's stop. */
#define HOLD_STOP_MS 10000
/* Time the die event gets to show after the log stream ended. */
#define EXIT_EVENT_MS 2000
/* Bound on reading who ended a container (its die is already logged). */
#define KILL_EVENT_MS 5000

int jd_unit_new(jd_unit **out, jd_match *m, int ai, const char *name) {
  *out = NULL;
  jd_unit *u = calloc(1, sizeof *u);
  if (!u)
    return DK_ENOMEM;
  u->m = m;
  u->ai = ai;
  u->seq = (int)m->nunits;
  u->exit_code = -1;
  u->go_fd = -1;
  u->verdict = JD_VERDICT_UE;
  atomic_init(&u->kill, JD_KILL_NONE);
  snprintf(u->name, sizeof u->name, "%s", name);
  int rc = dk_cancel_new(&u->cancel);
  if (rc)
    goto fail;
  if (ai < 0) {
    if (asprintf(&u->cname, "judger-%s-%s-game_logic", m->ctx->host_id, m->run_key) < 0)
      u->cname = NULL;
    if (asprintf(&u->spool_path, "%s/game_logic.log", m->spool_dir) < 0)
      u->spool_path = NULL;
  } else {
    /* The sequence number keeps names unique when a player name is reused
     * after its first instance exited. */
    if (asprintf(&u->cname, "judger-%s-%s-player-%s-%d", m->ctx->host_id, m->run_key, name,
                 u->seq) < 0)
      u->cname = NULL;
    if (asprintf(&u->spool_path, "%s/%d.log", m->spool_dir, u->seq) < 0)
      u->spool_path = NULL;
  }
  if (!u->cname || !u->spool_path) {
    rc = DK_ENOMEM;
    goto fail;
  }
  if (m->nunits == m->units_cap) {
    size_t cap = m->units_cap ? m->units_cap * 2 : 8;
    jd_unit **n = realloc(m->units, cap * sizeof *n);
    if (!n) {
      rc = DK_ENOMEM;
      goto fail;
    }
    m->units = n;
    m->units_cap = cap;
  }
  m->units[m->nunits++] = u;
  *out = u;
  return 0;
fail:
  jd_unit_free(u);
  return rc;
}

void jd_unit_free(jd_unit *u) {
  if (!u)
    return;
  dk_cancel_free(u->cancel);
  free(u->cname);
  free(u->spool_path);
  free(u->net_name);
  free(u->net_id);
  free(u->gl_id);
  free(u->id);
  free(u->message);
  if (u->go_fd >= 0)
    close(u->go_fd);
  free(u->go_path);
  free(u);
}

bool jd_unit_used(const jd_unit *u) { return !u->warm || u->went; }

jd_kill_reason jd_unit_kill_reason(const jd_unit *u) {
  jd_kill_reason k = (jd_kill_reason)atomic_load(&u->kill);
  if (u->log_truncated)
    return JD_KILL_OLE;
  return u->kill_sent ? k : JD_KILL_NONE;
}

void jd_unit_request_kill(jd_unit *u, jd_kill_reason why) {
  int none = JD_KILL_NONE;
  atomic_compare_exchange_strong(&u->kill, &none, (int)why);
  /* Wakes the unit thread out of its log stream; it kills the container. */
  dk_cancel_fire(u->cancel);
}

static void set_message(jd_unit *u, const char *what, int rc) {
  if (u->message)
    return;
  const dk_error *e = dk_error_last();
  if (asprintf(&u->message, "%s: %s", what, e && e->code == rc ? e->message : dk_strerror(rc)) < 0)
    u->message = NULL;
}

/* The container was removed by someone else while the unit ran it (the
 * judger removes a container only once its unit waited for it): a system
 * fault, never the program's (match_internal.h, "outside"). */
static void unit_vanished(jd_unit *u) {
  u->outside = true;
  u->engine_error = true;
  free(u->message);
  u->message = strdup("its container was removed from outside the judger (by another judger's "
                      "sweep, or docker rm) while it ran");
}

/* ---- container configuration ------------------------------------------- */

typedef struct unit_cfg {
  dk_container_config cc;
  jd_limits_store store;
  const char *env[16];
  char *env_own[16];
  size_t nenv;
  const char *binds[8];
  char *binds_own[8];
  size_t nbinds;
  dk_kv labels[4];
  const char *aliases[2];
  const char *entrypoint[2];
  char **argv;             /* the game logic's command, run by judger-hold */
  dk_image_info *own_info; /* the image's inspect when its jd_ready has none */
  jd_volumes vols;         /* the image's declared volumes, each a tmpfs */
} unit_cfg;

static int add_env(unit_cfg *c, const char *k, const char *v) {
  char *s = NULL;
  if (asprintf(&s, "%s=%s", k, v) < 0)
    return DK_ENOMEM;
  c->env_own[c->nenv] = s;
  c->env[c->nenv++] = s;
  return 0;
}

static int add_bind(unit_cfg *c, const char *host, const char *ctr, bool ro) {
  char *s = NULL;
  if (asprintf(&s, "%s:%s%s", host, ctr, ro ? ":ro" : "") < 0)
    return DK_ENOMEM;
  c->binds_own[c->nbinds] = s;
  c->binds[c->nbinds++] = s;
  return 0;
}

static void unit_cfg_free(unit_cfg *c) {
  for (size_t i = 0; i < c->nenv; i++)
    free(c->env_own[i]);
  for (size_t i = 0; i < c->nbinds; i++)
    free(c->binds_own[i]);
  for (size_t i = 0; c->argv && c->argv[i]; i++)
    free(c->argv[i]);
  free(c->argv);
  dk_image_info_free(c->own_info);
}

/* Appends one string to a NULL-terminated argv of n entries. */
static int argv_push(char ***argv, size_t *n, const char *arg) {
  char **grown = realloc(*argv, (*n + 2) * sizeof *grown);
  if (!grown)
    return DK_ENOMEM;
  *argv = grown;
  grown[*n] = strdup(arg ? arg : "");
  if (!grown[*n])
    return DK_ENOMEM;
  grown[++*n] = NULL;
  return 0;
}

/* Appends the strings of a JSON array (NULL or not an array: nothing). */
static int argv_add(char ***argv, size_t *n, json_object *arr) {
  size_t len = json_object_is_type(arr, json_type_array) ? json_object_array_length(arr) : 0;
  int rc = 0;
  for (size_t i = 0; !rc && i < len; i++)
    rc = argv_push(argv, n, json_object_get_string(json_object_array_get_idx(arr, i)));
  return rc;
}

/* The program's command as the engine would run it (the image's
 * Entrypoint, then the spec's cmd or the image's Cmd), handed to
 * judger-hold, which becomes the entry point: the game logic's PID 1, or a
 * warm player's shim ("--warm", which execs it on the go). */
static int hold_argv(unit_cfg *c, jd_unit *u, const jd_ready *r, const dk_image_info *info) {
  json_object *root = json_tokener_parse(info->raw_json), *conf = NULL, *ep = NULL, *cmd = NULL;
  if (json_object_object_get_ex(root, "Config", &conf)) {
    json_object_object_get_ex(conf, "Entrypoint", &ep);
    json_object_object_get_ex(conf, "Cmd", &cmd);
  }
  size_t n = 0;
  int rc = u->warm ? argv_push(&c->argv, &n, "--warm") : 0;
  size_t first = n;
  if (!rc)
    rc = argv_add(&c->argv, &n, ep);
  for (size_t i = 0; !rc && r->cmd && r->cmd[i]; i++)
    rc = argv_push(&c->argv, &n, r->cmd[i]);
  if (!rc && !r->cmd)
    rc = argv_add(&c->argv, &n, cmd);
  json_object_put(root);
  if (!rc && n == first)
    rc = argv_push(&c->argv, &n, ""); /* nothing to run: judger-hold says so, 127 */
  if (rc)
    return rc;
  c->entrypoint[0] = u->warm ? JD_WARM_HOLD : JD_HOLD_PATH;
  c->cc.entrypoint = c->entrypoint;
  c->cc.cmd = (const char *const *)c->argv;
  return 0;
}

static int unit_cfg_build(unit_cfg *c, jd_unit *u) {
  jd_match *m = u->m;
  const jd_match_spec *s = m->spec;
  bool gl = u->ai < 0;
  const jd_ready *r = gl ? &m->gl_ready : &m->ai_ready[u->ai];
  const jd_role_limits *lim = gl ? &s->limits.game_logic : jd_match_player_limits(s, u->ai);
  memset(c, 0, sizeof *c);
  /* The program's inspect from its preparation: none per container. */
  const dk_image_info *info = r->info;
  if (!info) {
    int irc = dk_image_inspect(&c->own_info, m->ctx->dk, r->image);
    if (irc)
      return irc;
    info = c->own_info;
  }
  jd_limits_host_config(&c->cc.host, &c->store, lim, u->net_name ? u->net_name : m->net_name);
  c->cc.image = r->image;
  c->cc.cmd = r->cmd;
  c->cc.user = lim->user && *lim->user ? lim->user : NULL;
  c->cc.hostname = gl ? "game" : u->name;
  c->labels[0] = (dk_kv){JD_LABEL_HOST, m->ctx->host_id};
  c->labels[1] = (dk_kv){JD_LABEL_MATCH, s->id};
  c->labels[2] = (dk_kv){JD_LABEL_RUN, m->run_key};
  c->labels[3] = (dk_kv){JD_LABEL_ROLE, gl ? "game_logic" : "player"};
  c->cc.labels = c->labels;
  c->cc.nlabels = 4;
  c->aliases[0] = gl ? "game" : u->name;
  c->cc.aliases = c->aliases;
  int rc = add_env(c, "JUDGER_MATCH_ID", s->id);
  if (!rc)
    rc = add_env(c, "HOME", "/tmp");
  if (gl) {
    char n[16];
    snprintf(n, sizeof n, "%zu", s->nplayers);
    if (!rc)
      rc = add_env(c, "JUDGER_CMD_PIPE", "/judger/cmd");
    if (!rc)
      rc = add_env(c, "JUDGER_EVENT_PIPE", "/judger/events");
    if (!rc)
      rc = add_env(c, "JUDGER_MATCH_JSON", "/judger/match.json");
    if (!rc)
      rc = add_env(c, "JUDGER_OUT_DIR", "/judger/out");
    if (!rc)
      rc = add_env(c, "JUDGER_AI_COUNT", n);
    if (!rc)
      rc = add_bind(c, m->cmd_path, "/judger/cmd", false);
    if (!rc)
      rc = add_bind(c, m->ev_path, "/judger/events", false);
    if (!rc)
      rc = add_bind(c, m->json_path, "/judger/match.json", true);
    if (!rc)
      rc = add_bind(c, m->hold_path, JD_HOLD_PATH, true);
    if (!rc)
      rc = add_bind(c, m->outputs_path, JD_HOLD_FIFO, false);
    if (!rc)
      rc = hold_argv(c, u, r, info);
    jd_limits_game_logic_out(&c->cc.host, &c->store, s->limits.out_max);
  } else if (u->warm) {
    /* Its identity comes with the go (jd_warm_go). */
    if (!rc)
      rc = add_env(c, "JUDGER_GAME_HOST", "game");
    if (!rc)
      rc = add_bind(c, m->hold_path, JD_WARM_HOLD, true);
    if (!rc)
      rc = add_bind(c, u->go_path, JD_WARM_FIFO, true);
    if (!rc)
      rc = hold_argv(c, u, r, info);
  } else {
    char n[16];
    snprintf(n, sizeof n, "%d", u->ai);
    if (!rc)
      rc = add_env(c, "JUDGER_TOKEN", m->tokens[u->ai]);
    if (!rc)
      rc = add_env(c, "JUDGER_AI_INDEX", n);
    if (!rc)
      rc = add_env(c, "JUDGER_PLAYER_NAME", u->name);
    if (!rc)
      rc = add_env(c, "JUDGER_GAME_HOST", "game");
  }
  if (!rc && r->app_dir)
    rc = add_bind(c, r->app_dir, "/app", true);
  c->cc.env = c->env;
  c->cc.host.binds = c->binds;
  /* Each declared volume a tmpfs as big as /tmp, counted in the memory
   * limit: no anonymous volume on the host's disk (common/volumes.h). A
   * path that cannot be covered refuses the image (unit_create_start). */
  char err[200];
  if (!rc && jd_volumes_cover(&c->vols, (const char *const *)info->volumes, info->volumes_truncated,
                              c->cc.host.tmpfs, c->cc.host.ntmpfs, c->cc.host.binds, lim->tmpfs,
                              err, sizeof err)) {
    jd_log(JD_LOG_ERROR, "match.volumes", "%s: %s", u->cname, err);
    rc = DK_EINTERNAL;
  }
  c->cc.host.tmpfs = c->vols.tmpfs;
  c->cc.host.ntmpfs = c->vols.ntmpfs;
  return rc;
}

/* ---- the unit thread --------------------------------------------------- */

static int on_output(void *ud, int stream, const char *data, size_t len) {
  (void)stream;
  jd_log_spool *spool = ud;
  int rc = jd_log_spool_write(spool, data, len);
  /* Past the cap: stop reading; the thread marks OLE and kills. A spool I/O
   * error also stops reading (and is reported), never the match. */
  return rc ? 1 : 0;
}

static void follow_logs(jd_unit *u, jd_log_spool *spool) {
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

/* Creates and starts the container. Returns 0, or -1 with the unit's
 * message set and either marked as an engine failure or, when the image
 * could not start, given a non-zero exit code (RE). */
static int unit_create_start(jd_unit *u, const unit_cfg *cfg) {
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
    set_message(u, "create", rc);
    u->engine_error = !workdir_refused(u, cfg->cc.image);
    return -1;
  }
  /* Published under the match's lock: the loop thread hands the game
   * logic's id to player units (their networks connect it). */
  pthread_mutex_lock(&u->m->mu);
  u->id = id;
  pthread_mutex_unlock(&u->m->mu);
  if (u->ai < 0)
    jd_warm_join(u->m, id);
  rc = dk_container_start(dk, u->id);
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
    set_message(u, "start", rc);
    dk_container_info *info = NULL;
    u->exit_code =
        !dk_container_inspect(&info, dk, u->id) && info->exit_code > 0 ? info->exit_code : 127;
    dk_container_info_free(info);
    return -1;
  }
  if (rc) {
    u->engine_error = true;
    set_message(u, "start", rc);
    return -1;
  }
  return 0;
}

/* Sends the judger's kill: to the game logic first SIGUSR2, which
 * judger-hold turns into killing the game and copying its outputs out
 * (bounded by HOLD_STOP_MS, then SIGKILL); to a player SIGKILL. Returns
 * the kill call's code (0: u->kill_sent). */
static int unit_kill(jd_unit *u) {
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
  if (!rc)
    u->kill_sent = true;
  else if (rc != DK_ECONFLICT && rc != DK_ENOTFOUND)
    jd_log(JD_LOG_WARN, "match.kill", "%s: %s", u->cname, dk_strerror(rc));
  return rc;
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

/* Kills the running container if a kill was asked for, then waits for it
 * and records how it ended. */
static void unit_wait(jd_unit *u) {
  dk_client *dk = u->m->ctx->dk;
  /* 0: no kill call, or one that reached the container (kill_sent). */
  int krc = atomic_load(&u->kill) != JD_KILL_NONE ? unit_kill(u) : 0;
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
    set_message(u, "wait", rc);
  }
  dk_container_info *info = NULL;
  if (!rc && !(rc = dk_container_inspect(&info, dk, u->id))) {
    /* The judger's kill reached the running container (a kill event of
     * its own is in the log): no other kill can be told from it. Nor when
     * its kill call failed in a way that does not say "not running" (409)
     * or "gone" (404): the engine may have delivered it all the same. */
    bool delivered = u->kill_sent;
    bool maybe_ours = delivered || (krc && krc != DK_ECONFLICT && krc != DK_ENOTFOUND);
    u->exit_code = info->exit_code;
    u->oom_killed = info->oom_killed;
    /* Ended with a non-zero code the judger's kill did not cause: its own
     * doing, its memory limit's, or an outside kill (kill_event.h). */
    if (!maybe_ours && !u->oom_killed && u->exit_code != 0) {
      unit_outside_kill(
          u, info->status && (!strcmp(info->status, "removing") || !strcmp(info->status, "dead")));
      if (u->outside) {
        dk_container_info_free(info);
        return;
      }
    }
    /* SIGKILL that was not ours: the memory limit's, reported late? */
    if (!u->oom_killed && u->exit_code == 137 && !delivered)
      u->oom_killed = jd_oom_reported(dk, u->id, u->since_ms);
    /* Which ending wins, so the fields agree with the verdict: a kill call
     * that succeeded did not necessarily end it (a program that exited by
     * itself as the kill went out keeps its own exit); an OOM kill wins
     * over the judger's; "the match ended" reads as exit 0
     * (docs/match-spec.md). */
    jd_ending e = {.exit_code = u->exit_code,
                   .oom_killed = u->oom_killed,
                   .kill_sent = delivered,
                   .kill = (jd_kill_reason)atomic_load(&u->kill)};
    jd_ending_settle(&e);
    u->exit_code = e.exit_code;
    u->kill_sent = e.kill_sent;
  } else if (rc == DK_ENOTFOUND) {
    unit_vanished(u);
  } else if (rc && !u->engine_error) {
    u->engine_error = true;
    set_message(u, "inspect", rc);
  }
  dk_container_info_free(info);
}

/* Per-player isolation: the player's own internal network, which the game
 * logic joins as "game"; the player is created on it alone. Returns 0, or
 * -1 with the unit marked as an engine failure. */
static int unit_own_network(jd_unit *u) {
  jd_match *m = u->m;
  if (!u->net_name &&
      asprintf(&u->net_name, "judger-%s-%s-net-%d", m->ctx->host_id, m->run_key, u->seq) < 0) {
    u->net_name = NULL;
    if (u->warm)
      jd_warm_net_settle(u, NULL);
    u->engine_error = true;
    set_message(u, "player network", DK_ENOMEM);
    return -1;
  }
  if (u->warm) {
    /* The game logic joins it between its create and its start
     * (jd_warm_join): a connect while the engine starts a container waits
     * for that start. */
    char *id = NULL;
    int rc = jd_match_net_new(&id, m, u->net_name, 2);
    jd_warm_net_settle(u, id);
    if (rc) {
      u->engine_error = true;
      set_message(u, "player network", rc);
      return -1;
    }
    return 0;
  }
  int rc = u->gl_id ? jd_match_net_new(&u->net_id, m, u->net_name, 2) : DK_ENOTFOUND;
  if (!rc) {
    const char *aliases[] = {"game", NULL};
    rc = dk_network_connect(m->ctx->dk, u->net_id, u->gl_id, aliases);
  }
  if (rc) {
    u->engine_error = true;
    set_message(u, "player network", rc);
    return -1;
  }
  return 0;
}

static void unit_remove_network(jd_unit *u) {
  jd_match *m = u->m;
  if (!u->net_id)
    return;
  int rc = dk_network_disconnect(m->ctx->dk, u->net_id, u->gl_id, true);
  if (rc && rc != DK_ENOTFOUND)
    jd_log(JD_LOG_WARN, "match.network", "%s: disconnecting the game logic: %s", u->net_name,
           dk_strerror(rc));
  /* The sweep retries by label whatever is left. */
  jd_match_net_remove(m, u->net_id, u->net_name);
}

static void *unit_main(void *arg) {
  jd_unit *u = arg;
  jd_match *m = u->m;
  unit_cfg cfg;
  memset(&cfg, 0, sizeof cfg);
  jd_log_spool *spool = NULL;
  int rc = 0;
  jd_warm_await_retired(u);
  bool own_net = u->ai >= 0 && m->spec->isolation == JD_ISOLATION_PLAYER;
  /* A warm player's configuration (an image inspect) comes before its
   * network, which the game logic waits for (jd_warm_join). */
  if (u->warm && own_net &&
      asprintf(&u->net_name, "judger-%s-%s-net-%d", m->ctx->host_id, m->run_key, u->seq) < 0)
    u->net_name = NULL;
  rc = u->warm && own_net && !u->net_name ? DK_ENOMEM : 0;
  if (!rc && u->warm)
    rc = unit_cfg_build(&cfg, u);
  if (rc && u->warm)
    jd_warm_net_settle(u, NULL);
  if (!rc && own_net && unit_own_network(u))
    goto done;
  if (!rc && !u->warm)
    rc = unit_cfg_build(&cfg, u);
  if (rc) {
    u->engine_error = true;
    set_message(u, "configuration", rc);
    goto done;
  }
  char *why = NULL;
  if (!own_net && jd_match_network_await(m, &why)) {
    u->engine_error = true;
    u->message = why;
    goto done;
  }
  if (jd_log_spool_open(&spool, u->spool_path,
                        u->ai < 0 ? m->spec->limits.game_logic.log_max
                                  : jd_match_player_limits(m->spec, u->ai)->log_max)) {
    u->engine_error = true;
    if (asprintf(&u->message, "cannot open %s: %s", u->spool_path, strerror(errno)) < 0)
      u->message = NULL;
    goto done;
  }
  if (unit_create_start(u, &cfg))
    goto done;
  /* A warm player's start is its go (the loop thread's), not this. */
  u->since_ms = jd_unix_ms();
  if (!u->warm)
    u->started_ms = u->since_ms;
  jd_match_post(m, u, NOTE_STARTED);
  if (atomic_load(&u->kill) == JD_KILL_NONE)
    follow_logs(u, spool);
  unit_wait(u);

done:
  u->ended_ms = jd_unix_ms();
  if (spool) {
    u->log_truncated = u->log_truncated || jd_log_spool_truncated(spool);
    jd_log_spool_close(spool);
  }
  unit_cfg_free(&cfg);
  /* The game logic hears of the exit before the removal: a stopped
   * container holds no network alias, and the match is not torn down before
   * this thread is joined. */
  jd_match_post(m, u, NOTE_EXITED);
  if (u->id) {
    /* Remove now rather than at the end: resources come back at once; the
     * final sweep by label catches what this misses. */
    rc = dk_container_remove(m->ctx->dk, u->id, true, true);
    /* 409: an outside removal is in progress (unit_vanished's kin). */
    if (rc && rc != DK_ENOTFOUND && !(u->outside && rc == DK_ECONFLICT))
      jd_log(JD_LOG_WARN, "match.remove", "%s: %s", u->cname, dk_strerror(rc));
  }
  jd_warm_removed(u);
  /* A warm player's network stays for the sweep: the game logic may be
   * starting on it still. */
  if (!u->warm)
    unit_remove_network(u);
  return NULL;
}

int jd_unit_spawn(jd_unit *u) {
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  /* Unit threads only wait on the engine: a small stack keeps 100 players
   * cheap. */
  pthread_attr_setstacksize(&attr, 512 * 1024);
  int rc = pthread_create(&u->thread, &attr, unit_main, u);
  pthread_attr_destroy(&attr);
  if (rc)
    return DK_ENOMEM;
  u->thread_started = true;
  return 0;
}
