/* Which engine runs the judger's containers, and which of docs/security.md's
 * guarantees it can keep. Docker keeps them all; Podman's compatible API
 * loses some (docs/engines.md): the judger refuses the work a lost
 * guarantee would make unsafe, unless the operator accepts that loss in the
 * `engine_accept` setting (docs/security.md "Engines" says what each gives
 * up).
 *
 * The profile also carries the compatibility choices the parts that talk to
 * the engine make (match/match_limits.c, build/): how the seccomp profile
 * is passed, which tmpfs options are known, how images are built. */
#ifndef JD_ENGINE_H
#define JD_ENGINE_H

#include <stdbool.h>
#include <stddef.h>

#include "dockerapi/dockerapi.h"

/* The guarantees an engine may fail to keep: enum, name (the word
 * `engine_accept` takes), what holds when it is kept. */
#define JD_GUARANTEE_MAP(XX)                                                                       \
  XX(BUILD_NETWORK, "build_network",                                                               \
     "image builds' RUN steps get only the network the judger gives them")                         \
  XX(HOST_UNREACHABLE, "host_unreachable",                                                         \
     "players and game logics cannot reach the engine's host or the outside")                      \
  XX(OOM_VERDICT, "oom_verdict", "a program killed for its memory gets MLE, not RE")               \
  XX(BUILD_WALL_TIME, "build_wall_time",                                                           \
     "an image build past its wall time is stopped on the engine: its RUN steps end with its TLE")

typedef enum jd_guarantee {
#define JD_GUARANTEE_ENUM(code, name, text) JD_GUARANTEE_##code,
  JD_GUARANTEE_MAP(JD_GUARANTEE_ENUM)
#undef JD_GUARANTEE_ENUM
      JD_GUARANTEE_COUNT
} jd_guarantee;

/* "build_network"...; NULL past the enum. */
const char *jd_guarantee_name(jd_guarantee g);
/* One line: what holds when g is kept. */
const char *jd_guarantee_text(jd_guarantee g);
/* The work refused when g is not kept and not accepted: "image builds",
 * "matches" (what build/ and match/ check it before). */
const char *jd_guarantee_refuses(jd_guarantee g);
/* The names of mask's guarantees joined by commas ("build_network,
 * oom_verdict"; "" for none) into buf, cut to size: an engine_accept
 * value, as the refusals, doctor and the daemon's log write it. */
void jd_guarantee_names(char *buf, size_t size, unsigned mask);

/* What becomes of a guarantee on an engine, given the accepted mask. */
typedef enum jd_guarantee_state {
  JD_GUARANTEE_KEPT,     /* the engine keeps it */
  JD_GUARANTEE_LACKING,  /* it does not, and the work that needs it is refused */
  JD_GUARANTEE_ACCEPTED, /* it does not, and engine_accept runs the work anyway */
} jd_guarantee_state;

/* "kept", "lacking", "accepted" (doctor's words); NULL past the enum. */
const char *jd_guarantee_state_name(jd_guarantee_state s);

typedef struct jd_engine {
  dk_engine_kind kind;
  char version[32]; /* the product's version: "20.10.24", "4.3.1" */
  int major, minor; /* of version; 0 when it does not parse */
  /* Bit (1u << g) set: this engine cannot keep guarantee g. */
  unsigned lacking;
  /* Why, for each lacking guarantee: one static line naming what the engine
   * does ("Podman ignores inhibit_ipv4: a player reaches the host's
   * listeners through its network's gateway"); NULL for a kept one. */
  const char *gap[JD_GUARANTEE_COUNT];
  /* Compatibility choices. */
  bool seccomp_by_path; /* the inline profile is read as a file path (Podman #27710) */
  bool tmpfs_nr_inodes; /* the tmpfs option nr_inodes is known */
  /* A read-only container gets the engine's own writable, executable tmpfs
   * on /run, /var/tmp and /tmp wherever the create mounts nothing (Podman's
   * read_only_tmpfs default, also through the compatible create). */
  bool tmpfs_over_run;
  /* (An import's tag and a build's network on Podman are libdockerapi's:
   * it sends what Podman honours on its own; docs/engines.md.) */
} jd_engine;

/* The profile of the engine c talks to (one GET /version). -1 with err when
 * the engine cannot be asked. */
int jd_engine_learn(jd_engine *out, dk_client *c, char *err, size_t errlen);

/* The profile of an engine known by kind and version (pure: what
 * jd_engine_learn decides once it has them; tested without an engine). */
void jd_engine_profile(jd_engine *out, dk_engine_kind kind, const char *version);

/* The profile from a /version answer already in hand (judger doctor): the
 * product from its Components, else what c's /_ping showed (c may be
 * NULL). */
void jd_engine_of_version(jd_engine *out, const dk_version *v, const dk_client *c);

/* g's state on e with `accepted` (a mask of (1u << g)). */
jd_guarantee_state jd_engine_state(const jd_engine *e, jd_guarantee g, unsigned accepted);

/* Parses `engine_accept` ("", "none", or names joined by commas, blanks
 * around each allowed) into a mask of (1u << g); -1 with err naming the
 * unknown word (at most 64 bytes of it), *mask then 0. */
int jd_engine_accept_parse(unsigned *mask, const char *list, char *err, size_t errlen);

/* 0 when e keeps g or `accepted` has it; -1 with err, one line:
 *   "engine podman 4.3.1 cannot keep the guarantee host_unreachable (<gap>);
 *    refused: set engine_accept=host_unreachable to run anyway
 *    (docs/security.md \"Engines\")" */
int jd_engine_require(const jd_engine *e, jd_guarantee g, unsigned accepted, char *err,
                      size_t errlen);

/* jd_engine_require for every guarantee of the mask `need` at once (the
 * daemon at its start): 0 when each is kept or accepted; else -1 with one
 * line naming every refused one with its gap:
 *   "engine podman 4.3.1 cannot keep the guarantees build_network (<gap>),
 *    oom_verdict (<gap>); refused: set engine_accept=build_network,oom_verdict
 *    to run anyway (docs/security.md \"Engines\")"
 * The engine_accept suggested (here and in jd_engine_require) is what is
 * accepted already plus what was refused, so setting it as written keeps
 * the earlier choices. Every gap at once is about 650 bytes: give err
 * 1024 or more. */
int jd_engine_require_mask(const jd_engine *e, unsigned need, unsigned accepted, char *err,
                           size_t errlen);

struct jd_ctx;

/* The profile of ctx's engine, learnt on the first call (one GET /version)
 * and kept in ctx (thread-safe); NULL with err when the engine cannot be
 * asked, or when it answers as another engine since (dk_client_engine_changed:
 * that profile would be another's; the process must learn it again). */
const jd_engine *jd_ctx_engine(struct jd_ctx *ctx, char *err, size_t errlen);

/* jd_engine_require on ctx's engine and ctx->engine_accept: what build/ and
 * match/ call before the work that needs g. -1 with err when refused or when
 * the engine cannot be asked. */
int jd_ctx_require(struct jd_ctx *ctx, jd_guarantee g, char *err, size_t errlen);

/* jd_ctx_require for every guarantee of the mask `need` at once (an image
 * build needs build_network and build_wall_time): one refusal naming each. */
int jd_ctx_require_mask(struct jd_ctx *ctx, unsigned need, char *err, size_t errlen);

/* The mask of every guarantee, for callers that need all of them (the
 * daemon at its start). */
#define JD_GUARANTEE_ALL ((1u << JD_GUARANTEE_COUNT) - 1u)

#endif
