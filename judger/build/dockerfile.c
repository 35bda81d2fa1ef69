/* Dockerfiles read before the engine sees them (dockerfile.h).
 *
 * Theory of operation. The reader follows the classic builder of Docker
 * 20.10 step by step, because a difference between what it sees and what
 * the engine does is a door:
 *   1. Physical lines: a BOM is dropped, "\r\n" trimmed; the first lines
 *      may be parser directives (`# escape=`, `# syntax=`) until one line
 *      is not.
 *   2. Logical lines: a line whose first non-space is '#' is a comment; a
 *      line ending in the escape character (then spaces or tabs) goes on;
 *      inside a continuation, comment lines and empty lines are skipped.
 *   3. Instructions: the first word (case-insensitive), then the leading
 *      `--flag=value` words (quotes and backslashes as the engine's flag
 *      splitter takes them), then the arguments: JSON array or shell form.
 *   4. Words are expanded as the engine's shell lexer does: quotes,
 *      the escape character, $v, ${v}, ${v:-w}, ${v:+w}; what a variable
 *      holds is tracked per stage (ENV, then ARG, then the base image's
 *      environment, which is unknown unless the chain starts at scratch).
 *      A value that cannot be known (a build argument the judger passes, a
 *      base image's variable, a lexer error) is "unknown", and an unknown
 *      value where it matters (an ADD source, an image name) is refused.
 * Every loop is over the input once; nesting of ${...} is capped, values
 * and the variables kept are capped, the stages counted: the input (at
 * most 1 MiB, source.h) is bounded while it is read. Nothing recurses
 * deeper than DF_NEST_MAX. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build/base_image.h"
#include "build/dockerfile_internal.h"
#include "build/program.h"
#include "common/error.h"

/* ---- the setting ------------------------------------------------------------ */

const char *jd_base_images(const jd_ctx *ctx) {
  /* $JUDGER_BASE_IMAGES is the base_images setting: read by cli/. */
  return ctx && ctx->base_images ? ctx->base_images : JD_BASE_IMAGES_DEFAULT;
}

/* ---- the reader's state ----------------------------------------------------- */

static void var_free(df_state *st, var *v) {
  st->kept -= strlen(v->name) + 1 + (v->value ? strlen(v->value) + 1 : 0);
  free(v->name);
  free(v->value);
}

void jd_df_scope_clear(df_state *st, scope *s) {
  for (size_t i = 0; i < s->n; i++)
    var_free(st, &s->v[i]);
  free(s->v);
  s->v = NULL;
  s->n = 0;
}

/* Sets name in s (value NULL: unknown): 0, or -1 when memory runs out
 * (st->oom) or past a cap (refused). */
int jd_df_scope_set(df_state *st, scope *s, const char *name, const char *value) {
  size_t need = strlen(name) + 1 + (value ? strlen(value) + 1 : 0);
  var *v = (var *)scope_find(s, name);
  if (!v && s->n >= DF_VARS_MAX)
    return jd_df_refuse(st, "more than %d variables in one stage", DF_VARS_MAX);
  if (st->kept + need > DF_KEPT_MAX)
    return jd_df_refuse(st, "the variables hold more than %zu bytes", DF_KEPT_MAX);
  char *nm = strdup(name), *val = value ? strdup(value) : NULL;
  if (!nm || (value && !val)) {
    free(nm);
    free(val);
    st->oom = true;
    return -1;
  }
  if (!v) {
    var *grown = realloc(s->v, (s->n + 1) * sizeof *grown);
    if (!grown) {
      free(nm);
      free(val);
      st->oom = true;
      return -1;
    }
    s->v = grown;
    v = &s->v[s->n++];
  } else {
    var_free(st, v);
  }
  v->name = nm;
  v->value = val;
  st->kept += need;
  return 0;
}

int jd_df_scope_copy(df_state *st, scope *dst, const scope *src) {
  for (size_t i = 0; i < src->n; i++)
    if (jd_df_scope_set(st, dst, src->v[i].name, src->v[i].value) != 0)
      return -1;
  return 0;
}

