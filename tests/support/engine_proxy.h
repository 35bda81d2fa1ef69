/* A unix-socket forwarder in front of the real engine: a private engine
 * endpoint a test can take away and bring back (the daemon then sees an
 * engine that does not answer: connections refused, open streams cut)
 * without stopping the engine other tests use. */
#ifndef JD_TEST_ENGINE_PROXY_H
#define JD_TEST_ENGINE_PROXY_H

typedef struct t_engine_proxy t_engine_proxy;

/* Listens on <dir>/docker.sock and forwards every connection to the
 * engine of $DOCKER_HOST (unix:// only; default /var/run/docker.sock). */
t_engine_proxy *t_engine_proxy_start(const char *dir);
/* "unix://<dir>/docker.sock": the DOCKER_HOST of whoever goes through it. */
const char *t_engine_proxy_host(const t_engine_proxy *p);
/* The engine goes away: the socket is removed and every open connection
 * is cut. */
void t_engine_proxy_down(t_engine_proxy *p);
/* It comes back (listening again on the same path). */
void t_engine_proxy_up(t_engine_proxy *p);
/* Down, then freed. NULL-safe. */
void t_engine_proxy_free(t_engine_proxy *p);

#endif
