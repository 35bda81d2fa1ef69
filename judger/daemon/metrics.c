/* The metrics registry and its text renderer (see metrics.h). */
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"
#include "daemon/metrics.h"

typedef struct series {
  char *values[JD_METRIC_LABELS_MAX];
  uint64_t hash;
  double value;     /* counter, gauge */
  uint64_t *counts; /* histogram: per bucket (not cumulative), then +Inf */
  uint64_t count;
  double sum;
} series;

struct jd_metric {
  jd_metrics *reg;
  jd_metric_def def;
  size_t nlabels;
  double buckets[JD_METRIC_BUCKETS_MAX];
  series *items;
  size_t count, cap;
};

struct jd_metrics {
  pthread_mutex_t mu;
  jd_metric **families;
  size_t count;
  uint64_t dropped;              /* updates refused by a series cap or out of memory */
  jd_metrics_collect_fn collect; /* set before sharing; read without mu */
  void *collect_ud;
};

static const char *const type_names[] = {
#define JD_METRIC_TYPE_NAME(code, name) name,
    JD_METRIC_TYPE_MAP(JD_METRIC_TYPE_NAME)
#undef JD_METRIC_TYPE_NAME
};

const char *jd_metric_type_name(jd_metric_type t) {
  return (unsigned)t < JD_METRIC_TYPE_COUNT ? type_names[t] : "untyped";
}

int jd_metrics_new(jd_metrics **out) {
  *out = calloc(1, sizeof **out);
  if (!*out)
    return -1;
  pthread_mutex_init(&(*out)->mu, NULL);
  return 0;
}

static void series_clear(series *s, size_t nlabels) {
  for (size_t i = 0; i < nlabels; i++)
    free(s->values[i]);
  free(s->counts);
}

void jd_metrics_free(jd_metrics *m) {
  if (!m)
    return;
  for (size_t i = 0; i < m->count; i++) {
    jd_metric *f = m->families[i];
    for (size_t j = 0; j < f->count; j++)
      series_clear(&f->items[j], f->nlabels);
    free(f->items);
    free(f);
  }
  free(m->families);
  pthread_mutex_destroy(&m->mu);
  free(m);
}

static bool valid_name(const char *s, bool colon) {
  if (!s || !*s || (*s >= '0' && *s <= '9'))
    return false;
  for (; *s; s++) {
    char c = *s;
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || (colon && c == ':');
    if (!ok)
      return false;
  }
  return true;
}

static bool valid_def(const jd_metric_def *def, size_t *nlabels) {
  if ((unsigned)def->type >= JD_METRIC_TYPE_COUNT || !valid_name(def->name, true) || !def->help)
    return false;
  size_t n = 0;
  for (; n <= JD_METRIC_LABELS_MAX && def->labels[n]; n++)
    if (!valid_name(def->labels[n], false) || !strncmp(def->labels[n], "__", 2) ||
        (def->type == JD_METRIC_HISTOGRAM && !strcmp(def->labels[n], "le")))
      return false;
  if (n > JD_METRIC_LABELS_MAX)
    return false;
  *nlabels = n;
  if (def->type != JD_METRIC_HISTOGRAM)
    return true;
  if (!def->buckets || !def->nbuckets || def->nbuckets > JD_METRIC_BUCKETS_MAX)
    return false;
  for (size_t i = 0; i < def->nbuckets; i++)
    if (!isfinite(def->buckets[i]) || (i && def->buckets[i] <= def->buckets[i - 1]))
      return false;
  return true;
}

int jd_metrics_add(jd_metric **out, jd_metrics *m, const jd_metric_def *def) {
  *out = NULL;
  size_t nlabels = 0;
  if (!valid_def(def, &nlabels))
    return -1;
  jd_metric *f = calloc(1, sizeof *f);
  jd_metric **fams = realloc(m->families, (m->count + 1) * sizeof *fams);
  if (!f || !fams) {
    free(f);
    if (fams)
      m->families = fams;
    return -1;
  }
  m->families = fams;
  f->reg = m;
  f->def = *def;
  f->nlabels = nlabels;
  if (def->type == JD_METRIC_HISTOGRAM)
    memcpy(f->buckets, def->buckets, def->nbuckets * sizeof *f->buckets);
  fams[m->count++] = f;
  *out = f;
  return 0;
}

/* FNV-1a over the values, each with its terminating NUL. */
static uint64_t hash_values(const char *const *values, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++)
    for (const char *p = values[i];; p++) {
      h = (h ^ (unsigned char)*p) * 1099511628211ull;
      if (!*p)
        break;
    }
  return h;
}

