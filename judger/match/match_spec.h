/* Match spec helpers beyond the public parser in match.h: size values and
 * the /judger/match.json document handed to the game logic. */
#ifndef JD_MATCH_SPEC_H
#define JD_MATCH_SPEC_H

#include <stddef.h>
#include <stdint.h>

#include "common/size.h"
#include "match/match.h"

/* The text of /judger/match.json: {"match_id", "config", "players":
 * [{"ai":i,"id":...,"token":...}], "player_tokens_doc"}. tokens[i] is AI i's
 * token. The caller frees; NULL on out of memory. */
char *jd_match_game_json(const jd_match_spec *s, const char *const *tokens);

#endif
