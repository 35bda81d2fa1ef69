/* judger/common/policy.c: what a task may ask of a host. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/policy.h"
#include "support.h"

Test(policy, lists_match_whole_items_only) {
  cr_assert(jd_policy_list_has("proxy,none", "none"));
  cr_assert(jd_policy_list_has(" proxy , none ", "proxy"));
  cr_assert_not(jd_policy_list_has("proxy,none", "non"));
  cr_assert_not(jd_policy_list_has("proxy,none", "proxy,none"));
  cr_assert_not(jd_policy_list_has("", "proxy"));
  cr_assert_not(jd_policy_list_has(NULL, "proxy"));
}

Test(policy, git_schemes_by_allow_list) {
  cr_assert_str_eq(jd_git_url_scheme("https://forge/x.git"), "https");
  cr_assert_str_eq(jd_git_url_scheme("HTTP://forge/x.git"), "http");
  cr_assert_str_eq(jd_git_url_scheme("git@forge:team/x.git"), "ssh");
  cr_assert_str_eq(jd_git_url_scheme("ssh://git@forge/x.git"), "ssh");
  cr_assert_str_eq(jd_git_url_scheme("git://forge/x.git"), "git");
  cr_assert_str_eq(jd_git_url_scheme("file:///srv/x.git"), "file");
  cr_assert_str_eq(jd_git_url_scheme("/var/lib/judger/git/abc.git"), "file");
  cr_assert_str_eq(jd_git_url_scheme("."), "file");
  cr_assert_null(jd_git_url_scheme("ext::sh -c id"));
  char why[256];
  jd_policy def = {0};
  cr_assert_eq(jd_policy_git_url(&def, "https://forge/x.git", why, sizeof why), 0);
  cr_assert_eq(jd_policy_git_url(&def, "git@forge:x.git", why, sizeof why), 0);
  cr_assert_eq(jd_policy_git_url(&def, "file:///srv/x.git", why, sizeof why), -1);
  cr_assert(strstr(why, "git_schemes"), "%s", why);
  cr_assert_eq(jd_policy_git_url(&def, "/var/lib/judger/git/other.git", why, sizeof why), -1);
  cr_assert_eq(jd_policy_git_url(&def, "http://forge/x.git", why, sizeof why), -1);
  cr_assert_eq(jd_policy_git_url(&def, "git://forge/x.git", why, sizeof why), -1);
  cr_assert_eq(jd_policy_git_url(&def, "ext::sh -c id", why, sizeof why), -1);
  jd_policy open = {.git_schemes = "https,file,http"};
  cr_assert_eq(jd_policy_git_url(&open, "file:///srv/x.git", why, sizeof why), 0);
  cr_assert_eq(jd_policy_git_url(&open, ".", why, sizeof why), 0);
  cr_assert_eq(jd_policy_git_url(&open, "http://forge/x.git", why, sizeof why), 0);
  cr_assert_eq(jd_policy_git_url(&open, "git@forge:x.git", why, sizeof why), -1);
}

Test(policy, program_dirs_under_the_roots_without_links) {
  char *root = t_tmpdir("policy-root");
  char *outside = t_tmpdir("policy-outside");
  char p[512], why[512];
  snprintf(p, sizeof p, "%s/prog", root);
  cr_assert_eq(mkdir(p, 0755), 0);
  snprintf(p, sizeof p, "%s/prog/sub", root);
  cr_assert_eq(mkdir(p, 0755), 0);
  /* A link under the root to a directory outside it. */
  snprintf(p, sizeof p, "%s/escape", root);
  cr_assert_eq(symlink(outside, p), 0);
  jd_policy pol = {.program_roots = root};
  snprintf(p, sizeof p, "%s/prog/sub", root);
  cr_assert_eq(jd_policy_program_dir(&pol, NULL, p, why, sizeof why), 0, "%s", why);
  /* A root itself would hand a program every other one. */
  cr_assert_eq(jd_policy_program_dir(&pol, NULL, root, why, sizeof why), -1);
  cr_assert(strstr(why, "root itself"), "%s", why);
  snprintf(p, sizeof p, "%s/escape", root);
  cr_assert_eq(jd_policy_program_dir(&pol, NULL, p, why, sizeof why), -1);
  cr_assert(strstr(why, "link"), "%s", why);
  /* ".." as the kernel takes it (a spec's "../games/x"), never out of a
   * link: the link's target's parent is not the lexical one. */
  snprintf(p, sizeof p, "%s/prog/../../", root);
  cr_assert_eq(jd_policy_program_dir(&pol, NULL, p, why, sizeof why), -1);
  cr_assert(strstr(why, "not under"), "%s", why);
  snprintf(p, sizeof p, "%s/prog/./sub/../sub", root);
  cr_assert_eq(jd_policy_program_dir(&pol, NULL, p, why, sizeof why), 0, "%s", why);
  snprintf(p, sizeof p, "%s/escape/../prog", root);
  cr_assert_eq(jd_policy_program_dir(&pol, NULL, p, why, sizeof why), -1);
  cr_assert(strstr(why, "link"), "%s", why);
  snprintf(p, sizeof p, "%s/prog/..", root);
  cr_assert_eq(jd_policy_program_dir(&pol, NULL, p, why, sizeof why), -1);
  cr_assert(strstr(why, "root itself"), "%s", why);
  cr_assert_eq(jd_policy_program_dir(&pol, NULL, outside, why, sizeof why), -1);
  cr_assert(strstr(why, "program_roots"), "%s", why);
  /* A root that is a prefix of the name only: /x/root2 is not under /x/root. */
  snprintf(p, sizeof p, "%s2", root);
  cr_assert_eq(jd_policy_program_dir(&pol, NULL, p, why, sizeof why), -1);
  cr_assert_eq(jd_policy_program_dir(&pol, NULL, "relative/dir", why, sizeof why), -1);
  /* Default: the state directory's artifacts and nothing else. */
  jd_policy def = {0};
  cr_assert_eq(jd_policy_program_dir(&def, root, p, why, sizeof why), -1);
  snprintf(p, sizeof p, "%s/artifacts", root);
  cr_assert_eq(mkdir(p, 0700), 0);
  cr_assert_eq(jd_policy_program_dir(&def, root, p, why, sizeof why), -1);
  snprintf(p, sizeof p, "%s/artifacts/key1", root);
  cr_assert_eq(mkdir(p, 0700), 0);
  cr_assert_eq(jd_policy_program_dir(&def, root, p, why, sizeof why), 0, "%s", why);
  snprintf(p, sizeof p, "%s/prog", root);
  cr_assert_eq(jd_policy_program_dir(&def, root, p, why, sizeof why), -1);
  t_rmdir(root);
  t_rmdir(outside);
}