static series *series_find(jd_metric *f, const char *const *values, uint64_t h) {
  for (size_t i = 0; i < f->count; i++) {
    series *s = &f->items[i];
    if (s->hash != h)
      continue;
    size_t j = 0;
    while (j < f->nlabels && !strcmp(s->values[j], values[j]))
      j++;
    if (j == f->nlabels)
      return s;
  }
  return NULL;
}

/* A new series for values (already cleaned); NULL past the cap or on out
 * of memory. mu held. */
static series *series_new(jd_metric *f, const char *const *values, uint64_t h) {
  if (f->count == JD_METRIC_SERIES_MAX)
    return NULL;
  if (f->count == f->cap) {
    size_t cap = f->cap ? f->cap * 2 : 8;
    series *items = realloc(f->items, cap * sizeof *items);
    if (!items)
      return NULL;
    f->items = items;
    f->cap = cap;
  }
  series s = {.hash = h};
  bool ok = true;
  for (size_t i = 0; i < f->nlabels; i++) {
    s.values[i] = strdup(values[i]);
    ok = ok && s.values[i];
  }
  if (f->def.type == JD_METRIC_HISTOGRAM) {
    s.counts = calloc(f->def.nbuckets + 1, sizeof *s.counts);
    ok = ok && s.counts;
  }
  if (!ok) {
    series_clear(&s, f->nlabels);
    return NULL;
  }
  f->items[f->count] = s;
  return &f->items[f->count++];
}

typedef enum { OP_TOUCH, OP_ADD, OP_SET, OP_TOTAL, OP_OBSERVE } op;

static int update(jd_metric *f, const char *const *values, double v, op o) {
  if (!f || (f->nlabels && !values))
    return -1;
  bool fits = o == OP_TOUCH || ((o == OP_OBSERVE) == (f->def.type == JD_METRIC_HISTOGRAM) &&
                                (o != OP_SET || f->def.type == JD_METRIC_GAUGE) &&
                                (o != OP_TOTAL || f->def.type == JD_METRIC_COUNTER) &&
                                (f->def.type != JD_METRIC_COUNTER || v >= 0) && !isnan(v));
  if (!fits)
    return -1;
  /* Cleaned before the lookup, so the same bytes always find the same
   * series, valid UTF-8 or not. */
  char clean[JD_METRIC_LABELS_MAX][JD_METRIC_VALUE_MAX + 1];
  const char *vals[JD_METRIC_LABELS_MAX];
  for (size_t i = 0; i < f->nlabels; i++) {
    const char *raw = values[i] ? values[i] : "";
    jd_utf8_clean(clean[i], sizeof clean[i], raw, strlen(raw), 0);
    vals[i] = clean[i];
  }
  uint64_t h = hash_values(vals, f->nlabels);
  jd_metrics *m = f->reg;
  pthread_mutex_lock(&m->mu);
  series *s = series_find(f, vals, h);
  if (!s)
    s = series_new(f, vals, h);
  if (!s) {
    m->dropped++;
    pthread_mutex_unlock(&m->mu);
    return -1;
  }
  if (o == OP_SET) {
    s->value = v;
  } else if (o == OP_TOTAL) {
    s->value = v > s->value ? v : s->value;
  } else if (o == OP_ADD) {
    s->value += v;
  } else if (o == OP_OBSERVE) {
    size_t b = 0;
    while (b < f->def.nbuckets && v > f->buckets[b])
      b++;
    s->counts[b]++;
    s->count++;
    s->sum += v;
  }
  pthread_mutex_unlock(&m->mu);
  return 0;
}

void jd_metric_clear(jd_metric *f) {
  jd_metrics *m = f->reg;
  pthread_mutex_lock(&m->mu);
  for (size_t j = 0; j < f->count; j++)
    series_clear(&f->items[j], f->nlabels);
  f->count = 0;
  pthread_mutex_unlock(&m->mu);
}

int jd_metric_touch(jd_metric *f, const char *const *values) {
  return update(f, values, 0, OP_TOUCH);
}

int jd_metric_add(jd_metric *f, const char *const *values, double v) {
  return update(f, values, v, OP_ADD);
}

int jd_metric_set(jd_metric *f, const char *const *values, double v) {
  return update(f, values, v, OP_SET);
}

int jd_metric_set_total(jd_metric *f, const char *const *values, double v) {
  return update(f, values, v, OP_TOTAL);
}

void jd_metrics_set_collector(jd_metrics *m, jd_metrics_collect_fn fn, void *ud) {
  m->collect = fn;
  m->collect_ud = ud;
}

int jd_metric_observe(jd_metric *f, const char *const *values, double v) {
  return update(f, values, v, OP_OBSERVE);
}

/* ---- rendering ------------------------------------------------------------ */

