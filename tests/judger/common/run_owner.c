// test-labels: unit
/* Runs every judger process can see: a live run's labels are read, a dead
 * run's file (its process killed -9) is removed, and what is not a run
 * file is left alone. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/run_owner.h"
#include "common/tmpfile.h"
#include "common/util.h"
#include "support.h"

static char *state;
static void setup(void) { state = t_tmpdir("runowner"); }
static void teardown(void) { t_rmdir(state); }
TestSuite(run_owner, .init = setup, .fini = teardown);

static int64_t now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static size_t count(char **v) {
  size_t n = 0;
  for (; v && v[n]; n++)
    ;
  return n;
}

static bool has(char **v, const char *s) {
  for (; v && *v; v++)
    if (!strcmp(*v, s))
      return true;
  return false;
}

static void free_v(char **v) {
  for (char **p = v; p && *p; p++)
    free(*p);
  free(v);
}

static size_t runs_files(void) {
  char dir[512];
  snprintf(dir, sizeof dir, "%s/runs", state);
  char *cmd = NULL;
  cr_assert(asprintf(&cmd, "ls -A '%s' 2>/dev/null | wc -l", dir) > 0);
  FILE *f = popen(cmd, "r");
  size_t n = 0;
  cr_assert_eq(fscanf(f, "%zu", &n), 1);
  pclose(f);
  free(cmd);
  return n;
}

Test(run_owner, a_live_run_is_read_and_its_release_removes_its_file) {
  jd_run_owner o = JD_RUN_OWNER_NONE;
  const char *labels[] = {"judger.match=m1", NULL};
  cr_assert_eq(jd_run_owner_take(&o, state, labels), 0);
  cr_assert_eq(strlen(o.id), JD_RUN_ID_LEN);
  char want[64];
  snprintf(want, sizeof want, "judger.owner=%s", o.id);
  cr_assert_str_eq(o.label, want);
  /* The directory and the file are the judger's only. */
  char path[512];
  struct stat st;
  snprintf(path, sizeof path, "%s/runs/%s", state, o.id);
  cr_assert_eq(lstat(path, &st), 0);
  cr_assert_eq(st.st_mode & 0777, 0600);
  snprintf(path, sizeof path, "%s/runs", state);
  cr_assert_eq(lstat(path, &st), 0);
  cr_assert_eq(st.st_mode & 0777, 0700);
  char **v = NULL;
  size_t dead = 0;
  cr_assert_eq(jd_run_owner_live(&v, state, &dead), 0);
  cr_assert_eq(dead, 0);
  cr_assert_eq(count(v), 2);
  cr_assert(has(v, want) && has(v, "judger.match=m1"));
  free_v(v);
  jd_run_owner_release(&o);
  jd_run_owner_release(&o); /* idempotent */
  cr_assert_eq(runs_files(), 0);
  cr_assert_eq(jd_run_owner_live(&v, state, &dead), 0);
  cr_assert_null(v);
}

Test(run_owner, a_run_killed_by_sigkill_is_dead_and_its_file_goes) {
  int pfd[2];
  cr_assert_eq(pipe(pfd), 0);
  pid_t pid = fork();
  cr_assert(pid >= 0);
  if (pid == 0) {
    jd_run_owner o = JD_RUN_OWNER_NONE;
    const char *labels[] = {"judger.match=child", NULL};
    char ok = jd_run_owner_take(&o, state, labels) == 0 ? 'y' : 'n';
    (void)!write(pfd[1], &ok, 1);
    pause();
    _exit(0);
  }
  close(pfd[1]);
  char ok = 0;
  cr_assert_eq(read(pfd[0], &ok, 1), 1);
  close(pfd[0]);
  cr_assert_eq(ok, 'y');
  char **v = NULL;
  size_t dead = 0;
  cr_assert_eq(jd_run_owner_live(&v, state, &dead), 0);
  cr_assert(has(v, "judger.match=child"), "another process's live run is seen");
  cr_assert_eq(dead, 0);
  free_v(v);
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  v = NULL;
  cr_assert_eq(jd_run_owner_live(&v, state, &dead), 0);
  cr_assert_null(v, "a killed run holds nothing");
  cr_assert_eq(dead, 1);
  cr_assert_eq(runs_files(), 0, "its file is removed");
}

