/* judger watch — a match's live stream as it happens: from Redis (the
 * daemon's <prefix>:live:<task id>, queue/live.h) or from a `judger run`'s
 * live.jsonl. judger watch-token — the token a platform hands a watcher of
 * the daemon's HTTP stream (common/watch_token.h).
 *
 * The Redis path, in order:
 *   1. A first look (the task's status record, whether its stream exists):
 *      neither is "no such task"; an ended task without a stream has no
 *      match.done to come (expired); a task with no stream yet (queued,
 *      held, just claimed) is waited for, said on stderr.
 *   2. The history: XRANGE pages of HISTORY_COUNT entries after the last
 *      id printed, until a short page. XREAD from the same id then: no
 *      entry is printed twice or skipped between the two.
 *   3. Live: XREAD BLOCK LIVE_BLOCK_MS; on each empty answer the status
 *      record again: once the task has ended (or is gone) and the stream
 *      stays quiet IDLE_END_MS, there is no match.done to come. A retry
 *      (live.begin) resets the stream; its new ids are past the old ones,
 *      so the reads go on from the last id.
 * Each entry is printed (and flushed) as it is read. A page costs at most
 * HISTORY_COUNT * JD_LIVE_ENTRY_MAX bytes in the worst case (a writer that
 * fills entries to the cap); the daemon's stream holds at most
 * live_max_bytes.
 *
 * Exit codes: 0 the stream reached match.done, 1 no such task or no
 * match.done to come (the task ended without one, its stream expired),
 * 2 usage, 3 Redis or the output failed, or interrupted (SIGINT, SIGTERM,
 * SIGHUP stop it within a second). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "cli/watch_print.h"
#include "common/clock.h"
#include "common/json_text.h"
#include "common/watch_token.h"
#include "queue/live.h"
#include "queue/queue.h"
#include "queue/redis.h"
#include "queue/task.h"

/* Entries a read asks for: small enough that a page of entries at the
 * read cap (JD_LIVE_ENTRY_MAX) stays at 128 MiB, large enough that a
 * stream at the default cap (771 entries) is a dozen round trips. */
#define HISTORY_COUNT 64
#define LIVE_BLOCK_MS 1000
#define IDLE_END_MS 2000     /* an ended task's stream quiet this long: no match.done to come */
#define REDIS_RETRY_MS 30000 /* Redis unreachable this long: give up */
#define FILE_BUF_MIN (1u << 16)

static void usage(FILE *f) {
  fprintf(f, "usage: judger watch TASK_ID [--json] [--redis URL] [--prefix P] [--config FILE]\n"
             "       judger watch --file OUT_DIR/live.jsonl [--json]\n"
             "\n"
             "Prints a match's live stream as it happens, one line per entry: the events\n"
             "(players started and exited, progress, the game logic's frames, the end)\n"
             "with the time since the match began, e.g.\n"
             "  [   1.23s] frame {\"turn\":3}\n"
             "Joined after the match it prints what the stream kept and exits; joined\n"
             "before, it waits while the task is queued, then follows it live. A retry of\n"
             "the task prints \"attempt N\" and starts over. --file follows a `judger run`'s\n"
             "live.jsonl instead (waiting for it to appear). --json prints each entry's\n"
             "JSON on a line of its own. Lines are flushed one by one (pipes see them at\n"
             "once).\n"
             "\n");
  jd_cli_usage_settings(f, JD_CMD_STATUS);
  fprintf(f, "\nexit codes: 0 the match is done, 1 no such task, or the task ended without\n"
             "match.done in its stream (expired), 2 usage, 3 Redis, output or interrupted\n");
}

static void usage_token(FILE *f) {
  fprintf(f, "usage: judger watch-token TASK_ID [--watch-key-file PATH] [--config FILE]\n"
             "\n"
             "Prints the token that lets a viewer watch TASK_ID's live stream on a\n"
             "daemon's metrics server (GET /live/TASK_ID?token=TOKEN): the hex\n"
             "HMAC-SHA256 of \"judger-watch:TASK_ID\" under the watch_key_file setting's\n"
             "key, the daemons' own.\n"
             "\n"
             "exit codes: 0 printed, 1 the key file cannot be read, 2 usage or no\n"
             "watch_key_file setting\n");
}

/* ---- signals ------------------------------------------------------------ */

static volatile sig_atomic_t stop_sig;

static void on_stop(int sig) { stop_sig = sig; }