void jd_metric_format_value(char *out, size_t n, double v) {
  if (isnan(v)) {
    snprintf(out, n, "NaN");
    return;
  }
  if (isinf(v)) {
    snprintf(out, n, v > 0 ? "+Inf" : "-Inf");
    return;
  }
  for (int prec = 15; prec <= 17; prec++) {
    snprintf(out, n, "%.*g", prec, v);
    if (strtod(out, NULL) == v)
      return;
  }
}

int jd_metric_escape_label(dk_buf *out, const char *s) {
  int rc = 0;
  const char *run = s;
  for (const char *p = s;; p++) {
    const char *esc = *p == '\\' ? "\\\\" : *p == '"' ? "\\\"" : *p == '\n' ? "\\n" : NULL;
    if (!esc && *p)
      continue;
    rc |= dk_buf_append(out, run, (size_t)(p - run));
    if (!*p)
      break;
    rc |= dk_buf_append(out, esc, 2);
    run = p + 1;
  }
  return rc ? -1 : 0;
}

/* HELP text: backslash and newline escaped. */
static int escape_help(dk_buf *out, const char *s) {
  int rc = 0;
  for (const char *p = s; *p; p++) {
    if (*p == '\\')
      rc |= dk_buf_append(out, "\\\\", 2);
    else if (*p == '\n')
      rc |= dk_buf_append(out, "\\n", 2);
    else
      rc |= dk_buf_append(out, p, 1);
  }
  return rc ? -1 : 0;
}

/* {a="x",b="y"[,le="..."]}; nothing when there are no labels and no le. */
static int labels(dk_buf *out, const jd_metric *f, const series *s, const char *le) {
  if (!f->nlabels && !le)
    return 0;
  int rc = dk_buf_append(out, "{", 1);
  for (size_t i = 0; i < f->nlabels; i++) {
    rc |= dk_buf_appendf(out, "%s%s=\"", i ? "," : "", f->def.labels[i]);
    rc |= jd_metric_escape_label(out, s->values[i]);
    rc |= dk_buf_append(out, "\"", 1);
  }
  if (le)
    rc |= dk_buf_appendf(out, "%sle=\"%s\"", f->nlabels ? "," : "", le);
  rc |= dk_buf_append(out, "}", 1);
  return rc ? -1 : 0;
}

static int sample(dk_buf *out, const jd_metric *f, const series *s, const char *suffix,
                  const char *le, double v) {
  char num[40];
  jd_metric_format_value(num, sizeof num, v);
  int rc = dk_buf_appendf(out, "%s%s", f->def.name, suffix);
  rc |= labels(out, f, s, le);
  rc |= dk_buf_appendf(out, " %s\n", num);
  return rc ? -1 : 0;
}

static int render_histogram(dk_buf *out, const jd_metric *f, const series *s) {
  int rc = 0;
  uint64_t cum = 0;
  char le[40];
  for (size_t b = 0; b < f->def.nbuckets; b++) {
    cum += s->counts[b];
    jd_metric_format_value(le, sizeof le, f->buckets[b]);
    rc |= sample(out, f, s, "_bucket", le, (double)cum);
  }
  rc |= sample(out, f, s, "_bucket", "+Inf", (double)s->count);
  rc |= sample(out, f, s, "_sum", NULL, s->sum);
  rc |= sample(out, f, s, "_count", NULL, (double)s->count);
  return rc;
}

static int render_family(dk_buf *out, const jd_metric *f) {
  int rc = dk_buf_appendf(out, "# HELP %s ", f->def.name);
  rc |= escape_help(out, f->def.help);
  rc |= dk_buf_appendf(out, "\n# TYPE %s %s\n", f->def.name, jd_metric_type_name(f->def.type));
  for (size_t i = 0; i < f->count && !rc; i++)
    rc |= f->def.type == JD_METRIC_HISTOGRAM
              ? render_histogram(out, f, &f->items[i])
              : sample(out, f, &f->items[i], "", NULL, f->items[i].value);
  return rc ? -1 : 0;
}

int jd_metrics_render(dk_buf *out, jd_metrics *m) {
  int rc = 0;
  if (m->collect)
    m->collect(m->collect_ud);
  pthread_mutex_lock(&m->mu);
  for (size_t i = 0; i < m->count && !rc; i++)
    rc = render_family(out, m->families[i]);
  uint64_t dropped = m->dropped;
  pthread_mutex_unlock(&m->mu);
  if (!rc)
    rc = dk_buf_appendf(out,
                        "# HELP judger_metrics_dropped_total Metric updates dropped (a family's "
                        "series cap, or out of memory).\n"
                        "# TYPE judger_metrics_dropped_total counter\n"
                        "judger_metrics_dropped_total %llu\n",
                        (unsigned long long)dropped);
  return rc || out->truncated ? -1 : 0;
}
