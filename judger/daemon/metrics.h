/* A small Prometheus metrics registry: counters, gauges and histograms with
 * fixed label names and fixed buckets, rendered in the text exposition
 * format 0.0.4 (https://prometheus.io/docs/instrumenting/exposition_formats/).
 *
 * Threads: every call takes the registry's one mutex for a few
 * microseconds (a leaf lock: nothing else is locked while it is held), so
 * a scrape never waits on a worker and a worker never waits on a scrape for
 * longer than one render. Label values are made valid UTF-8 (common/utf8.h)
 * when a series is made; the renderer escapes backslash, quote and newline.
 * A family holds at most JD_METRIC_SERIES_MAX series: past it an update is
 * dropped (and counted in judger_metrics_dropped_total), so a label value
 * that is not from a closed set can never grow the memory without bound.
 */
#ifndef JD_METRICS_H
#define JD_METRICS_H

#include <stddef.h>

#include "dockerapi/buf.h"

#define JD_METRIC_LABELS_MAX 3
#define JD_METRIC_BUCKETS_MAX 24
#define JD_METRIC_SERIES_MAX 4096
#define JD_METRIC_VALUE_MAX 256 /* bytes of one label value, after cleaning */

#define JD_METRIC_TYPE_MAP(XX)                                                                     \
  XX(COUNTER, "counter")                                                                           \
  XX(GAUGE, "gauge")                                                                               \
  XX(HISTOGRAM, "histogram")

typedef enum jd_metric_type {
#define JD_METRIC_TYPE_ENUM(code, name) JD_METRIC_##code,
  JD_METRIC_TYPE_MAP(JD_METRIC_TYPE_ENUM)
#undef JD_METRIC_TYPE_ENUM
      JD_METRIC_TYPE_COUNT
} jd_metric_type;

const char *jd_metric_type_name(jd_metric_type t);

typedef struct jd_metrics jd_metrics;
typedef struct jd_metric jd_metric; /* one family; owned by its registry */

typedef struct jd_metric_def {
  jd_metric_type type;
  const char *name;                             /* [a-zA-Z_:][a-zA-Z0-9_:]*, static storage */
  const char *help;                             /* static storage */
  const char *labels[JD_METRIC_LABELS_MAX + 1]; /* names, NULL-terminated */
  const double *buckets; /* histograms: upper bounds, increasing, without +Inf */
  size_t nbuckets;
} jd_metric_def;

int jd_metrics_new(jd_metrics **out);
void jd_metrics_free(jd_metrics *m);

/* Adds a family; *out belongs to m. -1 on a bad definition (name, labels,
 * buckets) or out of memory. Families render in the order they were
 * added. Not to be called while other threads update m. */
int jd_metrics_add(jd_metric **out, jd_metrics *m, const jd_metric_def *def);

/* values: one per label name, in order (NULL for a family without labels).
 * Counters: v >= 0 is added. Gauges: add() adds, set() sets. Histograms:
 * observe(). -1 when the update does not fit the family (wrong type,
 * negative counter increment, series cap, out of memory). */
/* Removes every series of f (a family whose label sets come and go: the
 * running tasksets, set again each time they are read). */
void jd_metric_clear(jd_metric *f);
/* Makes the series at 0 when it does not exist yet (any type). */
int jd_metric_touch(jd_metric *f, const char *const *values);
int jd_metric_add(jd_metric *f, const char *const *values, double v);
int jd_metric_set(jd_metric *f, const char *const *values, double v);
int jd_metric_observe(jd_metric *f, const char *const *values, double v);

/* Counters only: raises the series to v, a running total kept elsewhere
 * (a library's own counter, read by a collector); never lowers it, so two
 * collectors racing leave the higher reading. -1 as the other updates. */
int jd_metric_set_total(jd_metric *f, const char *const *values, double v);

/* Called at the start of every render, before the registry's lock is
 * taken: reads totals kept elsewhere into their series (with the setters
 * above). Runs on the rendering thread, possibly on two at once; must be
 * quick. Set it before m is shared; NULL removes it. */
typedef void (*jd_metrics_collect_fn)(void *ud);
void jd_metrics_set_collector(jd_metrics *m, jd_metrics_collect_fn fn, void *ud);

/* Renders every family into out (which carries its own cap). 0, or -1 when
 * the cap was hit (out then holds a truncated text). */
int jd_metrics_render(dk_buf *out, jd_metrics *m);

/* A float the way Prometheus writes it: shortest text that reads back the
 * same, "+Inf", "-Inf", "NaN". */
void jd_metric_format_value(char *out, size_t n, double v);

/* Appends s with the escapes of a label value (\\, \", \n). */
int jd_metric_escape_label(dk_buf *out, const char *s);

#endif
