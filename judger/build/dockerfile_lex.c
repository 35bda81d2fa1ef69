/* The Dockerfile reader's words (dockerfile.c): strings with a cap,
 * Unicode white space as the engine's Go code sees it, the variables a word
 * sees, the engine's shell lexer (ProcessWord: quotes, the escape
 * character, $v, ${v}, ${v:-w}, ${v:+w}) and the splitters of an
 * instruction (white space, words, flags, JSON arrays). */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "build/dockerfile_internal.h"

/* ---- strings ---------------------------------------------------------------- */

void jd_df_sb_put(sbuf *b, const char *s, size_t n) {
  if (b->over || b->oom)
    return;
  if (b->len + n > b->max) {
    b->over = true;
    return;
  }
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + n + 1)
      cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
      b->oom = true;
      return;
    }
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}

static void sb_putc(sbuf *b, char c) { jd_df_sb_put(b, &c, 1); }

/* Length of a Unicode white-space character (Go's unicode.IsSpace) at s,
 * or 0. */
size_t jd_df_space_len(const unsigned char *s, size_t n) {
  if (!n)
    return 0;
  if (s[0] == ' ' || (s[0] >= '\t' && s[0] <= '\r'))
    return 1;
  if (n >= 2 && s[0] == 0xc2 && (s[1] == 0x85 || s[1] == 0xa0))
    return 2;
  if (n >= 3 && s[0] == 0xe1 && s[1] == 0x9a && s[2] == 0x80) /* U+1680 */
    return 3;
  if (n >= 3 && s[0] == 0xe2 && s[1] == 0x80 &&
      (s[2] <= 0x8a || s[2] == 0xa8 || s[2] == 0xa9 ||
       s[2] == 0xaf)) /* U+2000-200A, 2028, 2029, 202F */
    return 3;
  if (n >= 3 && s[0] == 0xe2 && s[1] == 0x81 && s[2] == 0x9f) /* U+205F */
    return 3;
  if (n >= 3 && s[0] == 0xe3 && s[1] == 0x80 && s[2] == 0x80) /* U+3000 */
    return 3;
  return 0;
}

/* Unicode white space at the end of s[0..n), as Go's TrimRightFunc sees it. */
static size_t trailing_space(const unsigned char *s, size_t n) {
  size_t cut = 0;
  for (;;) {
    size_t left = n - cut, k = 0;
    for (size_t w = 1; w <= 3 && w <= left; w++)
      if (jd_df_space_len(s + left - w, w) == w) {
        k = w;
        break;
      }
    if (!k)
      return cut;
    cut += k;
  }
}

void jd_df_trim_unicode(const char **s, size_t *n) {
  size_t k;
  while ((k = jd_df_space_len((const unsigned char *)*s, *n)) != 0)
    *s += k, *n -= k;
  *n -= trailing_space((const unsigned char *)*s, *n);
}

/* The byte-wise white space of the engine's flag splitter (a byte taken
 * as a rune: 0x85 and 0xA0 count). */
static bool flag_space(unsigned char c) {
  return c == ' ' || (c >= '\t' && c <= '\r') || c == 0x85 || c == 0xa0;
}

/* ---- variables -------------------------------------------------------------- */

/* The engine's predefined build arguments (moby's BuiltinAllowedBuildArgs):
 * every word sees them without an ARG line, before FROM and in FROM too,
 * and a value given to the build (the judger gives the proxy ones to a
 * build with RUN steps) wins over an ARG's default. Their value is the
 * build's, not the Dockerfile's: unknown here, so nothing assembled from
 * them passes (`ADD ${HTTP_PROXY:+http://...}`, `FROM ${Q}` with
 * `ARG Q=${HTTP_PROXY:+ai-x-run}` once reached another program's image). */
