// test-labels: redis
/* `judger watch` as a user runs it, on a real Redis: a stream filled as the
 * daemon's pusher fills it (jd_queue_live_append), joined after the match
 * (the history, exit 0 at match.done) and before it (the task queued, the
 * stream appears later, live entries, match.done), --json lines, a task
 * that ended without match.done (exit 1, said), no such task, SIGINT;
 * `--file` following a growing live.jsonl; `judger watch-token`. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/tmpfile.h"
#include "common/util.h"
#include "common/watch_token.h"
#include "queue/live.h"
#include "queue/queue.h"
#include "queue/redis.h"
#include "redis_server.h"
#include "support.h"

static t_redis *srv;
static char *dir;
static jd_queue *q;

static void up(void) {
  srv = t_redis_start(false, false);
  dir = t_tmpdir("watch");
  jd_queue_opts o = {.redis_url = srv->url, .consumer = "test"};
  cr_assert_eq(jd_queue_new(&q, &o), 0);
}
static void down(void) {
  jd_queue_free(q);
  t_redis_stop(srv);
  t_rmdir(dir);
}
TestSuite(cmd_watch, .init = up, .fini = down, .timeout = 60);

/* Appends entries to the task's live stream as the pusher does. */
static void append(const char *task, bool reset, const char *const *jsons, size_t n) {
  size_t lens[16];
  cr_assert_leq(n, 16);
  for (size_t i = 0; i < n; i++)
    lens[i] = strlen(jsons[i]);
  cr_assert_eq(jd_queue_live_append(q, task, reset, jsons, lens, n, 5000, 60000), 0, "%s",
               jd_queue_error(q));
}
static void append1(const char *task, const char *json) { append(task, false, &json, 1); }

/* The task's status record: state (and status). */
static void task_state(const char *task, const char *state, const char *status) {
  redisReply *rep = NULL;
  cr_assert_eq(jd_redis_command(&rep, jd_queue_redis(q), "HSET judger:task:%s state %s status %s",
                                task, state, status ? status : ""),
               0, "%s", jd_queue_error(q));
  freeReplyObject(rep);
}

#define EV(kind, rest, ms)                                                                         \
  "{\"event\":\"" kind "\"" rest ",\"match_id\":\"m\",\"elapsed_ms\":" #ms "}"
static const char *const history[] = {
    "{\"event\":\"live.begin\",\"task_id\":\"w-1\",\"attempt\":1}",
    EV("game_logic.started", ",\"name\":\"game_logic\"", 50),
    EV("player.started", ",\"name\":\"p0\",\"ai\":0", 100),
    EV("match.frame", ",\"data\":{\"turn\":1}", 1230),
    EV("match.frame", ",\"data\":{\"turn\":2,\"s\":\"\\u001b[2J\"}", 1500),
    EV("match.end", ",\"scores\":[1,0]", 2000),
    EV("match.done", ",\"status\":\"finished\"", 2100),
};
#define NHIST (sizeof history / sizeof history[0])

/* ---- the judger as a child with its stdout and stderr read ----------------- */

typedef struct proc {
  pid_t pid;
  int fd[2]; /* stdout, stderr (-1 at EOF) */
  char buf[2][1 << 16];
  size_t len[2];
} proc;

static void start(proc *p, const char *fmt, ...) {
  char cmd[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cmd, sizeof cmd, fmt, ap);
  va_end(ap);
  int o[2], e[2];
  cr_assert_eq(pipe(o), 0);
  cr_assert_eq(pipe(e), 0);
  *p = (proc){0};
  p->pid = fork();
  cr_assert_geq(p->pid, 0);
  if (p->pid == 0) {
    dup2(o[1], 1);
    dup2(e[1], 2);
    close(o[0]);
    close(e[0]);
    close(o[1]);
    close(e[1]);
    execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
    _exit(127);
  }
  close(o[1]);
  close(e[1]);
  p->fd[0] = o[0];
  p->fd[1] = e[0];
}

/* Reads what is there (waiting up to ms for something). */
static void pump(proc *p, int ms) {
  struct pollfd pf[2] = {{.fd = p->fd[0], .events = POLLIN}, {.fd = p->fd[1], .events = POLLIN}};
  if (poll(pf, 2, ms) <= 0)
    return;
  for (int i = 0; i < 2; i++) {
    if (!pf[i].revents || p->fd[i] < 0)
      continue;
    ssize_t n = read(p->fd[i], p->buf[i] + p->len[i], sizeof p->buf[i] - 1 - p->len[i]);
    if (n <= 0) {
      close(p->fd[i]);
      p->fd[i] = -1;
    } else {
      p->len[i] += (size_t)n;
    }
    p->buf[i][p->len[i]] = '\0';
  }
}

