/* A tiny fake Docker engine for fault tests: an HTTP server on a unix
 * socket, run by a thread inside the test, that answers each request with
 * canned raw bytes. Only for faults a real engine will not produce on demand
 * (truncated frames, garbage JSON, a connection dropped mid-stream, a 500
 * without a body); everything else is tested against the real engine.
 *
 * Each connection serves one request and is then closed (after hold_ms),
 * so a route's bytes are exactly what the client sees. */
#ifndef JD_TEST_FAKE_ENGINE_H
#define JD_TEST_FAKE_ENGINE_H

#include <stddef.h>

typedef struct t_fake_route {
  const char *method; /* "GET", "POST"...; NULL = any */
  const char *path;   /* prefix of the path after "/v1.xx", e.g. "/containers/x/logs" */
  const void *raw;    /* the whole answer: status line, headers, body */
  size_t len;         /* 0 = strlen(raw) */
  int hold_ms;        /* keep the connection open this long after sending */
} t_fake_route;

typedef struct t_fake t_fake;

/* Starts serving `routes` (kept by reference: they must outlive the fake).
 * A request no route matches gets a 404 with a JSON message; /_ping always
 * answers "OK" with Api-Version 1.41 unless a route for "/_ping" is given
 * (an engine of another version). Fails the test on error. */
t_fake *t_fake_start(const t_fake_route *routes, size_t nroutes);
/* "unix:///tmp/...sock", for dk_client_opts.host. */
const char *t_fake_host(const t_fake *f);
/* The last request but /_ping and /version, as "METHOD PATH\n\nBODY" (the
 * path with its /v1.xx prefix and query; a chunked body raw). NULL when
 * none; the caller frees it. */
char *t_fake_last(t_fake *f);
/* Requests answered so far. */
int t_fake_served(t_fake *f);
/* Stops the thread, closes and unlinks the socket; NULL is fine. */
void t_fake_stop(t_fake *f);

/* A complete answer with Content-Length: "HTTP/1.1 <status>\r\n...". The
 * caller frees it. body may hold NUL bytes. */
char *t_fake_answer(size_t *len, const char *status, const char *content_type, const void *body,
                    size_t body_len);
/* An 8-byte multiplexed frame header followed by payload, appended to buf
 * (which must have room for 8 + len bytes); returns the bytes written.
 * `declared` is the size put in the header (normally len). */
size_t t_fake_frame(unsigned char *buf, int stream, const char *payload, size_t len,
                    unsigned declared);

#endif
