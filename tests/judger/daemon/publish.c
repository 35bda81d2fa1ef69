// test-labels: redis
/* daemon/publish.c against a real redis-server: a finished task's
 * "publish" files stored (read under its output directory, never through
 * a link, a FIFO not waited on, bounded), and a match's {"task","file"}
 * inputs resolved into the host's input cache (a missing output, one over
 * the bound or tampered with is the task's fault, named). */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/tmpfile.h"
#include "common/util.h"
#include "daemon/publish.h"
#include "match/input_cache.h"
#include "queue/outputs.h"
#include "redis_server.h"
#include "support.h"

static t_redis *srv;
static char acl_url[128];

static void up(void) {
  srv = t_redis_start(false, false);
  t_redis_acl_user(srv, "judger-q", "q-s3cret");
  snprintf(acl_url, sizeof acl_url, "redis://judger-q:q-s3cret@127.0.0.1:%d/0", srv->port);
}
static void down(void) { t_redis_stop(srv); }

TestSuite(publish, .init = up, .fini = down);

static jd_queue *open_q(void) {
  jd_queue *q = NULL;
  jd_queue_opts o = {.redis_url = acl_url, .consumer = "h1"};
  cr_assert_eq(jd_queue_new(&q, &o), 0);
  return q;
}

static void put(const char *dir, const char *name, const char *text) {
  char p[600];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  cr_assert_eq(jd_write_file(p, text, strlen(text)), 0, "%s", p);
}

/* Publishes one file of out as task id; the kind of a failure. */
static int publish(jd_queue *q, const char *id, const char *out, const char *file, int64_t max,
                   jd_fail_kind *kind, char *err, size_t errlen) {
  char *files[] = {(char *)file};
  jd_task t = {.id = (char *)id, .publish = files, .npublish = 1};
  return jd_outputs_publish(q, &t, JD_CLAIM_NONE, out, max, kind, err, errlen);
}

Test(publish, files_are_stored_and_links_refused) {
  jd_queue *q = open_q();
  char *out = t_tmpdir("pubout");
  char p[600], err[512] = "";
  jd_fail_kind kind = JD_FAIL_SYSTEM;
  put(out, "boot.xml", "<boot/>");
  snprintf(p, sizeof p, "%s/maps", out);
  cr_assert_eq(mkdir(p, 0755), 0);
  put(out, "maps/one.txt", "one");
  cr_assert_eq(publish(q, "src", out, "boot.xml", 1 << 20, &kind, err, sizeof err), 0, "%s", err);
  cr_assert_eq(publish(q, "src", out, "maps/one.txt", 1 << 20, &kind, err, sizeof err), 0, "%s",
               err);
  jd_output o;
  bool found = false;
  cr_assert_eq(jd_queue_get_output(&o, &found, q, "src", "maps/one.txt", 100), 0);
  cr_assert(found && o.len == 3 && !memcmp(o.data, "one", 3));
  jd_output_clear(&o);
  /* A link as the file, a link as a directory on the way, a FIFO, none. */
  snprintf(p, sizeof p, "%s/leak", out);
  cr_assert_eq(symlink("/etc/passwd", p), 0);
  snprintf(p, sizeof p, "%s/etc", out);
  cr_assert_eq(symlink("/etc", p), 0);
  snprintf(p, sizeof p, "%s/fifo", out);
  cr_assert_eq(mkfifo(p, 0644), 0);
  const char *refused[] = {"leak", "etc/passwd", "fifo", "none.xml"};
  for (size_t i = 0; i < 4; i++) {
    kind = JD_FAIL_SYSTEM;
    cr_assert_eq(publish(q, "src", out, refused[i], 1 << 20, &kind, err, sizeof err), -1, "%s",
                 refused[i]);
    cr_assert_eq(kind, JD_FAIL_PROGRAM, "%s: %s", refused[i], err);
    cr_assert(strstr(err, refused[i]), "%s", err);
    cr_assert_eq(jd_queue_get_output(&o, &found, q, "src", refused[i], 100), 0);
    cr_assert_not(found, "%s was published", refused[i]);
  }
  /* Over the bound. */
  cr_assert_eq(publish(q, "src", out, "boot.xml", 4, &kind, err, sizeof err), -1);
  cr_assert_eq(kind, JD_FAIL_PROGRAM);
  cr_assert(strstr(err, "publish_max_bytes"), "%s", err);
  t_rmdir(out);
  jd_queue_free(q);
}

static jd_match_spec *task_input_spec(const char *task, const char *file) {
  char json[600], err[512];
  snprintf(json, sizeof json,
           "{\"id\":\"m\",\"game_logic\":{\"id\":\"g\",\"image\":\"x\"},"
           "\"players\":[{\"id\":\"p\",\"image\":\"x\"}],"
           "\"inputs\":[{\"name\":\"boot.xml\",\"task\":\"%s\",\"file\":\"%s\"}]}",
           task, file);
  jd_match_spec *s = NULL;
  cr_assert_eq(jd_match_spec_parse(&s, json, NULL, err, sizeof err), 0, "%s", err);
  return s;
}

