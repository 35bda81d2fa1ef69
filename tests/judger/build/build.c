// test-labels: engine
/* `judger build` end to end: the real binary against the real engine. */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "build/base_image.h"
#include "build/image_cache.h"
#include "build/program.h"
#include "common/tmpfile.h"
#include "common/util.h"
#include "support.h"

#define JUDGER JD_BINARY_DIR "/bin/judger"

typedef struct run {
  int code;
  char *out, *err;
  json_object *json; /* stdout parsed, when it is JSON */
} run;

/* Runs judger with argv (NULL-terminated, without argv[0]); env entries
 * "K=V" are added to the environment. */
static run judger(const char *state, const char *const *env, const char *const *args) {
  char *tmp = t_tmpdir("cli");
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
    if (state)
      setenv("JUDGER_STATE_DIR", state, 1);
    setenv("JUDGER_HOST_ID", "test", 1);
    for (const char *const *p = env; p && *p; p++)
      putenv((char *)*p);
    const char *argv[64] = {"judger"};
    size_t n = 1;
    for (const char *const *a = args; *a && n < 63; a++)
      argv[n++] = *a;
    argv[n] = NULL;
    execv(JUDGER, (char *const *)argv);
    _exit(127);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  run r = {.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1};
  cr_assert_eq(jd_read_file(&r.out, NULL, outp, 8 << 20), 0);
  cr_assert_eq(jd_read_file(&r.err, NULL, errp, 8 << 20), 0);
  r.json = json_tokener_parse(r.out);
  t_rmdir(tmp);
  return r;
}

static void run_free(run *r) {
  free(r->out);
  free(r->err);
  json_object_put(r->json);
}

static const char *jget(json_object *o, const char *path) {
  /* "a.b" -> o["a"]["b"] as a string ("true"/"false" for booleans) */
  char buf[128];
  snprintf(buf, sizeof buf, "%s", path);
  json_object *cur = o;
  for (char *save = NULL, *k = strtok_r(buf, ".", &save); k; k = strtok_r(NULL, ".", &save))
    if (!cur || !json_object_object_get_ex(cur, k, &cur))
      return NULL;
  return cur ? json_object_get_string(cur) : NULL;
}

static void put(const char *dir, const char *name, const char *text) {
  char p[4096];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  cr_assert_eq(jd_write_file(p, text, strlen(text)), 0);
}

/* One program under test: a client, a unique id, a source and a state
 * directory; prog_free() removes everything, its images included. */
typedef struct prog {
  dk_client *c;
  char *id, *src, *state;
} prog;

static prog prog_new(const char *prefix) {
  prog p = {.c = t_client()};
  t_busybox_image(p.c);
  p.id = t_unique(prefix);
  p.src = t_tmpdir("clisrc");
  p.state = t_tmpdir("clistate");
  return p;
}

static void prog_free(prog *p) {
  jd_ctx ctx = {.dk = p->c};
  jd_image_purge(NULL, NULL, &ctx, NULL, p->id, true, NULL, 0);
  t_rmdir(p->src);
  t_rmdir(p->state);
  free(p->id);
  dk_client_free(p->c);
}

Test(build_cli, bad_id_is_a_usage_error_with_a_clear_message) {
  run r = judger(
      "/tmp", NULL,
      (const char *[]){"build", "--domain", "ai", "--id", "Bad..Id", "--source", "/tmp", NULL});
  cr_assert_eq(r.code, 2, "exit %d", r.code);
  cr_assert(strstr(r.err, "program id 'Bad..Id' is invalid"), "stderr: %s", r.err);
  run_free(&r);
}

Test(build_cli, usage_errors_exit_2) {
  static const char *cases[][8] = {
      {"build", "--id", "x", "--source", "/tmp", NULL},                          /* no domain */
      {"build", "--domain", "robot", "--id", "x", "--source", "/tmp", NULL},     /* bad domain */
      {"build", "--domain", "ai", "--id", "x", NULL},                            /* no source */
      {"build", "--domain", "ai", "--id", "x", "--source", "/tmp", "--bogus"},   /* bad option */
      {"build", "--domain", "ai", "--id", "x", "--source", "/nonexistent", NULL} /* no dir */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    run r = judger("/tmp", NULL, cases[i]);
    cr_assert_eq(r.code, 2, "case %zu: exit %d, stderr %s", i, r.code, r.err);
    cr_assert(r.err[0] || r.out[0], "case %zu: no message", i);
    run_free(&r);
  }
}

