/* The result spool: results survive Redis outages, restarts and failovers
 * that lose them (a result's file stays until its store is confirmed by
 * the replicas; see daemon_internal.h and docs/daemon.md). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "common/log.h"
#include "common/tmpfile.h"
#include "common/utf8.h"
#include "common/util.h"
#include "daemon/daemon_internal.h"

static int spool_dir(char *out, size_t n, const jd_daemon *d) {
  return snprintf(out, n, "%s/spool/%s", d->cfg.state_dir, d->cfg.host_id) >= (int)n ? -1 : 0;
}

static int spool_path(char *out, size_t n, const jd_daemon *d, const char *task_id) {
  char dir[PATH_MAX];
  if (spool_dir(dir, sizeof dir, d))
    return -1;
  return snprintf(out, n, "%s/%s.json", dir, task_id) >= (int)n ? -1 : 0;
}

/* Writes the text atomically as dir/name (a temporary renamed); *ino:
 * the inode written (to remove only that file later). */
static int publish(ino_t *ino, const char *dir, const char *name, const char *text) {
  jd_tmpfile t;
  if (jd_tmpfile_open(&t, dir, name, 0600))
    return -1;
  struct stat st;
  if (jd_write_all(t.fd, text, strlen(text)) || fstat(t.fd, &st)) {
    jd_tmpfile_abort(&t);
    return -1;
  }
  *ino = st.st_ino;
  return jd_tmpfile_commit(&t);
}

int jd_spool_write(ino_t *ino, const jd_daemon *d, jd_priority p, const char *entry_id,
                   const jd_result_rec *rec) {
  char dir[PATH_MAX], name[JD_TASK_ID_MAX + 8];
  snprintf(name, sizeof name, "%s.json", rec->task_id);
  if (spool_dir(dir, sizeof dir, d) || jd_mkdir_p(dir, 0700))
    return -1;
  json_object *o = json_object_new_object();
  json_object_object_add(o, "priority", json_object_new_string(jd_priority_name(p)));
  json_object_object_add(o, "entry_id", json_object_new_string(entry_id));
  json_object_object_add(o, "task_id", json_object_new_string(rec->task_id));
  json_object_object_add(o, "attempt", json_object_new_int(rec->attempt));
  json_object_object_add(o, "claim", json_object_new_int64(rec->claim));
  json_object_object_add(o, "status", json_object_new_string(jd_task_status_name(rec->status)));
  /* A summary quotes a program's message, cut to a fixed size. */
  json_object_object_add(o, "summary", jd_json_str(rec->summary ? rec->summary : ""));
  json_object_object_add(o, "result", json_object_new_string(rec->json));
  int rc = publish(ino, dir, name, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
  json_object_put(o);
  return rc;
}

/* Removes the spool file of task_id only while it is the file of inode
 * ino: a new run of the task may have written another meanwhile. The name
 * is moved aside first (atomic), then the file moved is removed when it
 * is ino; another is linked back (linkat fails on a name taken meanwhile:
 * that newer one wins, as its rename would have replaced ours). */
static void unlink_same(const jd_daemon *d, const char *task_id, ino_t ino) {
  static unsigned long seq;
  char dir[PATH_MAX], name[JD_TASK_ID_MAX + 8], aside[64];
  snprintf(name, sizeof name, "%s.json", task_id);
  snprintf(aside, sizeof aside, ".rm-%ld-%lu", (long)getpid(),
           __atomic_fetch_add(&seq, 1, __ATOMIC_RELAXED));
  if (spool_dir(dir, sizeof dir, d))
    return;
  int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dfd < 0)
    return;
  struct stat st;
  if (!renameat(dfd, name, dfd, aside)) {
    if (!fstatat(dfd, aside, &st, AT_SYMLINK_NOFOLLOW) && st.st_ino != ino)
      linkat(dfd, aside, dfd, name, 0);
    unlinkat(dfd, aside, 0);
  }
  close(dfd);
}

/* ---- the unconfirmed list (under d->mu) ----------------------------------- */

static ssize_t unconfirmed_find_locked(const jd_daemon *d, const char *task_id) {
  for (size_t i = 0; i < d->nunconfirmed; i++)
    if (!strcmp(d->unconfirmed[i].task_id, task_id))
      return (ssize_t)i;
  return -1;
}

static void unconfirmed_drop_locked(jd_daemon *d, const char *task_id) {
  ssize_t i = unconfirmed_find_locked(d, task_id);
  if (i < 0)
    return;
  free(d->unconfirmed[i].task_id);
  d->unconfirmed[i] = d->unconfirmed[--d->nunconfirmed];
  jd_dmetrics_results_unconfirmed(d->metrics, d->nunconfirmed);
}

/* Adds task_id, not stored by a flush yet (also when listed: its file may
 * be a new one). 0, or -1 out of memory (the file stays for the next
 * start). */
