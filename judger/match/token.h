/* Player tokens: HMAC-SHA256(per-match key, "<match id>:<ai index>").
 *
 * Every instance of AI i gets the same token in JUDGER_TOKEN; the game logic
 * gets the list in /judger/match.json, so it can tell players apart and
 * refuse an impostor that guessed another player's name. The key is random
 * per match run and never leaves the judger.
 */
#ifndef JD_TOKEN_H
#define JD_TOKEN_H

#include <stddef.h>

#define JD_TOKEN_KEY_LEN 32
#define JD_TOKEN_HEX_LEN 64

/* Fills key with random bytes (openssl RAND). Returns 0, or -1. */
int jd_token_key_new(unsigned char key[JD_TOKEN_KEY_LEN]);

/* out gets 64 lowercase hex chars + NUL. Returns 0, or -1 on an openssl
 * failure or a match id too long. */
int jd_token_compute(char out[JD_TOKEN_HEX_LEN + 1], const unsigned char *key, size_t keylen,
                     const char *match_id, int ai);

#endif