Test(build_cli, miss_then_hit_in_json_with_the_dockerfile_sha_as_tag) {
  prog p = prog_new("cliok");
  const char *id = p.id, *src = p.src, *state = p.state;
  char run_df[256], build_df[256];
  snprintf(run_df, sizeof run_df,
           "FROM " T_BUSYBOX_IMAGE "\nENV MARK=%s\nCMD [\"cat\", \"/app/out\"]\n", id);
  snprintf(build_df, sizeof build_df,
           "FROM " T_BUSYBOX_IMAGE
           "\nENV MARK=%s\nCMD [\"sh\", \"-c\", \"cp in out && echo built\"]\n",
           id);
  put(src, "run.Dockerfile", run_df);
  put(src, "build.Dockerfile", build_df);
  put(src, "in", "data\n");
  char sha[65], want[256];
  jd_sha256_hex(sha, run_df, strlen(run_df));
  snprintf(want, sizeof want, "ai-%s-run:%s", id, sha);

  const char *args[] = {"build", "--domain", "ai", "--id", id, "--source", src, "--json", NULL};
  run a = judger(state, NULL, args);
  cr_assert_eq(a.code, 0, "exit %d: %s %s", a.code, a.out, a.err);
  cr_assert_not_null(a.json, "stdout is not one JSON object: %s", a.out);
  cr_assert_str_eq(jget(a.json, "status"), "ok");
  cr_assert_str_eq(jget(a.json, "run_image.tag"), want);
  cr_assert_str_eq(jget(a.json, "run_image.cached"), "false");
  cr_assert_str_eq(jget(a.json, "artifacts.cached"), "false");

  run b = judger(state, NULL, args);
  cr_assert_eq(b.code, 0, "exit %d: %s", b.code, b.err);
  cr_assert_str_eq(jget(b.json, "run_image.cached"), "true");
  cr_assert_str_eq(jget(b.json, "build_image.cached"), "true");
  cr_assert_str_eq(jget(b.json, "artifacts.cached"), "true", "artifacts rebuilt: %s", b.out);
  cr_assert_str_eq(jget(b.json, "artifacts.dir"), jget(a.json, "artifacts.dir"));
  run_free(&a);
  run_free(&b);
  prog_free(&p);
}

Test(build_cli, human_output_streams_progress) {
  prog p = prog_new("clihum");
  const char *id = p.id, *src = p.src, *state = p.state;
  char df[256];
  snprintf(df, sizeof df, "FROM " T_BUSYBOX_IMAGE "\nENV MARK=%s\n", id);
  put(src, "run.Dockerfile", df);
  run r = judger(state, NULL,
                 (const char *[]){"build", "--domain", "game_logic", "--id", id, "--source", src,
                                  "--op", "run", NULL});
  cr_assert_eq(r.code, 0, "exit %d: %s", r.code, r.err);
  cr_assert(strstr(r.err, "Step 1/"), "no streamed build steps on stderr: %s", r.err);
  cr_assert(strstr(r.out, ": OK"), "stdout: %s", r.out);
  cr_assert(strstr(r.out, "game_logic-"), "stdout: %s", r.out);
  run_free(&r);
  prog_free(&p);
}

Test(build_cli, failing_run_exits_1_with_the_failing_steps_output) {
  prog p = prog_new("clirun");
  const char *id = p.id, *src = p.src, *state = p.state;
  char df[256], mark[128];
  snprintf(mark, sizeof mark, "failing-step-%s", id);
  snprintf(df, sizeof df, "FROM " T_BUSYBOX_IMAGE "\nRUN echo %s; exit 7\n", mark);
  put(src, "run.Dockerfile", df);
  run r = judger(state, NULL,
                 (const char *[]){"build", "--domain", "ai", "--id", id, "--source", src, "--json",
                                  "--image-network", "none", NULL});
  cr_assert_eq(r.code, 1, "exit %d: %s %s", r.code, r.out, r.err);
  cr_assert_str_eq(jget(r.json, "verdict"), "CE");
  cr_assert_str_eq(jget(r.json, "stage"), "run_image");
  const char *log = jget(r.json, "log");
  cr_assert(log && strstr(log, mark), "log lacks the step's output: %s", log);
  cr_assert(strstr(jget(r.json, "message"), "non-zero code: 7"), "%s", jget(r.json, "message"));
  run_free(&r);
  prog_free(&p);
}

