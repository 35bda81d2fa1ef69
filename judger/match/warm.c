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

void jd_warm_spawn(jd_match *m) {
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
  bool own_net = m->spec->isolation == JD_ISOLATION_PLAYER;
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
    u->gl_joined = !own_net;
    u->net_settled = !own_net;
    m->warm[m->nwarm++] = u;
    if (go_fifo(u) || jd_unit_spawn(u)) {
      jd_log(JD_LOG_WARN, "match.warm", "%s: no warm container for AI %zu: %s", m->run_key, i,
             strerror(errno));
      u->state = UNIT_DONE; /* never used: not an instance */
      u->net_settled = true;
      u->removed = true;
    }
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
  for (size_t i = 1; i < m->nunits; i++) {
    jd_unit *u = m->units[i];
    if (!u->warm || u->went || u->state != UNIT_WARM || !u->gl_joined || u->ai != ai ||
        strcmp(u->name, name) || atomic_load(&u->kill) != JD_KILL_NONE)
      continue;
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
    if (u->state == UNIT_WARM && !u->went && !strcmp(u->name, name)) {
      jd_unit_request_kill(u, JD_KILL_END);
      return u;
    }
  }
  return NULL;
}
