/* libdockerapi — deadlines and cancellation for long calls.
 *
 * A call that may take long takes a dk_call: an absolute deadline on the
 * dk_now_ms() clock and a cancel token. A cancel token may be fired from any
 * thread; every call running with it returns DK_ECANCELED promptly (libcurl
 * is woken, not polled).
 */
#ifndef DOCKERAPI_CANCEL_H
#define DOCKERAPI_CANCEL_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dk_cancel dk_cancel;

/* The caller frees the token with dk_cancel_free(), once no call uses it. */
int dk_cancel_new(dk_cancel **out);
void dk_cancel_fire(dk_cancel *c);
bool dk_cancel_fired(const dk_cancel *c);
void dk_cancel_free(dk_cancel *c);

typedef struct dk_call {
  int64_t deadline_ms; /* absolute, dk_now_ms() clock; 0 = none */
  dk_cancel *cancel;   /* NULL = not cancelable */
} dk_call;

/* Monotonic milliseconds, the clock of dk_call.deadline_ms. */
int64_t dk_now_ms(void);

#ifdef __cplusplus
}
#endif
#endif