Test(publish, a_task_input_is_resolved_into_the_cache) {
  jd_queue *q = open_q();
  char *out = t_tmpdir("pubsrc"), *state = t_tmpdir("pubstate");
  char err[512] = "", sha[65], path[700];
  jd_fail_kind kind = JD_FAIL_SYSTEM;
  put(out, "boot.xml", "<boot>7</boot>");
  cr_assert_eq(publish(q, "boot", out, "boot.xml", 1 << 20, &kind, err, sizeof err), 0, "%s", err);
  jd_match_spec *s = task_input_spec("boot", "boot.xml");
  cr_assert_eq(jd_inputs_resolve(s, q, state, 1 << 20, &kind, err, sizeof err), 0, "%s", err);
  jd_sha256_hex(sha, "<boot>7</boot>", 14);
  cr_assert_str_eq(s->inputs[0].sha256, sha);
  cr_assert_null(s->inputs[0].unresolved);
  int fd = -1;
  bool missing = true;
  cr_assert_eq(jd_input_open(&fd, &missing, path, sizeof path, state, sha, err, sizeof err), 0,
               "%s", err);
  close(fd);
  jd_match_spec_free(s);
  t_rmdir(out);
  t_rmdir(state);
  jd_queue_free(q);
}

/* A task input that cannot be had: the task's fault, with why. */
static void unresolved(jd_queue *q, const char *task, int64_t max, const char *want) {
  char *state = t_tmpdir("pubstate");
  char err[512] = "";
  jd_fail_kind kind = JD_FAIL_SYSTEM;
  jd_match_spec *s = task_input_spec(task, "boot.xml");
  cr_assert_eq(jd_inputs_resolve(s, q, state, max, &kind, err, sizeof err), -1);
  cr_assert_eq(kind, JD_FAIL_PROGRAM, "%s", err);
  cr_assert(strstr(err, want), "%s", err);
  cr_assert(s->inputs[0].unresolved && strstr(s->inputs[0].unresolved, want));
  cr_assert_str_eq(s->inputs[0].sha256, "");
  jd_match_spec_free(s);
  t_rmdir(state);
}

Test(publish, a_missing_big_or_tampered_output_is_the_tasks_fault) {
  jd_queue *q = open_q();
  unresolved(q, "ghost", 1 << 20, "inputs[0]: task ghost has no published output boot.xml");
  char sha[65];
  jd_sha256_hex(sha, "0123456789", 10);
  cr_assert_eq(jd_queue_publish_output(q, "big", "boot.xml", "0123456789", 10, sha), 0);
  unresolved(q, "big", 4, "over this host's publish_max_bytes");
  cr_assert_eq(jd_queue_publish_output(q, "tampered", "boot.xml", "9876543210", 10, sha), 0);
  unresolved(q, "tampered", 1 << 20, "does not match its sha256");
  /* No Redis connection: the host's fault. */
  char err[256];
  jd_fail_kind kind = JD_FAIL_PROGRAM;
  jd_match_spec *s = task_input_spec("boot", "boot.xml");
  cr_assert_eq(jd_inputs_resolve(s, NULL, "/nonexistent", 1 << 20, &kind, err, sizeof err), -1);
  cr_assert_eq(kind, JD_FAIL_SYSTEM);
  jd_match_spec_free(s);
  jd_queue_free(q);
}

/* A run that lost its task's claim (another run took it over) publishes
 * nothing: the outputs stay those of the run whose result is stored. The
 * run that holds it publishes. */
Test(publish, a_run_that_lost_its_claim_publishes_nothing) {
  jd_queue *q = open_q();
  cr_assert_eq(jd_queue_setup(q), 0);
  char *out = t_tmpdir("pubfence");
  put(out, "boot.xml", "<stale/>");
  char eid[64];
  char *entry = NULL;
  cr_assert_eq(jd_queue_submit(&entry, q, JD_PRIO_MATCH, "fenced",
                               "{\"id\":\"fenced\",\"type\":\"match\",\"match\":{}}"),
               0);
  snprintf(eid, sizeof eid, "%s", entry);
  free(entry);
  jd_begin first, second;
  cr_assert_eq(jd_queue_begin(&first, q, JD_PRIO_MATCH, eid, "fenced", 3), 0);
  cr_assert_eq(first.outcome, JD_BEGIN_RUN);
  /* The claim runs out and another run takes the task. */
  redisReply *rep = NULL;
  cr_assert_eq(jd_redis_command(&rep, jd_queue_redis(q), "DEL judger:claim:fenced"), 0);
  freeReplyObject(rep);
  cr_assert_eq(jd_queue_begin(&second, q, JD_PRIO_MATCH, "0-1", "fenced", 3), 0);
  cr_assert_eq(second.outcome, JD_BEGIN_RUN);
  char *files[] = {"boot.xml"};
  jd_task t = {.id = "fenced", .publish = files, .npublish = 1};
  jd_fail_kind kind = JD_FAIL_SYSTEM;
  char err[256] = "";
  cr_assert_eq(jd_outputs_publish(q, &t, first.claim, out, 1 << 20, &kind, err, sizeof err), 0,
               "%s", err);
  jd_output o;
  bool found = true;
  cr_assert_eq(jd_queue_get_output(&o, &found, q, "fenced", "boot.xml", 100), 0);
  cr_assert_not(found, "the fenced run published");
  cr_assert_eq(jd_outputs_publish(q, &t, second.claim, out, 1 << 20, &kind, err, sizeof err), 0,
               "%s", err);
  cr_assert_eq(jd_queue_get_output(&o, &found, q, "fenced", "boot.xml", 100), 0);
  cr_assert(found, "the run holding the claim publishes");
  jd_output_clear(&o);
  jd_queue_free(q);
  t_rmdir(out);
}
