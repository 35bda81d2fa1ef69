// test-labels: unit
/* Bounded buffers: the cap is reported, never fatal, and data stays usable. */
#include <stdlib.h>
#include <string.h>

#include "support.h"

Test(buf, append_within_cap) {
  dk_buf b = DK_BUF_INIT(16);
  cr_assert_eq(dk_buf_append(&b, "hello", 5), 0);
  cr_assert_eq(dk_buf_appendf(&b, " %d", 42), 0);
  cr_assert_str_eq(b.data, "hello 42");
  cr_assert_eq(b.len, 8);
  cr_assert(!b.truncated);
  dk_buf_free(&b);
}

Test(buf, cap_keeps_what_fits_and_reports) {
  dk_buf b = DK_BUF_INIT(10);
  cr_assert_eq(dk_buf_append(&b, "0123456", 7), 0);
  cr_assert_eq(dk_buf_append(&b, "789abc", 6), DK_ETOOBIG);
  cr_assert(b.truncated);
  cr_assert_eq(b.len, 10);
  cr_assert_str_eq(b.data, "0123456789");
  cr_assert_eq(dk_buf_append(&b, "x", 1), DK_ETOOBIG);
  cr_assert_eq(b.len, 10);
  dk_buf_free(&b);
}

Test(buf, long_formatted_text) {
  dk_buf b = DK_BUF_INIT(0);
  char big[2000];
  memset(big, 'y', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  cr_assert_eq(dk_buf_appendf(&b, "<%s>", big), 0);
  cr_assert_eq(b.len, sizeof big + 1);
  dk_buf_free(&b);
}

Test(buf, detach_hands_over_and_resets) {
  dk_buf b = DK_BUF_INIT(0);
  dk_buf_append(&b, "abc", 3);
  size_t n = 0;
  char *p = dk_buf_detach(&b, &n);
  cr_assert_eq(n, 3);
  cr_assert_str_eq(p, "abc");
  cr_assert_null(b.data);
  free(p);
  p = dk_buf_detach(&b, &n);
  cr_assert_eq(n, 0);
  cr_assert_str_eq(p, "");
  free(p);
  dk_buf_free(&b);
}