/* No SA_RESTART: a wait returns EINTR and the loop sees stop_sig. */
static void catch_signals(void) {
  struct sigaction sa = {.sa_handler = on_stop};
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
}

static int interrupted(void) {
  fprintf(stderr, "judger watch: interrupted\n");
  return JD_EXIT_SYSTEM;
}

static void nap(int ms) { (void)poll(NULL, 0, ms); }

/* ---- printing ------------------------------------------------------------ */

/* One entry on stdout; *done at match.done. 0, or -1 when stdout failed. */
static int show(bool *done, const char *json, size_t len, bool as_json) {
  jd_watch_info info;
  errno = 0;
  if (jd_watch_print(stdout, &info, json, len, as_json)) {
    if (errno != EPIPE) /* else the reader went away (`| head`): nothing to say */
      fprintf(stderr, "judger watch: output: %s\n", strerror(errno ? errno : EIO));
    return -1;
  }
  *done = info.done;
  return 0;
}

/* ---- Redis --------------------------------------------------------------- */

typedef struct watcher {
  jd_queue *q;
  const char *task;
  bool json;
  char after[48];  /* the last entry's id */
  int64_t failing; /* since when Redis fails (0: it answers) */
} watcher;

/* What the task's status record says. */
typedef struct task_state {
  bool found;
  bool ended;      /* finished, dead, or a result stored */
  char state[32];  /* "queued", "running"... */
  char status[32]; /* the result's status, when ended */
} task_state;

static void copy_field(char *out, size_t n, json_object *o, const char *key) {
  json_object *v = NULL;
  const char *s = json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
                      ? json_object_get_string(v)
                      : "";
  snprintf(out, n, "%s", s);
}

/* The task's state from jd_queue_task_json. 0/-1 (Redis). */
static int task_state_of(task_state *t, watcher *w) {
  *t = (task_state){0};
  char *text = NULL, err[128];
  if (jd_queue_task_json(&text, &t->found, w->q, w->task))
    return -1;
  json_object *o = NULL, *status = NULL, *result = NULL;
  if (text && !jd_json_parse(&o, text, strlen(text), 64, "task", NULL, err, sizeof err)) {
    if (json_object_object_get_ex(o, "status", &status))
      copy_field(t->state, sizeof t->state, status, "state");
    if (json_object_object_get_ex(o, "result", &result) &&
        json_object_is_type(result, json_type_object)) {
      copy_field(t->status, sizeof t->status, result, "status");
      t->ended = true;
    }
  }
  if (!*t->status)
    copy_field(t->status, sizeof t->status, status, "status");
  t->ended = t->ended || !strcmp(t->state, "finished") || !strcmp(t->state, "dead");
  json_object_put(o);
  free(text);
  return 0;
}

/* Whether the stream's key exists. 0/-1 (Redis). */
static int stream_exists(bool *exists, watcher *w) {
  char key[512];
  redisReply *rep = NULL;
  *exists = false;
  if (jd_queue_live_key(key, sizeof key, w->q, w->task) ||
      jd_redis_command(&rep, jd_queue_redis(w->q), "EXISTS %s", key))
    return -1;
  *exists = rep->type == REDIS_REPLY_INTEGER && rep->integer > 0;
  freeReplyObject(rep);
  return 0;
}

/* After a failed Redis call: 0 to try again (Redis went away for less than
 * REDIS_RETRY_MS; waits its backoff first), else -1 after saying why. */
static int redis_retry(watcher *w) {
  int64_t now = jd_mono_ms();
  if (!jd_queue_lost(w->q) || (w->failing && now - w->failing >= REDIS_RETRY_MS)) {
    fprintf(stderr, "judger watch: %s\n", jd_queue_error(w->q));
    return -1;
  }
  if (!w->failing)
    fprintf(stderr, "judger watch: %s: trying again for %d s\n", jd_queue_error(w->q),
            REDIS_RETRY_MS / 1000);
  if (!w->failing)
    w->failing = now;
  int64_t wait = jd_queue_backoff_ms(w->q);
  nap(wait > 0 && wait < 1000 ? (int)wait : 200);
  return 0;
}

/* Reads and prints one batch after w->after. *n the entries read, *done
 * at match.done. 0, or -1 on a failure said (Redis, output). */
