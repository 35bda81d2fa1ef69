// test-labels: unit
/* The judger's own files through O_EXCL|O_NOFOLLOW temporaries. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/tmpfile.h"
#include "common/util.h"
#include "support.h"

static char *dir;
static void setup(void) { dir = t_tmpdir("tmpfile"); }
static void teardown(void) { t_rmdir(dir); }
TestSuite(tmpfile, .init = setup, .fini = teardown);

static char *path_of(const char *name) {
  char *p = NULL;
  cr_assert(asprintf(&p, "%s/%s", dir, name) > 0);
  return p;
}

Test(tmpfile, publish_replaces_a_planted_symlink_without_following_it) {
  char *target = path_of("target");
  char *link = path_of("result.json");
  cr_assert_eq(jd_write_file(target, "precious", 8), 0);
  cr_assert_eq(symlink(target, link), 0);
  cr_assert_eq(jd_file_publish(dir, "result.json", "{}\n", 3, 0644), 0);
  char *d = NULL;
  cr_assert_eq(jd_read_file(&d, NULL, target, 64), 0);
  cr_assert_str_eq(d, "precious", "the write went through the link");
  free(d);
  struct stat st;
  cr_assert_eq(lstat(link, &st), 0);
  cr_assert(S_ISREG(st.st_mode));
  cr_assert_eq(jd_read_file(&d, NULL, link, 64), 0);
  cr_assert_str_eq(d, "{}\n");
  free(d);
  free(target);
  free(link);
}

Test(tmpfile, a_directory_at_the_final_name_fails_loudly_and_leaves_no_temporary) {
  char *p = path_of("game_logic.log");
  cr_assert_eq(mkdir(p, 0755), 0);
  cr_assert_eq(jd_file_publish(dir, "game_logic.log", "x", 1, 0644), -1);
  char cmd[600];
  snprintf(cmd, sizeof cmd, "test -z \"$(ls -A %s | grep judger-tmp)\"", dir);
  cr_assert_eq(system(cmd), 0, "a temporary was left");
  free(p);
}

Test(tmpfile, names_with_a_slash_are_refused) {
  jd_tmpfile t;
  cr_assert_eq(jd_tmpfile_open(&t, dir, "../x", 0644), -1);
  cr_assert_eq(jd_tmpfile_open(&t, dir, "", 0644), -1);
  jd_tmpfile_abort(&t); /* closed already: a no-op */
  jd_tmpfile_abort(NULL);
}

Test(tmpfile, abort_removes_the_temporary) {
  jd_tmpfile t;
  cr_assert_eq(jd_tmpfile_open(&t, dir, "player_0.log", 0644), 0);
  char *tmp = path_of(t.tmp);
  cr_assert(jd_path_exists(tmp));
  jd_tmpfile_abort(&t);
  cr_assert_not(jd_path_exists(tmp));
  free(tmp);
}
