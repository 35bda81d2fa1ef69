// test-labels: unit
/* Carriage-return folding: the last state of a rewritten line. */
#include <string.h>

#include "common/crfold.h"
#include "support.h"

static void expect(const char *in, const char *want) {
  size_t n = 0;
  char *out = jd_crfold(in, strlen(in), &n);
  cr_assert_not_null(out);
  cr_assert_str_eq(out, want, "folding \"%s\"", in);
  cr_assert_eq(n, strlen(want));
  free(out);
}

Test(crfold, keeps_the_last_state_of_a_progress_line) {
  expect("(Reading database ... 5%\r(Reading database ... 50%\r(Reading database ... 100%\n"
         "next\n",
         "(Reading database ... 100%\nnext\n");
}

Test(crfold, a_shorter_rewrite_leaves_the_tail_as_a_terminal_does) {
  expect("downloading 100%\rdone\n", "doneloading 100%\n");
}

Test(crfold, crlf_is_a_line_end_and_text_without_cr_is_unchanged) {
  expect("a\r\nb\r\n", "a\nb\n");
  expect("plain\ntext\twith tab\n", "plain\ntext\twith tab\n");
  expect("", "");
  expect("no newline at the end\rNO", "NO newline at the end");
}

Test(crfold, backspace_moves_back_one_character) {
  expect("ab\bc\n", "ac\n");
  expect("\b\bx\n", "x\n");
}

Test(crfold, overwrites_whole_utf8_characters) {
  /* "é" (2 bytes) overwritten by "x", "x" by "€" (3 bytes). */
  expect("\xc3\xa9z\rx\n", "xz\n");
  expect("xz\r\xe2\x82\xac\n", "\xe2\x82\xacz\n");
}

Test(crfold, in_place_shrinks_the_buffer) {
  char buf[] = "10%\r20%\r30%\n";
  size_t n = jd_crfold_inplace(buf, strlen(buf));
  cr_assert_eq(n, 4);
  cr_assert_str_eq(buf, "30%\n");
}

Test(crfold, many_rewrites_stay_linear_and_never_grow) {
  /* 200k rewrites of one line: the output is the last one. */
  size_t n = 200000;
  char *in = malloc(n * 4 + 2);
  cr_assert_not_null(in);
  for (size_t i = 0; i < n; i++)
    memcpy(in + i * 4, i + 1 == n ? "end\r" : "abc\r", 4);
  in[n * 4] = '\n';
  in[n * 4 + 1] = '\0';
  size_t len = 0;
  char *out = jd_crfold(in, n * 4 + 1, &len);
  cr_assert_not_null(out);
  cr_assert_str_eq(out, "end\n");
  free(out);
  free(in);
}

Test(crfold, escape_sequences_take_no_column) {
  /* Colours before a progress count do not shift the rewrite, and are kept
   * with the characters they precede; sequences that no character follows
   * (a reset, a title change) all stay, at the end of the line. */
  expect("\x1b[32m10%\x1b[0m\r\x1b[32m100%\x1b[0m\n", "\x1b[32m100%\x1b[0m\x1b[0m\n");
  expect("\x1b]0;title\x07\x1b[2Jab\rx\n", "xb\n"); /* overwritten with the 'a' */
  expect("ab\x1b]0;title\x07\rx\n", "xb\x1b]0;title\x07\n");
  expect("abc\x07\rxyz\n", "xyz\x07\n");
}
