// test-labels: unit
/* common/context.c: one host id and one state directory for every command. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/context.h"
#include "common/util.h"
#include "daemon/config.h"
#include "support.h"

Test(context, host_id_rule) {
  char id[JD_HOST_ID_MAX + 1];
  jd_host_id_from(id, "Worker.Local");
  cr_assert_str_eq(id, "worker.local", "dots are kept: the daemon's ids stay what they were");
  jd_host_id_from(id, "gpu box#1_a");
  cr_assert_str_eq(id, "gpu-box-1_a");
  jd_host_id_from(id, "-x");
  cr_assert_str_eq(id, "hx");
  jd_host_id_from(id, "");
  cr_assert_str_eq(id, "judger");
  char longname[200];
  memset(longname, 'a', sizeof longname - 1);
  longname[sizeof longname - 1] = '\0';
  jd_host_id_from(id, longname);
  cr_assert_eq(strlen(id), JD_HOST_ID_MAX);
  const char *names[] = {"Worker.Local", "a b c", "..", "ÄÖ", "x/y:z", longname};
  for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
    jd_host_id_from(id, names[i]);
    cr_assert(jd_is_safe_name(id, JD_HOST_ID_MAX), "'%s' -> '%s' is not a safe name", names[i], id);
  }
}

/* `judger run`, `judger build` and the daemon all take jd_host_id() when
 * no setting names the host (cli/settings.h reads $JUDGER_HOST_ID); the
 * daemon's configuration default must be that same id, so a
 * reconciliation by host label finds the leftovers of every command (the
 * host name worker.local was once worker-local for one and worker.local
 * for another). */
Test(context, every_command_labels_the_same_way) {
  setenv("JUDGER_HOST_ID", "other-host", 1);
  char id[JD_HOST_ID_MAX + 1], host[256] = "";
  jd_host_id(id);
  cr_assert_neq(strcmp(id, "other-host"), 0, "the library reads no environment");
  cr_assert_eq(gethostname(host, sizeof host - 1), 0);
  char want[JD_HOST_ID_MAX + 1];
  jd_host_id_from(want, host);
  cr_assert_str_eq(id, want);
  cr_assert(jd_is_safe_name(id, JD_HOST_ID_MAX), "%s", id);
  jd_config c;
  cr_assert_eq(jd_config_defaults(&c), 0);
  cr_assert_str_eq(c.host_id, id);
  jd_config_clear(&c);
  unsetenv("JUDGER_HOST_ID");
}

Test(context, state_dir_default) {
  setenv("JUDGER_STATE_DIR", "/srv/j", 1);
  cr_assert_str_eq(jd_state_dir_default(), JD_STATE_DIR_DEFAULT,
                   "the library reads no environment");
  unsetenv("JUDGER_STATE_DIR");
  cr_assert_str_eq(jd_state_dir_default(), JD_STATE_DIR_DEFAULT);
}

/* A relative state dir reached the engine as a bind source it read as a
 * volume name ("includes invalid characters"): every match was UE. */
Test(context, a_relative_state_dir_is_made_absolute) {
  char cwd[4096], want[4200], got[4200];
  cr_assert_not_null(getcwd(cwd, sizeof cwd));
  snprintf(want, sizeof want, "%s/build/state", cwd);
  cr_assert_eq(jd_state_dir_abs(got, sizeof got, "build/state"), 0);
  cr_assert_str_eq(got, want);
  cr_assert_eq(jd_state_dir_abs(got, sizeof got, "./build/state"), 0);
  cr_assert_str_eq(got, want);
  cr_assert_eq(jd_state_dir_abs(got, sizeof got, NULL), 0);
  cr_assert_str_eq(got, JD_STATE_DIR_DEFAULT);
  cr_assert_eq(jd_state_dir_abs(got, sizeof got, "/srv/j"), 0);
  cr_assert_str_eq(got, "/srv/j");
  cr_assert_eq(jd_state_dir_abs(got, sizeof got, ""), 0);
  cr_assert_str_eq(got, JD_STATE_DIR_DEFAULT);
  cr_assert_eq(jd_state_dir_abs(got, 4, "/srv/j"), -1, "a path that does not fit is refused");
}

Test(context, the_locks_directory_is_made_0700_and_never_a_link) {
  char *state = t_tmpdir("locks");
  int fd = -1;
  cr_assert_eq(jd_state_locks_open(&fd, state), 0, "%s", strerror(errno));
  struct stat st;
  cr_assert_eq(fstat(fd, &st), 0);
  cr_assert(S_ISDIR(st.st_mode));
  cr_assert_eq(st.st_mode & 0777, 0700);
  close(fd);
  /* A link planted as <state>/locks is not followed. */
  char *other = t_tmpdir("elsewhere");
  char path[600];
  snprintf(path, sizeof path, "%s/locks", state);
  cr_assert_eq(rmdir(path), 0);
  cr_assert_eq(symlink(other, path), 0);
  fd = -1;
  cr_assert_neq(jd_state_locks_open(&fd, state), 0, "a link was followed");
  cr_assert_eq(fd, -1);
  t_rmdir(other);
  t_rmdir(state);
}
