/* Matches: preparing the programs (see match_internal.h). Every program of
 * the spec becomes a run image (built unless the spec names an image); a
 * program whose build failed is CANCEL, the match goes on without it. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "build/build.h"
#include "common/error.h"
#include "common/labels.h"
#include "common/utf8.h"
#include "match/match_internal.h"

static bool same_str(const char *a, const char *b) {
  return (!a && !b) || (a && b && !strcmp(a, b));
}

static bool same_argv(char *const *a, char *const *b) {
  if (!a || !b)
    return a == b;
  for (; *a && *b; a++, b++)
    if (strcmp(*a, *b))
      return false;
  return !*a && !*b;
}

/* Everything that makes a program: its id, its source, its image and its
 * command (two entries with the same id and dir but another cmd are two
 * programs). */
static bool same_program(const jd_match_program *a, const jd_match_program *b) {
  return same_str(a->id, b->id) && same_str(a->dir, b->dir) && same_str(a->git_url, b->git_url) &&
         same_str(a->git_ref, b->git_ref) && same_str(a->tar_url, b->tar_url) &&
         same_str(a->image, b->image) && same_argv(a->cmd, b->cmd);
}

void jd_ready_clear(jd_ready *r) {
  free(r->image);
  free(r->app_dir);
  free(r->message);
  free(r->build_log);
  dk_image_info_free(r->info);
  memset(r, 0, sizeof *r);
}

static int ready_copy(jd_ready *dst, const jd_ready *src) {
  dst->image = src->image ? strdup(src->image) : NULL;
  dst->app_dir = src->app_dir ? strdup(src->app_dir) : NULL;
  dst->message = src->message ? strdup(src->message) : NULL;
  dst->build_log = src->build_log ? strdup(src->build_log) : NULL;
  dst->cmd = src->cmd;
  dst->cancelled = src->cancelled;
  dst->info = dk_image_info_dup(src->info);
  return (src->image && !dst->image) || (src->app_dir && !dst->app_dir) ||
                 (src->info && !dst->info) || (src->build_log && !dst->build_log)
             ? -1
             : 0;
}

/* The image's inspect, once per program: every container of it reads its
 * declared volumes (common/volumes.h) and its entry point from it. A
 * failure is left to the units (they inspect themselves, and an image
 * that is not there fails their create as it always did). */
static void ready_inspect(jd_match *m, jd_ready *r) {
  if (r->image && !r->cancelled && dk_image_inspect(&r->info, m->ctx->dk, r->image))
    r->info = NULL;
}

/* One program to prepare, on a build thread: its progress lines carry its
 * name ("ai-bot", "game_logic-chess") so builds at once stay readable. */
typedef struct prep_job {
  struct prep_set *set;
  const jd_match_program *p;
  jd_domain domain;
  jd_ready *r;
  char label[80];
  bool failed;    /* a system fault: why says what */
  char why[2048]; /* one line */
} prep_job;

/* Every program of the match, and the threads that build them. */
typedef struct prep_set {
  jd_match *m;
  pthread_mutex_t mu; /* next, stop, and one progress call at a time */
  prep_job *jobs;
  size_t njobs, next;
  bool stop; /* a system fault, a cancel, or the game logic failed */
} prep_set;

static void prepare_progress(void *ud, const char *line) {
  prep_job *j = ud;
  jd_match_event ev = jd_match_event_of(JD_EVENT_PROGRAM_BUILD, NULL);
  ev.build.program = j->label;
  ev.build.line = line; /* build output */
  pthread_mutex_lock(&j->set->mu);
  jd_match_emit(j->set->m, &ev);
  pthread_mutex_unlock(&j->set->mu);
}

/* The build of program p: its whole pipeline, labelled and cancelled as
 * the caller says. */
static jd_build_request program_request(const jd_match_program *p, jd_domain domain,
                                        const dk_kv *labels, size_t nlabels, dk_cancel *cancel) {
  return (jd_build_request){.ref = {.domain = domain,
                                    .id = p->id,
                                    .dir = p->dir,
                                    .git_url = p->git_url,
                                    .git_ref = p->git_ref,
                                    .tar_url = p->tar_url},
                            .ops = JD_BUILD_OP_ALL,
                            .labels = labels,
                            .nlabels = nlabels,
                            .cancel = cancel};
}

/* Fills r for one program. Returns 0 (r->cancelled says whether its build
 * failed), or -1 for a system fault with err saying what. */