/* Waits (up to 20 s) until stream i (0 out, 1 err) holds want. */
static void wait_for(proc *p, int i, const char *want) {
  int64_t end = jd_mono_ms() + 20000;
  while (!strstr(p->buf[i], want) && jd_mono_ms() < end && (p->fd[0] >= 0 || p->fd[1] >= 0))
    pump(p, 100);
  cr_assert_not_null(strstr(p->buf[i], want), "no '%s' in std%s: %s (stderr: %s)", want,
                     i ? "err" : "out", p->buf[i], p->buf[1]);
}

/* Waits for the exit (up to ms); its code. */
static int finish(proc *p, int ms) {
  int64_t end = jd_mono_ms() + ms;
  while ((p->fd[0] >= 0 || p->fd[1] >= 0) && jd_mono_ms() < end)
    pump(p, 100);
  int st = 0;
  pid_t r;
  while ((r = waitpid(p->pid, &st, WNOHANG)) == 0 && jd_mono_ms() < end)
    pump(p, 50);
  if (r == 0) {
    kill(p->pid, SIGKILL);
    waitpid(p->pid, &st, 0);
    cr_assert_fail("judger watch did not exit in %d ms; stdout: %s stderr: %s", ms, p->buf[0],
                   p->buf[1]);
  }
  for (int i = 0; i < 2; i++)
    if (p->fd[i] >= 0)
      close(p->fd[i]);
  cr_assert(WIFEXITED(st), "did not exit: %d", st);
  return WEXITSTATUS(st);
}

#define WATCH JD_BINARY_DIR "/bin/judger watch --redis %s"

/* ---- Redis -------------------------------------------------------------- */

Test(cmd_watch, joined_after_the_match_prints_the_history_and_exits_0) {
  append("w-1", true, history, NHIST);
  task_state("w-1", "finished", "finished");
  proc p;
  start(&p, WATCH " w-1", srv->url);
  int rc = finish(&p, 20000);
  cr_assert_eq(rc, 0, "exit %d; stderr: %s", rc, p.buf[1]);
  cr_assert_str_eq(p.buf[0], "[       -] attempt 1 of task w-1\n"
                             "[   0.05s] game logic started\n"
                             "[   0.10s] player p0 started (AI 0)\n"
                             "[   1.23s] frame {\"turn\":1}\n"
                             "[   1.50s] frame {\"turn\":2,\"s\":\"\\u001b[2J\"}\n"
                             "[   2.00s] match end scores [1,0]\n"
                             "[   2.10s] done: finished\n");
}

Test(cmd_watch, json_lines_are_the_entries) {
  append("w-2", true, history, NHIST);
  proc p;
  start(&p, WATCH " --json w-2", srv->url);
  int rc = finish(&p, 20000);
  cr_assert_eq(rc, 0, "exit %d; stderr: %s", rc, p.buf[1]);
  char want[4096] = "";
  for (size_t i = 0; i < NHIST; i++) {
    strcat(want, history[i]);
    strcat(want, "\n");
  }
  cr_assert_str_eq(p.buf[0], want);
}

Test(cmd_watch, a_long_history_is_read_in_pages) {
  /* 1234 frames, then the end: every one printed, in order. */
  for (int i = 0; i < 1234; i++) {
    char e[128];
    snprintf(e, sizeof e, EV("match.frame", ",\"data\":%d", 1), i);
    append1("w-3", e);
  }
  append1("w-3", history[NHIST - 1]);
  proc p;
  start(&p, WATCH " --json w-3 | grep -c match.frame", srv->url);
  cr_assert_eq(finish(&p, 20000), 0, "%s", p.buf[1]);
  cr_assert_str_eq(p.buf[0], "1234\n");
}

Test(cmd_watch, joined_before_the_match_waits_then_follows_it_live) {
  task_state("w-4", "queued", NULL);
  proc p;
  start(&p, WATCH " w-4", srv->url);
  wait_for(&p, 1, "task w-4 is queued: waiting for its match to start");
  task_state("w-4", "running", NULL);
  const char *first[] = {history[0], history[1], history[2]};
  append("w-4", true, first, 3);
  wait_for(&p, 0, "player p0 started (AI 0)\n");
  /* Each entry as it comes: a line the moment it is appended. */
  for (int i = 3; i < 6; i++) {
    append1("w-4", history[i]);
    char line[256];
    snprintf(line, sizeof line, "%s", i == 5 ? "match end scores [1,0]\n" : "frame {\"turn\"");
    wait_for(&p, 0, line);
  }
  cr_assert_null(strstr(p.buf[0], "done"), "%s", p.buf[0]);
  append1("w-4", history[6]);
  int rc = finish(&p, 20000);
  cr_assert_eq(rc, 0, "exit %d; stderr: %s", rc, p.buf[1]);
  cr_assert_not_null(strstr(p.buf[0], "[   2.10s] done: finished\n"), "%s", p.buf[0]);
}

