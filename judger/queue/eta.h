/* The ETA of a taskset, pure arithmetic (queue/taskset_view.c reads the
 * figures from Redis; docs/tasksets.md "ETA").
 *
 * For each member not done: its class's mean duration (no history: the
 * ETA is unknown, -1); a running member's remaining time is max(0, mean -
 * elapsed). work = the sum of the remaining times; fleet estimate =
 * max(longest running remaining, work / max(1, slots)). Once at least 10%
 * of the set is done (and some time passed since its first start), its own
 * throughput gives a second estimate: rate = done / (now - started),
 * own = remaining members / rate; the ETA is the mean of the two.
 */
#ifndef JD_QUEUE_ETA_H
#define JD_QUEUE_ETA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct jd_eta_member {
  int64_t mean_ms;    /* its class's mean duration; < 0: no history */
  bool running;       /* started (elapsed_ms counts) */
  int64_t elapsed_ms; /* running: time since its start */
} jd_eta_member;

typedef struct jd_eta_in {
  const jd_eta_member *members; /* the members not done */
  size_t n;
  int64_t slots;              /* live slots in the fleet */
  int64_t done, total;        /* members done (terminal), all members */
  int64_t started_ms, now_ms; /* the set's first start (0: none yet), now */
} jd_eta_in;

typedef struct jd_eta_out {
  int64_t eta_ms;   /* the estimate; -1 unknown; 0 when nothing remains */
  int64_t fleet_ms; /* the estimate from class means and slots (-1 unknown) */
  int64_t own_ms;   /* the estimate from the set's own throughput (-1: not used) */
  int64_t work_ms;  /* the sum of the remaining times (-1 unknown) */
} jd_eta_out;

/* The fraction of the set done before its own throughput counts. */
#define JD_ETA_OWN_MIN_PERMILLE 100

void jd_eta_compute(jd_eta_out *out, const jd_eta_in *in);

#endif