static int prepare_one(jd_match *m, prep_job *j, const jd_match_program *p, jd_domain domain,
                       jd_ready *r, char *err, size_t errlen) {
  r->cmd = (const char *const *)p->cmd;
  if (p->image) {
    r->image = strdup(p->image);
    r->app_dir = p->dir ? strdup(p->dir) : NULL;
    return r->image && (!p->dir || r->app_dir) ? 0 : jd_fail(err, errlen, "out of memory");
  }
  /* The whole build pipeline, with the match's cancel token, so SIGINT
   * stops a long build too. Its containers, networks and proxies carry the
   * match's owner label: the daemon's sweep keeps what a running task
   * owns, and a match's builds are the match's. */
  const dk_kv owner[] = {{JD_LABEL_MATCH, m->spec->id}};
  jd_build_request req = program_request(p, domain, owner, 1, m->hooks ? m->hooks->cancel : NULL);
  req.progress = prepare_progress;
  req.ud = j;
  jd_build_result *b = NULL;
  int rc = jd_build_run(&b, m->ctx, &req);
  if (rc || !b) {
    jd_build_result_free(b);
    return jd_fail(err, errlen, "out of memory");
  }
  if (b->exit_code == 3) {
    /* A system fault (engine down, disk full), not the program's. */
    rc = jd_fail(err, errlen, "preparing %s %s: %s", jd_domain_name(domain), p->id,
                 b->message ? b->message : "build failed");
  } else if (b->exit_code != 0 || b->verdict != JD_VERDICT_OK) {
    /* Its build failed, or its reference is unusable (exit code 2: a git
     * URL that does not resolve...): the program's fault either way. */
    r->cancelled = true;
    if (asprintf(&r->message, "build %s: %s",
                 jd_build_result_verdict(b) ? jd_build_result_verdict(b) : "invalid",
                 b->message ? b->message : "failed") < 0)
      r->message = NULL;
    /* The compiler's words, for build_<i>.log (match_collect.c): already
     * capped at the build's log_max; taken over, not copied. */
    r->build_log = b->log;
    b->log = NULL;
  } else {
    r->image = b->run.tag ? strdup(b->run.tag) : NULL;
    r->app_dir = b->artifacts_dir ? strdup(b->artifacts_dir) : NULL;
    if (!r->image)
      rc = jd_fail(err, errlen, "out of memory");
  }
  jd_build_result_free(b);
  return rc;
}

/* True, with the match's status set, when the preparation just done must
 * stop the match: its cancel fired, or a system fault (failed, why). The
 * cancel is looked at after each preparation (a build is what takes time),
 * which covers the start of the next one too. */
static bool preparation_stops(jd_match *m, bool failed, const char *why) {
  if (jd_match_cancel_fired(m)) {
    jd_match_set_status(m, JD_MATCH_STATUS_CANCELLED, "cancelled while preparing programs");
    return true;
  }
  if (failed) {
    jd_match_set_status(m, JD_MATCH_STATUS_ERROR, "%s", why);
    return true;
  }
  return false;
}

static void ready_progress(jd_match *m, size_t i) {
  jd_match_event ev = jd_match_event_of(JD_EVENT_PROGRAM_READY, NULL);
  ev.ai = (int)i;
  ev.ready.id = m->spec->players[i].id;
  ev.ready.cancelled = m->ai_ready[i].cancelled;
  jd_match_emit(m, &ev);
}

/* The index of an earlier player that is the same program as player i, or
 * i: one AI may appear several times in the list, it is prepared once. */
static size_t first_same(const jd_match_spec *s, size_t i) {
  size_t j = 0;
  while (j < i && !same_program(&s->players[j], &s->players[i]))
    j++;
  return j;
}

/* A build thread: takes the next program until none is left or the
 * preparation must stop (the engine's build cache is safe to share). */
static void *prep_worker(void *arg) {
  prep_set *set = arg;
  for (;;) {
    pthread_mutex_lock(&set->mu);
    bool stop = set->stop || jd_match_cancel_fired(set->m) || set->next >= set->njobs;
    prep_job *j = stop ? NULL : &set->jobs[set->next++];
    pthread_mutex_unlock(&set->mu);
    if (!j)
      return NULL;
    j->failed = prepare_one(set->m, j, j->p, j->domain, j->r, j->why, sizeof j->why) != 0;
    if (!j->failed)
      ready_inspect(set->m, j->r);
    pthread_mutex_lock(&set->mu);
    /* A system fault or a game logic that did not build ends the match:
     * the builds not begun are not begun. */
    if (j->failed || (j->domain == JD_DOMAIN_GAME_LOGIC && j->r->cancelled))
      set->stop = true;
    pthread_mutex_unlock(&set->mu);
  }
}