Test(policy, no_root_inside_unless_the_operator_allows_it) {
  char why[256];
  jd_policy def = {0};
  cr_assert_eq(jd_policy_user(&def, "65534:65534", why, sizeof why), 0);
  cr_assert_eq(jd_policy_user(&def, "1000:1000", why, sizeof why), 0);
  cr_assert_eq(jd_policy_user(&def, "2147483647:1", why, sizeof why), 0);
  /* A uid alone gets the image's group for it (0 with no entry); a number
   * the engine cannot parse is looked up as a name the image may map to
   * root (20 digits); leading zeros, signs, and root itself. */
  const char *refused[] = {
      "0:0",   "0",    "00:1",         "1000:0",
      "root",  "",     "nobody",       "0x0",
      "-1",    "1000", "+5:5",         "0065534:1",
      "1:",    ":1",   "2147483648:1", "99999999999999999999:99999999999999999999",
      "5:5:5", NULL};
  for (const char **u = refused; *u; u++) {
    cr_assert_eq(jd_policy_user(&def, *u, why, sizeof why), -1, "%s accepted", *u);
    cr_assert(strstr(why, "allow_root_user"), "%s", why);
  }
  cr_assert_eq(jd_policy_user(&def, NULL, why, sizeof why), -1);
  jd_policy root_ok = {.allow_root_user = true};
  cr_assert_eq(jd_policy_user(&root_ok, "0:0", why, sizeof why), 0);
  cr_assert_eq(jd_policy_user(&root_ok, "root", why, sizeof why), 0);
}

Test(policy, build_networks_by_allow_list) {
  char why[256];
  jd_policy def = {0};
  cr_assert_eq(jd_policy_build_network(&def, NULL, why, sizeof why), 0);
  cr_assert_eq(jd_policy_build_network(&def, "proxy", why, sizeof why), 0);
  cr_assert_eq(jd_policy_build_network(&def, "none", why, sizeof why), 0);
  cr_assert_eq(jd_policy_build_network(&def, "bridge", why, sizeof why), -1);
  cr_assert(strstr(why, "build_networks"), "%s", why);
  cr_assert_eq(jd_policy_build_network(&def, "host", why, sizeof why), -1);
  cr_assert_eq(jd_policy_build_network(&def, "container:abc", why, sizeof why), -1);
  jd_policy wide = {.build_networks = "proxy,none,bridge,host,container:abc"};
  cr_assert_eq(jd_policy_build_network(&wide, "bridge", why, sizeof why), 0);
  cr_assert_eq(jd_policy_build_network(&wide, "host", why, sizeof why), -1);
  cr_assert(strstr(why, "never"), "%s", why);
  cr_assert_eq(jd_policy_build_network(&wide, "container:abc", why, sizeof why), -1);
}

Test(policy, every_ceiling_refuses_max_plus_one_and_takes_max) {
  char err[256];
  jd_policy def = {0};
  for (int c = 0; c < JD_CEIL_COUNT; c++) {
    int64_t max = jd_policy_ceiling(&def, (jd_ceiling)c);
    cr_assert(max > 0);
    cr_assert_eq(jd_policy_check_ceiling(&def, (jd_ceiling)c, "f", max, err, sizeof err), 0);
    cr_assert_eq(jd_policy_check_ceiling(&def, (jd_ceiling)c, "f", max + 1, err, sizeof err), -1);
    cr_assert(strstr(err, jd_ceiling_key((jd_ceiling)c)), "%s", err);
  }
  jd_policy set = {.ceiling = {[JD_CEIL_MEMORY] = 1 << 30}};
  cr_assert_eq(jd_policy_ceiling(&set, JD_CEIL_MEMORY), 1 << 30);
  cr_assert_eq(jd_policy_check_ceiling(&set, JD_CEIL_MEMORY, "limits.memory", (1 << 30) + 1, err,
                                       sizeof err),
               -1);
  cr_assert_str_eq(err, "limits.memory: 1073741825 is above this host's max_memory (1073741824)");
}
