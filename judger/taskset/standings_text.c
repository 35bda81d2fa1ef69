/* The standings for a person: a fixed-width ASCII table and the win matrix
 * (row against column: wins-draws-losses), program names cut to NAME_MAX
 * characters ('~' marks a cut; ids are printable ASCII already). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "taskset/standings.h"
#include "taskset/standings_internal.h"

#define NAME_MAX_WIDTH 24
/* The matrix shows the top programs only: 30 columns already fill a wide
 * terminal; the JSON has them all. */
#define MATRIX_MAX 30

typedef struct text_buf {
  char *data;
  size_t len, cap;
  bool failed;
} text_buf;

__attribute__((format(printf, 2, 3))) static void put(text_buf *b, const char *fmt, ...) {
  va_list ap;
  if (b->failed)
    return;
  for (;;) {
    va_start(ap, fmt);
    int n = vsnprintf(b->data ? b->data + b->len : NULL, b->data ? b->cap - b->len : 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
      b->failed = true;
      return;
    }
    if (b->data && b->len + (size_t)n < b->cap) {
      b->len += (size_t)n;
      return;
    }
    size_t cap = b->cap ? b->cap : 1024;
    while (cap <= b->len + (size_t)n)
      cap *= 2;
    char *data = realloc(b->data, cap);
    if (!data) {
      b->failed = true;
      return;
    }
    b->data = data;
    b->cap = cap;
  }
}

/* name cut to width characters, anything but printable ASCII as '?'. */
static void cut_name(char *out, const char *name, size_t width) {
  size_t len = strlen(name), k = 0;
  for (; k < len && k < width; k++)
    out[k] = name[k] > ' ' && name[k] <= '~' ? name[k] : '?';
  if (len > width)
    out[width - 1] = '~';
  out[k] = '\0';
}

static size_t name_width(const jd_standings *s, size_t n) {
  size_t w = strlen("program");
  for (size_t i = 0; i < n; i++) {
    size_t len = strlen(jd_standings_row(s, i)->program);
    if (len > w)
      w = len;
  }
  return w < NAME_MAX_WIDTH ? w : NAME_MAX_WIDTH;
}

/* The widest score sum as printed (%.2f), at least 10. */
static int score_width(const jd_standings *s) {
  char tmp[400];
  int w = 10;
  for (size_t i = 0; i < s->n; i++) {
    int len = snprintf(tmp, sizeof tmp, "%.2f", s->rows[i].score_sum);
    if (len > w)
      w = len;
  }
  return w;
}

static void table(text_buf *b, const jd_standings *s) {
  size_t nw = name_width(s, s->n);
  int sw = score_width(s);
  char name[NAME_MAX_WIDTH + 1];
  put(b, "%4s  %-*s %7s %7s %7s %7s %7s %*s %7s %8s\n", "rank", (int)nw, "program", "games", "W",
      "D", "L", "no-res", sw, "score", "rating", "95% +/-");
  for (size_t i = 0; i < s->n; i++) {
    const jd_standing_row *r = jd_standings_row(s, i);
    cut_name(name, r->program, nw);
    put(b, "%4zu  %-*s %7lld %7lld %7lld %7lld %7lld %*.2f", i + 1, (int)nw, name,
        (long long)r->games, (long long)r->wins, (long long)r->draws, (long long)r->losses,
        (long long)r->no_result, sw, r->score_sum);
    if (isfinite(r->rating_lo) && isfinite(r->rating_hi))
      put(b, " %7.0f %8.0f\n", r->rating, (r->rating_hi - r->rating_lo) / 2);
    else
      put(b, " %7s %8s\n", "-", "-");
  }
}

static void cell(char *out, size_t len, const jd_standings *s, size_t i, size_t j) {
  int64_t w, d, l;
  if (i == j) {
    snprintf(out, len, "-");
    return;
  }
  jd_standings_pair(s, i, j, &w, &d);
  jd_standings_pair(s, j, i, &l, NULL);
  snprintf(out, len, "%lld-%lld-%lld", (long long)w, (long long)d, (long long)l);
}

static void matrix(text_buf *b, const jd_standings *s) {
  size_t m = s->n < MATRIX_MAX ? s->n : MATRIX_MAX, nw = name_width(s, m), cw = 5;
  char name[NAME_MAX_WIDTH + 1], c[80];
  for (size_t i = 0; i < m; i++)
    for (size_t j = 0; j < m; j++) {
      cell(c, sizeof c, s, i, j);
      if (strlen(c) > cw)
        cw = strlen(c);
    }
  put(b, "\nwin matrix: row against column, wins-draws-losses");
  if (m < s->n)
    put(b, " (the top %zu of %zu; the JSON has all)", m, s->n);
  put(b, "\n%4s  %-*s", "", (int)nw, "");
  for (size_t j = 0; j < m; j++)
    put(b, " %*zu", (int)cw, j + 1);
  put(b, "\n");
  for (size_t i = 0; i < m; i++) {
    cut_name(name, jd_standings_row(s, i)->program, nw);
    put(b, "%4zu  %-*s", i + 1, (int)nw, name);
    for (size_t j = 0; j < m; j++) {
      cell(c, sizeof c, s, i, j);
      put(b, " %*s", (int)cw, c);
    }
    put(b, "\n");
  }
}

int jd_standings_text(char **out, const jd_standings *s) {
  text_buf b = {0};
  *out = NULL;
  table(&b, s);
  if (s->n > 1)
    matrix(&b, s);
  if (s->unattributed > 0)
    put(&b, "\n%lld result(s) without players (cancelled before running)\n",
        (long long)s->unattributed);
  if (s->n == 0)
    put(&b, "(no programs)\n");
  if (b.failed || !b.data) {
    free(b.data);
    return -1;
  }
  *out = b.data;
  return 0;
}