static int read_batch(size_t *n, bool *done, watcher *w, size_t count, int64_t block_ms) {
  jd_live_entries e = {0};
  *n = 0;
  *done = false;
  while (jd_queue_live_read(&e, w->q, w->task, w->after, count, block_ms)) {
    if (stop_sig || redis_retry(w))
      return -1;
  }
  w->failing = 0;
  int rc = 0;
  for (size_t i = 0; i < e.n && !rc && !*done; i++) {
    snprintf(w->after, sizeof w->after, "%s", e.v[i].id);
    rc = show(done, e.v[i].json, e.v[i].len, w->json);
  }
  *n = e.n;
  jd_live_entries_free(&e);
  return rc;
}

/* The task ended without match.done in its stream: why, exit 1. */
static int ended_without_done(watcher *w, const task_state *t) {
  bool exists = false;
  (void)stream_exists(&exists, w);
  const char *how = !t->found ? "no status record" : *t->status ? t->status : t->state;
  fprintf(stderr, "judger watch: task %s ended (%s) and its live stream %s\n", w->task,
          *how ? how : "?",
          exists ? "holds no match.done: the run ended without one"
                 : "is gone: expired (live_ttl_ms after the result) or never written (not a "
                   "match, or a daemon without live streams)");
  return JD_EXIT_PROGRAM;
}

/* The first look: exit code now (no such task, ended and gone), or -1 to
 * read the stream. */
static int first_look(watcher *w) {
  task_state t;
  bool exists = false;
  while (task_state_of(&t, w) || stream_exists(&exists, w)) {
    if (stop_sig)
      return interrupted();
    if (redis_retry(w))
      return JD_EXIT_SYSTEM;
  }
  w->failing = 0;
  if (!t.found && !exists) {
    fprintf(stderr, "judger watch: no task %s (no status record, no live stream)\n", w->task);
    return JD_EXIT_PROGRAM;
  }
  if (t.ended && !exists)
    return ended_without_done(w, &t);
  if (!exists) {
    fprintf(stderr, "judger watch: task %s is %s: waiting for its match to start\n", w->task,
            *t.state ? t.state : "not started");
  }
  return -1;
}

/* Live: blocks for new entries; between them, whether the task ended. */
static int follow(watcher *w) {
  int64_t quiet_since = 0; /* when the task was first seen ended with nothing new */
  while (!stop_sig) {
    size_t n = 0;
    bool done = false;
    if (read_batch(&n, &done, w, HISTORY_COUNT, LIVE_BLOCK_MS))
      return stop_sig ? interrupted() : JD_EXIT_SYSTEM;
    if (done)
      return JD_EXIT_OK;
    if (n) {
      quiet_since = 0;
      continue;
    }
    task_state t;
    if (task_state_of(&t, w)) {
      if (stop_sig || redis_retry(w))
        break;
      continue;
    }
    if (t.found && !t.ended)
      continue;
    int64_t now = jd_mono_ms();
    if (!quiet_since)
      quiet_since = now;
    else if (now - quiet_since >= IDLE_END_MS)
      return ended_without_done(w, &t);
  }
  return stop_sig ? interrupted() : JD_EXIT_SYSTEM;
}

static int watch_redis(const jd_config *cfg, const char *task, bool json) {
  jd_queue *q = NULL;
  jd_queue_opts qo = {.redis_url = cfg->redis, .prefix = cfg->prefix, .group = cfg->group};
  if (jd_queue_new(&q, &qo)) {
    fprintf(stderr, "judger watch: bad Redis URL (" JD_REDIS_URL_FORMS ")\n");
    return JD_EXIT_USAGE;
  }
  watcher w = {.q = q, .task = task, .json = json, .after = "0"};
  int code = first_look(&w);
  /* The history first, in pages, then live. */
  size_t n = HISTORY_COUNT;
  while (code < 0 && n == HISTORY_COUNT && !stop_sig) {
    bool done = false;
    if (read_batch(&n, &done, &w, HISTORY_COUNT, -1))
      code = stop_sig ? interrupted() : JD_EXIT_SYSTEM;
    else if (done)
      code = JD_EXIT_OK;
  }
  if (code < 0)
    code = stop_sig ? interrupted() : follow(&w);
  jd_queue_free(q);
  return code;
}

/* ---- a file: OUT_DIR/live.jsonl of `judger run` ----------------------------- */

typedef struct follower {
  int fd, ino; /* the file; inotify (-1: none) */
  char *buf;
  size_t len, cap;
  bool skipping; /* within a line over JD_WATCH_ENTRY_MAX */
  off_t offset;  /* bytes read */
  bool json;
} follower;

