// test-labels: unit
/* Player tokens: HMAC-SHA256 of "<match>:<ai>" under a per-match key. */
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "match/token.h"
#include "support.h"

Test(token, matches_an_independent_hmac) {
  unsigned char key[JD_TOKEN_KEY_LEN];
  cr_assert_eq(jd_token_key_new(key), 0);
  char tok[JD_TOKEN_HEX_LEN + 1];
  cr_assert_eq(jd_token_compute(tok, key, sizeof key, "m1", 2), 0);
  cr_assert_eq(strlen(tok), 64);
  /* Recompute with openssl's one-shot EVP_Q_mac-free path: HMAC over the
   * same message, hex-encoded by hand. */
  unsigned char md[32];
  unsigned int n = 0;
  HMAC(EVP_sha256(), key, sizeof key, (const unsigned char *)"m1:2", 4, md, &n);
  char want[65];
  for (unsigned i = 0; i < n; i++)
    sprintf(want + 2 * i, "%02x", md[i]);
  cr_assert_str_eq(tok, want);
}

Test(token, differs_per_ai_match_and_key) {
  unsigned char k1[JD_TOKEN_KEY_LEN], k2[JD_TOKEN_KEY_LEN];
  cr_assert_eq(jd_token_key_new(k1), 0);
  cr_assert_eq(jd_token_key_new(k2), 0);
  char a[65], b[65], c[65], d[65];
  jd_token_compute(a, k1, sizeof k1, "m1", 0);
  jd_token_compute(b, k1, sizeof k1, "m1", 1);
  jd_token_compute(c, k1, sizeof k1, "m2", 0);
  jd_token_compute(d, k2, sizeof k2, "m1", 0);
  cr_assert_str_neq(a, b);
  cr_assert_str_neq(a, c);
  cr_assert_str_neq(a, d);
}

Test(token, refuses_bad_input) {
  unsigned char key[JD_TOKEN_KEY_LEN] = {0};
  char t[65];
  cr_assert_eq(jd_token_compute(t, key, sizeof key, "m", -1), -1);
  char longid[300];
  memset(longid, 'a', sizeof longid - 1);
  longid[sizeof longid - 1] = '\0';
  cr_assert_eq(jd_token_compute(t, key, sizeof key, longid, 0), -1);
}
