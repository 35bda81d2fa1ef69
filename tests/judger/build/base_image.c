// test-labels: engine
/* The base image's lock: <state_dir>/locks/build-base-image, never through
 * a link (the locks directory or the file), waited for at most its
 * deadline or until a cancel. It used to be /run/lock (read-only under the
 * systemd unit's ProtectSystem=strict), opened following links, waited for
 * without end. The tag asked for never exists and the mirror refuses, so
 * nothing is ever made: a test that got the lock by mistake fails fast. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "build/base_image.h"
#include "common/clock.h"
#include "support.h"

#define NO_MIRROR "http://127.0.0.1:9/debian"

static jd_base_image_opts opts(const char *tag, int64_t wait_ms, const dk_cancel *cancel) {
  return (jd_base_image_opts){
      .tag = tag, .mirror = NO_MIRROR, .lock_wait_ms = wait_ms, .cancel = cancel};
}

Test(base_image, a_linked_locks_dir_or_lock_file_is_refused) {
  dk_client *c = t_client();
  char *state = t_tmpdir("bistate"), *elsewhere = t_tmpdir("bielse"), *id = t_unique("nobase");
  char tag[200], path[4200], target[4200], err[512] = "";
  snprintf(tag, sizeof tag, "judger-test/%s:none", id);
  jd_ctx ctx = {.dk = c, .state_dir = state, .host_id = "test"};
  snprintf(path, sizeof path, "%s/locks", state);
  cr_assert_eq(symlink(elsewhere, path), 0);
  jd_base_image_opts o = opts(tag, 60000, NULL);
  cr_assert_eq(jd_base_image_ensure_opts(NULL, &ctx, &o, err, sizeof err), -1);
  cr_assert(strstr(err, "cannot lock") && strstr(err, "locks/build-base-image"), "err: %s", err);
  snprintf(path, sizeof path, "%s/build-base-image", elsewhere);
  cr_assert_neq(access(path, F_OK), 0, "a lock file was made through the link");
  /* The file a link: refused, its target never made. */
  snprintf(path, sizeof path, "%s/locks", state);
  cr_assert_eq(unlink(path), 0);
  cr_assert_eq(mkdir(path, 0700), 0);
  snprintf(target, sizeof target, "%s/victim", elsewhere);
  snprintf(path, sizeof path, "%s/locks/build-base-image", state);
  cr_assert_eq(symlink(target, path), 0);
  cr_assert_eq(jd_base_image_ensure_opts(NULL, &ctx, &o, err, sizeof err), -1);
  cr_assert(strstr(err, "cannot lock"), "err: %s", err);
  cr_assert_neq(access(target, F_OK), 0, "the link's target was made");
  /* No work directory was started either. */
  snprintf(path, sizeof path, "%s/work", state);
  cr_assert_neq(access(path, F_OK), 0, "debootstrap was started without the lock");
  free(id);
  t_rmdir(elsewhere);
  t_rmdir(state);
  dk_client_free(c);
}

Test(base_image, a_held_lock_times_out_at_its_deadline_or_a_cancel) {
  dk_client *c = t_client();
  char *state = t_tmpdir("bistate"), *id = t_unique("nobase");
  char tag[200], path[4200], err[512] = "";
  snprintf(tag, sizeof tag, "judger-test/%s:none", id);
  jd_ctx ctx = {.dk = c, .state_dir = state, .host_id = "test"};
  /* Another judger of the state dir holds it. */
  snprintf(path, sizeof path, "%s/locks", state);
  cr_assert_eq(mkdir(path, 0700), 0);
  snprintf(path, sizeof path, "%s/locks/build-base-image", state);
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  cr_assert(fd >= 0);
  cr_assert_eq(flock(fd, LOCK_EX | LOCK_NB), 0);
  jd_base_image_opts o = opts(tag, 500, NULL);
  int64_t t0 = jd_mono_ms();
  cr_assert_eq(jd_base_image_ensure_opts(NULL, &ctx, &o, err, sizeof err), -1);
  int64_t took = jd_mono_ms() - t0;
  cr_assert(strstr(err, "waited 500 ms"), "err: %s", err);
  cr_assert(took >= 500 && took < 5000, "gave up after %lld ms", (long long)took);
  /* A cancel ends a long wait at once. */
  dk_cancel *cancel = NULL;
  t_ok(dk_cancel_new(&cancel));
  dk_cancel_fire(cancel);
  o = opts(tag, 600000, cancel);
  t0 = jd_mono_ms();
  cr_assert_eq(jd_base_image_ensure_opts(NULL, &ctx, &o, err, sizeof err), -1);
  took = jd_mono_ms() - t0;
  cr_assert(strstr(err, "canceled"), "err: %s", err);
  cr_assert(took < 5000, "a cancel took %lld ms", (long long)took);
  /* Released: the lock is had, and the (refusing) mirror is what fails. */
  close(fd);
  o = opts(tag, 5000, NULL);
  cr_assert_eq(jd_base_image_ensure_opts(NULL, &ctx, &o, err, sizeof err), -1);
  cr_assert(strstr(err, "debootstrap"), "err: %s", err);
  dk_cancel_free(cancel);
  free(id);
  t_rmdir(state);
  dk_client_free(c);
}
