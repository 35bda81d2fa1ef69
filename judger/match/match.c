/* Matches: the run flow (see match.h). Preparation, the work directory and
 * network, then the pipe loop (match_loop.c) with one thread per container
 * (match_unit.c), then collection and cleanup on every path. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "build/build.h"
#include "common/log.h"
#include "match/match_internal.h"
#include "match/match_result.h"
#include "match/match_spec.h"
#include "build/program.h"
#include "common/util.h"
#include "common/clock.h"
#include "common/labels.h"
#include "common/context.h"


/* ---- preparation ------------------------------------------------------- */

static bool same_program(const jd_match_program *a, const jd_match_program *b) {
#define EQ(f) ((!a->f && !b->f) || (a->f && b->f && !strcmp(a->f, b->f)))
  return EQ(id) && EQ(dir) && EQ(git_url) && EQ(git_ref) && EQ(tar_url) && EQ(image);
#undef EQ
}

static void ready_clear(jd_ready *r) {
  free(r->image);
  free(r->app_dir);
  free(r->message);
  memset(r, 0, sizeof *r);
}

static int ready_copy(jd_ready *dst, const jd_ready *src) {
  dst->image = src->image ? strdup(src->image) : NULL;
  dst->app_dir = src->app_dir ? strdup(src->app_dir) : NULL;
  dst->message = src->message ? strdup(src->message) : NULL;
  dst->cmd = src->cmd;
  dst->cancelled = src->cancelled;
  return (src->image && !dst->image) || (src->app_dir && !dst->app_dir) ? -1 : 0;
}

static void prepare_progress(void *ud, const char *line) {
  jd_match *m = ud;
  json_object *o = json_object_new_object();
  if (!o)
    return;
  json_object_object_add(o, "event", json_object_new_string("program.build"));
  json_object_object_add(o, "line", json_object_new_string(line));
  jd_match_progress(m, o);
}

/* Fills r for one program. Returns 0 (r->cancelled says whether its build
 * failed) or a negative code for a system fault, with *why set. */
static int prepare_one(jd_match *m, const jd_match_program *p, jd_domain domain, jd_ready *r,
                       char **why) {
  r->cmd = (const char *const *)p->cmd;
  if (p->image) {
    r->image = strdup(p->image);
    r->app_dir = p->dir ? strdup(p->dir) : NULL;
    return r->image && (!p->dir || r->app_dir) ? 0 : DK_ENOMEM;
  }
  /* jd_build_run rather than jd_program_prepare: it takes the match's
   * cancel token, so SIGINT stops a long build too. */
  jd_build_request req = {.ref = {.domain = domain,
                                  .id = p->id,
                                  .dir = p->dir,
                                  .git_url = p->git_url,
                                  .git_ref = p->git_ref,
                                  .tar_url = p->tar_url},
                          .ops = JD_BUILD_OP_ALL,
                          .progress = prepare_progress,
                          .ud = m,
                          .cancel = m->hooks ? m->hooks->cancel : NULL};
  jd_build_result *b = NULL;
  int rc = jd_build_run(&b, m->ctx, &req);
  if (rc || !b) {
    jd_build_result_free(b);
    return DK_ENOMEM;
  }
  if (b->exit_code == 3) {
    /* A system fault (engine down, disk full), not the program's. */
    if (asprintf(why, "preparing %s %s: %s", jd_domain_name(domain), p->id,
                 b->message ? b->message : "build failed") < 0)
      *why = NULL;
    rc = b->error_code < -1 ? b->error_code : DK_EINTERNAL;
  } else if (b->exit_code != 0 || b->verdict != JD_VERDICT_OK) {
    /* Its build failed, or its reference is unusable (exit code 2: a git
     * URL that does not resolve...): the program's fault either way. */
    r->cancelled = true;
    if (asprintf(&r->message, "build %s: %s",
                 jd_build_result_verdict(b) ? jd_build_result_verdict(b) : "invalid",
                 b->message ? b->message : "failed") < 0)
      r->message = NULL;
  } else {
    r->image = b->run.tag ? strdup(b->run.tag) : NULL;
    r->app_dir = b->artifacts_dir ? strdup(b->artifacts_dir) : NULL;
    if (!r->image)
      rc = DK_ENOMEM;
  }
  jd_build_result_free(b);
  return rc;
}

static bool cancel_fired(jd_match *m) {
  return m->hooks && m->hooks->cancel && dk_cancel_fired(m->hooks->cancel);
}

