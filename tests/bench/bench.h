/* Shared by the benchmarks: the median of a series. */
#ifndef JD_BENCH_H
#define JD_BENCH_H

#include <stdlib.h>

static inline int bench_cmp_ll(const void *a, const void *b) {
  long long x = *(const long long *)a, y = *(const long long *)b;
  return x < y ? -1 : x > y;
}

/* Sorts v in place. */
static inline long long bench_median(long long *v, int n) {
  qsort(v, (size_t)n, sizeof *v, bench_cmp_ll);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

#endif
