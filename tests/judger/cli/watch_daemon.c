// test-labels: engine redis
/* `judger watch` on a real daemon's live stream: joined while the task is
 * queued (no daemon yet), it waits, then prints the match live (the game
 * logic's frames among the events) and exits 0 at match.done; joined after
 * the result, it prints the kept history and exits 0; --json lines are the
 * events' JSON with their seq. */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "common/clock.h"
#include "common/util.h"
#include "daemon_proc.h"
#include "queue/queue.h"
#include "redis_server.h"
#include "support.h"

static t_redis *srv;
static dk_client *dk;
static char *state, *host;

static void up(void) {
  srv = t_redis_start(false, false);
  dk = t_client();
  t_busybox_image(dk);
  state = t_tmpdir("wdstate");
  host = t_unique("wd");
}
static void down(void) {
  t_cleanup_host(dk, host);
  dk_client_free(dk);
  t_redis_stop(srv);
  t_rmdir(state);
  free(host);
}
TestSuite(watch_daemon, .init = up, .fini = down, .timeout = 180);

/* A match of the frames game logic (tests/judger/programs/frames_game). */
static void submit_frames(jd_queue *q, const char *id) {
  char *json = NULL;
  cr_assert(asprintf(&json,
                     "{\"id\":\"%s\",\"type\":\"match\",\"match\":{\"id\":\"%s\",\"game_logic\":{"
                     "\"id\":\"frames\",\"image\":\"" T_BUSYBOX_IMAGE "\",\"dir\":\"%s/tests/"
                     "judger/programs/frames_game\",\"cmd\":[\"sh\",\"/app/main.sh\"]},"
                     "\"players\":[{\"id\":\"quiet\",\"image\":\"" T_BUSYBOX_IMAGE "\",\"dir\":"
                     "\"%s/tests/judger/programs/trivial\",\"cmd\":[\"sh\",\"/app/main.sh\"]}],"
                     "\"config\":{\"mode\":\"frames\",\"n\":3}}}",
                     id, id, JD_SOURCE_DIR, JD_SOURCE_DIR) > 0);
  cr_assert_eq(jd_queue_submit(NULL, q, JD_PRIO_MATCH, id, json), 0, "%s", jd_queue_error(q));
  free(json);
}

/* `judger watch` in a child: its stdout and stderr into files of state. */
static pid_t watch(const char *id, const char *extra, const char *tag) {
  char cmd[2048];
  snprintf(cmd, sizeof cmd, "exec %s/bin/judger watch --redis %s %s %s >%s/%s.out 2>%s/%s.err",
           JD_BINARY_DIR, srv->url, extra, id, state, tag, state, tag);
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
    _exit(127);
  }
  return pid;
}

static char *slurp(const char *tag, const char *ext) {
  char path[1024], *text = NULL;
  snprintf(path, sizeof path, "%s/%s.%s", state, tag, ext);
  if (jd_read_file(&text, NULL, path, 1 << 22))
    return strdup("");
  return text;
}

/* Waits until the file holds want; fails after ms. */
static void wait_text(const char *tag, const char *ext, const char *want, int ms) {
  for (int64_t end = jd_mono_ms() + ms;;) {
    char *t = slurp(tag, ext);
    bool ok = strstr(t, want) != NULL;
    if (ok || jd_mono_ms() >= end)
      cr_assert(ok, "no '%s' in %s.%s: %s", want, tag, ext, t);
    free(t);
    if (ok)
      return;
    (void)poll(NULL, 0, 50);
  }
}

static int exit_code(pid_t pid, int ms) {
  int st = 0;
  for (int64_t end = jd_mono_ms() + ms; waitpid(pid, &st, WNOHANG) == 0;) {
    if (jd_mono_ms() >= end) {
      kill(pid, SIGKILL);
      waitpid(pid, &st, 0);
      cr_assert_fail("judger watch still runs after %d ms", ms);
    }
    (void)poll(NULL, 0, 50);
  }
  cr_assert(WIFEXITED(st));
  return WEXITSTATUS(st);
}

Test(watch_daemon, joined_while_queued_it_follows_the_match_then_the_history_is_kept) {
  jd_queue *q = t_queue_client(srv->url);
  submit_frames(q, "wd-1");
  pid_t live = watch("wd-1", "", "live");
  wait_text("live", "err", "task wd-1 is queued: waiting for its match to start", 20000);
  t_proc *d = t_daemon_spawn(srv->url, host, state, NULL);
  int rc = exit_code(live, 120000);
  char *out = slurp("live", "out"), *err = slurp("live", "err");
  cr_assert_eq(rc, 0, "exit %d: %s (daemon log %s)", rc, err, d->log);
  cr_assert_not_null(strstr(out, "] attempt 1 of task wd-1\n"), "%s", out);
  cr_assert_not_null(strstr(out, "s] frame {\"turn\":1,\"board\":[[1,0],[0,2]],\"who\":\"a/b\"}\n"),
                     "%s", out);
  cr_assert_not_null(strstr(out, "s] frame 42\n"), "%s", out);
  cr_assert_not_null(strstr(out, "s] player p0 started (AI 0)\n"), "%s", out);
  cr_assert_not_null(strstr(out, "s] frame \"last\"\n"), "%s", out);
  char *done = strstr(out, "s] done: finished\n");
  cr_assert_not_null(done, "%s", out);
  cr_assert_str_eq(done + strlen("s] done: finished\n"), "", "match.done is the last line");
  cr_assert_null(strstr(out, "build "), "no build lines in the stream: %s", out);
  free(out);
  free(err);
  free(t_wait_result(q, "wd-1", 60000, d->log));

  /* After the result: the kept history, as JSON lines numbered by seq. */
  pid_t after = watch("wd-1", "--json", "after");
  rc = exit_code(after, 30000);
  out = slurp("after", "out");
  cr_assert_eq(rc, 0, "exit %d: %s", rc, out);
  int64_t prev = 0;
  size_t lines = 0, frames = 0;
  char *save = NULL;
  for (char *l = strtok_r(out, "\n", &save); l; l = strtok_r(NULL, "\n", &save), lines++) {
    json_object *o = json_tokener_parse(l), *v = NULL;
    cr_assert_not_null(o, "not JSON: %s", l);
    cr_assert(json_object_object_get_ex(o, "event", &v), "%s", l);
    const char *ev = json_object_get_string(v);
    frames += !strcmp(ev, "match.frame");
    if (json_object_object_get_ex(o, "seq", &v)) {
      cr_assert_gt(json_object_get_int64(v), prev, "%s", l);
      prev = json_object_get_int64(v);
    }
    json_object_put(o);
  }
  cr_assert_geq(frames, 4, "%zu frames in %zu lines", frames, lines);
  free(out);
  t_proc_free(d);
  jd_queue_free(q);
}
