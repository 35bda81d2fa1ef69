// test-labels: engine
/* Hostile Dockerfiles against the real engine, through jd_build_run: an
 * ADD of a URL served by a listener the test opens on the host never
 * reaches it (the classic builder would fetch it itself, from the host's
 * network, moby#36340: the control build shows it does on this engine),
 * and a program cannot start FROM, COPY --from or mount another program's
 * environment image. An image of the judger's names that is not on the
 * host is never pulled. The base_images setting reaches `judger build`
 * through its flag, JUDGER_BASE_IMAGES and the config file. Each refusal
 * is CE naming the line, before any step runs. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "build/build.h"
#include "build/dockerfile.h"
#include "build/image_cache.h"
#include "common/tmpfile.h"
#include "common/util.h"
#include "support.h"

/* ---- a listener on the host that answers every request with a secret ---- */

typedef struct listener {
  int fd;
  int port;
  atomic_int accepted;
  atomic_bool stop;
  pthread_t thread;
} listener;

static void *listener_main(void *arg) {
  listener *l = arg;
  static const char reply[] = "HTTP/1.0 200 OK\r\nContent-Length: 12\r\n\r\nsecret-value";
  while (!atomic_load(&l->stop)) {
    struct pollfd p = {.fd = l->fd, .events = POLLIN};
    if (poll(&p, 1, 100) <= 0)
      continue;
    int c = accept(l->fd, NULL, NULL);
    if (c < 0)
      continue;
    atomic_fetch_add(&l->accepted, 1);
    char buf[4096];
    struct pollfd q = {.fd = c, .events = POLLIN};
    if (poll(&q, 1, 5000) > 0)
      (void)!read(c, buf, sizeof buf);
    (void)!write(c, reply, sizeof reply - 1);
    close(c);
  }
  return NULL;
}