Test(cmd_watch, joined_during_the_match_prints_the_history_then_follows_it) {
  task_state("w-9", "running", NULL);
  const char *first[] = {history[0], history[1], history[2], history[3]};
  append("w-9", true, first, 4);
  proc p;
  start(&p, WATCH " w-9", srv->url);
  /* The history at once, then each entry as it comes, then the end. */
  wait_for(&p, 0, "frame {\"turn\"");
  cr_assert_not_null(strstr(p.buf[0], "player p0 started (AI 0)\n"), "%s", p.buf[0]);
  append1("w-9", history[4]);
  append1("w-9", history[5]);
  wait_for(&p, 0, "match end scores [1,0]\n");
  cr_assert_null(strstr(p.buf[0], "done"), "%s", p.buf[0]);
  append1("w-9", history[6]);
  int rc = finish(&p, 20000);
  cr_assert_eq(rc, 0, "exit %d; stderr: %s", rc, p.buf[1]);
  cr_assert_not_null(strstr(p.buf[0], "[   2.10s] done: finished\n"), "%s", p.buf[0]);
}

Test(cmd_watch, a_retry_prints_its_attempt) {
  task_state("w-5", "running", NULL);
  append("w-5", true, history, 3);
  proc p;
  start(&p, WATCH " w-5", srv->url);
  wait_for(&p, 0, "player p0 started");
  const char *again[] = {"{\"event\":\"live.begin\",\"task_id\":\"w-5\",\"attempt\":2}", history[1],
                         history[6]};
  append("w-5", true, again, 3);
  cr_assert_eq(finish(&p, 20000), 0, "%s", p.buf[1]);
  cr_assert_not_null(strstr(p.buf[0], "attempt 2 of task w-5\n"), "%s", p.buf[0]);
}

Test(cmd_watch, a_task_that_ended_without_match_done_exits_1) {
  /* The stream kept, but no match.done in it. */
  append("w-6", true, history, 4);
  task_state("w-6", "finished", "failed");
  proc p;
  start(&p, WATCH " w-6", srv->url);
  int rc = finish(&p, 20000);
  cr_assert_eq(rc, 1, "exit %d", rc);
  cr_assert_not_null(strstr(p.buf[0], "frame {\"turn\":1}"), "the history first: %s", p.buf[0]);
  cr_assert_not_null(strstr(p.buf[1], "task w-6 ended (failed) and its live stream holds no "
                                      "match.done"),
                     "%s", p.buf[1]);
  /* The stream gone (expired): said at once. */
  task_state("w-7", "finished", "finished");
  int64_t t0 = jd_mono_ms();
  start(&p, WATCH " w-7", srv->url);
  rc = finish(&p, 20000);
  cr_assert_eq(rc, 1, "exit %d", rc);
  cr_assert_lt(jd_mono_ms() - t0, 5000);
  cr_assert_not_null(strstr(p.buf[1], "task w-7 ended (finished) and its live stream is gone: "
                                      "expired"),
                     "%s", p.buf[1]);
  cr_assert_str_eq(p.buf[0], "");
}

Test(cmd_watch, a_running_task_whose_stream_ends_without_done_exits_1) {
  task_state("w-8", "running", NULL);
  append("w-8", true, history, 3);
  proc p;
  start(&p, WATCH " w-8", srv->url);
  wait_for(&p, 0, "player p0 started");
  task_state("w-8", "dead", NULL);
  int rc = finish(&p, 20000);
  cr_assert_eq(rc, 1, "exit %d", rc);
  cr_assert_not_null(strstr(p.buf[1], "task w-8 ended (dead)"), "%s", p.buf[1]);
}

Test(cmd_watch, no_such_task_exits_1_and_usage_2) {
  proc p;
  start(&p, WATCH " nope-1", srv->url);
  cr_assert_eq(finish(&p, 20000), 1);
  cr_assert_not_null(strstr(p.buf[1], "no task nope-1"), "%s", p.buf[1]);
  const char *bad[] = {"", "a b", "--bogus x", "'../x'", "x --file y"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    start(&p, WATCH " %s", srv->url, bad[i]);
    cr_assert_eq(finish(&p, 20000), 2, "'%s': %s", bad[i], p.buf[1]);
    cr_assert_not_null(strstr(p.buf[1], "usage: judger watch"), "%s", p.buf[1]);
  }
  start(&p, JD_BINARY_DIR "/bin/judger help watch");
  cr_assert_eq(finish(&p, 20000), 0);
  cr_assert_not_null(strstr(p.buf[0], "usage: judger watch TASK_ID"), "%s", p.buf[0]);
}