static int unconfirmed_add_locked(jd_daemon *d, const char *task_id) {
  ssize_t i = unconfirmed_find_locked(d, task_id);
  if (i >= 0) {
    d->unconfirmed[i].q = NULL;
    d->unconfirmed[i].gen = 0;
    return 0;
  }
  if (d->nunconfirmed == d->cap_unconfirmed) {
    size_t cap = d->cap_unconfirmed ? 2 * d->cap_unconfirmed : 8;
    jd_unconfirmed *grown = realloc(d->unconfirmed, cap * sizeof *grown);
    if (!grown)
      return -1;
    d->unconfirmed = grown;
    d->cap_unconfirmed = cap;
  }
  char *id = strdup(task_id);
  if (!id)
    return -1;
  d->unconfirmed[d->nunconfirmed++] = (jd_unconfirmed){id, NULL, 0};
  jd_dmetrics_results_unconfirmed(d->metrics, d->nunconfirmed);
  return 0;
}

/* task_id (listed or added) was stored by a flush on q's connection gen. */
static void unconfirmed_stored_locked(jd_daemon *d, const char *task_id, const jd_queue *q,
                                      uint64_t gen) {
  if (unconfirmed_add_locked(d, task_id))
    return;
  jd_unconfirmed *u = &d->unconfirmed[unconfirmed_find_locked(d, task_id)];
  u->q = q;
  u->gen = gen;
}

void jd_spool_unconfirmed(jd_daemon *d, const char *task_id) {
  pthread_mutex_lock(&d->mu);
  if (unconfirmed_add_locked(d, task_id))
    jd_log_task(JD_LOG_ERROR, "result.unconfirmed", task_id,
                "out of memory: its spool file waits for the next start");
  pthread_cond_broadcast(&d->cv); /* the keeper: a flush is due */
  pthread_mutex_unlock(&d->mu);
}

size_t jd_spool_unconfirmed_count(jd_daemon *d) {
  pthread_mutex_lock(&d->mu);
  size_t n = d->nunconfirmed;
  pthread_mutex_unlock(&d->mu);
  return n;
}

void jd_spool_unconfirmed_free(jd_daemon *d) {
  for (size_t i = 0; i < d->nunconfirmed; i++)
    free(d->unconfirmed[i].task_id);
  free(d->unconfirmed);
  d->unconfirmed = NULL;
  d->nunconfirmed = d->cap_unconfirmed = 0;
}

void jd_spool_remove(jd_daemon *d, const char *task_id, ino_t ino) {
  unlink_same(d, task_id, ino);
  pthread_mutex_lock(&d->mu);
  unconfirmed_drop_locked(d, task_id);
  pthread_mutex_unlock(&d->mu);
}

bool jd_daemon_confirm(bool *lost, jd_daemon *d, jd_queue *q, uint64_t gen, const char *task_id,
                       const char *what) {
  bool confirmed = false;
  if (lost)
    *lost = false;
  if (jd_queue_confirm_since(&confirmed, q, gen)) {
    jd_log_task(JD_LOG_WARN, "replica.wait_failed", task_id, "%s not confirmed: %s", what,
                jd_queue_error(q));
    if (lost)
      *lost = jd_queue_lost(q) || jd_redis_generation(jd_queue_redis(q)) != gen;
    return false;
  }
  if (jd_queue_waited(q))
    jd_dmetrics_replica_wait(d->metrics, confirmed);
  return confirmed;
}

/* ---- storing spooled results ------------------------------------------------ */

static const char *jget(json_object *o, const char *k) {
  json_object *v = NULL;
  return json_object_object_get_ex(o, k, &v) && json_object_is_type(v, json_type_string)
             ? json_object_get_string(v)
             : NULL;
}

/* What became of one spooled file. */
typedef enum spooled {
  SPOOLED_STORED, /* written or already there: removed once confirmed */
  SPOOLED_GONE,   /* removed: refused, unreadable, incomplete, or no such file */
  SPOOLED_KEPT    /* Redis is away: kept */
} spooled;

/* The spooled result as the store takes it (o owns the strings). */
static bool spooled_rec(jd_result_rec *rec, json_object *o) {
  json_object *att = NULL, *claim = NULL;
  json_object_object_get_ex(o, "attempt", &att);
  json_object_object_get_ex(o, "claim", &claim);
  /* The run's claim fences the spooled result too: if another run took
   * the task while Redis was away, this one is refused. */
  *rec = (jd_result_rec){jget(o, "task_id"),           json_object_get_int(att),
                         json_object_get_int64(claim), JD_TASK_STATUS_FINISHED,
                         jget(o, "summary"),           jget(o, "result")};
  bool status_ok = jd_task_status_parse(&rec->status, jget(o, "status")) == 0;
  return rec->task_id && status_ok && rec->json;
}