Test(build_cli, compile_error_exits_1_with_ce_and_the_message) {
  prog p = prog_new("clice");
  const char *id = p.id, *src = p.src, *state = p.state;
  char df[512];
  put(src, "run.Dockerfile", "FROM " T_BUSYBOX_IMAGE "\n");
  snprintf(df, sizeof df,
           "FROM " T_BUSYBOX_IMAGE "\nENV MARK=%s\nCMD [\"sh\", \"-c\", \"echo 'prog.c:1:1: error: "
           "unknown type name foo' >&2; exit 1\"]\n",
           id);
  put(src, "build.Dockerfile", df);
  run r = judger(
      state, NULL,
      (const char *[]){"build", "--domain", "ai", "--id", id, "--source", src, "--json", NULL});
  cr_assert_eq(r.code, 1, "exit %d: %s %s", r.code, r.out, r.err);
  cr_assert_str_eq(jget(r.json, "verdict"), "CE");
  cr_assert_str_eq(jget(r.json, "stage"), "artifacts");
  cr_assert(strstr(jget(r.json, "log"), "prog.c:1:1: error: unknown type name foo"), "%s", r.out);
  run_free(&r);
  prog_free(&p);
}

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...) {
  char cmd[8192];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cmd, sizeof cmd, fmt, ap);
  va_end(ap);
  cr_assert_eq(system(cmd), 0, "command failed: %s", cmd);
}

Test(build_cli, git_source_at_a_ref_and_at_a_missing_ref) {
  prog pg = prog_new("cligit");
  const char *id = pg.id, *tmp = pg.src, *state = pg.state;
  sh("cd %s && git -c init.defaultBranch=main init -q w && cd w && printf 'FROM %s\\nENV "
     "MARK=%s\\n'"
     " > run.Dockerfile && git add -A && git -c user.name=t -c user.email=t@t commit -qm one"
     " && git tag v1",
     tmp, T_BUSYBOX_IMAGE, id);
  char url[4300], cmd[4400];
  snprintf(url, sizeof url, "file://%s/w", tmp);
  run r = judger(state, NULL,
                 (const char *[]){"build", "--domain", "ai", "--id", id, "--git", url, "--ref",
                                  "v1", "--json", NULL});
  cr_assert_eq(r.code, 0, "exit %d: %s %s", r.code, r.out, r.err);
  snprintf(cmd, sizeof cmd, "git -C %s/w rev-parse v1", tmp);
  FILE *p = popen(cmd, "r");
  char head[64] = "";
  cr_assert(fgets(head, sizeof head, p));
  pclose(p);
  head[strcspn(head, "\n")] = '\0';
  cr_assert_str_eq(jget(r.json, "commit"), head);
  cr_assert(!strncmp(jget(r.json, "source_identity"), "git:", 4));

  run m = judger(state, NULL,
                 (const char *[]){"build", "--domain", "ai", "--id", id, "--git", url, "--ref",
                                  "no-such-ref", "--json", NULL});
  cr_assert_eq(m.code, 1, "exit %d: %s", m.code, m.out);
  cr_assert(strstr(jget(m.json, "message"), "ref 'no-such-ref' not found"), "%s", m.out);
  run_free(&r);
  run_free(&m);
  prog_free(&pg);
}

Test(build_cli, engine_down_exits_3) {
  char *src = t_tmpdir("clidown");
  put(src, "run.Dockerfile", "FROM scratch\n");
  run r = judger(
      src, (const char *[]){"DOCKER_HOST=unix:///nonexistent/docker.sock", NULL},
      (const char *[]){"build", "--domain", "ai", "--id", "down", "--source", src, "--json", NULL});
  cr_assert_eq(r.code, 3, "exit %d: %s %s", r.code, r.out, r.err);
  cr_assert_str_eq(jget(r.json, "status"), "error");
  cr_assert(strstr(jget(r.json, "message"), "nonexistent/docker.sock"), "%s", r.out);
  run_free(&r);
  t_rmdir(src);
}

