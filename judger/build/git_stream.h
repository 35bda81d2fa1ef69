/* The socket under libgit2's network transports, with a deadline, a cancel
 * token and a byte cap.
 *
 * libgit2 1.5 has no network timeout (GIT_OPT_SET_SERVER_TIMEOUT came in
 * 1.7), and its transfer-progress callback fires only when data arrives:
 * a server that sends a byte every few seconds keeps a fetch going for
 * ever. jd_git_stream_install() registers this module's socket as
 * libgit2's standard stream (git_stream_register, GIT_STREAM_STANDARD):
 * http:// and git:// use it directly, https:// through libgit2's own TLS
 * stream, which wraps the standard one. Its connect, read and write poll
 * the socket in slices of at most 100 ms and fail once the calling thread's
 * budget (jd_git_budget_set) is spent: past its deadline, its cancel token
 * fired, or more bytes received than its cap. The budget is per thread
 * (the daemon fetches in several slots at once; libgit2 runs a fetch on
 * the calling thread). A thread without a budget gets none of these bounds.
 *
 * ssh:// goes through libssh2, which takes the socket's descriptor and does
 * its own blocking I/O on it (libgit2 reads the descriptor from the stream
 * at the same place as in its own socket stream, which this one keeps): the
 * socket's polls never run. For it, a watcher thread (jd_git_watch_start)
 * shuts the budget's sockets down once the deadline passes or the cancel
 * fires, and libssh2's next read ends. Its byte cap is the transfer
 * callback's only (no callback fires while libssh2 negotiates).
 * Name resolution (getaddrinfo) is not bounded: it waits as long as the
 * host's resolver does (resolv.conf's timeout and attempts).
 */
#ifndef JD_GIT_STREAM_H
#define JD_GIT_STREAM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "dockerapi/cancel.h"

/* Why a budget stopped a transfer. */
typedef enum jd_git_stop {
  JD_GIT_STOP_NONE,
  JD_GIT_STOP_DEADLINE, /* past deadline_ms */
  JD_GIT_STOP_CANCEL,   /* cancel fired */
  JD_GIT_STOP_BYTES,    /* more than max_bytes received */
} jd_git_stop;

typedef struct jd_git_budget {
  int64_t deadline_ms;     /* absolute, dk_now_ms() clock; 0 = none */
  const dk_cancel *cancel; /* NULL = none */
  uint64_t max_bytes;      /* bytes the sockets may receive; 0 = no cap */
  /* Connect to public addresses only (common/netaddr.h): the host's
   * loopback, link-local and private neighbours are refused, checked on
   * each address the name resolves to. */
  bool public_only;
  /* Kept by the stream: */
  uint64_t received; /* bytes received so far, over every connection */
  jd_git_stop stop;  /* set when the budget stopped a transfer */
  int fds[8];        /* its connected sockets (for the watcher), under a lock */
  int nfds;
} jd_git_budget;

/* A thread watching a budget (see ssh above). */
typedef struct jd_git_watch {
  jd_git_budget *budget;
  pthread_t thread;
  pthread_mutex_t lock;
  pthread_cond_t cond;
  bool done, started;
} jd_git_watch;

/* Starts watching b (a budget with a deadline or a cancel token; else
 * nothing is started): once it is spent, the sockets connected under b are
 * shut down. 0, or -1 when no thread could be started (then the sockets'
 * own polls are the only bound). */
int jd_git_watch_start(jd_git_watch *w, jd_git_budget *b);
/* Stops and joins the watcher; harmless when none was started. */
void jd_git_watch_stop(jd_git_watch *w);

/* Registers the stream with libgit2; call after each git_libgit2_init()
 * (the registration survives shutdowns, and registering again is
 * harmless). 0, or -1 with libgit2's error set. */
int jd_git_stream_install(void);

/* Makes b the calling thread's budget (NULL: none) until the next call;
 * b must outlive its use. */
void jd_git_budget_set(jd_git_budget *b);

/* The budget's state now: JD_GIT_STOP_NONE while it holds, else why not
 * (also recorded in b->stop). For callbacks (transfer progress). */
jd_git_stop jd_git_budget_check(jd_git_budget *b);

#endif
