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
#include "match/match_event.h"
#include "match/match_result.h"
#include "match/match_spec.h"

/* Hooks of a running match; every field may be NULL. */
typedef struct jd_match_hooks {
  /* Called with one JSON object per call: {"event":"player.started",...}
   * (see docs/match-spec.md), one call at a time: from the thread running
   * jd_match_run, and while programs are built, from the build threads
   * (ctx->build_jobs) under a lock. */
  void (*progress)(void *ud, const char *json_event);
  /* The same events typed (match_event.h), before progress, under the same
   * rule: for callers that read them rather than forward text. */
  void (*event)(void *ud, const jd_match_event *ev);
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
 * (its status says; a system fault is status "error"); returns -1, with the
 * reason in err, only when no result can be made at all (bad arguments, out
 * of memory). The caller frees *out with jd_match_result_free(). hooks may be
 * NULL. */
int jd_match_run(jd_match_result **out, jd_ctx *ctx, const jd_match_spec *spec, const char *out_dir,
                 const jd_match_hooks *hooks, char *err, size_t errlen);

/* 0 when every input of s can be had without the queue (a task's
 * published output is resolved by the daemon), else -1 with the input
 * named in err: `judger run` refuses such a spec. */
int jd_match_inputs_local(const jd_match_spec *s, char *err, size_t errlen);

/* A match whose result is out and whose containers, networks and work
 * directory are still to be removed. */
typedef struct jd_match_pending jd_match_pending;

/* jd_match_run up to the result, for callers that tear down elsewhere
 * (the daemon: off its slot). Returns 0 with *out as jd_match_run, or -1
 * with err saying why no result can be made ("invalid argument", "out of
 * memory"). On 0 *pending is what is left to remove: the caller passes it to
 * jd_match_teardown() exactly once, from any thread; ctx and spec must stay
 * valid until then (unit threads still read them), hooks and out_dir need
 * not. res->timing.teardown_ms is -1 (the teardown returns it). */
int jd_match_run_detached(jd_match_result **out, jd_match_pending **pending, jd_ctx *ctx,
                          const jd_match_spec *spec, const char *out_dir,
                          const jd_match_hooks *hooks, char *err, size_t errlen);
/* Removes what the match left (kills what still runs, joins its threads,
 * removes containers, networks and the work directory, sweeps by the run's
 * label) and frees p. Returns the teardown phase's ms (from the end of the
 * serving; -1 when the match never served), -1 for NULL. */
int64_t jd_match_teardown(jd_match_pending *p);

/* The programs of spec made ready the way a match's preparation makes
 * them (jd_build_run: a cache hit is a check, a miss a build with the
 * build's own limits), one after another, for a caller preparing a match
 * ahead of its run (the daemon's look-ahead): no match is made, no event
 * sent, nothing kept. labels (nlabels of them) go on what the builds
 * create; cancel (may be NULL) stops a build in flight. *built counts the
 * programs that were not in the cache. 0 when every program is ready or
 * failed by its own fault (the match reports that when it runs); -1 when
 * cancelled or for a system fault, with why in err. */
int jd_match_build_programs(size_t *built, jd_ctx *ctx, const jd_match_spec *spec,
                            const dk_kv *labels, size_t nlabels, dk_cancel *cancel, char *err,
                            size_t errlen);

#endif