Test(build_cli, gc_of_a_program_keeps_its_current_image) {
  prog p = prog_new("cligc");
  dk_client *c = p.c;
  const char *id = p.id, *src = p.src, *state = p.state;
  char df[256];
  const char *args[] = {"build", "--domain", "ai",  "--id", id,  "--source",
                        src,     "--op",     "run", "-q",   NULL};
  snprintf(df, sizeof df, "FROM " T_BUSYBOX_IMAGE "\nENV MARK=%s V=1\n", id);
  put(src, "run.Dockerfile", df);
  run a = judger(state, NULL, args);
  cr_assert_eq(a.code, 0, "%s", a.err);
  sleep(1);
  snprintf(df, sizeof df, "FROM " T_BUSYBOX_IMAGE "\nENV MARK=%s V=2\n", id);
  put(src, "run.Dockerfile", df);
  run b = judger(state, NULL, args);
  cr_assert_eq(b.code, 0, "%s", b.err);
  run g = judger(state, NULL,
                 (const char *[]){"gc", "--images", "--domain", "ai", "--id", id, "--keep", "0",
                                  "--json", NULL});
  cr_assert_eq(g.code, 0, "%s", g.err);
  json_object *removed = NULL;
  cr_assert(
      json_object_object_get_ex(json_object_object_get(g.json, "images"), "removed", &removed),
      "%s", g.out);
  cr_assert_eq(json_object_array_length(removed), 1, "%s", g.out);
  char sha[65], cur[256];
  jd_sha256_hex(sha, df, strlen(df));
  snprintf(cur, sizeof cur, "ai-%s-run:%s", id, sha);
  dk_image_info *info = NULL;
  t_ok(dk_image_inspect(&info, c, cur));
  dk_image_info_free(info);
  /* --purge --dry-run says what it would do and does nothing. */
  run dry =
      judger(state, NULL,
             (const char *[]){"gc", "--purge", "--dry-run", "--domain", "ai", "--id", id, NULL});
  cr_assert_eq(dry.code, 0, "%s", dry.err);
  char want[256];
  snprintf(want, sizeof want, "would purge 1 image(s) of %s, 0 kept (in use)\n", id);
  cr_assert_str_eq(dry.out, want);
  run_free(&dry);
  dry = judger(state, NULL,
               (const char *[]){"gc", "--purge", "--dry-run", "--id", id, "--json", NULL});
  cr_assert_str_eq(dry.out, "{\"purged\":1,\"in_use\":0,\"dry_run\":true}\n");
  run_free(&dry);
  t_ok(dk_image_inspect(&info, c, cur));
  dk_image_info_free(info);
  /* --purge: the program is gone, its images too. */
  run pu = judger(state, NULL,
                  (const char *[]){"gc", "--purge", "--domain", "ai", "--id", id, "--json", NULL});
  cr_assert_eq(pu.code, 0, "%s", pu.err);
  cr_assert(strstr(pu.out, "\"purged\":1"), "%s", pu.out);
  cr_assert_eq(dk_image_inspect(&info, c, cur), DK_ENOTFOUND, "purged image still there");
  run_free(&pu);
  run_free(&a);
  run_free(&b);
  run_free(&g);
  prog_free(&p);
}

/* A real compiler: samples/runtimes/c (gcc installed with apt-get on the
 * offline Debian base). The base image and this program's environment images
 * are kept as caches between runs (like the base itself: minutes to make,
 * so made once per engine); only the artifacts are per test. */
Test(build_cli, real_gcc_build_and_compile_error, .timeout = 880) {
  dk_client *c = t_client();
  run b = judger("/var/tmp", NULL, (const char *[]){"build", "--base-image", "--json", NULL});
  cr_assert_eq(b.code, 0, "base image: %s %s", b.out, b.err);
  run_free(&b);
  char *good = t_tmpdir("gccok"), *bad = t_tmpdir("gccbad"), *state = t_tmpdir("gccstate");
  sh("cp %s/samples/runtimes/c/*.Dockerfile %s/samples/runtimes/c/main.c %s && "
     "cp %s/samples/runtimes/c/*.Dockerfile %s",
     JD_SOURCE_DIR, JD_SOURCE_DIR, good, JD_SOURCE_DIR, bad);
  put(bad, "main.c", "int main(void) {\n  return undeclared_thing;\n}\n");
  const char *ok_args[] = {"build",           "--domain", "ai", "--id",
                           "judger-test-gcc", "--source", good, "--json",
                           "--timeout",       "600",      NULL};
  run r = judger(state, NULL, ok_args);
  cr_assert_eq(r.code, 0, "exit %d: %s %s", r.code, r.out, r.err);
  char p[4200], *elf = NULL;
  size_t n = 0;
  snprintf(p, sizeof p, "%s/main", jget(r.json, "artifacts.dir"));
  cr_assert_eq(jd_read_file(&elf, &n, p, 64 << 20), 0, "no binary at %s", p);
  cr_assert(n > 4 && !memcmp(elf,
                             "\x7f"
                             "ELF",
                             4),
            "main is not an ELF binary");
  free(elf);
  run_free(&r);
  const char *bad_args[] = {"build",           "--domain", "ai", "--id",
                            "judger-test-gcc", "--source", bad,  "--json",
                            "--timeout",       "600",      NULL};
  r = judger(state, NULL, bad_args);
  cr_assert_eq(r.code, 1, "exit %d: %s %s", r.code, r.out, r.err);
  cr_assert_str_eq(jget(r.json, "verdict"), "CE");
  cr_assert_str_eq(jget(r.json, "build_image.cached"), "true");
  const char *log = jget(r.json, "log");
  cr_assert(log && strstr(log, "main.c:2:10: error: 'undeclared_thing' undeclared"),
            "gcc's message missing: %s", log);
  run_free(&r);
  t_rmdir(good);
  t_rmdir(bad);
  t_rmdir(state);
  dk_client_free(c);
}