/* True, with the match's status set, once its cancel fired. */
static bool cancelled_while_preparing(jd_match *m) {
  if (!cancel_fired(m))
    return false;
  jd_match_set_status(m, "cancelled", "cancelled while preparing programs");
  return true;
}

/* Returns 0 when the match can go on. */
static int prepare_all(jd_match *m) {
  const jd_match_spec *s = m->spec;
  char *why = NULL;
  int rc = prepare_one(m, &s->game_logic, JD_DOMAIN_GAME_LOGIC, &m->gl_ready, &why);
  if (cancelled_while_preparing(m)) {
    rc = -1;
    goto done;
  }
  if (rc) {
    jd_match_set_status(m, "error", "%s", why ? why : dk_strerror(rc));
    goto done;
  }
  if (m->gl_ready.cancelled) {
    jd_match_set_status(m, "failed", "game logic %s", m->gl_ready.message);
    rc = -1;
    goto done;
  }
  /* The cancel is looked at after each preparation (a build is what takes
   * time), which covers the start of the next one too. */
  for (size_t i = 0; i < s->nplayers; i++) {
    /* One AI may appear several times in the list: prepare it once. */
    size_t j = 0;
    while (j < i && !same_program(&s->players[j], &s->players[i]))
      j++;
    if (j < i)
      rc = ready_copy(&m->ai_ready[i], &m->ai_ready[j]) ? DK_ENOMEM : 0;
    else
      rc = prepare_one(m, &s->players[i], JD_DOMAIN_AI, &m->ai_ready[i], &why);
    if (cancelled_while_preparing(m)) {
      rc = -1;
      goto done;
    }
    if (rc) {
      jd_match_set_status(m, "error", "%s", why ? why : dk_strerror(rc));
      goto done;
    }
    json_object *o = json_object_new_object();
    if (o) {
      json_object_object_add(o, "event", json_object_new_string("program.ready"));
      json_object_object_add(o, "ai", json_object_new_int((int)i));
      json_object_object_add(o, "id", json_object_new_string(s->players[i].id));
      json_object_object_add(o, "cancelled", json_object_new_boolean(m->ai_ready[i].cancelled));
    }
    jd_match_progress(m, o);
  }
done:
  free(why);
  return rc;
}

/* ---- work directory and network --------------------------------------- */

static int path_in(char **out, const char *dir, const char *name) {
  return asprintf(out, "%s/%s", dir, name) < 0 ? (*out = NULL, -1) : 0;
}

