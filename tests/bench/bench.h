/* Shared by the benchmarks: the median of a series, a process's RSS, a
 * spec parsed. */
#ifndef JD_BENCH_H
#define JD_BENCH_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "match/match_spec.h"

static inline int bench_cmp_ll(const void *a, const void *b) {
  long long x = *(const long long *)a, y = *(const long long *)b;
  return x < y ? -1 : x > y;
}

/* What the benchmarks' tasks ask of the host (docs/security.md): programs
 * in the checkout and under /tmp, git sources of every scheme; as
 * tests/CMakeLists.txt gives the tests. The environment's own win. */
static inline void bench_host_settings(void) {
  setenv("JUDGER_PROGRAM_ROOTS", JD_SOURCE_DIR ",/tmp", 0);
  setenv("JUDGER_GIT_SCHEMES", "https,ssh,http,git,file", 0);
  setenv("JUDGER_FETCH_PRIVATE", "true", 0);
}

/* Sorts v in place. */
static inline long long bench_median(long long *v, int n) {
  qsort(v, (size_t)n, sizeof *v, bench_cmp_ll);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* VmRSS of a process in kB; -1 when it cannot be read. */
static inline long bench_rss_kb(pid_t pid) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
  FILE *f = fopen(path, "r");
  long kb = -1;
  while (f && fgets(line, sizeof line, f))
    if (!strncmp(line, "VmRSS:", 6))
      kb = atol(line + 6);
  if (f)
    fclose(f);
  return kb;
}

/* Parses a spec the benchmark wrote and frees the text; NULL (said on
 * stderr) when it is refused. */
static inline jd_match_spec *bench_spec_parse(char *json) {
  jd_match_spec *spec = NULL;
  char err[256];
  if (json && jd_match_spec_parse(&spec, json, NULL, err, sizeof err))
    fprintf(stderr, "spec: %s\n", err);
  free(json);
  return spec;
}

#endif
