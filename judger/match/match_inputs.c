/* A match's inputs (match_spec.h "inputs", docs/match-spec.md "Inputs"):
 * before anything of the match is built or made, each one is fetched into
 * the host's cache or found there (match/input_cache.h), opened and held
 * with a shared lock until the match is freed (so `judger gc` leaves it);
 * the game logic's unit binds each at /inputs/<name>, read-only
 * (match_unit_cfg.c). A task's published output was put in the cache by the
 * daemon before the run (daemon/publish.h), which filled its sha256. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "match/input_cache.h"
#include "match/match_internal.h"

struct jd_match_inputs {
  size_t n;
  int fd[JD_MATCH_MAX_INPUTS];
  char path[JD_MATCH_MAX_INPUTS][PATH_MAX];
};

int jd_match_inputs_local(const jd_match_spec *s, char *err, size_t errlen) {
  for (size_t i = 0; i < s->ninputs; i++)
    if (s->inputs[i].task && !s->inputs[i].sha256[0])
      return jd_fail(err, errlen,
                     "inputs[%zu]: task %s's published output %s is read from the queue by the "
                     "daemon; a match run without Redis takes {\"url\", \"sha256\"} inputs only",
                     i, s->inputs[i].task, s->inputs[i].file);
  return 0;
}

/* The bytes input i may fetch: its max_bytes within the host's. -1 with
 * the status set when it asks for more. */
static int input_cap(jd_match *m, size_t i, int64_t *cap) {
  int64_t host = m->ctx->input_max_bytes > 0 ? m->ctx->input_max_bytes : JD_INPUT_MAX_BYTES_DEFAULT;
  int64_t want = m->spec->inputs[i].max_bytes;
  if (want > host) {
    jd_match_set_status(m, JD_MATCH_STATUS_FAILED,
                        "inputs[%zu].max_bytes: %lld is above this host's input_max_bytes (%lld)",
                        i, (long long)want, (long long)host);
    return -1;
  }
  *cap = want > 0 ? want : host;
  return 0;
}

/* Input i fetched (a URL's) and opened into in. -1 with the status set. */
static int input_one(jd_match *m, struct jd_match_inputs *in, size_t i) {
  const jd_match_input *x = &m->spec->inputs[i];
  const char *state = m->ctx->state_dir ? m->ctx->state_dir : jd_state_dir_default();
  char why[1024] = "";
  int64_t cap = 0;
  bool missing = false, fetched = false;
  jd_fail_kind kind = JD_FAIL_SYSTEM;
  /* A file gc removed between the fetch and the open is fetched again. */
  for (int round = 0; round < 2; round++) {
    if (x->url && (input_cap(m, i, &cap) ||
                   jd_input_fetch(&fetched, state, &m->ctx->policy, x->url, x->sha256, cap,
                                  m->hooks ? m->hooks->cancel : NULL, &kind, why, sizeof why)))
      break;
    kind = JD_FAIL_SYSTEM;
    if (!jd_input_open(&in->fd[i], &missing, in->path[i], sizeof in->path[i], state, x->sha256, why,
                       sizeof why)) {
      jd_log(JD_LOG_INFO, "match.input", "%s: inputs[%zu] %s: %s %.12s", m->run_key, i, x->name,
             fetched ? "fetched" : "cached", x->sha256);
      return 0;
    }
    if (!missing || !x->url)
      break;
  }
  if (m->has_status)
    return -1; /* input_cap's */
  if (jd_match_cancel_fired(m))
    jd_match_set_status(m, JD_MATCH_STATUS_CANCELLED, "cancelled while fetching inputs");
  else if (kind == JD_FAIL_SYSTEM && !(x->task && missing))
    jd_match_set_status(m, JD_MATCH_STATUS_ERROR, "inputs[%zu]: %s", i, why);
  else if (x->task)
    jd_match_set_status(m, JD_MATCH_STATUS_FAILED,
                        "inputs[%zu]: task %s has no published output %s", i, x->task, x->file);
  else
    jd_match_set_status(m, JD_MATCH_STATUS_FAILED, "inputs[%zu]: %s", i, why);
  return -1;
}

int jd_match_inputs_prepare(jd_match *m) {
  const jd_match_spec *s = m->spec;
  if (!s->ninputs)
    return 0;
  char why[512];
  for (size_t i = 0; i < s->ninputs; i++)
    if (s->inputs[i].unresolved) {
      jd_match_set_status(m, JD_MATCH_STATUS_FAILED, "%s", s->inputs[i].unresolved);
      return -1;
    }
  if (jd_match_inputs_local(s, why, sizeof why)) {
    jd_match_set_status(m, JD_MATCH_STATUS_FAILED, "%s", why);
    return -1;
  }
  struct jd_match_inputs *in = calloc(1, sizeof *in);
  if (!in) {
    jd_match_set_status(m, JD_MATCH_STATUS_ERROR, "out of memory");
    return -1;
  }
  for (size_t i = 0; i < JD_MATCH_MAX_INPUTS; i++)
    in->fd[i] = -1;
  in->n = s->ninputs;
  m->inputs = in;
  for (size_t i = 0; i < s->ninputs; i++)
    if (input_one(m, in, i))
      return -1;
  return 0;
}

const char *jd_match_input_path(const jd_match *m, size_t i) {
  return m->inputs && i < m->inputs->n && m->inputs->fd[i] >= 0 ? m->inputs->path[i] : NULL;
}

void jd_match_inputs_release(jd_match *m) {
  if (!m->inputs)
    return;
  for (size_t i = 0; i < m->inputs->n; i++)
    if (m->inputs->fd[i] >= 0)
      close(m->inputs->fd[i]);
  free(m->inputs);
  m->inputs = NULL;
}
