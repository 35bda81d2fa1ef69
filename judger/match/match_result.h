/* Match results: result.json, the human summary, and freeing. The struct
 * itself is public (match.h); this adds what cmd_run and the engine share. */
#ifndef JD_MATCH_RESULT_H
#define JD_MATCH_RESULT_H

#include "match/match.h"

/* A table for humans (one row per AI, then the instances), malloc'd. */
char *jd_match_result_summary(const jd_match_result *r);
/* Writes result.json into dir atomically. Returns 0, or -1 with errno. */
int jd_match_result_write(const jd_match_result *r, const char *dir);
void jd_instance_result_clear(jd_instance_result *i);

#endif
