/* Match spec helpers beyond the public parser in match.h: size values and
 * the /judger/match.json document handed to the game logic. */
#ifndef JD_MATCH_SPEC_H
#define JD_MATCH_SPEC_H

#include <stddef.h>
#include <stdint.h>

#include "match/match.h"

/* Parses "123", "64k", "256m", "1g" (binary units, case-insensitive).
 * Returns 0, or -1 if it is not such a size or overflows. */
int jd_parse_size(int64_t *out, const char *s);

/* The text of /judger/match.json: {"match_id", "config", "players":
 * [{"ai":i,"id":...,"token":...}], "player_tokens_doc"}. tokens[i] is AI i's
 * token. The caller frees; NULL on out of memory. */
char *jd_match_game_json(const jd_match_spec *s, const char *const *tokens);

#endif