Test(cmd_watch, sigint_stops_it) {
  task_state("w-9", "queued", NULL);
  proc p;
  start(&p, "exec " WATCH " w-9", srv->url);
  wait_for(&p, 1, "waiting for its match");
  int64_t t0 = jd_mono_ms();
  kill(p.pid, SIGINT);
  int rc = finish(&p, 10000);
  cr_assert_eq(rc, 3, "exit %d", rc);
  cr_assert_lt(jd_mono_ms() - t0, 3000, "took %lld ms", (long long)(jd_mono_ms() - t0));
  cr_assert_not_null(strstr(p.buf[1], "interrupted"), "%s", p.buf[1]);
}

/* ---- a file ------------------------------------------------------------ */

static void add_line(const char *path, const char *line) {
  int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  cr_assert_geq(fd, 0);
  char buf[1024];
  int n = snprintf(buf, sizeof buf, "%s\n", line);
  cr_assert_eq(write(fd, buf, (size_t)n), n);
  close(fd);
}

Test(cmd_watch, file_is_followed_as_it_grows) {
  char path[512];
  snprintf(path, sizeof path, "%s/live.jsonl", dir);
  proc p;
  start(&p, JD_BINARY_DIR "/bin/judger watch --file %s", path);
  wait_for(&p, 1, "waiting for");
  add_line(path, history[1]);
  wait_for(&p, 0, "game logic started\n");
  add_line(path, "garbage \x1b]0;title\x07");
  add_line(path, history[3]);
  wait_for(&p, 0, "frame {\"turn\":1}\n");
  cr_assert_not_null(strstr(p.buf[0], "(not a JSON object, "), "%s", p.buf[0]);
  cr_assert_null(strchr(p.buf[0], 0x1b), "%s", p.buf[0]);
  add_line(path, history[6]);
  int rc = finish(&p, 20000);
  cr_assert_eq(rc, 0, "exit %d: %s", rc, p.buf[1]);
  cr_assert_not_null(strstr(p.buf[0], "done: finished\n"), "%s", p.buf[0]);
  /* A link is not followed. */
  char link[600];
  snprintf(link, sizeof link, "%s/link.jsonl", dir);
  cr_assert_eq(symlink(path, link), 0);
  start(&p, JD_BINARY_DIR "/bin/judger watch --file %s", link);
  cr_assert_eq(finish(&p, 20000), 1, "%s", p.buf[1]);
}

/* ---- watch-token ------------------------------------------------------------ */

Test(cmd_watch, watch_token_prints_the_hmac) {
  char key[512];
  snprintf(key, sizeof key, "%s/watch.key", dir);
  const char *secret = "0123456789abcdef-the-watch-key";
  cr_assert_eq(jd_write_file(key, secret, strlen(secret)), 0);
  chmod(key, 0600);
  char want[JD_WATCH_TOKEN_HEX + 1];
  cr_assert_eq(jd_watch_token(want, (const unsigned char *)secret, strlen(secret), "m-42"), 0);
  proc p;
  start(&p, JD_BINARY_DIR "/bin/judger watch-token --watch-key-file %s m-42", key);
  cr_assert_eq(finish(&p, 20000), 0, "%s", p.buf[1]);
  char line[128];
  snprintf(line, sizeof line, "%s\n", want);
  cr_assert_str_eq(p.buf[0], line);
  /* From the environment too; no key: exit 2; a bad key file: exit 1. */
  start(&p, "JUDGER_WATCH_KEY_FILE=%s " JD_BINARY_DIR "/bin/judger watch-token m-42", key);
  cr_assert_eq(finish(&p, 20000), 0, "%s", p.buf[1]);
  cr_assert_str_eq(p.buf[0], line);
  start(&p, "env -u JUDGER_WATCH_KEY_FILE " JD_BINARY_DIR "/bin/judger watch-token m-42");
  cr_assert_eq(finish(&p, 20000), 2, "%s", p.buf[1]);
  cr_assert_not_null(strstr(p.buf[1], "watch_key_file"), "%s", p.buf[1]);
  start(&p, JD_BINARY_DIR "/bin/judger watch-token --watch-key-file %s/none m-42", dir);
  cr_assert_eq(finish(&p, 20000), 1, "%s", p.buf[1]);
}
