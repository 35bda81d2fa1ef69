/* The live side of a match (see match_live.h): event sequence numbers,
 * live.jsonl, and the game logic's frames. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "match/match_internal.h"

void jd_live_init(jd_live_state *l) { *l = (jd_live_state){.fd = -1}; }

void jd_live_open(jd_match *m) {
  jd_live_state *l = &m->live;
  if (l->fd >= 0 || m->spec->limits.live_max_bytes <= 0)
    return;
  /* O_NONBLOCK: a FIFO of that name must not hold the match (it is then
   * refused as not a regular file). */
  int dfd = open(m->out_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int fd = dfd < 0
               ? -1
               : openat(dfd, JD_LIVE_FILE,
                        O_CREAT | O_TRUNC | O_WRONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0644);
  int saved = errno;
  struct stat st;
  if (fd >= 0 && (fstat(fd, &st) || !S_ISREG(st.st_mode))) {
    close(fd);
    fd = -1;
    saved = EINVAL;
  }
  if (dfd >= 0)
    close(dfd);
  if (fd < 0) {
    l->broken = true;
    jd_log(JD_LOG_WARN, "match.live", "%s: cannot open %s/%s: %s; the match goes on without it",
           m->run_key, m->out_dir, JD_LIVE_FILE, strerror(saved));
    return;
  }
  l->fd = fd;
}

void jd_live_close(jd_match *m) {
  if (m->live.fd >= 0)
    close(m->live.fd);
  m->live.fd = -1;
}

/* Events the game logic can send without bound: past the file's cap only
 * the others (bounded by the match: starts, exits, the end) are written. */
static bool unbounded(jd_match_event_type t) {
  return t == JD_EVENT_MATCH_FRAME || t == JD_EVENT_MATCH_PROGRESS || t == JD_EVENT_COMMAND_REFUSED;
}

bool jd_live_wants(const jd_match *m, const jd_match_event *ev) {
  /* The build's lines are the build's (build logs), not the match's. */
  return m->spec->limits.live_max_bytes > 0 && ev->type != JD_EVENT_PROGRAM_BUILD &&
         ev->type != JD_EVENT_BUILD_OUTPUT;
}

static void note_file_drop(jd_match *m, const jd_match_event *ev) {
  jd_live_state *l = &m->live;
  if (ev->type != JD_EVENT_MATCH_FRAME)
    return;
  l->counts.dropped_file++;
  if (!l->logged_file) {
    l->logged_file = true;
    jd_log(JD_LOG_INFO, "match.live", "%s: %s is full or failed: frames are no longer written",
           m->run_key, JD_LIVE_FILE);
  }
}

/* One line in one write(2); a short or failed write is undone as far as
 * it can be and ends the file. 0/-1. */
static int write_line(jd_live_state *l, const char *json, size_t len) {
  struct iovec iov[2] = {{.iov_base = (void *)json, .iov_len = len},
                         {.iov_base = (void *)"\n", .iov_len = 1}};
  ssize_t w;
  do
    w = writev(l->fd, iov, 2);
  while (w < 0 && errno == EINTR);
  if (w == (ssize_t)(len + 1)) {
    l->bytes += w;
    return 0;
  }
  if (w > 0 && ftruncate(l->fd, l->bytes) == 0)
    (void)lseek(l->fd, l->bytes, SEEK_SET); /* no half line left */
  return -1;
}

void jd_live_write(jd_match *m, const jd_match_event *ev, const char *json) {
  jd_live_state *l = &m->live;
  if (m->spec->limits.live_max_bytes <= 0)
    return; /* no file wanted: nothing dropped */
  if (l->fd < 0 || l->broken) {
    note_file_drop(m, ev);
    return;
  }
  size_t len = strlen(json);
  if (unbounded(ev->type) && l->bytes + (int64_t)len + 1 > m->spec->limits.live_max_bytes) {
    note_file_drop(m, ev);
    return;
  }
  if (write_line(l, json, len)) {
    jd_log(JD_LOG_WARN, "match.live", "%s: writing %s: %s; it is no longer written", m->run_key,
           JD_LIVE_FILE, strerror(errno));
    l->broken = true;
    note_file_drop(m, ev);
  }
}

/* Whether a frame may pass now: a token bucket of frames_per_sec tokens
 * refilled continuously (burst = frames_per_sec). */
static bool take_token(jd_live_state *l, int per_sec) {
  int64_t now = jd_mono_ns();
  if (!l->bucket) {
    l->bucket = true;
    l->tokens = per_sec;
  } else if (now > l->last_ns) {
    l->tokens += (double)(now - l->last_ns) * per_sec / 1e9;
    if (l->tokens > per_sec)
      l->tokens = per_sec;
  }
  l->last_ns = now;
  if (l->tokens < 1.0)
    return false;
  l->tokens -= 1.0;
  return true;
}

static void log_drop(jd_match *m, bool *logged, const char *why) {
  if (*logged)
    return;
  *logged = true;
  jd_log(JD_LOG_INFO, "match.live", "%s: frames dropped: %s (counted in result.json \"live\")",
         m->run_key, why);
}

void jd_match_frame(jd_match *m, const char *json) {
  jd_live_state *l = &m->live;
  const jd_match_limits *lim = &m->spec->limits;
  if (!json)
    return;
  if ((int64_t)strlen(json) > lim->frame_max_bytes) {
    l->counts.dropped_size++;
    log_drop(m, &l->logged_size, "larger than limits.frame_max_bytes");
    return;
  }
  if (!take_token(l, lim->frames_per_sec > 0 ? lim->frames_per_sec : 1)) {
    l->counts.dropped_rate++;
    log_drop(m, &l->logged_rate, "past limits.frames_per_sec");
    return;
  }
  l->counts.frames++;
  jd_match_event ev = jd_match_event_of(JD_EVENT_MATCH_FRAME, NULL);
  ev.frame.json = json;
  jd_match_emit(m, &ev);
}
