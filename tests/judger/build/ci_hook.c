// test-labels: engine
/* The CI build hook of docs/ci-hook.md, for real: docs/ci/post-receive in a
 * bare repository after a real `git push`, and docs/ci/ci-build.sh in a
 * checkout. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "build/image_cache.h"
#include "common/tmpfile.h"
#include "common/util.h"
#include "support.h"

#define JUDGER JD_BINARY_DIR "/bin/judger"
#define GIT "git -c user.name=t -c user.email=t@t -c init.defaultBranch=main"

/* Runs a shell command, returns its exit code and (capped) output. */
static int sh_out(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int sh_out(char **out, const char *fmt, ...) {
  char cmd[8192];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cmd, sizeof cmd, fmt, ap);
  va_end(ap);
  FILE *p = popen(cmd, "r");
  cr_assert(p, "popen %s", cmd);
  dk_buf b = DK_BUF_INIT(1 << 20);
  char chunk[4096];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, p)) > 0)
    dk_buf_append(&b, chunk, n);
  int st = pclose(p);
  *out = b.data ? dk_buf_detach(&b, NULL) : strdup("");
  dk_buf_free(&b);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *head_of(const char *repo) {
  char *out = NULL;
  cr_assert_eq(sh_out(&out, "git -C %s rev-parse HEAD", repo), 0);
  out[strcspn(out, "\n")] = '\0';
  return out;
}

static void purge(dk_client *c, const char *id) {
  jd_ctx ctx = {.dk = c};
  jd_image_purge(NULL, NULL, &ctx, NULL, id, true, NULL, 0);
}

/* A bare repository <tmp>/<id>.git with docs/ci/post-receive installed as
 * `hook`, configured for this test, and a clone of it in <tmp>/work. */
static void make_repos(char *bare, char *work, size_t n, const char *tmp, const char *id,
                       const char *hook) {
  char *out = NULL;
  snprintf(bare, n, "%s/%s.git", tmp, id);
  snprintf(work, n, "%s/work", tmp);
  cr_assert_eq(sh_out(&out,
                      "git init -q --bare %s && cp %s/docs/ci/post-receive %s/hooks/%s &&"
                      " git -C %s config judger.bin %s && git -C %s config judger.statedir %s/state"
                      " && " GIT " clone -q %s %s 2>&1",
                      bare, JD_SOURCE_DIR, bare, hook, bare, JUDGER, bare, tmp, bare, work),
               0, "%s", out);
  free(out);
}

static void write_program(const char *dir, const char *id, const char *build_cmd) {
  char p[4200], text[1024];
  snprintf(p, sizeof p, "%s/run.Dockerfile", dir);
  snprintf(text, sizeof text,
           "FROM " T_BUSYBOX_IMAGE "\nENV MARK=%s\nCMD [\"cat\", \"/app/out\"]\n", id);
  cr_assert_eq(jd_write_file(p, text, strlen(text)), 0);
  snprintf(p, sizeof p, "%s/build.Dockerfile", dir);
  snprintf(text, sizeof text,
           "FROM " T_BUSYBOX_IMAGE "\nENV MARK=%s\nCMD [\"sh\", \"-c\", \"%s\"]\n", id, build_cmd);
  cr_assert_eq(jd_write_file(p, text, strlen(text)), 0);
}

