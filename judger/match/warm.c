/* Warm players (see warm.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "match/hold.h"
#include "match/warm.h"

static bool warm_enabled(const jd_match *m) { return m->spec->limits.warm && !m->ctx->warm_off; }

/* The go FIFO of u in the work directory, held open read+write by the
 * judger: the shim's open never blocks, and what the judger writes stays
 * in the pipe until the shim reads it, even before the container runs. */
static int go_fifo(jd_unit *u) {
  if (asprintf(&u->go_path, "%s/go-%d", u->m->work_dir, u->seq) < 0) {
    u->go_path = NULL;
    return -1;
  }
  /* The player runs as another user (65534 by default); the 0700 work
   * directory keeps other host users out, the read-only bind keeps the
   * player from writing its own go. */
  if (mkfifo(u->go_path, 0666) || chmod(u->go_path, 0666))
    return -1;
  u->go_fd = open(u->go_path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
  return u->go_fd < 0 ? -1 : 0;
}

void jd_warm_plan(jd_match *m) {
  if (!warm_enabled(m))
    return;
  size_t cap = (size_t)m->spec->limits.max_concurrent;
  if (cap > JD_WARM_MAX)
    cap = JD_WARM_MAX;
  if (cap > m->spec->nplayers)
    cap = m->spec->nplayers;
  m->warm = calloc(cap, sizeof *m->warm);
  if (!m->warm)
    return;
  for (size_t i = 0; i < cap; i++) {
    if (m->ai_ready[i].cancelled)
      continue;
    char name[32];
    snprintf(name, sizeof name, "p%zu", i);
    jd_unit *u = NULL;
    if (jd_unit_new(&u, m, (int)i, name))
      return;
    u->warm = true;
    u->state = UNIT_WARM;
    m->warm[m->nwarm++] = u;
    if (go_fifo(u)) {
      jd_log(JD_LOG_WARN, "match.warm", "%s: no warm container for AI %zu: %s", m->run_key, i,
             strerror(errno));
      u->state = UNIT_DONE; /* never used: not an instance */
      u->removed = true;
    }
  }
}

/* A listed warm unit that will never begin: not an instance, nothing to
 * wait for. */
static void drop(jd_unit *u) {
  u->state = UNIT_DONE;
  u->removed = true;
}

/* Begins u's thread: its network (joined by the running game logic, whose
 * id it gets here), its configuration, its container's create and start.
 * Returns 0, or -1 with u dropped. */
static int begin(jd_match *m, jd_unit *u) {
  pthread_mutex_lock(&m->mu);
  const char *gl_id = m->units[0]->id;
  u->gl_id = gl_id ? strdup(gl_id) : NULL;
  pthread_mutex_unlock(&m->mu);
  if (!u->gl_id || jd_unit_spawn(u)) {
    jd_log(JD_LOG_WARN, "match.warm", "%s: no warm container for AI %d: %s", m->run_key, u->ai,
           u->gl_id ? "no thread" : "out of memory");
    drop(u);
    return -1;
  }
  return 0;
}

/* Begun, its container not running yet: the engine is at work for it. */
static bool under_way(const jd_unit *u) {
  return u->thread_started && !u->ready &&
         (u->state == UNIT_WARM || (u->state == UNIT_STARTING && u->went));
}

void jd_warm_advance(jd_match *m) {
  if (!m->nwarm || m->has_status || m->units[0]->state != UNIT_RUNNING)
    return;
  size_t busy = 0;
  for (size_t i = 0; i < m->nwarm; i++)
    busy += under_way(m->warm[i]);
  for (size_t i = 0; i < m->nwarm && busy < JD_WARM_AHEAD; i++) {
    jd_unit *u = m->warm[i];
    if (u->state == UNIT_WARM && !u->thread_started && atomic_load(&u->kill) == JD_KILL_NONE &&
        !begin(m, u))
      busy++;
  }
}

/* Appends "key=value\0" to buf (cap bytes, *len used). */
static int go_put(char *buf, size_t cap, size_t *len, const char *key, const char *value) {
  int n = snprintf(buf + *len, cap - *len, "%s=%s", key, value);
  if (n < 0 || (size_t)n + 1 >= cap - *len)
    return -1;
  *len += (size_t)n + 1;
  return 0;
}

/* Writes the go: the player's identity, closed by an empty string. One
 * write below PIPE_BUF is atomic: all of it, or nothing (EAGAIN). */
static int go_write(jd_unit *u) {
  char msg[1024], ai[16];
  size_t len = 0;
  snprintf(ai, sizeof ai, "%d", u->ai);
  if (go_put(msg, sizeof msg, &len, "JUDGER_TOKEN", u->m->tokens[u->ai]) ||
      go_put(msg, sizeof msg, &len, "JUDGER_AI_INDEX", ai) ||
      go_put(msg, sizeof msg, &len, "JUDGER_PLAYER_NAME", u->name))
    return -1;
  msg[len++] = '\0';
  ssize_t w;
  do
    w = write(u->go_fd, msg, len);
  while (w < 0 && errno == EINTR);
  return w == (ssize_t)len ? 0 : -1;
}

jd_unit *jd_warm_take(jd_match *m, int ai, const char *name) {
  for (size_t i = 0; i < m->nwarm; i++) {
    jd_unit *u = m->warm[i];
    if (u->went || u->state != UNIT_WARM || u->ai != ai || strcmp(u->name, name) ||
        atomic_load(&u->kill) != JD_KILL_NONE)
      continue;
    /* Not begun: it begins now, as a cold start would. */
    if (!u->thread_started && begin(m, u))
      return NULL;
    if (go_write(u)) {
      jd_log(JD_LOG_WARN, "match.warm", "%s: go to %s: %s; starting it cold", m->run_key, u->cname,
             strerror(errno));
      jd_unit_request_kill(u, JD_KILL_END);
      return NULL;
    }
    u->went = true;
    u->state = UNIT_STARTING;
    return u;
  }
  return NULL;
}

jd_unit *jd_warm_conflict(jd_match *m, const char *name) {
  for (size_t i = 0; i < m->nwarm; i++) {
    jd_unit *u = m->warm[i];
    if (u->state != UNIT_WARM || u->went || strcmp(u->name, name))
      continue;
    if (!u->thread_started) {
      drop(u);
      return NULL;
    }
    jd_unit_request_kill(u, JD_KILL_END);
    return u;
  }
  return NULL;
}

bool jd_warm_fell_through(const jd_match *m, const jd_unit *u) {
  return u->warm && u->went && u->state == UNIT_STARTING && !m->ended &&
         atomic_load(&u->kill) == JD_KILL_NONE;
}
