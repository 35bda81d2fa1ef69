// test-labels: engine redis
/* A task's published output handed to a later match, through the real
 * daemon: task A's game logic writes boot.txt and A publishes it (stored
 * in Redis before its result); match B names {"task": A, "file":
 * "boot.txt"} and its game logic reads /inputs/boot.txt, read-only; a
 * match naming an output nobody published fails with the daemon's words
 * (the task's fault, not retried); a task publishing a file it did not
 * write, or a link its game made, fails naming it. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include "common/tmpfile.h"
#include "common/util.h"
#include "daemon_proc.h"
#include "queue/outputs.h"
#include "redis_server.h"
#include "support.h"

static t_redis *srv;
static char *game; /* the game logic's directory (under /tmp, a program root) */

/* Without an input: writes config.text into boot.txt (and a link named
 * leak.txt), ends. With /inputs/boot.txt: reports its text, the mount's
 * options and its size. */
static const char script[] =
    "#!/bin/sh\n"
    "exec 4>\"$JUDGER_CMD_PIPE\"\n"
    "f=/inputs/boot.txt\n"
    "if [ -e $f ]; then\n"
    "  text=$(head -c 100 $f | tr -cd 'a-z0-9 ')\n"
    "  mnt=$(grep \" $f \" /proc/mounts | cut -d' ' -f4 | cut -d, -f1)\n"
    "  size=$(wc -c < $f)\n"
    "  echo "
    "\"{\\\"cmd\\\":\\\"end\\\",\\\"scores\\\":[$size],\\\"messages\\\":[\\\"$text|$mnt\\\"]}\" "
    ">&4\n"
    "  exit 0\n"
    "fi\n"
    "sed -n 's/.*\"text\": *\"\\([a-z0-9 ]*\\)\".*/\\1/p' /judger/match.json > "
    "/judger/out/boot.txt\n"
    "ln -s /etc/passwd /judger/out/leak.txt\n"
    "echo '{\"cmd\":\"end\",\"scores\":[1]}' >&4\n";

static void up(void) {
  srv = t_redis_start(false, false);
  game = t_tmpdir("pubgame");
  char p[600];
  snprintf(p, sizeof p, "%s/main.sh", game);
  cr_assert_eq(jd_write_file(p, script, strlen(script)), 0);
  cr_assert_eq(chmod(game, 0755), 0);
}
static void down(void) {
  t_redis_stop(srv);
  t_rmdir(game);
}
TestSuite(publish_daemon, .init = up, .fini = down, .timeout = 240);

/* A match task: the game above, one idle player, and extra envelope and
 * spec members. */
static void submit(jd_queue *q, const char *id, const char *spec_extra, const char *task_extra) {
  char json[4096];
  snprintf(json, sizeof json,
           "{\"id\":\"%s\",\"type\":\"match\"%s,\"match\":{\"id\":\"%s\",\"game_logic\":{\"id\":"
           "\"pgame\",\"image\":\"" T_BUSYBOX_IMAGE "\",\"dir\":\"%s\",\"cmd\":[\"sh\",\"/app/"
           "main.sh\"]},\"players\":[{\"id\":\"idle\",\"image\":\"" T_BUSYBOX_IMAGE
           "\",\"cmd\":[\"true\"]}],\"config\":{\"text\":\"boot from task a\"}%s}}",
           id, task_extra, id, game, spec_extra);
  cr_assert_eq(jd_queue_submit(NULL, q, JD_PRIO_MATCH, id, json), 0, "%s", jd_queue_error(q));
}

/* The stored result's member key (of its first player when player). */
static const char *member(json_object *o, const char *key, bool player) {
  json_object *v = NULL;
  if (player) {
    json_object *ps = NULL;
    cr_assert(json_object_object_get_ex(o, "players", &ps));
    o = json_object_array_get_idx(ps, 0);
  }
  return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : "";
}

Test(publish_daemon, a_published_output_reaches_the_next_match_read_only) {
  dk_client *c = t_client();
  t_busybox_image(c);
  char *host = t_unique("jdd-pub"), *state = t_tmpdir("pubstate");
  t_proc *d = t_daemon_spawn(srv->url, host, state, NULL);
  jd_queue *q = t_queue_client(srv->url);
  submit(q, "pub-a", "", ",\"publish\":[\"boot.txt\"]");
  char *res = t_wait_result(q, "pub-a", 60000, d->log);
  json_object *o = json_tokener_parse(res);
  cr_assert_str_eq(member(o, "status", false), "finished", "%s", res);
  json_object_put(o);
  free(res);
  jd_output out;
  bool found = false;
  cr_assert_eq(jd_queue_get_output(&out, &found, q, "pub-a", "boot.txt", 1 << 20), 0);
  cr_assert(found, "pub-a's boot.txt is not in Redis (log %s)", d->log);
  cr_assert_eq(out.len, strlen("boot from task a\n"));
  jd_output_clear(&out);
  /* The next match reads it. */
  submit(q, "pub-b",
         ",\"inputs\":[{\"name\":\"boot.txt\",\"task\":\"pub-a\",\"file\":\"boot.txt\"}]", "");
  res = t_wait_result(q, "pub-b", 60000, d->log);
  o = json_tokener_parse(res);
  cr_assert_str_eq(member(o, "status", false), "finished", "%s", res);
  cr_assert_str_eq(member(o, "message", true), "boot from task a|ro", "%s", res);
  json_object_put(o);
  free(res);
  /* An output nobody published: the task's fault, said once, no retry. */
  submit(q, "pub-c",
         ",\"inputs\":[{\"name\":\"boot.txt\",\"task\":\"pub-x\",\"file\":\"boot.txt\"}]", "");
  res = t_wait_result(q, "pub-c", 60000, d->log);
  o = json_tokener_parse(res);
  cr_assert_str_eq(member(o, "status", false), "failed", "%s", res);
  cr_assert(
      strstr(member(o, "reason", false), "inputs[0]: task pub-x has no published output boot.txt"),
      "%s", res);
  json_object_put(o);
  free(res);
  char *att = t_task_field(q, "pub-c", "attempts");
  cr_assert(att && !strcmp(att, "1"), "attempts %s", att ? att : "(none)");
  free(att);
  /* Publishing a link the game made, or a file it did not write. */
  submit(q, "pub-d", "", ",\"publish\":[\"leak.txt\"]");
  submit(q, "pub-e", "", ",\"publish\":[\"none.txt\"]");
  const char *bad[][2] = {{"pub-d", "leak.txt"}, {"pub-e", "none.txt"}};
  for (size_t i = 0; i < 2; i++) {
    res = t_wait_result(q, bad[i][0], 60000, d->log);
    o = json_tokener_parse(res);
    cr_assert_str_eq(member(o, "status", false), "failed", "%s", res);
    cr_assert(strstr(member(o, "reason", false), bad[i][1]), "%s", res);
    json_object_put(o);
    free(res);
    cr_assert_eq(jd_queue_get_output(&out, &found, q, bad[i][0], bad[i][1], 1 << 20), 0);
    cr_assert_not(found);
  }
  kill(d->pid, SIGTERM);
  cr_assert_eq(t_proc_wait(d, 15000), 0, "daemon exit (log: %s)", d->log);
  t_cleanup_host(c, host);
  t_proc_free(d);
  jd_queue_free(q);
  t_rmdir(state);
  free(host);
  dk_client_free(c);
}