Test(ci_hook, post_receive_builds_the_pushed_commit) {
  dk_client *c = t_client();
  t_busybox_image(c);
  char *id = t_unique("hook");
  char *tmp = t_tmpdir("hook"), *out = NULL;
  char bare[4200], work[4200];
  make_repos(bare, work, sizeof bare, tmp, id, "post-receive");
  write_program(work, id, "echo built > out");
  cr_assert_eq(sh_out(&out,
                      "cd %s && " GIT " add -A && " GIT " commit -qm one && " GIT
                      " push -q origin HEAD:main 2>&1",
                      work),
               0, "%s", out);
  char *commit = head_of(work);
  char want[256];
  snprintf(want, sizeof want, "remote: judger: OK (%s)", commit);
  cr_assert(strstr(out, want), "push output lacks '%s':\n%s", want, out);
  /* The hook names the program after the repository and keeps the JSON. */
  char json[4400], *data = NULL;
  snprintf(json, sizeof json, "%s/judger/%s.json", bare, commit);
  cr_assert_eq(jd_read_file(&data, NULL, json, 1 << 20), 0, "no %s", json);
  cr_assert(strstr(data, "\"status\":\"ok\""), "%s", data);
  char idkey[256];
  snprintf(idkey, sizeof idkey, "\"id\":\"%s\"", id);
  cr_assert(strstr(data, idkey), "%s", data);
  free(data);
  free(out);
  free(commit);

  /* A broken commit: the pusher sees the failure and the reason. */
  write_program(work, id, "echo 'bot.c:2: error: oops' >&2; exit 1");
  cr_assert_eq(sh_out(&out,
                      "cd %s && " GIT " commit -qam two && " GIT " push -q origin HEAD:main 2>&1",
                      work),
               0, "%s", out);
  commit = head_of(work);
  snprintf(want, sizeof want, "remote: judger: FAILED, the program's fault (%s)", commit);
  cr_assert(strstr(out, want), "push output lacks '%s':\n%s", want, out);
  cr_assert(strstr(out, "build failed with exit code 1"), "%s", out);
  snprintf(json, sizeof json, "%s/judger/%s.json", bare, commit);
  cr_assert_eq(jd_read_file(&data, NULL, json, 1 << 20), 0);
  cr_assert(strstr(data, "bot.c:2: error: oops"), "compiler output missing: %s", data);
  free(data);
  free(out);
  free(commit);
  purge(c, id);
  t_rmdir(tmp);
  free(id);
  dk_client_free(c);
}

Test(ci_hook, ci_job_script_builds_the_checked_out_commit) {
  dk_client *c = t_client();
  t_busybox_image(c);
  char *id = t_unique("cijob");
  char *tmp = t_tmpdir("cijob"), *out = NULL;
  char root[4200];
  snprintf(root, sizeof root, "%s/prog", tmp);
  cr_assert_eq(sh_out(&out, "mkdir -p %s/state %s", tmp, root), 0);
  free(out);
  write_program(root, id, "echo built > out");
  cr_assert_eq(
      sh_out(&out, "cd %s && " GIT " init -q . && " GIT " add -A && " GIT " commit -qm one", root),
      0, "%s", out);
  free(out);
  char *commit = head_of(root);
  int rc = sh_out(&out,
                  "cd %s && JUDGER=%s JUDGER_ID=%s JUDGER_STATE_DIR=%s/state "
                  "CI_COMMIT_SHA=%s sh %s/docs/ci/ci-build.sh",
                  root, JUDGER, id, tmp, commit, JD_SOURCE_DIR);
  cr_assert_eq(rc, 0, "ci job failed (%d): %s", rc, out);
  char want[128];
  snprintf(want, sizeof want, "\"commit\":\"%s\"", commit);
  cr_assert(strstr(out, want), "%s", out);
  cr_assert(strstr(out, "\"status\":\"ok\""), "%s", out);
  free(out);
  free(commit);
  purge(c, id);
  t_rmdir(tmp);
  free(id);
  dk_client_free(c);
}

Test(ci_hook, pre_receive_refuses_a_push_that_does_not_build) {
  dk_client *c = t_client();
  t_busybox_image(c);
  char *id = t_unique("prerecv");
  char *tmp = t_tmpdir("prerecv"), *out = NULL;
  char bare[4200], work[4200];
  make_repos(bare, work, sizeof bare, tmp, id, "pre-receive");
  /* The commit only exists in git's quarantine while the hook runs. */
  write_program(work, id, "echo 'bad.c:1: error: nope' >&2; exit 1");
  int rc = sh_out(&out,
                  "cd %s && " GIT " add -A && " GIT " commit -qm bad && " GIT
                  " push -q origin HEAD:main 2>&1",
                  work);
  cr_assert_neq(rc, 0, "a push that does not build was accepted:\n%s", out);
  cr_assert(strstr(out, "judger: FAILED, the program's fault"), "%s", out);
  free(out);
  write_program(work, id, "echo ok > out");
  rc = sh_out(&out, "cd %s && " GIT " commit -qam good && " GIT " push -q origin HEAD:main 2>&1",
              work);
  cr_assert_eq(rc, 0, "a good push was refused:\n%s", out);
  cr_assert(strstr(out, "judger: OK"), "%s", out);
  free(out);
  purge(c, id);
  t_rmdir(tmp);
  free(id);
  dk_client_free(c);
}