/* Opens the spool file of task_id (no link followed) into *fd and stats
 * it. 0, or -1 with errno (ENOENT: no such file) and nothing open. */
static int open_spooled(int *fd, struct stat *st, const jd_daemon *d, const char *task_id) {
  char path[PATH_MAX];
  if (spool_path(path, sizeof path, d, task_id))
    return errno = ENAMETOOLONG, -1;
  *fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (*fd < 0)
    return -1;
  if (fstat(*fd, st)) {
    int e = errno;
    close(*fd);
    return errno = e, -1;
  }
  return 0;
}

/* Reads the spool file of task_id (no link followed, 64 MB at most) into
 * *text (the caller frees it) and its inode into *ino: what is read is
 * that inode's. -1 with errno (ENOENT: no such file). */
static int read_spooled(char **text, ino_t *ino, const jd_daemon *d, const char *task_id) {
  int fd;
  struct stat st;
  *text = NULL;
  if (open_spooled(&fd, &st, d, task_id))
    return -1;
  if (!S_ISREG(st.st_mode) || st.st_size > (64 << 20) ||
      !(*text = malloc((size_t)st.st_size + 1))) {
    close(fd);
    return errno = EINVAL, -1;
  }
  *ino = st.st_ino;
  size_t off = 0;
  while (off < (size_t)st.st_size) {
    ssize_t r = read(fd, *text + off, (size_t)st.st_size - off);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      break;
    off += (size_t)r;
  }
  (*text)[off] = '\0';
  close(fd);
  return 0;
}

/* Stores the spool file of task_id on q; *ino is the file's inode (to
 * remove only that file once confirmed: a new run of the task may write
 * it again), *gen the connection it was stored on. Redis being away, or a
 * primary refusing writes for want of replicas (NOREPLICAS), keeps it;
 * unreadable or incomplete files go, and so do refused ones (another run
 * holds the task). retry: the startup flush waits for Redis (until the
 * stop); the keeper's tries once a round. */
static spooled spool_store_file(jd_daemon *d, jd_queue *q, const char *task_id, ino_t *ino,
                                uint64_t *gen, bool retry) {
  char *text = NULL;
  json_object *o = NULL;
  if (read_spooled(&text, ino, d, task_id) == 0)
    o = json_tokener_parse(text);
  else if (errno == ENOENT)
    return SPOOLED_GONE; /* stored and removed by its slot meanwhile */
  jd_priority p = JD_PRIO_MATCH;
  jd_result_rec rec;
  bool complete = o && spooled_rec(&rec, o) && !strcmp(rec.task_id, task_id);
  if (o)
    jd_priority_parse(&p, jget(o, "priority"));
  jd_store_outcome out = JD_STORE_REFUSED;
  int rc = -1;
  if (complete && retry)
    WITH_RETRY(rc, d, q, false, jd_queue_store_result(&out, q, p, jget(o, "entry_id"), &rec));
  else if (complete)
    rc = jd_queue_store_result(&out, q, p, jget(o, "entry_id"), &rec);
  *gen = jd_redis_generation(jd_queue_redis(q));
  spooled res = SPOOLED_KEPT;
  /* Gone when it can never be stored: incomplete, or an answer Redis will
   * never give otherwise. */
  if (!complete || (rc && jd_queue_last(q) == JD_REDIS_PROTO) || (!rc && out == JD_STORE_REFUSED)) {
    if (!complete)
      jd_log_task(JD_LOG_WARN, "spool.bad", task_id, "its spool file is unreadable: removed");
    unlink_same(d, task_id, *ino);
    res = SPOOLED_GONE;
  } else if (!rc) {
    res = SPOOLED_STORED;
  }
  if (!rc)
    jd_log_task(out == JD_STORE_REFUSED ? JD_LOG_WARN : JD_LOG_INFO, "result.spooled", task_id,
                "from the spool: %s", jd_store_outcome_name(out));
  json_object_put(o);
  free(text);
  return res;
}

/* A stored file, removed once a WAIT on the connection it was stored on
 * confirmed it. */
typedef struct stored_file {
  char task_id[JD_TASK_ID_MAX + 1];
  ino_t ino;
  uint64_t gen;
} stored_file;

/* The stores of files[0..n) confirmed or not: removed, or on the
 * unconfirmed list. One WAIT, on the connection of the last store: only
 * the files stored on that connection are confirmed by it; those stored
 * before a reconnect (maybe on a primary since gone) are stored again at
 * the next flush. level: of the line saying some were not (the keeper's
 * flushes say it at info: the gauge shows them). */
