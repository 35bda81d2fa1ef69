// test-labels: unit
/* Program model: domains, id validation, image tags. */
#include <stdio.h>
#include <string.h>

#include "build/program.h"
#include "common/util.h"
#include "support.h"

Test(program, domains_parse_and_print) {
  jd_domain d;
  cr_assert_eq(jd_domain_parse(&d, "ai"), 0);
  cr_assert_eq(d, JD_DOMAIN_AI);
  cr_assert_eq(jd_domain_parse(&d, "game_logic"), 0);
  cr_assert_eq(d, JD_DOMAIN_GAME_LOGIC);
  cr_assert_str_eq(jd_domain_name(d), "game_logic");
  cr_assert_neq(jd_domain_parse(&d, "game-logic"), 0);
  cr_assert_neq(jd_domain_parse(&d, "AI"), 0);
  cr_assert_neq(jd_domain_parse(&d, NULL), 0);
}

Test(program, good_ids_are_accepted) {
  static const char *ok[] = {"12", "c-bot", "py_bot", "v1.2", "a--b", "tron", "x-"};
  char err[256];
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
    cr_assert_eq(jd_program_id_check(ok[i], err, sizeof err), 0, "%s: %s", ok[i], err);
}

Test(program, bad_ids_are_a_clear_error) {
  static const char *bad[] = {"",   "Bot", "-a",  "a..b", "a._b", "a___b", "x.",
                              "y_", "a/b", "a b", "é",    ".a",   "a:b"};
  char err[256];
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    err[0] = '\0';
    cr_assert_neq(jd_program_id_check(bad[i], err, sizeof err), 0, "'%s' accepted", bad[i]);
    cr_assert(strstr(err, "program id"), "unclear message for '%s': %s", bad[i], err);
  }
  char longid[80];
  memset(longid, 'a', 65);
  longid[65] = '\0';
  cr_assert_neq(jd_program_id_check(longid, err, sizeof err), 0);
  cr_assert(strstr(err, "64"), "%s", err);
  cr_assert_neq(jd_program_id_check(NULL, err, sizeof err), 0);
}

Test(program, tag_is_the_sha256_of_the_dockerfile) {
  const char *df = "FROM scratch\nCMD [\"/app/main\"]\n";
  char tag[256], sha[65], want[256];
  jd_sha256_hex(sha, df, strlen(df));
  cr_assert_eq(
      jd_image_tag_for(tag, sizeof tag, JD_DOMAIN_GAME_LOGIC, "tron", JD_OP_RUN, df, strlen(df)),
      0);
  snprintf(want, sizeof want, "game_logic-tron-run:%s", sha);
  cr_assert_str_eq(tag, want);
  cr_assert_eq(jd_image_tag_for(tag, sizeof tag, JD_DOMAIN_AI, "12", JD_OP_BUILD, df, strlen(df)),
               0);
  cr_assert(!strncmp(tag, "ai-12-build:", 12), "%s", tag);
  char small[16];
  cr_assert_neq(jd_image_tag_for(small, sizeof small, JD_DOMAIN_AI, "12", JD_OP_BUILD, df, 3), 0);
}
