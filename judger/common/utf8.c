/* The UTF-8 sanitiser (see utf8.h). */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"

static const char replacement[] = "\xEF\xBF\xBD"; /* U+FFFD */

/* Length of the valid character at s (1..4), or 0 with *bad set to the
 * length of the maximal invalid subpart to replace (at least 1). */
static size_t char_len(const unsigned char *s, size_t len, size_t *bad) {
  unsigned char c = s[0];
  *bad = 1;
  if (c && c < 0x80)
    return 1;
  size_t need;
  unsigned char lo = 0x80, hi = 0xBF; /* the range of the second byte */
  if (c >= 0xC2 && c <= 0xDF) {
    need = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    need = 3;
    if (c == 0xE0)
      lo = 0xA0; /* no overlong forms */
    else if (c == 0xED)
      hi = 0x9F; /* no surrogates */
  } else if (c >= 0xF0 && c <= 0xF4) {
    need = 4;
    if (c == 0xF0)
      lo = 0x90;
    else if (c == 0xF4)
      hi = 0x8F; /* nothing past U+10FFFF */
  } else {
    return 0; /* NUL, a stray continuation byte, C0, C1, F5..FF */
  }
  for (size_t i = 1; i < need; i++) {
    unsigned char lim_lo = i == 1 ? lo : 0x80, lim_hi = i == 1 ? hi : 0xBF;
    if (i >= len || s[i] < lim_lo || s[i] > lim_hi) {
      *bad = i;
      return 0;
    }
  }
  return need;
}

/* Whether the valid character at c is one to escape: C0 (but newline and
 * tab with JD_UTF8_KEEP_LINES), DEL, or C1 (U+0080..U+009F). */
static bool is_control(const unsigned char *c, unsigned flags) {
  if (c[0] == '\n' || c[0] == '\t')
    return !(flags & JD_UTF8_KEEP_LINES);
  return c[0] < 0x20 || c[0] == 0x7f || (c[0] == 0xC2 && c[1] < 0xA0);
}

bool jd_utf8_valid(const char *s, size_t len) {
  const unsigned char *p = (const unsigned char *)s;
  size_t i = 0, bad;
  while (i < len) {
    size_t n = char_len(p + i, len - i, &bad);
    if (!n)
      return false;
    i += n;
  }
  return true;
}

size_t jd_utf8_clean(char *dst, size_t cap, const char *src, size_t len, unsigned flags) {
  const unsigned char *p = (const unsigned char *)src;
  size_t i = 0, o = 0, bad;
  while (i < len) {
    char esc[8];
    const char *piece = (const char *)p + i;
    size_t n = char_len(p + i, len - i, &bad), plen = n;
    if (!n) {
      piece = replacement;
      plen = 3;
      n = bad;
    } else if ((flags & JD_UTF8_ESCAPE_CONTROLS) && is_control(p + i, flags)) {
      /* A C1 control is C2 80..C2 9F: its code point is the second byte. */
      if (p[i] == 0xC2)
        plen = (size_t)snprintf(esc, sizeof esc, "\\u%04x", p[i + 1]);
      else
        plen = (size_t)snprintf(esc, sizeof esc, "\\x%02x", p[i]);
      piece = esc;
    }
    if (o + plen >= cap)
      break; /* the cut: whole characters only */
    memcpy(dst + o, piece, plen);
    o += plen;
    i += n;
  }
  dst[o] = '\0';
  return o;
}

char *jd_utf8_dup(const char *src, size_t len, size_t max, unsigned flags) {
  /* Worst case: every byte becomes 4 bytes ("\xNN"), 3 (U+FFFD), or two
   * bytes 6 ("\u0080"). */
  size_t cap = len > (SIZE_MAX - 1) / 4 ? SIZE_MAX : len * 4 + 1;
  if (max && cap > max + 1)
    cap = max + 1;
  char *d = malloc(cap);
  if (!d)
    return NULL;
  size_t n = jd_utf8_clean(d, cap, src, len, flags);
  char *shrunk = realloc(d, n + 1);
  return shrunk ? shrunk : d;
}

