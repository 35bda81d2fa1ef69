/* Player tokens (see token.h). */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "match/token.h"

int jd_token_key_new(unsigned char key[JD_TOKEN_KEY_LEN]) {
  return RAND_bytes(key, JD_TOKEN_KEY_LEN) == 1 ? 0 : -1;
}

int jd_token_compute(char out[JD_TOKEN_HEX_LEN + 1], const unsigned char *key, size_t keylen,
                     const char *match_id, int ai) {
  static const char hex[] = "0123456789abcdef";
  char msg[256];
  int n = snprintf(msg, sizeof msg, "%s:%d", match_id, ai);
  out[0] = '\0';
  if (n < 0 || (size_t)n >= sizeof msg || ai < 0)
    return -1;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  if (!HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)msg, (size_t)n, md, &mdlen) ||
      mdlen != JD_TOKEN_HEX_LEN / 2)
    return -1;
  for (unsigned int i = 0; i < mdlen; i++) {
    out[2 * i] = hex[md[i] >> 4];
    out[2 * i + 1] = hex[md[i] & 15];
  }
  out[2 * mdlen] = '\0';
  return 0;
}