static void settle(jd_daemon *d, jd_queue *q, const stored_file *files, size_t n,
                   jd_log_level level) {
  if (!n)
    return;
  uint64_t gen = files[n - 1].gen;
  bool confirmed = jd_daemon_confirm(NULL, d, q, gen, NULL, "spooled results");
  size_t kept = 0;
  pthread_mutex_lock(&d->mu);
  for (size_t i = 0; i < n; i++) {
    if (!confirmed || files[i].gen != gen) {
      unconfirmed_stored_locked(d, files[i].task_id, q, files[i].gen);
      kept++;
      continue;
    }
    unlink_same(d, files[i].task_id, files[i].ino);
    unconfirmed_drop_locked(d, files[i].task_id);
  }
  pthread_mutex_unlock(&d->mu);
  if (kept)
    jd_log(level, "result.unconfirmed",
           "%zu spooled results stored but not confirmed by the replicas: kept in the spool", kept);
}

/* The task id of a spool file name (<id>.json); false for other names
 * (temporaries, strangers). */
static bool spool_name_id(char id[JD_TASK_ID_MAX + 1], const char *name) {
  size_t n = strlen(name);
  if (n < 6 || n - 5 > JD_TASK_ID_MAX || strcmp(name + n - 5, ".json") || name[0] == '.')
    return false;
  memcpy(id, name, n - 5);
  id[n - 5] = '\0';
  return true;
}

/* Appends f to *files (n, cap); false out of memory. */
static bool files_add(stored_file **files, size_t *n, size_t *cap, const stored_file *f) {
  if (*n == *cap) {
    size_t c = *cap ? 2 * *cap : 16;
    stored_file *grown = realloc(*files, c * sizeof **files);
    if (!grown)
      return false;
    *files = grown;
    *cap = c;
  }
  (*files)[(*n)++] = *f;
  return true;
}

void jd_spool_flush(jd_daemon *d, jd_queue *q) {
  char dir[PATH_MAX];
  if (spool_dir(dir, sizeof dir, d))
    return;
  DIR *dh = opendir(dir);
  if (!dh)
    return;
  stored_file *files = NULL;
  size_t n = 0, cap = 0;
  for (struct dirent *de = readdir(dh); de; de = readdir(dh)) {
    stored_file f;
    if (!spool_name_id(f.task_id, de->d_name))
      continue;
    spooled r = spool_store_file(d, q, f.task_id, &f.ino, &f.gen, true);
    if (r == SPOOLED_KEPT)
      jd_spool_unconfirmed(d, f.task_id); /* refused for now: the keeper retries */
    else if (r == SPOOLED_STORED && !files_add(&files, &n, &cap, &f))
      jd_spool_unconfirmed(d, f.task_id);
  }
  closedir(dh);
  settle(d, q, files, n, JD_LOG_WARN);
  free(files);
}

/* A file the flush stored on q's connection f->gen, which still stands:
 * stored already, only its inode is read (to remove that file once
 * confirmed). */
static spooled spool_stored_already(const jd_daemon *d, stored_file *f) {
  int fd;
  struct stat st;
  if (open_spooled(&fd, &st, d, f->task_id))
    return errno == ENOENT ? SPOOLED_GONE : SPOOLED_KEPT;
  close(fd);
  f->ino = st.st_ino;
  return SPOOLED_STORED;
}

void jd_spool_flush_unconfirmed(jd_daemon *d, jd_queue *q) {
  pthread_mutex_lock(&d->mu);
  size_t n = d->nunconfirmed < JD_SPOOL_FLUSH_MAX ? d->nunconfirmed : JD_SPOOL_FLUSH_MAX;
  stored_file *files = n ? calloc(n, sizeof *files) : NULL;
  for (size_t i = 0; files && i < n; i++) {
    const jd_unconfirmed *u = &d->unconfirmed[i];
    snprintf(files[i].task_id, sizeof files[i].task_id, "%s", u->task_id);
    files[i].gen = u->q == q ? u->gen : 0;
  }
  pthread_mutex_unlock(&d->mu);
  if (!files)
    return;
  jd_redis *r = jd_queue_redis(q);
  size_t stored = 0;
  for (size_t i = 0; i < n; i++) {
    stored_file f = files[i];
    /* Stored on this very connection by an earlier flush: on this primary
     * still; the fence and WAIT alone tell whether a replica has it. */
    spooled res = f.gen && jd_redis_connected(r) && f.gen == jd_redis_generation(r)
                      ? spool_stored_already(d, &f)
                      : spool_store_file(d, q, f.task_id, &f.ino, &f.gen, false);
    if (res == SPOOLED_STORED) {
      files[stored++] = f;
    } else if (res == SPOOLED_GONE) {
      pthread_mutex_lock(&d->mu);
      unconfirmed_drop_locked(d, f.task_id);
      pthread_mutex_unlock(&d->mu);
    }
  }
  settle(d, q, files, stored, JD_LOG_INFO);
  free(files);
}