/* Runs the jobs on up to ctx->build_jobs threads (this one included). */
static void prep_run(prep_set *set) {
  int want = set->m->ctx->build_jobs > 0 ? set->m->ctx->build_jobs : jd_build_jobs_default();
  size_t nthreads = (size_t)want < set->njobs ? (size_t)want : set->njobs;
  pthread_t threads[JD_MATCH_MAX_AIS + 1];
  size_t started = 0;
  while (started + 1 < nthreads && pthread_create(&threads[started], NULL, prep_worker, set) == 0)
    started++;
  prep_worker(set); /* a thread that could not start: this one does its share */
  for (size_t i = 0; i < started; i++)
    pthread_join(threads[i], NULL);
}

int jd_match_prepare(jd_match *m) {
  const jd_match_spec *s = m->spec;
  prep_set set = {.m = m};
  int rc = -1;
  pthread_mutex_init(&set.mu, NULL);
  set.jobs = calloc(s->nplayers + 1, sizeof *set.jobs);
  if (!set.jobs) {
    jd_match_set_status(m, JD_MATCH_STATUS_ERROR, "%s", dk_strerror(DK_ENOMEM));
    goto done;
  }
  /* The game logic first: with fewer threads than programs it starts
   * first, and its failure stops what has not begun. */
  set.jobs[set.njobs++] = (prep_job){
      .set = &set, .p = &s->game_logic, .domain = JD_DOMAIN_GAME_LOGIC, .r = &m->gl_ready};
  for (size_t i = 0; i < s->nplayers; i++)
    if (first_same(s, i) == i)
      set.jobs[set.njobs++] = (prep_job){
          .set = &set, .p = &s->players[i], .domain = JD_DOMAIN_AI, .r = &m->ai_ready[i]};
  for (size_t k = 0; k < set.njobs; k++)
    snprintf(set.jobs[k].label, sizeof set.jobs[k].label, "%s-%s",
             jd_domain_name(set.jobs[k].domain), set.jobs[k].p->id);
  prep_run(&set);
  /* The outcome in spec order: the game logic, then each player. */
  if (preparation_stops(m, set.jobs[0].failed, set.jobs[0].why))
    goto done;
  if (m->gl_ready.cancelled) {
    jd_match_set_status(m, JD_MATCH_STATUS_FAILED, "game logic %s", m->gl_ready.message);
    goto done;
  }
  for (size_t i = 0, k = 1; i < s->nplayers; i++) {
    size_t j = first_same(s, i);
    bool failed = false;
    const char *why = "out of memory";
    if (j < i) {
      failed = ready_copy(&m->ai_ready[i], &m->ai_ready[j]) != 0;
    } else {
      failed = set.jobs[k].failed;
      why = set.jobs[k].why;
      k++;
    }
    if (preparation_stops(m, failed, why))
      goto done;
    ready_progress(m, i);
  }
  rc = 0;
done:
  free(set.jobs);
  pthread_mutex_destroy(&set.mu);
  return rc;
}

/* One program built ahead: 0 (ready, or its own fault), -1 cancelled or a
 * system fault. */
static int build_ahead(size_t *built, jd_ctx *ctx, const jd_match_program *p, jd_domain domain,
                       const dk_kv *labels, size_t nlabels, dk_cancel *cancel, char *err,
                       size_t errlen) {
  if (p->image)
    return 0;
  if (cancel && dk_cancel_fired(cancel))
    return jd_fail(err, errlen, "cancelled");
  jd_build_request req = program_request(p, domain, labels, nlabels, cancel);
  jd_build_result *b = NULL;
  if (jd_build_run(&b, ctx, &req) || !b) {
    jd_build_result_free(b);
    return jd_fail(err, errlen, "out of memory");
  }
  int rc = 0;
  if (cancel && dk_cancel_fired(cancel))
    rc = jd_fail(err, errlen, "cancelled");
  else if (b->exit_code == 3)
    rc = jd_fail(err, errlen, "%s %s: %s", jd_domain_name(domain), p->id,
                 b->message ? b->message : "build failed");
  else if (b->exit_code == 0 && !b->run.cached)
    (*built)++;
  jd_build_result_free(b);
  return rc;
}

int jd_match_build_programs(size_t *built, jd_ctx *ctx, const jd_match_spec *spec,
                            const dk_kv *labels, size_t nlabels, dk_cancel *cancel, char *err,
                            size_t errlen) {
  *built = 0;
  if (build_ahead(built, ctx, &spec->game_logic, JD_DOMAIN_GAME_LOGIC, labels, nlabels, cancel, err,
                  errlen))
    return -1;
  for (size_t i = 0; i < spec->nplayers; i++)
    if (first_same(spec, i) == i && build_ahead(built, ctx, &spec->players[i], JD_DOMAIN_AI, labels,
                                                nlabels, cancel, err, errlen))
      return -1;
  return 0;
}
