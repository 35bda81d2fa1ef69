/* The engine watch: the daemon learns its engine once, at the start (which
 * product, its version, the guarantees it keeps: common/engine.h), and
 * everything it runs afterwards trusts that profile. An engine swapped or
 * upgraded under the running daemon (Podman put on Docker's socket, Podman
 * 5 replaced by 4, Docker upgraded) would keep it: builds would go with
 * Docker's network options that Podman ignores. So a thread watches what
 * every answer of the engine says of who answers (libdockerapi's
 * dk_client_engine_changed) on each heartbeat tick and whenever the
 * daemon's state changes; once the engine answers as another, it logs
 * engine.changed and stops the daemon at once (running tasks cancelled and
 * given back, as a second SIGTERM does), and jd_daemon_run returns -1:
 * `judger daemon` exits 3. Restarting it learns the engine and its
 * guarantees again (docs/daemon.md, docs/security.md "Engines"). */
#ifndef JD_ENGINE_WATCH_H
#define JD_ENGINE_WATCH_H

#include <stdbool.h>
#include <stddef.h>

#include "common/engine.h"

struct jd_daemon;
typedef struct jd_engine_watch jd_engine_watch;

/* How often the flag is read besides the daemon's own wake-ups (a read of
 * an atomic: the cost is the wake-up). */
#define JD_ENGINE_WATCH_TICK_MS 200

/* Starts watching d's engine, learnt already (engine_check): *out NULL and
 * 0 when d has none (tests with a fake executor); -1 when the thread cannot
 * start. */
int jd_engine_watch_start(jd_engine_watch **out, struct jd_daemon *d);
/* Ends the watch (its thread joined, w freed; NULL is fine). True when it
 * stopped the daemon: then err holds why (the daemon's error). */
bool jd_engine_watch_end(jd_engine_watch *w, char *err, size_t errlen);

/* The engine.changed message: e is the engine learnt at the start, first
 * the Server its first answer sent, now the one it answers with ("" when
 * not sent). */
void jd_engine_watch_message(char *msg, size_t len, const jd_engine *e, const char *first,
                             const char *now);

#endif