int jd_df_refuse(df_state *st, const char *fmt, ...) {
  jd_dockerfile_verdict *o = st->out;
  if (o->refused)
    return -1;
  o->refused = true;
  o->line = st->line;
  char reason[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(reason, sizeof reason, fmt, ap);
  va_end(ap);
  if (!st->text) {
    snprintf(o->message, sizeof o->message, "line %d: %s", st->line, reason);
    return -1;
  }
  size_t n = st->text_len > DF_QUOTE_MAX ? DF_QUOTE_MAX : st->text_len;
  snprintf(o->message, sizeof o->message, "line %d: %.*s%s: %s", st->line, (int)n, st->text,
           n < st->text_len ? "..." : "", reason);
  return -1;
}

/* The variables a word of the current instruction sees. */
lookup jd_df_stage_lookup(const df_state *st, bool strict) {
  if (!st->in_stage)
    return (lookup){.args = &st->meta, .strict = strict};
  if (st->in_onbuild) /* the trigger runs at the start of another stage */
    return (lookup){.env = &st->cur.env, .base_image = true, .tainted = st->cur.tainted};
  return (lookup){.env = &st->cur.env,
                  .args = &st->args,
                  .base_image = st->cur.base_image,
                  .tainted = st->cur.tainted,
                  .strict = strict};
}

/* ---- lines ------------------------------------------------------------------ */

typedef struct reader {
  const char *p, *end;
  int line; /* physical lines read */
  bool directives_done, escape_seen, syntax_seen;
} reader;

/* The next physical line without its "\n" (and trailing "\r"s); false at
 * the end. */
static bool next_line(reader *rd, const char **s, size_t *n) {
  if (rd->p >= rd->end)
    return false;
  const char *nl = memchr(rd->p, '\n', (size_t)(rd->end - rd->p));
  const char *e = nl ? nl : rd->end;
  *s = rd->p;
  *n = (size_t)(e - rd->p);
  rd->p = nl ? nl + 1 : rd->end;
  if (rd->line == 0 && *n >= 3 && !memcmp(*s, "\xef\xbb\xbf", 3))
    *s += 3, *n -= 3;
  while (*n && ((*s)[*n - 1] == '\r' || (*s)[*n - 1] == '\n'))
    (*n)--;
  rd->line++;
  return true;
}

static bool re_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

/* Reads a line as a parser directive `# key=value`: the key lower-cased
 * (at most 15 characters) and where the value is in s. False when the line
 * is not one (then no directive follows). */
static bool directive_parse(const char *s, size_t n, char key[16], size_t *v0, size_t *v1) {
  size_t i = 0;
  if (!n || s[0] != '#')
    return false;
  for (i = 1; i < n && re_space(s[i]); i++)
    ;
  size_t k0 = i;
  if (i < n && isalpha((unsigned char)s[i]))
    for (i++; i < n && isalnum((unsigned char)s[i]); i++)
      ;
  size_t k1 = i;
  for (; i < n && re_space(s[i]); i++)
    ;
  if (k1 == k0 || i >= n || s[i] != '=')
    return false;
  *v0 = i + 1, *v1 = n;
  while (*v0 < n && re_space(s[*v0]))
    (*v0)++;
  while (*v1 > *v0 && re_space(s[*v1 - 1]))
    (*v1)--;
  if (*v0 == n) {
    if (i + 1 == n)
      return false; /* "(.+?)" needs a character */
    *v0 = i + 1;    /* only spaces: the value is one of them */
    *v1 = i + 2;
  }
  size_t kn = k1 - k0;
  if (kn >= 16)
    return false;
  for (size_t j = 0; j < kn; j++)
    key[j] = (char)tolower((unsigned char)s[k0 + j]);
  key[kn] = '\0';
  return true;
}

/* A parser directive while they may come: `# key=value`. 0, or -1 when
 * refused. */
static int directive(df_state *st, reader *rd, const char *s, size_t n) {
  char key[16];
  size_t v0 = 0, v1 = 0;
  if (rd->directives_done)
    return 0;
  if (!directive_parse(s, n, key, &v0, &v1)) {
    rd->directives_done = true;
    return 0;
  }
  st->line = rd->line;
  st->text = s;
  st->text_len = n;
  if (!strcmp(key, "escape")) {
    if (rd->escape_seen)
      return jd_df_refuse(st, "only one escape directive can be used");
    rd->escape_seen = true;
    if (v1 - v0 != 1 || (s[v0] != '\\' && s[v0] != '`'))
      return jd_df_refuse(st, "the escape character must be ` or \\");
    st->esc = s[v0];
    return 0;
  }
  if (!strcmp(key, "syntax")) {
    if (rd->syntax_seen)
      return jd_df_refuse(st, "only one syntax directive can be used");
    rd->syntax_seen = true;
    return jd_df_refuse(st, "a syntax directive is refused: BuildKit would pull the frontend image "
                            "it names and run it (the judger's builds use the engine's own reader; "
                            "remove the line)");
  }
  rd->directives_done = true;
  return 0;
}

/* The engine's processLine: the directive check, then a line whose first
 * character is '#' becomes empty. */
static int process_line(df_state *st, reader *rd, const char **s, size_t *n, bool strip_left) {
  if (strip_left) {
    size_t k;
    while ((k = jd_df_space_len((const unsigned char *)*s, *n)) != 0)
      *s += k, *n -= k;
  }
  if (directive(st, rd, *s, *n) != 0)
    return -1;
  if (*n && (*s)[0] == '#')
    *n = 0;
  return 0;
}

/* The line without its continuation mark: true when it ends there. */
static bool end_of_line(const char *s, size_t *n, char esc) {
  size_t k = *n;
  while (k && (s[k - 1] == ' ' || s[k - 1] == '\t'))
    k--;
  if (k && s[k - 1] == esc) {
    *n = k - 1;
    return false;
  }
  return true;
}

static bool blank(const char *s, size_t n) {
  size_t k;
  while ((k = jd_df_space_len((const unsigned char *)s, n)) != 0)
    s += k, n -= k;
  return n == 0;
}

static bool comment_line(const char *s, size_t n) {
  size_t k;
  while ((k = jd_df_space_len((const unsigned char *)s, n)) != 0)
    s += k, n -= k;
  return n && s[0] == '#';
}

static void state_free(df_state *st) {
  jd_df_scope_clear(st, &st->meta);
  jd_df_scope_clear(st, &st->args);
  jd_df_scope_clear(st, &st->cur.env);
  free(st->cur.name);
  for (size_t i = 0; i < st->ndone; i++) {
    jd_df_scope_clear(st, &st->done[i].env);
    free(st->done[i].name);
  }
}

int jd_dockerfile_check(jd_dockerfile_verdict *out, const char *dockerfile, size_t len,
                        const char *base_images) {
  memset(out, 0, sizeof *out);
  df_state *st = calloc(1, sizeof *st);
  if (!st)
    return -1;
  st->patterns = base_images;
  st->esc = '\\';
  st->out = out;
  reader rd = {.p = dockerfile, .end = dockerfile + len};
  sbuf logical = {.max = (size_t)-1};
  const char *s;
  size_t n;
  while (!out->refused && !st->oom && next_line(&rd, &s, &n)) {
    if (process_line(st, &rd, &s, &n, true) != 0)
      break;
    bool end = end_of_line(s, &n, st->esc);
    if (end && !n)
      continue;
    int start = rd.line;
    logical.len = 0;
    jd_df_sb_put(&logical, s, n);
    while (!end && next_line(&rd, &s, &n)) {
      const char *raw = s;
      size_t raw_n = n;
      if (process_line(st, &rd, &s, &n, false) != 0)
        break;
      if (comment_line(raw, raw_n) || blank(s, n))
        continue;
      end = end_of_line(s, &n, st->esc);
      jd_df_sb_put(&logical, s, n);
    }
    if (out->refused)
      break;
    if (logical.oom) {
      st->oom = true;
      break;
    }
    st->line = start;
    st->text = sb_str(&logical);
    st->text_len = logical.len;
    jd_df_check_instruction(st, st->text, st->text_len);
    st->text = NULL;
  }
  bool oom = st->oom;
  free(logical.p);
  state_free(st);
  free(st);
  if (oom) {
    memset(out, 0, sizeof *out);
    return -1;
  }
  return 0;
}

/* ---- on the engine ---------------------------------------------------------- */

/* Whether ref is on the host (*here); the base image is made when it is
 * missing. 0, or -1 with err. */
static int image_here(bool *here, jd_ctx *ctx, const char *ref, bool base,
                      void (*progress)(void *ud, const char *line), void *ud, char *err,
                      size_t errlen) {
  *here = false;
  for (int made = 0;; made++) {
    dk_image_info *info = NULL;
    int rc = dk_image_inspect(&info, ctx->dk, ref);
    dk_image_info_free(info);
    if (rc == 0) {
      *here = true;
      return 0;
    }
    if (rc != DK_ENOTFOUND)
      return jd_fail(err, errlen, "inspect %s: %s", ref, jd_engine_message(rc));
    if (!base || made)
      return 0;
    if (jd_base_image_ensure(NULL, ctx, NULL, NULL, progress, ud, err, errlen) != 0)
      return -1;
  }
}

int jd_dockerfile_images_here(jd_dockerfile_verdict *v, jd_ctx *ctx,
                              void (*progress)(void *ud, const char *line), void *ud, char *err,
                              size_t errlen) {
  for (size_t i = 0; i < v->nlocal && !v->refused; i++) {
    bool here = false;
    if (image_here(&here, ctx, v->local[i].ref, v->local[i].base, progress, ud, err, errlen) != 0)
      return -1;
    if (here)
      continue;
    v->refused = true;
    v->line = v->local[i].line;
    snprintf(v->message, sizeof v->message,
             "line %d: %s is not on this host, and images of the judger's names (judger/..., "
             "judger-test/...) are never pulled",
             v->line, v->local[i].ref);
  }
  return 0;
}
