/* The step lines of an image build's stream (build_steps.h). Measured:
 * Docker 20.10 and 26.1's classic builder, Podman 4.3.1 and 5.4.2:
 *
 *   Docker                          Podman
 *   Step 2/5 : ENV A=1              STEP 2/5: ENV A=1
 *    ---> Running in 1c2d...        (a RUN's output)
 *    ---> Using cache               --> Using cache <64 hex digits>
 *    ---> 0123456789ab              --> 0123456789a
 *                                   [2/2] STEP 1/3: FROM x   (multi-stage)
 *
 * Docker numbers the steps of every stage in one sequence; Podman numbers
 * them per stage, after the stage's "[S/T]". Podman prints no id after a
 * FROM, Docker prints the base's. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "build/build_steps.h"

#define STEP_NUMBER_MAX 999999 /* a Dockerfile has far fewer instructions */

/* Reads a decimal number of 1 to 6 digits at p (before end) into *v: the
 * byte after it, or NULL. */
static const char *number_at(int *v, const char *p, const char *end) {
  int x = 0, k = 0;
  while (p < end && *p >= '0' && *p <= '9' && k < 7) {
    x = x * 10 + (*p++ - '0');
    k++;
  }
  if (k == 0 || k > 6)
    return NULL;
  *v = x;
  return p;
}

/* "N/M" then sep at p: its numbers and the byte after sep, or NULL. */
static const char *fraction_at(int *a, int *b, const char *p, const char *end, const char *sep) {
  size_t k = strlen(sep);
  p = number_at(a, p, end);
  if (!p || p >= end || *p != '/')
    return NULL;
  p = number_at(b, p + 1, end);
  if (!p || (size_t)(end - p) < k || memcmp(p, sep, k) != 0 || *a < 1 || *a > *b)
    return NULL;
  return p + k;
}

/* Whether p (n bytes) is exactly prefix followed by lo to hi lowercase hex
 * digits. */
static bool hex_after(const char *p, size_t n, const char *prefix, size_t lo, size_t hi) {
  size_t k = strlen(prefix);
  if (n < k + lo || n > k + hi || memcmp(p, prefix, k) != 0)
    return false;
  for (size_t i = k; i < n; i++)
    if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
      return false;
  return true;
}

/* A step line: its number in the whole Dockerfile and where its
 * instruction starts, or NULL. */
static const char *step_line(jd_build_steps *s, int *number, const char *p, const char *end) {
  int n = 0, m = 0;
  if (end - p > 5 && !memcmp(p, "Step ", 5)) {
    const char *ins = fraction_at(&n, &m, p + 5, end, " : ");
    if (ins)
      *number = n;
    return ins;
  }
  int stage = 0, stages = 0;
  const char *q = p;
  if (q < end && *q == '[') {
    q = fraction_at(&stage, &stages, q + 1, end, "] ");
    if (!q)
      return NULL;
  }
  if (end - q <= 5 || memcmp(q, "STEP ", 5) != 0)
    return NULL;
  const char *ins = fraction_at(&n, &m, q + 5, end, ": ");
  if (!ins)
    return NULL;
  /* Stages run one after the other: a new one starts after the last one's
   * steps. A stage Podman skips (unused) is not counted: the number is then
   * lower than Docker's, which only delays the build lock's release. */
  if (stage > s->stage) {
    if (s->stage_base <= STEP_NUMBER_MAX)
      s->stage_base += s->stage_steps;
    s->stage = stage;
  }
  s->stage_steps = m;
  *number = (stage ? s->stage_base : 0) + n;
  return ins;
}

jd_step_event jd_build_steps_line(jd_build_steps *s, int *number, char id[13], const char *p,
                                  size_t n) {
  const char *end = p + n;
  const char *ins = step_line(s, number, p, end);
  if (ins) {
    snprintf(s->step, sizeof s->step, "%.*s", (int)(n < sizeof s->step ? n : sizeof s->step), p);
    s->from_step = end - ins >= 4 && !strncasecmp(ins, "FROM", 4) &&
                   (end - ins == 4 || ins[4] == ' ' || ins[4] == '\t');
    s->cache_hit = false;
    return JD_STEP_START;
  }
  if ((n == 17 && !memcmp(p, " ---> Using cache", 17)) ||
      hex_after(p, n, "--> Using cache ", 64, 64)) {
    s->cache_hit = true;
    return JD_STEP_OTHER;
  }
  size_t k = 0;
  if (hex_after(p, n, " ---> ", 12, 12))
    k = 6;
  else if (hex_after(p, n, "--> ", 11, 12))
    k = 4;
  if (!k)
    return JD_STEP_OTHER;
  bool ours = !s->from_step && !s->cache_hit;
  s->cache_hit = false;
  if (!ours)
    return JD_STEP_OTHER;
  memcpy(id, p + k, n - k);
  id[n - k] = '\0';
  return JD_STEP_RESULT;
}
