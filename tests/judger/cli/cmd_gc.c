// test-labels: unit
/* cli/cmd_gc.c: `judger gc --git` removes a git mirror unused for
 * --max-age days and says so (text and JSON); a fresh one stays; a dry run
 * removes nothing. The real binary; no engine (--git alone). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <json-c/json.h>

#include "common/util.h"
#include "support.h"

/* Runs `judger gc <args> --state-dir state`; its stdout (malloc'd). */
static char *gc(const char *state, const char *args) {
  char cmd[8192];
  snprintf(cmd, sizeof cmd, "%s/bin/judger gc %s --state-dir %s", JD_BINARY_DIR, args, state);
  FILE *p = popen(cmd, "r");
  cr_assert_not_null(p);
  char *out = calloc(1, 8192);
  size_t n = fread(out, 1, 8191, p);
  out[n] = '\0';
  cr_assert_eq(pclose(p), 0, "%s: %s", cmd, out);
  return out;
}

static void mirror(char *out, size_t len, const char *state, char c, int days_old) {
  char name[80];
  memset(name, c, 64);
  name[64] = '\0';
  snprintf(out, len, "%s/git/%s.git", state, name);
  cr_assert_eq(jd_mkdir_p(out, 0700), 0, "%s", out);
  struct timespec ts[2] = {{.tv_sec = time(NULL) - (time_t)days_old * 86400},
                           {.tv_sec = time(NULL) - (time_t)days_old * 86400}};
  cr_assert_eq(utimensat(AT_FDCWD, out, ts, 0), 0);
}

Test(cmd_gc, git_removes_an_old_mirror_and_keeps_a_fresh_one) {
  char *state = t_tmpdir("gcgit");
  char old[4300], fresh[4300];
  mirror(old, sizeof old, state, 'a', 30);
  mirror(fresh, sizeof fresh, state, 'b', 1);
  char *out = gc(state, "--git --dry-run");
  cr_assert(strstr(out, "git mirrors: 1 would be removed, 0 in use"), "%s", out);
  cr_assert(jd_path_exists(old), "a dry run removed it");
  free(out);
  out = gc(state, "--git --max-age 7 --json");
  json_object *o = json_tokener_parse(out), *g = NULL, *v = NULL;
  cr_assert_not_null(o, "not JSON: %s", out);
  cr_assert(json_object_object_get_ex(o, "git_mirrors", &g) &&
                json_object_object_get_ex(g, "removed", &v),
            "%s", out);
  cr_assert_eq(json_object_get_int(v), 1, "%s", out);
  json_object_put(o);
  free(out);
  cr_assert(!jd_path_exists(old), "the old mirror is left");
  cr_assert(jd_path_exists(fresh), "the fresh mirror was removed");
  t_rmdir(state);
}
