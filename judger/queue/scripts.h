/* The queue's Redis scripts, as the build embeds them: the text of
 * judger/queue/lua/<name>.lua (with the prelude its first line names, such
 * as lib/claim.lua) is jd_lua_<name>, which EVAL sends. CMakeLists.txt
 * writes them into a generated queue_scripts.c; tests/CMakeLists.txt lints
 * them with luacheck (test_judger_queue_lua, settings in lua/.luacheckrc).
 *
 * Each script names its KEYS and ARGV at its top, in the order the C side
 * passes them; a script whose answer is one of several outcomes answers its
 * name from the outcome's X-macro list (JD_BEGIN_MAP, JD_STORE_MAP), never
 * a number. Private to the queue.
 */
#ifndef JD_QUEUE_SCRIPTS_H
#define JD_QUEUE_SCRIPTS_H

extern const char jd_lua_renew[];        /* attempts.c: jd_queue_renew */
extern const char jd_lua_release[];      /* attempts.c: jd_queue_release */
extern const char jd_lua_begin[];        /* attempts.c: jd_queue_begin */
extern const char jd_lua_renew_claims[]; /* attempts.c: jd_queue_renew_claims */
extern const char jd_lua_drained[];      /* attempts.c: jd_queue_drained */
extern const char jd_lua_retry[];        /* attempts.c: jd_queue_retry_later */
extern const char jd_lua_progress[];     /* attempts.c: jd_queue_progress */
extern const char jd_lua_holds[];        /* attempts.c: jd_queue_holds_claim */
extern const char jd_lua_dead[];         /* results.c: jd_queue_dead */
extern const char jd_lua_store[];        /* results.c: jd_queue_store_result */

#endif