static bool predefined_arg(const char *name) {
  static const char *const names[] = {"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy",
                                      "FTP_PROXY",  "ftp_proxy",  "NO_PROXY",    "no_proxy",
                                      "ALL_PROXY",  "all_proxy"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (!strcmp(name, names[i]))
      return true;
  return false;
}

/* What a name holds: *value ("" when none), *unknown when it cannot be
 * known. */
static void lookup_get(const lookup *lk, const char *name, const char **value, bool *unknown) {
  *value = "";
  *unknown = false;
  if (lk->tainted) {
    *unknown = true;
    return;
  }
  const var *v = scope_find(lk->env, name);
  if (!v && predefined_arg(name)) {
    *unknown = true; /* the build's value, whatever an ARG says */
    return;
  }
  if (!v && !(lk->strict && lk->base_image))
    v = scope_find(lk->args, name);
  if (v) {
    *value = v->value ? v->value : "";
    *unknown = !v->value;
    return;
  }
  *unknown = lk->base_image;
}

/* ---- the shell lexer (the engine's ProcessWord) --------------------------- */

typedef struct lexer {
  const char *s;
  size_t i, n;
  char esc;
  const lookup *lk;
  bool unknown; /* a value that cannot be known went into the result */
  bool bad;     /* the engine's lexer fails on this word, or a cap was passed */
  int depth;
} lexer;

static void lx_dollar(lexer *x, sbuf *out);

/* The name after '$': a run of digits, one special character, or
 * letters, digits and '_' (bytes past ASCII taken as letters). */
static size_t lx_name(lexer *x, char *name, size_t cap) {
  size_t k = 0;
  const char *s = x->s;
  if (x->i < x->n && isdigit((unsigned char)s[x->i])) {
    while (x->i < x->n && isdigit((unsigned char)s[x->i])) {
      if (k + 1 < cap)
        name[k++] = s[x->i];
      x->i++;
    }
  } else if (x->i < x->n && strchr("@*#?-$!0", s[x->i]) && s[x->i]) {
    name[k++] = s[x->i++];
  } else {
    while (x->i < x->n &&
           (isalnum((unsigned char)s[x->i]) || s[x->i] == '_' || (unsigned char)s[x->i] >= 0x80)) {
      if (k + 1 < cap)
        name[k++] = s[x->i];
      else
        x->bad = true; /* a name longer than any kept */
      x->i++;
    }
  }
  name[k] = '\0';
  return k;
}

/* Reads up to stop ('}' or -1 for the end) into out; the stop is consumed. */
static void lx_until(lexer *x, sbuf *out, int stop) {
  if (++x->depth > DF_NEST_MAX) {
    x->bad = true;
    x->depth--;
    return;
  }
  const char *s = x->s;
  while (x->i < x->n && !x->bad) {
    char c = s[x->i];
    if (stop >= 0 && c == stop) {
      x->i++;
      x->depth--;
      return;
    }
    if (c == '\'') {
      const char *q = memchr(s + x->i + 1, '\'', x->n - x->i - 1);
      if (!q) {
        x->bad = true;
        break;
      }
      jd_df_sb_put(out, s + x->i + 1, (size_t)(q - s - x->i - 1));
      x->i = (size_t)(q - s) + 1;
    } else if (c == '"') {
      x->i++;
      for (;;) {
        if (x->i >= x->n) {
          x->bad = true;
          break;
        }
        c = s[x->i];
        if (c == '"') {
          x->i++;
          break;
        }
        if (c == '$') {
          lx_dollar(x, out);
          if (x->bad)
            break;
          continue;
        }
        x->i++;
        if (c == x->esc) {
          if (x->i >= x->n)
            continue;
          if (s[x->i] == '"' || s[x->i] == '$' || s[x->i] == x->esc)
            c = s[x->i++];
        }
        sb_putc(out, c);
      }
    } else if (c == '$') {
      lx_dollar(x, out);
    } else {
      x->i++;
      if (c == x->esc) {
        if (x->i >= x->n)
          break;
        c = s[x->i++];
      }
      sb_putc(out, c);
    }
    if (out->over)
      x->bad = true;
  }
  if (stop >= 0)
    x->bad = true; /* no closing '}' */
  x->depth--;
}

static void lx_dollar(lexer *x, sbuf *out) {
  const char *s = x->s;
  char name[256];
  const char *value;
  bool unknown;
  x->i++; /* '$' */
  if (x->i >= x->n || s[x->i] != '{') {
    if (!lx_name(x, name, sizeof name)) {
      sb_putc(out, '$');
      return;
    }
    lookup_get(x->lk, name, &value, &unknown);
    x->unknown |= unknown;
    jd_df_sb_put(out, value, strlen(value));
    return;
  }
  x->i++; /* '{' */
  if (x->i >= x->n || s[x->i] == '{' || s[x->i] == '}' || s[x->i] == ':') {
    x->bad = true;
    return;
  }
  lx_name(x, name, sizeof name);
  if (x->i >= x->n) {
    x->bad = true;
    return;
  }
  char c = s[x->i++];
  lookup_get(x->lk, name, &value, &unknown);
  if (c == '}') {
    x->unknown |= unknown;
    jd_df_sb_put(out, value, strlen(value));
    return;
  }
  if (c != ':' || x->i >= x->n) {
    x->bad = true;
    return;
  }
  char modifier = s[x->i++];
  /* the word is read (its variables looked up) whatever is taken */
  sbuf word = {.max = DF_VALUE_MAX};
  bool outer_unknown = x->unknown;
  x->unknown = false;
  lx_until(x, &word, '}');
  bool word_unknown = x->unknown;
  x->unknown = outer_unknown;
  if (word.oom)
    out->oom = true;
  if (modifier != '-' && modifier != '+')
    x->bad = true;
  else if (unknown)
    x->unknown = true;
  else if ((modifier == '-') == !value[0]) {
    x->unknown |= word_unknown;
    jd_df_sb_put(out, sb_str(&word), word.len);
  } else if (modifier == '-') {
    jd_df_sb_put(out, value, strlen(value));
  } /* '+' on an empty value: nothing */
  free(word.p);
}

/* Expands one word; *unknown when a value in it cannot be known or the
 * engine's lexer would fail on it. The caller frees the result (NULL only
 * when memory runs out). */
char *jd_df_expand(const char *word, size_t n, char esc, const lookup *lk, bool *unknown) {
  lexer x = {.s = word, .n = n, .esc = esc, .lk = lk};
  sbuf out = {.max = DF_VALUE_MAX};
  lx_until(&x, &out, -1);
  *unknown = x.unknown || x.bad || out.over;
  if (out.oom) {
    free(out.p);
    return NULL;
  }
  return out.p ? out.p : strdup("");
}

/* ---- words ------------------------------------------------------------------ */

void jd_df_words_free(words *w) {
  for (size_t i = 0; i < w->n; i++)
    free(w->w[i]);
  free(w->w);
  w->w = NULL;
  w->n = 0;
}

static int words_add(words *w, const char *s, size_t n) {
  char **grown = realloc(w->w, (w->n + 1) * sizeof *grown);
  if (!grown)
    return -1;
  w->w = grown;
  char *c = strndup(s, n);
  if (!c)
    return -1;
  w->w[w->n++] = c;
  return 0;
}

/* The engine's parseStringsWhitespaceDelimited. */
int jd_df_split_ws(words *out, const char *s, size_t n) {
  jd_df_trim_unicode(&s, &n);
  for (size_t i = 0; i < n;) {
    while (i < n && ws(s[i]))
      i++;
    size_t j = i;
    while (j < n && !ws(s[j]))
      j++;
    if (j > i && words_add(out, s + i, j - i) != 0)
      return -1;
    i = j;
  }
  return 0;
}

/* The engine's parseWords: white space splits, quotes and the escape
 * character are kept in the words (the lexer reads them later). */
int jd_df_split_words(words *out, const char *s, size_t n, char esc) {
  sbuf w = {.max = (size_t)-1};
  enum { SPACES, WORD, QUOTE } phase = SPACES;
  char quote = 0;
  bool blank_ok = false;
  int rc = 0;
  for (size_t pos = 0; pos <= n && !rc; pos++) {
    char ch = pos < n ? s[pos] : 0;
    size_t sp = pos < n ? jd_df_space_len((const unsigned char *)s + pos, n - pos) : 0;
    if (phase == SPACES) {
      if (pos == n)
        break;
      if (sp) {
        pos += sp - 1;
        continue;
      }
      phase = WORD;
    }
    if (pos == n) {
      if (blank_ok || w.len)
        rc = words_add(out, sb_str(&w), w.len);
      break;
    }
    if (phase == WORD) {
      if (sp) {
        pos += sp - 1;
        phase = SPACES;
        if (blank_ok || w.len)
          rc = words_add(out, sb_str(&w), w.len);
        w.len = 0;
        blank_ok = false;
        continue;
      }
      if (ch == '\'' || ch == '"') {
        quote = ch;
        blank_ok = true;
        phase = QUOTE;
      }
      if (ch == esc) {
        if (pos + 1 == n)
          continue;
        sb_putc(&w, ch);
        ch = s[++pos];
      }
      sb_putc(&w, ch);
      continue;
    }
    /* QUOTE */
    if (ch == quote)
      phase = WORD;
    if (ch == esc && quote != '\'') {
      if (pos + 1 == n) {
        phase = WORD;
        continue;
      }
      sb_putc(&w, ch);
      ch = s[++pos];
    }
    sb_putc(&w, ch);
  }
  if (w.oom)
    rc = -1;
  free(w.p);
  return rc;
}

/* The engine's extractBuilderFlags: the leading --flag words (quotes and
 * backslashes taken out), and where the arguments start. */
int jd_df_split_flags(words *flags, size_t *args_at, const char *s, size_t n) {
  sbuf w = {.max = (size_t)-1};
  enum { SPACES, WORD, QUOTE } phase = SPACES;
  char quote = 0;
  bool blank_ok = false;
  int rc = 0;
  *args_at = n;
  for (size_t pos = 0; pos <= n && !rc; pos++) {
    char ch = pos < n ? s[pos] : 0;
    if (phase == SPACES) {
      if (pos == n)
        break;
      if (flag_space((unsigned char)ch))
        continue;
      if (ch != '-' || pos + 1 == n || s[pos + 1] != '-') {
        *args_at = pos;
        break;
      }
      phase = WORD;
    }
    if (pos == n) {
      if (!(w.len == 2 && !memcmp(w.p, "--", 2)) && (blank_ok || w.len))
        rc = words_add(flags, sb_str(&w), w.len);
      break;
    }
    if (phase == WORD) {
      if (flag_space((unsigned char)ch)) {
        phase = SPACES;
        if (w.len == 2 && !memcmp(w.p, "--", 2)) {
          *args_at = pos;
          break;
        }
        if (blank_ok || w.len)
          rc = words_add(flags, sb_str(&w), w.len);
        w.len = 0;
        blank_ok = false;
        continue;
      }
      if (ch == '\'' || ch == '"') {
        quote = ch;
        blank_ok = true;
        phase = QUOTE;
        continue;
      }
      if (ch == '\\') {
        if (pos + 1 == n)
          continue;
        ch = s[++pos];
      }
      sb_putc(&w, ch);
      continue;
    }
    if (ch == quote) {
      phase = WORD;
      continue;
    }
    if (ch == '\\') {
      if (pos + 1 == n) {
        phase = WORD;
        continue;
      }
      ch = s[++pos];
    }
    sb_putc(&w, ch);
  }
  if (w.oom)
    rc = -1;
  free(w.p);
  return rc;
}

/* A JSON array of strings (the exec form), or 0 words when s is not one. */
int jd_df_split_json(words *out, bool *is_json, const char *s, size_t n) {
  *is_json = false;
  jd_df_trim_unicode(&s, &n);
  if (!n || s[0] != '[')
    return 0;
  json_tokener *tok = json_tokener_new();
  if (!tok)
    return -1;
  json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
  json_object *o = json_tokener_parse_ex(tok, s, (int)n);
  bool whole = o && json_tokener_get_error(tok) == json_tokener_success &&
               json_tokener_get_parse_end(tok) == n;
  json_tokener_free(tok);
  int rc = 0;
  if (whole && json_object_is_type(o, json_type_array)) {
    size_t k = json_object_array_length(o);
    bool strings = true;
    for (size_t i = 0; i < k; i++)
      strings &= json_object_is_type(json_object_array_get_idx(o, i), json_type_string);
    if (strings) {
      *is_json = true;
      for (size_t i = 0; i < k && !rc; i++) {
        json_object *e = json_object_array_get_idx(o, i);
        rc = words_add(out, json_object_get_string(e), (size_t)json_object_get_string_len(e));
      }
    }
  }
  json_object_put(o);
  return rc;
}
