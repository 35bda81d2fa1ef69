// test-labels: unit
/* The shared-prefix key of a Dockerfile and the lock builds take turns on. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "build/build_lock.h"
#include "common/clock.h"
#include "support.h"

static int nsteps;
static bool key_of(char out[65], const char *df) {
  return jd_build_prefix_key(out, &nsteps, df, strlen(df));
}

Test(build_lock, the_key_covers_the_instructions_up_to_the_first_run) {
  char a[65], b[65];
  cr_assert(key_of(a, "FROM x\nRUN apt-get update && apt-get install -y gcc\nCMD [\"sh\"]\n"));
  cr_assert_eq(nsteps, 2, "the stream's step of the RUN");
  /* Comments, blank lines, indentation and what follows the RUN do not count. */
  cr_assert(key_of(b, "# a comment\n\nFROM x\n  RUN apt-get update && apt-get install -y gcc  \n"
                      "COPY . /app\n"));
  cr_assert_str_eq(a, b);
  /* A continued RUN is one instruction, comment lines inside it dropped. */
  cr_assert(key_of(a, "FROM x\nRUN apt-get update \\\n  && apt-get install -y gcc\nCMD x\n"));
  cr_assert(key_of(b, "FROM x\nRUN apt-get update \\\n# why\n&& apt-get install -y gcc\r\n"));
  cr_assert_str_eq(a, b);
  /* Another base, another step, another key; lower-case run counts. */
  cr_assert(key_of(b, "FROM y\nrun apt-get update \\\n  && apt-get install -y gcc\n"));
  cr_assert_str_neq(a, b);
  cr_assert(key_of(b, "FROM x\nENV A=1\nRUN apt-get update \\\n  && apt-get install -y gcc\n"));
  cr_assert_str_neq(a, b);
  cr_assert_eq(nsteps, 3);
  /* No RUN (or one never finished): nothing to wait for. */
  cr_assert_not(key_of(a, "FROM scratch\nCMD [\"/app/tron\"]\n"));
  cr_assert_not(key_of(a, "FROM x\nRUNNER=1\n"));
  cr_assert_not(key_of(a, "FROM x\nRUN a \\\n"));
  cr_assert_not(key_of(a, ""));
}

typedef struct waiter {
  const char *dir;
  dk_cancel *cancel;
  atomic_int state; /* 0 waiting, 1 took it, 2 gave up */
  int err;
  bool waited;
} waiter;

static void *take(void *arg) {
  waiter *w = arg;
  int fd = -1;
  int rc = jd_build_lock_take(&fd, &w->waited, w->dir, "k", 60000, w->cancel);
  w->err = rc ? errno : 0;
  atomic_store(&w->state, rc ? 2 : 1);
  jd_build_lock_release(fd);
  return NULL;
}

static void wait_state(waiter *w, int want) {
  for (int64_t until = jd_mono_ms() + 5000; atomic_load(&w->state) != want;) {
    cr_assert(jd_mono_ms() < until, "state %d, want %d", atomic_load(&w->state), want);
    usleep(5000);
  }
}

Test(build_lock, a_second_taker_waits_for_the_first_and_a_cancel_ends_the_wait) {
  char *dir = t_tmpdir("buildlock");
  int fd = -1;
  bool waited = true;
  cr_assert_eq(jd_build_lock_take(&fd, &waited, dir, "k", 60000, NULL), 0, "%s", strerror(errno));
  cr_assert_not(waited);
  struct stat st;
  char path[512];
  snprintf(path, sizeof path, "%s/locks/build-k", dir);
  cr_assert_eq(lstat(path, &st), 0);
  cr_assert_eq(st.st_mode & 0777, 0600);

  /* Another thread (its own open file: flock excludes it) waits... */
  waiter w = {.dir = dir};
  pthread_t th;
  cr_assert_eq(pthread_create(&th, NULL, take, &w), 0);
  for (int64_t until = jd_mono_ms() + 10000; !__atomic_load_n(&w.waited, __ATOMIC_SEQ_CST);)
    cr_assert(jd_mono_ms() < until, "the second taker never waited");
  cr_assert_eq(atomic_load(&w.state), 0, "took a held lock");
  /* ...and takes it once the first lets go. */
  jd_build_lock_release(fd);
  wait_state(&w, 1);
  pthread_join(th, NULL);

  /* A cancel ends a wait. */
  cr_assert_eq(jd_build_lock_take(&fd, &waited, dir, "k", 60000, NULL), 0);
  waiter c = {.dir = dir};
  cr_assert_eq(dk_cancel_new(&c.cancel), 0);
  cr_assert_eq(pthread_create(&th, NULL, take, &c), 0);
  dk_cancel_fire(c.cancel);
  wait_state(&c, 2);
  pthread_join(th, NULL);
  cr_assert_eq(c.err, ECANCELED);
  jd_build_lock_release(fd);
  dk_cancel_free(c.cancel);

  /* A wait ends at its limit. */
  cr_assert_eq(jd_build_lock_take(&fd, &waited, dir, "k", 60000, NULL), 0);
  int fd2 = -1;
  int64_t t0 = jd_mono_ms();
  cr_assert_eq(jd_build_lock_take(&fd2, &waited, dir, "k", 300, NULL), -1);
  cr_assert_eq(errno, ETIMEDOUT);
  cr_assert(waited);
  cr_assert_geq(jd_mono_ms() - t0, 300);
  cr_assert_eq(fd2, -1);
  jd_build_lock_release(fd);

  /* A link planted at the lock's name is not followed. */
  cr_assert_eq(unlink(path), 0);
  cr_assert_eq(symlink("/nonexistent-judger-target", path), 0);
  cr_assert_eq(jd_build_lock_take(&fd, &waited, dir, "k", 60000, NULL), -1);
  cr_assert_eq(errno, ELOOP);
  cr_assert_eq(access("/nonexistent-judger-target", F_OK), -1, "the link was followed");
  /* Nor one planted in place of the locks directory. */
  char locks[512];
  snprintf(locks, sizeof locks, "%s/locks", dir);
  cr_assert_eq(unlink(path), 0);
  cr_assert_eq(rmdir(locks), 0);
  char *elsewhere = t_tmpdir("buildlock-target");
  cr_assert_eq(symlink(elsewhere, locks), 0);
  cr_assert_eq(jd_build_lock_take(&fd, &waited, dir, "k", 60000, NULL), -1);
  snprintf(path, sizeof path, "%s/build-k", elsewhere);
  cr_assert_eq(access(path, F_OK), -1, "a lock was made through the link");
  t_rmdir(elsewhere);
  t_rmdir(dir);
}