/* Opens path once it exists: a regular file, its last component not
 * followed. 0, or an exit code after saying why. */
static int open_when_there(follower *f, const char *path) {
  bool said = false;
  for (;;) {
    f->fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (f->fd >= 0)
      break;
    if (errno != ENOENT) {
      fprintf(stderr, "judger watch: %s: %s\n", path, strerror(errno));
      return JD_EXIT_PROGRAM;
    }
    if (!said)
      fprintf(stderr, "judger watch: waiting for %s to appear\n", path);
    said = true;
    nap(200);
    if (stop_sig)
      return interrupted();
  }
  struct stat st;
  if (fstat(f->fd, &st) || !S_ISREG(st.st_mode)) {
    fprintf(stderr, "judger watch: %s: not a regular file\n", path);
    return JD_EXIT_PROGRAM;
  }
  f->ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (f->ino >= 0 &&
      inotify_add_watch(f->ino, path, IN_MODIFY | IN_CLOSE_WRITE | IN_ATTRIB | IN_DONT_FOLLOW) <
          0) {
    close(f->ino);
    f->ino = -1;
  }
  return 0;
}

/* Prints the whole lines in the buffer; *done at match.done. 0, or -1
 * when the output failed. */
static int drain_lines(bool *done, follower *f) {
  size_t start = 0;
  int rc = 0;
  *done = false;
  for (size_t i = 0; i < f->len && !rc && !*done; i++) {
    if (f->buf[i] != '\n')
      continue;
    f->buf[i] = '\0';
    if (!f->skipping && i > start)
      rc = show(done, f->buf + start, i - start, f->json);
    f->skipping = false;
    start = i + 1;
  }
  memmove(f->buf, f->buf + start, f->len - start);
  f->len -= start;
  if (!rc && f->cap == JD_WATCH_ENTRY_MAX + 1 && f->len == f->cap - 1) {
    /* A line over the cap: left out. */
    if (!f->skipping)
      fprintf(stderr, "judger watch: an entry over %u bytes left out\n", JD_WATCH_ENTRY_MAX);
    f->skipping = true;
    f->len = 0;
  }
  return rc;
}

/* Room to read into: the buffer grows up to JD_WATCH_ENTRY_MAX + 1. */
static int grow(follower *f) {
  if (f->cap && f->len + 1 < f->cap)
    return 0;
  size_t cap = f->cap ? f->cap * 2 : FILE_BUF_MIN;
  if (cap > JD_WATCH_ENTRY_MAX + 1)
    cap = JD_WATCH_ENTRY_MAX + 1;
  char *b = cap > f->cap ? realloc(f->buf, cap) : NULL;
  if (!b)
    return -1;
  f->buf = b;
  f->cap = cap;
  return 0;
}

/* Waits for the file to change (or a second). A file cut shorter than
 * what was read (a new match wrote it again) is read from its start. */
static void wait_change(follower *f, const char *path) {
  struct stat st;
  if (!fstat(f->fd, &st) && st.st_size < f->offset) {
    fprintf(stderr, "judger watch: %s was truncated (a new match): from its start\n", path);
    lseek(f->fd, 0, SEEK_SET);
    f->offset = 0;
    f->len = 0;
    f->skipping = false;
    return;
  }
  if (f->ino < 0) {
    nap(200);
    return;
  }
  struct pollfd p = {.fd = f->ino, .events = POLLIN};
  char ev[4096];
  if (poll(&p, 1, 1000) > 0)
    while (read(f->ino, ev, sizeof ev) > 0)
      ;
}

static int follow_file(follower *f, const char *path) {
  while (!stop_sig) {
    if (grow(f)) {
      fprintf(stderr, "judger watch: out of memory\n");
      return JD_EXIT_SYSTEM;
    }
    ssize_t n = read(f->fd, f->buf + f->len, f->cap - 1 - f->len);
    if (n < 0 && errno != EINTR && errno != EAGAIN) {
      fprintf(stderr, "judger watch: %s: %s\n", path, strerror(errno));
      return JD_EXIT_PROGRAM;
    }
    if (n <= 0) {
      if (!stop_sig)
        wait_change(f, path);
      continue;
    }
    f->len += (size_t)n;
    f->offset += n;
    bool done = false;
    if (drain_lines(&done, f))
      return JD_EXIT_SYSTEM;
    if (done)
      return JD_EXIT_OK;
  }
  return interrupted();
}

