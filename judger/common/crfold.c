/* Carriage-return folding (see crfold.h). */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/crfold.h"

/* One character of the line being rebuilt: where its bytes are in the
 * input. Overwriting a character replaces the reference, so a line costs
 * O(its bytes) whatever the rewrites. */
typedef struct cell {
  size_t at, len;
} cell;

typedef struct cells {
  cell *v;
  size_t n, cap;
} cells;

typedef struct folder {
  const unsigned char *in;
  char *out;
  size_t olen;
  cells line;  /* the current line, one cell per column */
  cells tails; /* zero-width bytes no character followed, kept at the end */
  size_t col;
  size_t pend; /* start of zero-width bytes before the next character */
  bool pending;
} folder;

/* Bytes of the character at s: a whole UTF-8 sequence, or 1 for anything
 * else (the sanitiser replaces invalid bytes later). */
static size_t char_bytes(const unsigned char *s, size_t left) {
  size_t need = s[0] >= 0xC2 && s[0] <= 0xDF   ? 2
                : s[0] >= 0xE0 && s[0] <= 0xEF ? 3
                : s[0] >= 0xF0 && s[0] <= 0xF4 ? 4
                                               : 1;
  if (need > left)
    return 1;
  for (size_t i = 1; i < need; i++)
    if ((s[i] & 0xC0) != 0x80)
      return 1;
  return need;
}

/* Bytes of the escape sequence at s (s[0] is ESC): CSI (ESC [ params
 * final), OSC (ESC ] ... BEL or ESC \\), or ESC and one byte; never past a
 * line end. */
static size_t escape_bytes(const unsigned char *s, size_t left) {
  size_t i = 1;
  if (left < 2 || s[1] == '\n' || s[1] == '\r')
    return 1;
  if (s[1] == '[') {
    for (i = 2; i < left && s[i] >= 0x20 && s[i] < 0x40; i++)
      ;
    return i < left && s[i] >= 0x40 && s[i] <= 0x7e ? i + 1 : i;
  }
  if (s[1] == ']') {
    for (i = 2; i < left && s[i] != '\n' && s[i] != '\r'; i++) {
      if (s[i] == 0x07)
        return i + 1;
      if (s[i] == 0x1b && i + 1 < left && s[i + 1] == '\\')
        return i + 2;
    }
    return i;
  }
  return 2;
}

static int push(cells *c, size_t at, size_t len) {
  if (c->n == c->cap) {
    size_t cap = c->cap ? c->cap * 2 : 256;
    cell *v = realloc(c->v, cap * sizeof *v);
    if (!v)
      return -1;
    c->v = v;
    c->cap = cap;
  }
  c->v[c->n++] = (cell){at, len};
  return 0;
}

/* Zero-width bytes that no character followed (before a CR, a backspace or
 * the line's end) are kept, after the line's characters. */
static int end_pending(folder *f, size_t i) {
  int rc = f->pending ? push(&f->tails, f->pend, i - f->pend) : 0;
  f->pending = false;
  return rc;
}

static void flush_line(folder *f) {
  for (int k = 0; k < 2; k++) {
    cells *c = k ? &f->tails : &f->line;
    for (size_t i = 0; i < c->n; i++) {
      memcpy(f->out + f->olen, f->in + c->v[i].at, c->v[i].len);
      f->olen += c->v[i].len;
    }
    c->n = 0;
  }
  f->col = 0;
}

/* A character in the column under the cursor, with the zero-width bytes
 * (escape sequences) just before it: overwritten together. */
static int put_char(folder *f, size_t i, size_t n) {
  size_t at = f->pending ? f->pend : i;
  f->pending = false;
  if (f->col == f->line.n)
    return push(&f->line, at, i + n - at) ? -1 : (f->col++, 0);
  f->line.v[f->col++] = (cell){at, i + n - at};
  return 0;
}

/* One step at in[i]: returns the bytes taken, 0 on out of memory. */
static size_t step(folder *f, size_t i, size_t len) {
  unsigned char c = f->in[i];
  if (c == '\n' || c == '\r' || c == '\b') {
    if (end_pending(f, i))
      return 0;
    if (c == '\n') {
      flush_line(f);
      f->out[f->olen++] = '\n';
    } else if (c == '\r') {
      f->col = 0;
    } else if (f->col) {
      f->col--;
    }
    return 1;
  }
  if ((c < 0x20 && c != '\t') || c == 0x7f) {
    /* Zero width: a terminal prints nothing for them. */
    if (!f->pending) {
      f->pending = true;
      f->pend = i;
    }
    return c == 0x1b ? escape_bytes(f->in + i, len - i) : 1;
  }
  size_t n = char_bytes(f->in + i, len - i);
  return put_char(f, i, n) ? 0 : n;
}

char *jd_crfold(const char *s, size_t len, size_t *outlen) {
  folder f = {.in = (const unsigned char *)s, .out = malloc(len + 1)};
  if (!f.out)
    return NULL;
  if (!memchr(s, '\r', len) && !memchr(s, '\b', len)) {
    memcpy(f.out, s, len); /* the common case: nothing to fold */
    f.olen = len;
    goto done;
  }
  for (size_t i = 0; i < len;) {
    size_t n = step(&f, i, len);
    if (!n) {
      free(f.out);
      f.out = NULL;
      goto done;
    }
    i += n;
  }
  if (end_pending(&f, len)) {
    free(f.out);
    f.out = NULL;
    goto done;
  }
  flush_line(&f);
done:
  free(f.line.v);
  free(f.tails.v);
  if (!f.out)
    return NULL;
  f.out[f.olen] = '\0';
  if (outlen)
    *outlen = f.olen;
  return f.out;
}

size_t jd_crfold_inplace(char *s, size_t len) {
  size_t n;
  char *folded = jd_crfold(s, len, &n);
  if (!folded)
    return len;
  memcpy(s, folded, n + 1);
  free(folded);
  return n;
}
