/* Matches: one game logic and its players run as containers on a private
 * network, talking to the judger through two named pipes.
 *
 * A match spec (match_spec.h, docs/match-spec.md) names the game logic, the AIs in
 * AI-list order, a config handed verbatim to the game logic, and limits.
 * jd_match_run() prepares the programs, creates the match's internal network
 * and work directory (match.json, the two FIFOs, out/), starts the game
 * logic, serves the pipe protocol (docs/protocol.md) until the game logic
 * ends the match, exits or the deadline passes, then writes result.json,
 * player_<i>.log, game_logic.log and the replay into out_dir, and removes
 * every container, the network, the FIFOs and the work directory on every
 * path (success, crash, deadline, engine failure, cancellation).
 *
 * Every container/network a match creates carries the labels
 * judger.host=<ctx->host_id>, judger.match=<match id>, judger.run=<run key>
 * and judger.role=game_logic|player|network; names are
 * "judger-<host>-<run key>-<role/name>" where the run key is
 * "<match id>-<random hex>", so the same spec may run twice at once.
 */
#ifndef JD_MATCH_H
#define JD_MATCH_H

#include "common/context.h"
#include "match/match_result.h"
#include "match/match_spec.h"

/* Hooks of a running match; every field may be NULL. */
typedef struct jd_match_hooks {
  /* Called with one JSON object per call: {"event":"player.started",...}
   * (see docs/match-spec.md), one call at a time: from the thread running
   * jd_match_run, and while programs are built, from the build threads
   * (ctx->build_jobs) under a lock. */
  void (*progress)(void *ud, const char *json_event);
  void *ud;
  /* Fired from any thread: the match stops promptly, everything is removed
   * and the status is "cancelled". */
  dk_cancel *cancel;
  /* Called from the thread running jd_match_run as soon as the result is
   * complete and result.json written, before the containers and networks
   * are removed (jd_match_run returns after that): the result is visible
   * without waiting for the teardown. res is valid during the call. */
  void (*result)(void *ud, const jd_match_result *res);
} jd_match_hooks;

/* Runs a match. out_dir (created if missing) receives result.json and the
 * logs and outputs. Returns 0 with *out filled whatever happened to the match
 * (its status says; a system fault is status "error"); returns a negative dk
 * error code only when no result can be made at all (bad arguments, out of
 * memory). The caller frees *out with jd_match_result_free(). hooks may be
 * NULL. */
int jd_match_run(jd_match_result **out, jd_ctx *ctx, const jd_match_spec *spec, const char *out_dir,
                 const jd_match_hooks *hooks);

#endif