json_object *jd_json_str_len(const char *s, size_t len, size_t max) {
  if (!s)
    return NULL;
  if ((!max || len <= max) && jd_utf8_valid(s, len))
    return json_object_new_string_len(s, (int)len);
  char *d = jd_utf8_dup(s, len, max, 0);
  if (!d)
    return NULL;
  json_object *o = json_object_new_string(d);
  free(d);
  return o;
}

json_object *jd_json_str(const char *s) { return s ? jd_json_str_len(s, strlen(s), 0) : NULL; }

/* Whether s is a number as JSON writes it: -?(0|[1-9]d*)(.d+)?([eE][+-]?d+)?
 * (json-c keeps a parsed number's text, and its tokener also takes "1.",
 * "NaN", "Infinity" and "1e999", which are not JSON). */
static bool json_number_text(const char *s) {
  if (*s == '-')
    s++;
  if (*s == '0')
    s++;
  else if (isdigit((unsigned char)*s))
    while (isdigit((unsigned char)*s))
      s++;
  else
    return false;
  if (*s == '.') {
    if (!isdigit((unsigned char)*++s))
      return false;
    while (isdigit((unsigned char)*s))
      s++;
  }
  if (*s == 'e' || *s == 'E') {
    s++;
    if (*s == '+' || *s == '-')
      s++;
    if (!isdigit((unsigned char)*s))
      return false;
    while (isdigit((unsigned char)*s))
      s++;
  }
  return *s == '\0';
}

/* A number passed on: its text when that is JSON, else rewritten from its
 * value; a value that is not finite becomes null. */
static json_object *json_clean_number(json_object *o) {
  bool is_int = json_object_get_type(o) == json_type_int;
  double d = is_int ? 0 : json_object_get_double(o);
  if (!isfinite(d))
    return NULL; /* "1e999" is JSON's syntax, but no reader's number */
  if (json_number_text(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN)))
    return json_object_get(o);
  return is_int ? json_object_new_int64(json_object_get_int64(o)) : json_object_new_double(d);
}

json_object *jd_json_clean(json_object *o, int max_depth) {
  if (!o)
    return NULL;
  switch (json_object_get_type(o)) {
  case json_type_string:
    return jd_json_str_len(json_object_get_string(o), (size_t)json_object_get_string_len(o), 0);
  case json_type_array: {
    if (max_depth <= 0)
      return NULL;
    json_object *a = json_object_new_array();
    for (size_t i = 0; a && i < json_object_array_length(o); i++)
      json_object_array_add(a, jd_json_clean(json_object_array_get_idx(o, i), max_depth - 1));
    return a;
  }
  case json_type_object: {
    if (max_depth <= 0)
      return NULL;
    json_object *r = json_object_new_object();
    json_object_object_foreach(o, key, val) {
      if (!r)
        break;
      char *k = jd_utf8_dup(key, strlen(key), 0, 0);
      if (k)
        json_object_object_add(r, k, jd_json_clean(val, max_depth - 1));
      free(k);
    }
    return r;
  }
  case json_type_null:
    return NULL;
  case json_type_int:
  case json_type_double:
    return json_clean_number(o);
  default: /* booleans */
    return json_object_get(o);
  }
}

void jd_term_printf(FILE *f, const char *fmt, ...) {
  char small[1024], *text = small;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (n < 0)
    return;
  if ((size_t)n >= sizeof small) {
    text = malloc((size_t)n + 1);
    if (!text)
      return;
    va_start(ap, fmt);
    vsnprintf(text, (size_t)n + 1, fmt, ap);
    va_end(ap);
  }
  char *clean = jd_utf8_dup(text, (size_t)n, 0, JD_UTF8_ESCAPE_CONTROLS | JD_UTF8_KEEP_LINES);
  if (clean)
    fputs(clean, f);
  free(clean);
  if (text != small)
    free(text);
}
