/* A loopback HTTP server for tests that fetch a file (match inputs): every
 * GET is answered with the same body, 200, from a thread of its own; the
 * requests are counted. Optionally without a Content-Length (the body ends
 * with the connection) and slowly (the body in two halves, pause_ms
 * apart), so a cap must be enforced while reading and concurrent fetches
 * overlap. */
#ifndef JD_TEST_FILE_SERVER_H
#define JD_TEST_FILE_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct t_file_server {
  int fd, port;
  const void *body;
  size_t len;
  bool no_length;
  int pause_ms;
  atomic_int requests;
  atomic_bool stop;
  pthread_t th;
  char url[96]; /* http://127.0.0.1:PORT/file */
} t_file_server;

/* Starts serving body (kept by the caller until t_file_server_stop). */
void t_file_server_start(t_file_server *s, const void *body, size_t len, bool no_length,
                         int pause_ms);
void t_file_server_stop(t_file_server *s);

#endif
