/* Private to a match's units, the four files of one container's life:
 * match_unit.c (the unit object and its thread: one plan for a warm and a
 * cold player), match_unit_cfg.c (its container's configuration,
 * one declarative list per role), match_unit_run.c (create, start, follow
 * the logs, kill, wait: how it ended) and match_unit_net.c (a player's own
 * network and what unit threads wait on each other for). Calls go one way:
 * match_unit.c -> the three others, match_unit_net.c -> match_unit_run.c;
 * warm.c calls the units, none of these calls warm.c. */
#ifndef JD_MATCH_UNIT_INTERNAL_H
#define JD_MATCH_UNIT_INTERNAL_H

#include "common/volumes.h"
#include "match/create_compat.h"
#include "match/match_internal.h"

/* Room in a container's configuration (per unit; the largest role, the
 * game logic, uses 7 variables and 6 binds). */
#define UNIT_ENV_MAX 16
#define UNIT_BINDS_MAX (8 + JD_MATCH_MAX_INPUTS) /* the inputs: the game logic's */

/* A container's configuration, built with the cfg_* adders: an adder
 * after a failure does nothing, so a role's list needs no check per line;
 * the first failure's dk code stays in rc. */
typedef struct unit_cfg {
  dk_container_config cc;
  jd_limits_store store;
  const char *env[UNIT_ENV_MAX + 1];
  char *env_own[UNIT_ENV_MAX];
  size_t nenv;
  const char *binds[UNIT_BINDS_MAX + 1];
  char *binds_own[UNIT_BINDS_MAX];
  size_t nbinds;
  dk_kv labels[4];
  const char *aliases[2];
  const char *entrypoint[2];
  char **argv;             /* the game logic's command, run by judger-hold */
  size_t nargv;            /* entries of argv (NULL-terminated) */
  dk_image_info *own_info; /* the image's inspect when its jd_ready has none */
  jd_volumes vols;         /* the image's declared volumes, each a tmpfs */
  jd_compat_store compat;  /* the engine's forms (create_compat.h) */
  int rc;                  /* 0, or the dk code of the first failure */
} unit_cfg;

/* match_unit_cfg.c: fills c (zeroed first) for u's role. Returns 0, or -1
 * with c->rc the dk code of the first failure. unit_cfg_free: NULL-safe
 * parts, c stays allocated by the caller. */
int unit_cfg_build(unit_cfg *c, jd_unit *u);
void unit_cfg_free(unit_cfg *c);

/* match_unit_run.c: the container's life (unit thread). */
/* The unit's message from what failed and a dk code (the engine's words
 * when it gave some); kept if one is set already. */
void unit_set_message(jd_unit *u, const char *what, int rc);
/* A failure of ours for the unit: engine_error and its message. -1. */
int unit_fail(jd_unit *u, const char *what, int rc);
/* The container was removed from outside the judger while it ran. */
void unit_vanished(jd_unit *u);
/* Creates the container (u->id published under the match's lock), then
 * starts it. Each returns 0, or -1 with the unit's message set and either
 * marked as an engine failure or, when the image could not run, given a
 * non-zero exit code (RE). */
int unit_create(jd_unit *u, const unit_cfg *cfg);
int unit_start(jd_unit *u);
/* Follows the container's logs into spool until it ends or a kill is
 * asked for (OLE past the cap). */
void unit_follow_logs(jd_unit *u, jd_log_spool *spool);
/* Kills the running container if a kill was asked for, then waits for it
 * and records how it ended. */
void unit_wait(jd_unit *u);

/* match_unit_net.c */
/* Per-player isolation: the player's own internal network, which the
 * running game logic (u->gl_id) joins as "game", for a cold and a warm
 * player alike. Returns 0, or -1 with the unit marked as an engine
 * failure. */
int unit_own_network(jd_unit *u);
/* Disconnects the game logic and removes the player's own network. */
void unit_remove_network(jd_unit *u);
/* Waits for u->retire's removal (NULL: returns); tells the waiters u's
 * container is removed. */
void unit_await_retired(jd_unit *u);
void unit_removed(jd_unit *u);

#endif