static int setup_workdir(jd_match *m) {
  const char *state =
      m->ctx->state_dir && *m->ctx->state_dir ? m->ctx->state_dir : JD_STATE_DIR_DEFAULT;
  char *matches = NULL;
  int rc = -1;
  if (path_in(&matches, state, "matches") || jd_mkdir_p(matches, 0700))
    goto cleanup;
  if (path_in(&m->work_dir, matches, m->run_key))
    goto cleanup;
  /* The run key is random: an existing directory is not ours, and must not
   * be removed with ours when the match ends. */
  if (mkdir(m->work_dir, 0700)) {
    int saved = errno;
    free(m->work_dir);
    m->work_dir = NULL;
    errno = saved;
    goto cleanup;
  }
  if (path_in(&m->cmd_path, m->work_dir, "cmd") || path_in(&m->ev_path, m->work_dir, "events") ||
      path_in(&m->json_path, m->work_dir, "match.json") ||
      path_in(&m->gl_out, m->work_dir, "out") || path_in(&m->spool_dir, m->work_dir, "logs"))
    goto cleanup;
  /* The game logic runs as another user (65534 by default): the FIFOs and
   * out/ are open to it; the 0700 work dir keeps other host users out. */
  if (mkdir(m->gl_out, 0777) || chmod(m->gl_out, 0777) || mkdir(m->spool_dir, 0700))
    goto cleanup;
  if (mkfifo(m->cmd_path, 0666) || chmod(m->cmd_path, 0666) || mkfifo(m->ev_path, 0666) ||
      chmod(m->ev_path, 0666))
    goto cleanup;
  const char *tokens[JD_MATCH_MAX_AIS];
  for (size_t i = 0; i < m->spec->nplayers; i++)
    tokens[i] = m->tokens[i];
  char *json = jd_match_game_json(m->spec, tokens);
  if (!json)
    goto cleanup;
  int w = jd_write_file(m->json_path, json, strlen(json));
  free(json);
  if (w || chmod(m->json_path, 0644))
    goto cleanup;
  /* Read+write opens never block and never see EOF: the game logic may
   * open, close and reopen its ends as it likes (Hiper's game logics do). */
  m->cmd_fd = open(m->cmd_path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
  m->ev_fd = open(m->ev_path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (m->cmd_fd < 0 || m->ev_fd < 0)
    goto cleanup;
  rc = 0;
cleanup:
  if (rc)
    jd_match_set_status(m, "error", "match work directory under %s: %s", state, strerror(errno));
  free(matches);
  return rc;
}

static int create_network(jd_match *m) {
  dk_kv labels[4] = {{JD_LABEL_HOST, m->ctx->host_id},
                     {JD_LABEL_MATCH, m->spec->id},
                     {JD_LABEL_RUN, m->run_key},
                     {JD_LABEL_ROLE, "network"}};
  /* Internal: no route out. inhibit_ipv4: the host gets no address on the
   * bridge, so containers cannot reach services listening on the host
   * either (an internal bridge otherwise answers on its gateway address). */
  dk_kv options[1] = {{"com.docker.network.bridge.inhibit_ipv4", "true"}};
  dk_network_config nc = {.internal = true,
                          .check_duplicate = true,
                          .labels = labels,
                          .nlabels = 4,
                          .options = options,
                          .noptions = 1};
  if (asprintf(&m->net_name, "judger-%s-%s", m->ctx->host_id, m->run_key) < 0) {
    m->net_name = NULL;
    jd_match_set_status(m, "error", "out of memory");
    return -1;
  }
  int rc = dk_network_create(&m->net_id, m->ctx->dk, m->net_name, &nc);
  if (rc) {
    const dk_error *e = dk_error_last();
    jd_match_set_status(m, "error", "creating the match network: %s",
                        e && e->code == rc ? e->message : dk_strerror(rc));
    return -1;
  }
  return 0;
}

/* Removes whatever carries this run's label (containers a unit thread could
 * not remove), then the network. Runs on every path. */
static void sweep(jd_match *m) {
  dk_client *dk = m->ctx->dk;
  char label[200];
  snprintf(label, sizeof label, "%s=%s", JD_LABEL_RUN, m->run_key);
  const char *labels[] = {label, NULL};
  /* Unit threads remove their own containers; this catches what they could
   * not (engine error, thread never started) at the cost of one list call. */
  dk_container_list *list = NULL;
  if (!dk_container_list_by_label(&list, dk, true, labels)) {
    for (size_t i = 0; i < list->count; i++) {
      int rc = dk_container_remove(dk, list->items[i].id, true, true);
      if (rc && rc != DK_ENOTFOUND)
        jd_log(JD_LOG_WARN, "match.sweep", "%s: container %s: %s", m->run_key, list->items[i].name,
               dk_strerror(rc));
    }
  }
  dk_container_list_free(list);
  if (m->net_id) {
    int rc = dk_network_remove(dk, m->net_id);
    for (int tries = 0; rc && rc != DK_ENOTFOUND && tries < 20; tries++) {
      /* An endpoint can outlive its container by a moment. */
      usleep(50 * 1000);
      rc = dk_network_remove(dk, m->net_id);
    }
    if (rc && rc != DK_ENOTFOUND) {
      jd_log(JD_LOG_ERROR, "match.sweep", "%s: network %s: %s", m->run_key, m->net_name,
             dk_strerror(rc));
      jd_match_set_status(m, "error", "cannot remove the match network: %s", dk_strerror(rc));
    }
  }
}

/* ---- collection -------------------------------------------------------- */

typedef struct copy_ctx {
  jd_match *m;
  jd_match_result *res;
  const char *src_root;
  size_t root_len;
  int64_t budget;
  bool over;
} copy_ctx;

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
     * never followed or reproduced. */
    int rc = copy_file(path, dst, &c->budget);
    if (rc == 1 && !c->over) {
      c->over = true;
      jd_log(JD_LOG_WARN, "match.outputs", "%s: outputs over %lld bytes: %s cut", c->m->run_key,
             (long long)c->m->spec->limits.out_max, rel);
    }
    if (rc >= 0) {
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

static void instance_from_unit(jd_instance_result *r, const jd_unit *u) {
  r->name = strdup(u->ai < 0 ? "game_logic" : u->name);
  r->ai = u->ai;
  r->verdict = strdup(u->verdict ? u->verdict : "UE");
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

static void collect(jd_match *m, jd_match_result *res) {
  size_t nplayer_units = m->nunits > 1 ? m->nunits - 1 : 0;
  res->instances = calloc(nplayer_units ? nplayer_units : 1, sizeof *res->instances);
  /* res->nplayers: 0 when its players could not be allocated. */
  for (size_t i = 0; i < res->nplayers; i++) {
    jd_player_result *p = &res->players[i];
    p->exit_code = -1;
    const char *verdict = NULL;
    char *log = NULL;
    if (asprintf(&p->log, "player_%zu.log", i) < 0)
      p->log = NULL;
    if (asprintf(&log, "%s/player_%zu.log", m->out_dir, i) < 0)
      log = NULL;
    if (log) {
      /* Always present, even empty, so consumers need not special-case. */
      int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
      if (fd >= 0)
        close(fd);
    }
    for (size_t k = 1; k < m->nunits; k++) {
      jd_unit *u = m->units[k];
      if (u->ai != (int)i)
        continue;
      p->instances++;
      p->oom_killed = p->oom_killed || u->oom_killed;
      p->log_truncated = p->log_truncated || u->log_truncated;
      if (!verdict || !strcmp(verdict, "OK")) {
        verdict = u->verdict ? u->verdict : "UE";
        p->exit_code = u->exit_code;
      }
      if (log) {
        char header[256], ts[32];
        jd_time_rfc3339(ts, u->started_ms ? u->started_ms : u->ended_ms);
        snprintf(
            header, sizeof header,
            "===== judger: instance %s of AI %zu (#%d, started %s, verdict %s, exit %lld) =====",
            u->name, i, p->instances, ts, u->verdict ? u->verdict : "UE", (long long)u->exit_code);
        if (jd_player_log_append(log, header, u->spool_path))
          jd_log(JD_LOG_WARN, "match.logs", "%s: %s: %s", m->run_key, log, strerror(errno));
      }
    }
    free(log);
    if (m->ai_ready && m->ai_ready[i].cancelled) {
      verdict = "CANCEL";
      p->build_message = m->ai_ready[i].message ? strdup(m->ai_ready[i].message) : NULL;
    }
    /* Never started: when the match ran (finished, or failed by its game
     * logic) the game logic chose so (OK, 0 instances); when the judger's
     * side stopped it (error, cancelled) the player never had its chance,
     * which must not read as a clean result (UE). */
    if (!verdict)
      verdict = m->status && (!strcmp(m->status, "error") || !strcmp(m->status, "cancelled"))
                    ? "UE"
                    : "OK";
    p->verdict = strdup(verdict);
    if (m->scores)
      p->score = m->scores[i];
    if (m->messages && m->messages[i])
      p->message = strdup(m->messages[i]);
  }
  for (size_t k = 1; k < m->nunits && res->instances; k++)
    instance_from_unit(&res->instances[res->ninstances++], m->units[k]);
  if (m->nunits) {
    instance_from_unit(&res->game_logic, m->units[0]);
  } else {
    res->game_logic.name = strdup("game_logic");
    res->game_logic.ai = -1;
    res->game_logic.exit_code = -1;
    res->game_logic.verdict = strdup(m->gl_ready.cancelled ? "CANCEL" : "UE");
  }
  res->has_scores = m->scores != NULL;
  res->refused_commands = m->refusals;
  copy_outputs(m, res);
}

/* ---- the run ----------------------------------------------------------- */

static void match_free(jd_match *m) {
  for (size_t i = 0; i < m->nunits; i++)
    jd_unit_free(m->units[i]);
  free(m->units);
  ready_clear(&m->gl_ready);
  if (m->ai_ready)
    for (size_t i = 0; i < m->spec->nplayers; i++)
      ready_clear(&m->ai_ready[i]);
  free(m->ai_ready);
  if (m->cmd_fd >= 0)
    close(m->cmd_fd);
  if (m->ev_fd >= 0)
    close(m->ev_fd);
  if (m->wake_fd >= 0)
    close(m->wake_fd);
  if (m->work_dir)
    jd_rm_rf(m->work_dir);
  free(m->work_dir);
  free(m->cmd_path);
  free(m->ev_path);
  free(m->json_path);
  free(m->gl_out);
  free(m->spool_dir);
  free(m->net_name);
  free(m->net_id);
  dk_buf_free(&m->ev_out);
  jd_proto_reader_free(&m->reader);
  free(m->scores);
  if (m->messages)
    for (size_t i = 0; i < m->spec->nplayers; i++)
      free(m->messages[i]);
  free(m->messages);
  free(m->status);
  free(m->reason);
  pthread_mutex_destroy(&m->mu);
}

int jd_match_run(jd_match_result **out, jd_ctx *ctx, const jd_match_spec *spec, const char *out_dir,
                 const jd_match_hooks *hooks) {
  if (!out)
    return DK_EINVAL;
  *out = NULL;
  if (!ctx || !ctx->dk || !spec || !out_dir || !spec->nplayers || spec->nplayers > JD_MATCH_MAX_AIS)
    return DK_EINVAL;
  jd_match m = {.ctx = ctx, .spec = spec, .hooks = hooks, .out_dir = out_dir};
  m.cmd_fd = m.ev_fd = m.wake_fd = -1;
  pthread_mutex_init(&m.mu, NULL);
  dk_buf_init(&m.ev_out, 0);
  m.started_ms = jd_unix_ms();
  jd_match_result *res = calloc(1, sizeof *res);
  m.ai_ready = calloc(spec->nplayers, sizeof *m.ai_ready);
  if (!res || !m.ai_ready || jd_proto_reader_init(&m.reader, spec->limits.line_max)) {
    free(res);
    match_free(&m);
    return DK_ENOMEM;
  }
  res->players = calloc(spec->nplayers, sizeof *res->players);
  res->nplayers = res->players ? spec->nplayers : 0;
  res->match_id = strdup(spec->id);
  res->out_dir = strdup(out_dir);
  res->game_logic_log = strdup("game_logic.log");
  for (size_t i = 0; i < res->nplayers; i++) {
    res->players[i].ai = (int)i;
    res->players[i].id = strdup(spec->players[i].id);
  }
  res->started_ms = m.started_ms;

  char rnd[7];
  unsigned char key[JD_TOKEN_KEY_LEN];
  if (jd_random_hex(rnd, 3) || jd_token_key_new(key)) {
    jd_match_set_status(&m, "error", "no randomness for the run key and tokens");
    goto finish;
  }
  snprintf(m.run_key, sizeof m.run_key, "%s-%s", spec->id, rnd);
  res->run_key = strdup(m.run_key);
  for (size_t i = 0; i < spec->nplayers; i++)
    jd_token_compute(m.tokens[i], key, sizeof key, spec->id, (int)i);
  jd_start_limiter_init(&m.limiter, spec->limits.max_instances, spec->limits.max_concurrent,
                        spec->limits.starts_per_sec, jd_mono_ms());
  if (jd_mkdir_p(out_dir, 0755)) {
    jd_match_set_status(&m, "error", "cannot create %s: %s", out_dir, strerror(errno));
    goto finish;
  }
  json_object *o = json_object_new_object();
  if (o) {
    json_object_object_add(o, "event", json_object_new_string("match.prepare"));
    json_object_object_add(o, "run", json_object_new_string(m.run_key));
  }
  jd_match_progress(&m, o);
  if (prepare_all(&m))
    goto finish;
  if (cancel_fired(&m)) {
    jd_match_set_status(&m, "cancelled", "cancelled before the match started");
    goto finish;
  }
  m.wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (m.wake_fd < 0) {
    jd_match_set_status(&m, "error", "eventfd: %s", strerror(errno));
    goto finish;
  }
  if (setup_workdir(&m) || create_network(&m))
    goto cleanup;
  jd_unit *gl = NULL;
  if (jd_unit_new(&gl, &m, -1, "game_logic") || jd_unit_spawn(gl)) {
    jd_match_set_status(&m, "error", "cannot start the game logic's thread");
    goto cleanup;
  }
  gl->state = UNIT_STARTING;
  jd_match_loop(&m);

cleanup:
  for (size_t i = 0; i < m.nunits; i++)
    if (m.units[i]->thread_started)
      pthread_join(m.units[i]->thread, NULL);
  sweep(&m);
finish:
  if (!m.status)
    jd_match_set_status(&m, "error", "the match stopped without a status");
  collect(&m, res);
  res->status = strdup(m.status);
  res->reason = m.reason ? strdup(m.reason) : NULL;
  res->ended_ms = jd_unix_ms();
  if (jd_match_result_write(res, out_dir))
    jd_log(JD_LOG_ERROR, "match.result", "%s: cannot write result.json in %s: %s", m.run_key,
           out_dir, strerror(errno));
  json_object *e = json_object_new_object();
  if (e) {
    json_object_object_add(e, "event", json_object_new_string("match.done"));
    json_object_object_add(e, "status", json_object_new_string(res->status));
  }
  jd_match_progress(&m, e);
  match_free(&m);
  *out = res;
  return 0;
}