static void listener_start(listener *l) {
  memset(l, 0, sizeof *l);
  l->fd = socket(AF_INET, SOCK_STREAM, 0);
  cr_assert(l->fd >= 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  cr_assert_eq(bind(l->fd, (struct sockaddr *)&a, sizeof a), 0);
  cr_assert_eq(listen(l->fd, 16), 0);
  socklen_t n = sizeof a;
  cr_assert_eq(getsockname(l->fd, (struct sockaddr *)&a, &n), 0);
  l->port = ntohs(a.sin_port);
  cr_assert_eq(pthread_create(&l->thread, NULL, listener_main, l), 0);
}

static void listener_stop(listener *l) {
  atomic_store(&l->stop, true);
  pthread_join(l->thread, NULL);
  close(l->fd);
}

/* ---- programs ---------------------------------------------------------------- */

typedef struct fixture {
  dk_client *dk;
  char *state;
  jd_ctx ctx;
} fixture;

static void fixture_init(fixture *f) {
  f->dk = t_client();
  t_busybox_image(f->dk);
  f->state = t_tmpdir("dffetch");
  f->ctx = (jd_ctx){.dk = f->dk, .state_dir = f->state, .host_id = "test-dffetch"};
}

static void fixture_fini(fixture *f) {
  t_rmdir(f->state);
  dk_client_free(f->dk);
}

static const dk_kv test_labels[] = {{T_LABEL_KEY, "1"}};

/* Builds the run image of program id whose run.Dockerfile is df. */
static jd_build_result *build(fixture *f, const char *id, const char *df) {
  char *src = t_tmpdir("dffetch-src");
  char path[4200];
  snprintf(path, sizeof path, "%s/run.Dockerfile", src);
  cr_assert_eq(jd_write_file(path, df, strlen(df)), 0);
  jd_build_request req = {.ref = {.domain = JD_DOMAIN_AI, .id = id, .dir = src},
                          .ops = JD_BUILD_OP_RUN,
                          .labels = test_labels,
                          .nlabels = 1};
  jd_build_result *r = NULL;
  cr_assert_eq(jd_build_run(&r, &f->ctx, &req), 0);
  t_rmdir(src);
  return r;
}

/* CE at run_image naming the line, and nothing built. */
static void assert_refused(const jd_build_result *r, int line, const char *want) {
  char head[64];
  snprintf(head, sizeof head, "run.Dockerfile line %d: ", line);
  cr_assert_eq(r->status, JD_BUILD_STATUS_FAILED, "status %s: %s", jd_build_status_name(r->status),
               r->message ? r->message : "");
  cr_assert_eq(r->verdict, JD_VERDICT_CE);
  cr_assert_eq(r->exit_code, JD_EXIT_PROGRAM);
  cr_assert_str_eq(r->stage, "run_image");
  cr_assert(r->message && !strncmp(r->message, head, strlen(head)), "message: %s", r->message);
  if (want)
    cr_assert(strstr(r->message, want), "'%s' not in: %s", want, r->message);
  cr_assert_null(r->run.tag, "an image was asked of the engine: %s", r->run.tag);
}

static void remove_image(dk_client *dk, const char *name) {
  int rc = dk_image_remove(dk, name, true, false);
  cr_assert(rc == 0 || rc == DK_ENOTFOUND, "remove %s: %s", name, dk_strerror(rc));
}

Test(dockerfile_fetch, add_url_never_fetched, .timeout = 300) {
  fixture f;
  fixture_init(&f);
  listener l;
  listener_start(&l);
  char url[128];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/secret", l.port);

  /* the control: the engine itself fetches an ADD URL when asked */
  char df[1024];
  snprintf(df, sizeof df, "FROM scratch\nADD %s /leak.txt\nLABEL " T_LABEL "\n", url);
  dk_tar *t = NULL;
  const void *tar = NULL;
  size_t len = 0;
  t_ok(dk_tar_new(&t, 0));
  t_ok(dk_tar_add_file(t, "Dockerfile", df, strlen(df), 0644));
  t_ok(dk_tar_finish(t, &tar, &len));
  char *control = NULL;
  dk_build_opts bo = {.network_mode = "none"};
  int crc = t_image_build(&control, f.dk, tar, len, &bo, NULL, NULL, NULL, NULL);
  dk_tar_free(t);
  int fetched = atomic_load(&l.accepted);
  cr_log_info("control build (no judger): %s, %d fetch(es) of the listener",
              crc ? dk_strerror(crc) : "built", fetched);
  if (crc == 0) {
    /* built, so the engine got the secret: from the listener, whatever the
     * build's network ("none") */
    cr_assert_geq(fetched, 1, "the control build did not fetch");
    remove_image(f.dk, control);
  }
  free(control);
  atomic_store(&l.accepted, 0);

  /* the same through the judger, in every spelling: refused before the
   * engine sees it, and the listener never hears of it */
  struct {
    const char *fmt;
    int line;
  } cases[] = {
      {"FROM " T_BUSYBOX_IMAGE "\nADD %s /leak.txt\nRUN cat /leak.txt && false\n", 2},
      {"FROM " T_BUSYBOX_IMAGE "\nARG U=%s\nADD $U /leak.txt\nRUN cat /leak.txt && false\n", 3},
      {"FROM " T_BUSYBOX_IMAGE "\nENV U=%s\nRUN true \\\n  # step\n\n  && true\n"
       "add [\"${U}\", \"/leak.txt\"]\n",
       7},
      {"# escape=`\nFROM " T_BUSYBOX_IMAGE "\nADD `\n  %s /leak.txt\n", 3},
      {"FROM " T_BUSYBOX_IMAGE " AS a\nONBUILD ADD %s /leak.txt\nFROM a\n", 2},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *id = t_unique("dffetch");
    snprintf(df, sizeof df, cases[i].fmt, url);
    jd_build_result *r = build(&f, id, df);
    assert_refused(r, cases[i].line, "ADD");
    cr_assert(!r->log || !strstr(r->log, "secret-value"));
    jd_build_result_free(r);
    free(id);
  }
  cr_assert_eq(atomic_load(&l.accepted), 0, "the listener was reached %d times",
               atomic_load(&l.accepted));
  listener_stop(&l);
  fixture_fini(&f);
}

Test(dockerfile_fetch, another_programs_image_refused, .timeout = 300) {
  fixture f;
  fixture_init(&f);
  char *victim = t_unique("dfvictim");
  char df[1024];
  snprintf(df, sizeof df, "FROM " T_BUSYBOX_IMAGE "\nRUN echo topsecret-%s > /secret\n", victim);
  jd_build_result *v = build(&f, victim, df);
  cr_assert_eq(v->status, JD_BUILD_STATUS_OK, "%s", v->message ? v->message : "");
  cr_assert(v->run.tag && v->run.image_id);
  char repo[160];
  cr_assert_eq(jd_image_repo(repo, sizeof repo, JD_DOMAIN_AI, victim, JD_OP_RUN), 0);
  char short_id[16];
  snprintf(short_id, sizeof short_id, "%.12s", v->run.image_id + 7); /* after "sha256:" */

  char from_latest[256], from_tag[512], from_id[64], copy_from[512], mount_from[512],
      mount_stage[512];
  snprintf(from_latest, sizeof from_latest, "FROM %s:latest\nRUN cat /secret && false\n", repo);
  snprintf(from_tag, sizeof from_tag, "FROM %s\nRUN cat /secret && false\n", v->run.tag);
  snprintf(from_id, sizeof from_id, "FROM %s\nRUN cat /secret && false\n", short_id);
  snprintf(copy_from, sizeof copy_from,
           "FROM " T_BUSYBOX_IMAGE "\nCOPY --from=%s:latest /secret /s\nRUN cat /s && false\n",
           repo);
  snprintf(mount_from, sizeof mount_from,
           "FROM " T_BUSYBOX_IMAGE "\nRUN --mount=from=%s,target=/o cat /o/secret && false\n",
           repo);
  /* a stage of the same name is only a stage once it is done */
  snprintf(mount_stage, sizeof mount_stage,
           "FROM " T_BUSYBOX_IMAGE " AS %s\nCOPY --from=%s /secret /s\n", repo, repo);
  struct {
    const char *df;
    int line;
    const char *want;
  } cases[] = {
      {from_latest, 1, "another program's environment image"},
      {from_tag, 1, "another program's environment image"},
      {from_id, 1, "image id"},
      {copy_from, 2, "COPY --from"},
      {mount_from, 2, "RUN --mount=from="},
      {mount_stage, 2, "COPY --from"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *id = t_unique("dfthief");
    jd_build_result *r = build(&f, id, cases[i].df);
    assert_refused(r, cases[i].line, cases[i].want);
    cr_assert(!r->log || !strstr(r->log, "topsecret"), "%s", r->log);
    jd_build_result_free(r);
    free(id);
  }

  /* what stays allowed: an earlier stage of the same Dockerfile, even one
   * named like another program's image */
  char *ok = t_unique("dfstages");
  snprintf(df, sizeof df,
           "FROM " T_BUSYBOX_IMAGE " AS %s\nRUN echo staged > /x\n"
           "FROM " T_BUSYBOX_IMAGE "\nCOPY --from=%s /x /x\nRUN grep -q staged /x\n",
           repo, repo);
  jd_build_result *r = build(&f, ok, df);
  cr_assert_eq(r->status, JD_BUILD_STATUS_OK, "%s: %s", r->message ? r->message : "",
               r->log ? r->log : "");
  remove_image(f.dk, r->run.image_id);
  jd_build_result_free(r);
  free(ok);

  remove_image(f.dk, v->run.image_id);
  jd_build_result_free(v);
  free(victim);
  fixture_fini(&f);
}

/* build.Dockerfile is read the same way: CE at build_image. */
Test(dockerfile_fetch, build_dockerfile_refused, .timeout = 300) {
  fixture f;
  fixture_init(&f);
  listener l;
  listener_start(&l);
  char *src = t_tmpdir("dffetch-src");
  char path[4200], df[512];
  snprintf(path, sizeof path, "%s/run.Dockerfile", src);
  cr_assert_eq(
      jd_write_file(path, "FROM " T_BUSYBOX_IMAGE "\n", strlen("FROM " T_BUSYBOX_IMAGE "\n")), 0);
  snprintf(path, sizeof path, "%s/build.Dockerfile", src);
  snprintf(df, sizeof df, "FROM " T_BUSYBOX_IMAGE "\nONBUILD ADD http://127.0.0.1:%d/x /x\n",
           l.port);
  cr_assert_eq(jd_write_file(path, df, strlen(df)), 0);
  char *id = t_unique("dfbuildop");
  jd_build_request req = {.ref = {.domain = JD_DOMAIN_AI, .id = id, .dir = src},
                          .ops = JD_BUILD_OP_BUILD,
                          .labels = test_labels,
                          .nlabels = 1};
  jd_build_result *r = NULL;
  cr_assert_eq(jd_build_run(&r, &f.ctx, &req), 0);
  cr_assert_eq(r->verdict, JD_VERDICT_CE, "%s", r->message ? r->message : "");
  cr_assert_str_eq(r->stage, "build_image");
  cr_assert(r->message && !strncmp(r->message, "build.Dockerfile line 2: ONBUILD ADD", 36), "%s",
            r->message);
  cr_assert_null(r->build.tag);
  cr_assert_null(r->artifacts_key);
  cr_assert_eq(atomic_load(&l.accepted), 0);
  jd_build_result_free(r);
  free(id);
  t_rmdir(src);
  listener_stop(&l);
  fixture_fini(&f);
}

/* An image of the judger's names is never pulled: missing, it is CE
 * before the engine would look for it on Docker Hub. */
Test(dockerfile_fetch, builtin_entries_never_pull, .timeout = 300) {
  fixture f;
  fixture_init(&f);
  f.ctx.base_images = JD_BASE_IMAGES_DEFAULT;
  char *id = t_unique("dfabsent");
  char df[256];
  snprintf(df, sizeof df, "FROM " T_BUSYBOX_IMAGE "\nCOPY --from=judger-test/%s:1 / /\n", id);
  jd_build_result *r = build(&f, id, df);
  assert_refused(r, 2, "is not on this host");
  jd_build_result_free(r);
  free(id);
  fixture_fini(&f);
}

/* ---- the setting through `judger build`: flag, environment, config file ---- */

typedef struct cli_run {
  int code;
  char *out, *err;
  json_object *json;
} cli_run;

/* `judger build --json -q ARGS...` with the env entries "K=V" added; the
 * program roots are the test's temporary directories, set here. */
static cli_run judger_build(const char *state, const char *const *env, const char *const *args) {
  char *tmp = t_tmpdir("dffetch-cli");
  char outp[4200], errp[4200];
  snprintf(outp, sizeof outp, "%s/out", tmp);
  snprintf(errp, sizeof errp, "%s/err", tmp);
  pid_t pid = fork();
  cr_assert(pid >= 0);
  if (pid == 0) {
    int o = open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int e = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(o, 1);
    dup2(e, 2);
    setenv("JUDGER_STATE_DIR", state, 1);
    setenv("JUDGER_HOST_ID", "test-dffetch", 1);
    setenv("JUDGER_PROGRAM_ROOTS", "/tmp", 1);
    unsetenv("JUDGER_BASE_IMAGES");
    unsetenv("JUDGER_CONFIG");
    for (const char *const *p = env; p && *p; p++)
      putenv((char *)*p);
    const char *argv[32] = {"judger", "build", "--json", "-q"};
    size_t n = 4;
    for (const char *const *a = args; *a && n < 31; a++)
      argv[n++] = *a;
    argv[n] = NULL;
    execv(JD_BINARY_DIR "/bin/judger", (char *const *)argv);
    _exit(127);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  cli_run r = {.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1};
  cr_assert_eq(jd_read_file(&r.out, NULL, outp, 1 << 20), 0);
  cr_assert_eq(jd_read_file(&r.err, NULL, errp, 1 << 20), 0);
  r.json = json_tokener_parse(r.out);
  t_rmdir(tmp);
  return r;
}

static const char *jstr_of(json_object *o, const char *key) {
  json_object *v = NULL;
  return o && json_object_object_get_ex(o, key, &v) && v ? json_object_get_string(v) : NULL;
}

/* CE naming line 1's image, from the allow-list in force. */
static void cli_refused(cli_run *r) {
  cr_assert_eq(r->code, 1, "exit %d: %s %s", r->code, r->out, r->err);
  cr_assert_str_eq(jstr_of(r->json, "verdict"), "CE");
  cr_assert_str_eq(jstr_of(r->json, "stage"), "run_image");
  const char *m = jstr_of(r->json, "message");
  cr_assert(m && strstr(m, "run.Dockerfile line 1: FROM " T_BUSYBOX_IMAGE) &&
                strstr(m, "base_images"),
            "%s", m);
}

static void cli_free(cli_run *r) {
  free(r->out);
  free(r->err);
  json_object_put(r->json);
}

Test(dockerfile_fetch, base_images_setting_layers, .timeout = 300) {
  fixture f;
  fixture_init(&f);
  char *src = t_tmpdir("dffetch-src");
  char path[4200];
  snprintf(path, sizeof path, "%s/run.Dockerfile", src);
  char *id = t_unique("dfsetting");
  char df[256];
  snprintf(df, sizeof df, "FROM " T_BUSYBOX_IMAGE "\nLABEL mark=%s\n", id);
  cr_assert_eq(jd_write_file(path, df, strlen(df)), 0);
  const char *args[] = {"--domain", "ai", "--id", id, "--source", src, "--op", "run", NULL};

  /* the flag: an allow-list without the test image */
  const char *flag_args[] = {"--base-images", "gcc:12", "--domain", "ai",  "--id", id,
                             "--source",      src,      "--op",     "run", NULL};
  cli_run r = judger_build(f.state, NULL, flag_args);
  cli_refused(&r);
  cli_free(&r);
  /* the environment */
  const char *env_empty[] = {"JUDGER_BASE_IMAGES=", NULL};
  r = judger_build(f.state, env_empty, args);
  cli_refused(&r);
  cli_free(&r);
  /* the config file */
  char conf[4200], confenv[4300];
  snprintf(conf, sizeof conf, "%s/judger.conf", src);
  static const char conf_text[] = "base_images = judger/debian:*, gcc:12\n";
  cr_assert_eq(jd_write_file(conf, conf_text, strlen(conf_text)), 0);
  snprintf(confenv, sizeof confenv, "JUDGER_CONFIG=%s", conf);
  const char *env_conf[] = {confenv, NULL};
  r = judger_build(f.state, env_conf, args);
  cli_refused(&r);
  cli_free(&r);
  /* a bad pattern is a usage error, before anything is built */
  const char *bad_args[] = {
      "--base-images", "Not An Image", "--domain", "ai", "--id", id, "--source", src, NULL};
  r = judger_build(f.state, NULL, bad_args);
  cr_assert_eq(r.code, 2, "exit %d: %s", r.code, r.err);
  cr_assert(strstr(r.err, "--base-images"), "%s", r.err);
  cli_free(&r);
  /* the flag wins over the environment; the default admits the test image */
  const char *flag_ok[] = {
      "--base-images", "judger-test/*", "--domain", "ai", "--id", id, "--source", src,
      "--op",          "run",           NULL};
  r = judger_build(f.state, env_empty, flag_ok);
  cr_assert_eq(r.code, 0, "exit %d: %s %s", r.code, r.out, r.err);
  cr_assert_str_eq(jstr_of(r.json, "status"), "ok");
  cli_free(&r);
  r = judger_build(f.state, NULL, args);
  cr_assert_eq(r.code, 0, "exit %d: %s %s", r.code, r.out, r.err);
  cli_free(&r);

  char repo[160], latest[200];
  cr_assert_eq(jd_image_repo(repo, sizeof repo, JD_DOMAIN_AI, id, JD_OP_RUN), 0);
  snprintf(latest, sizeof latest, "%s:latest", repo);
  dk_image_info *info = NULL;
  t_ok(dk_image_inspect(&info, f.dk, latest));
  remove_image(f.dk, info->id);
  dk_image_info_free(info);
  free(id);
  t_rmdir(src);
  fixture_fini(&f);
}