Test(run_owner, only_run_files_are_read_and_bad_labels_are_refused) {
  jd_run_owner o = JD_RUN_OWNER_NONE;
  const char *bad[][2] = {{"no-equals", NULL}, {"=v", NULL}, {"a=b\nc=d", NULL}, {"a=b c", NULL}};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    cr_assert_neq(jd_run_owner_take(&o, state, bad[i]), 0, "label %zu", i);
  cr_assert_eq(o.fd, -1);
  /* Too many labels. */
  const char *many[JD_RUN_LABELS_MAX + 1];
  for (size_t i = 0; i < JD_RUN_LABELS_MAX; i++)
    many[i] = "k=v";
  many[JD_RUN_LABELS_MAX] = NULL;
  cr_assert_neq(jd_run_owner_take(&o, state, many), 0);
  /* Something else in runs/: a symlink named like a run, a directory, a
   * file of another name. None is read, none removed. */
  char dir[512], path[600];
  snprintf(dir, sizeof dir, "%s/runs", state);
  cr_assert_eq(jd_mkdir_p(dir, 0700), 0);
  snprintf(path, sizeof path, "%s/0123456789abcdef", dir);
  cr_assert_eq(symlink("/etc/passwd", path), 0);
  snprintf(path, sizeof path, "%s/fedcba9876543210", dir);
  cr_assert_eq(mkdir(path, 0700), 0);
  snprintf(path, sizeof path, "%s/notes.txt", dir);
  cr_assert_eq(jd_write_file(path, "judger.match=x\n", 15), 0);
  char **v = NULL;
  size_t dead = 0;
  cr_assert_eq(jd_run_owner_live(&v, state, &dead), 0);
  cr_assert_null(v);
  cr_assert_eq(dead, 0);
  cr_assert_eq(runs_files(), 3);
}

Test(run_owner, a_torn_or_oversized_run_file_gives_whole_valid_lines_only) {
  /* A live run whose file another process wrote half (the last line has no
   * newline yet) and padded with junk: only whole, valid labels count. */
  jd_run_owner o = JD_RUN_OWNER_NONE;
  cr_assert_eq(jd_run_owner_take(&o, state, NULL), 0);
  const char extra[] = "bad line\njudger.match=ok\n\x01=x\njudger.match=torn";
  cr_assert_eq(write(o.fd, extra, sizeof extra - 1), (ssize_t)(sizeof extra - 1));
  char big[JD_RUN_FILE_MAX];
  memset(big, 'a', sizeof big);
  cr_assert_eq(write(o.fd, big, sizeof big), (ssize_t)sizeof big);
  char **v = NULL;
  cr_assert_eq(jd_run_owner_live(&v, state, NULL), 0);
  cr_assert_eq(count(v), 2);
  cr_assert(has(v, o.label) && has(v, "judger.match=ok"));
  free_v(v);
  jd_run_owner_release(&o);
}

Test(run_owner, take_and_release_cost) {
  enum { N = 2000 };
  int64_t t0 = now_us();
  for (int i = 0; i < N; i++) {
    jd_run_owner o = JD_RUN_OWNER_NONE;
    const char *labels[] = {"judger.match=cost", NULL};
    cr_assert_eq(jd_run_owner_take(&o, state, labels), 0);
    jd_run_owner_release(&o);
  }
  int64_t us = now_us() - t0;
  /* 50 live runs read by one sweep. */
  jd_run_owner os[50];
  for (int i = 0; i < 50; i++)
    cr_assert_eq(jd_run_owner_take(&os[i], state, NULL), 0);
  int64_t t1 = now_us();
  char **v = NULL;
  cr_assert_eq(jd_run_owner_live(&v, state, NULL), 0);
  int64_t read_us = now_us() - t1;
  cr_assert_eq(count(v), 50);
  free_v(v);
  for (int i = 0; i < 50; i++)
    jd_run_owner_release(&os[i]);
  fprintf(stderr, "run_owner: take+release %.1f us each; a sweep reads 50 live runs in %lld us\n",
          (double)us / N, (long long)read_us);
  cr_assert_lt(us / N, 5000, "a run costs less than 5 ms");
}