static int watch_file(const char *path, bool json) {
  follower f = {.fd = -1, .ino = -1, .json = json};
  int code = open_when_there(&f, path);
  if (!code)
    code = follow_file(&f, path);
  if (f.fd >= 0)
    close(f.fd);
  if (f.ino >= 0)
    close(f.ino);
  free(f.buf);
  return code;
}

/* ---- the commands ---------------------------------------------------------- */

typedef struct watch_args {
  jd_cli cli;
  const char *task, *file;
  bool json;
} watch_args;

/* Reads argv into a. 0 to go on; -1 to exit with *code. */
static int parse_args(watch_args *a, int argc, char **argv, int *code, bool token) {
  void (*use)(FILE *) = token ? usage_token : usage;
  const char *cmd = token ? "watch-token" : "watch";
  *code = JD_EXIT_USAGE;
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    bool taken = false;
    if (jd_cli_take_option(&taken, code, &a->cli, &i))
      return -1;
    if (taken)
      continue;
    if (!token && !strcmp(arg, "--json")) {
      a->json = true;
    } else if (!token && !strcmp(arg, "--file") && i + 1 < argc) {
      a->file = argv[++i];
    } else if (arg[0] == '-') {
      jd_cli_bad_option(cmd, arg, use);
      return -1;
    } else if (!a->task) {
      a->task = arg;
    } else {
      jd_cli_bad_argument(cmd, arg, use);
      return -1;
    }
  }
  if (!a->task == !a->file || (a->task && !jd_task_id_valid(a->task))) {
    fprintf(stderr, "judger %s: %s\n", cmd,
            a->task && a->file ? "give a task id or --file, not both"
            : a->task          ? "not a task id"
            : token            ? "give a task id"
                               : "give a task id or --file PATH");
    use(stderr);
    return -1;
  }
  return 0;
}

int jd_cmd_watch(int argc, char **argv) {
  watch_args a = {.cli = JD_CLI_INIT("watch", JD_CMD_STATUS, usage)};
  if (jd_cli_begin(&a.cli, argc, argv))
    return JD_EXIT_SYSTEM;
  int code = JD_EXIT_USAGE;
  char err[512];
  jd_config cfg = {0};
  if (parse_args(&a, argc, argv, &code, false))
    goto done;
  catch_signals();
  if (a.file) {
    code = watch_file(a.file, a.json);
    goto done;
  }
  if (jd_cli_load(&cfg, &a.cli, err, sizeof err)) {
    fprintf(stderr, "judger watch: %s\n", err);
    goto done;
  }
  code = watch_redis(&cfg, a.task, a.json);
done:
  jd_config_clear(&cfg);
  jd_cli_free(&a.cli);
  return code;
}

static int print_token(const char *path, const char *task) {
  unsigned char *key = NULL;
  size_t len = 0;
  char err[512], token[JD_WATCH_TOKEN_HEX + 1];
  if (jd_watch_key_read(&key, &len, path, err, sizeof err)) {
    fprintf(stderr, "judger watch-token: %s\n", err);
    return JD_EXIT_PROGRAM;
  }
  int rc = jd_watch_token(token, key, len, task);
  explicit_bzero(key, len);
  free(key);
  if (rc) {
    fprintf(stderr, "judger watch-token: cannot compute the token\n");
    return JD_EXIT_SYSTEM;
  }
  printf("%s\n", token);
  return fflush(stdout) ? JD_EXIT_SYSTEM : JD_EXIT_OK;
}

int jd_cmd_watch_token(int argc, char **argv) {
  watch_args a = {.cli = JD_CLI_INIT("watch-token", JD_CMD_STATUS, usage_token)};
  if (jd_cli_begin(&a.cli, argc, argv))
    return JD_EXIT_SYSTEM;
  int code = JD_EXIT_USAGE;
  char err[512];
  jd_config cfg = {0};
  if (parse_args(&a, argc, argv, &code, true))
    goto done;
  if (jd_cli_load(&cfg, &a.cli, err, sizeof err)) {
    fprintf(stderr, "judger watch-token: %s\n", err);
    goto done;
  }
  if (!cfg.watch_key_file || !*cfg.watch_key_file) {
    fprintf(stderr, "judger watch-token: no watch key: set watch_key_file (--watch-key-file "
                    "PATH, $JUDGER_WATCH_KEY_FILE or the config file)\n");
    goto done;
  }
  code = print_token(cfg.watch_key_file, a.task);
done:
  jd_config_clear(&cfg);
  jd_cli_free(&a.cli);
  return code;
}
