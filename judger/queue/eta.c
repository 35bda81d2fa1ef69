/* The ETA of a taskset (eta.h): pure arithmetic, no I/O. */
#include "queue/eta.h"

#include <string.h>

/* The estimate from the class means and the fleet's slots; -1 when a
 * member's class has no history. */
static void fleet(jd_eta_out *out, const jd_eta_in *in) {
  int64_t work = 0, longest = 0;
  for (size_t i = 0; i < in->n; i++) {
    const jd_eta_member *m = &in->members[i];
    if (m->mean_ms < 0) {
      out->work_ms = out->fleet_ms = -1;
      return;
    }
    int64_t left = m->mean_ms;
    if (m->running) {
      left = m->mean_ms > m->elapsed_ms ? m->mean_ms - m->elapsed_ms : 0;
      if (left > longest)
        longest = left;
    }
    work += left;
  }
  int64_t slots = in->slots > 1 ? in->slots : 1;
  int64_t spread = work / slots;
  out->work_ms = work;
  out->fleet_ms = longest > spread ? longest : spread;
}

/* The estimate from the set's own throughput so far: -1 before 10% of it
 * is done (or before any time passed since its first start). */
static int64_t own(const jd_eta_in *in) {
  if (in->total <= 0 || in->done <= 0 || in->started_ms <= 0 || in->now_ms <= in->started_ms ||
      in->done * 1000 < in->total * JD_ETA_OWN_MIN_PERMILLE)
    return -1;
  double rate = (double)in->done / (double)(in->now_ms - in->started_ms); /* members per ms */
  return (int64_t)((double)in->n / rate + 0.5);
}

void jd_eta_compute(jd_eta_out *out, const jd_eta_in *in) {
  memset(out, 0, sizeof *out);
  out->own_ms = -1;
  if (in->n == 0)
    return;
  fleet(out, in);
  out->own_ms = own(in);
  if (out->fleet_ms < 0)
    out->eta_ms = -1;
  else if (out->own_ms < 0)
    out->eta_ms = out->fleet_ms;
  else
    out->eta_ms = (out->fleet_ms + out->own_ms + 1) / 2;
}
