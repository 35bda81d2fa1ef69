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
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "build/base_image.h"
#include "build/dockerfile.h"
#include "build/program.h"
#include "common/error.h"

#define DF_VALUE_MAX (64 * 1024)              /* one expanded word */
#define DF_NEST_MAX 16                        /* ${a:-${b:-...}} levels */
#define DF_VARS_MAX 256                       /* variables of one scope */
#define DF_STAGES_MAX 128                     /* FROM lines */
#define DF_KEPT_MAX ((size_t)4 * 1024 * 1024) /* bytes of values held at once */
#define DF_QUOTE_MAX 120                      /* instruction text quoted in a message */

/* ---- the setting ------------------------------------------------------------ */

const char *jd_base_images(const jd_ctx *ctx) {
  if (ctx && ctx->base_images)
    return ctx->base_images;
  const char *env = getenv(JD_BASE_IMAGES_ENV);
  return env ? env : JD_BASE_IMAGES_DEFAULT;
}

/* ---- image references ------------------------------------------------------- */

/* A reference in its familiar form: Docker Hub's "docker.io/" and
 * "library/" left out, so "docker.io/library/gcc:12" is repo "gcc". */
typedef struct imgref {
  char repo[256];
  char tag[130];            /* "" when none */
  bool digest;              /* @sha256:<64 hex> */
  bool repo_wild, tag_wild; /* patterns only: a trailing '*' (left out of the text) */
} imgref;

static bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

static bool all_hex(const char *s, size_t n) {
  if (!n)
    return false;
  for (size_t i = 0; i < n; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
      return false;
  return true;
}

/* A path component of the reference grammar: alphanumeric runs joined by
 * '.', '_', "__" or any number of '-'. */
static bool component_ok(const char *s, size_t n) {
  if (!n || !is_lower_alnum(s[0]) || !is_lower_alnum(s[n - 1]))
    return false;
  for (size_t i = 0; i < n;) {
    if (is_lower_alnum(s[i])) {
      i++;
      continue;
    }
    size_t j = i;
    while (j < n && !is_lower_alnum(s[j]))
      j++;
    size_t k = j - i;
    bool dashes = strspn(s + i, "-") >= k;
    if (!(dashes || (k == 1 && (s[i] == '.' || s[i] == '_')) ||
          (k == 2 && !memcmp(s + i, "__", 2))))
      return false;
    i = j;
  }
  return true;
}

static bool domain_ok(const char *s, size_t n) {
  if (!n)
    return false;
  size_t host = strcspn(s, ":");
  if (host > n)
    host = n;
  for (size_t i = 0; i < host; i++)
    if (!(isalnum((unsigned char)s[i]) || s[i] == '.' || s[i] == '-'))
      return false;
  if (host < n) {
    if (host + 1 == n)
      return false;
    for (size_t i = host + 1; i < n; i++)
      if (!isdigit((unsigned char)s[i]))
        return false;
  }
  return host > 0;
}

static bool tag_ok(const char *s, size_t n) {
  if (!n || n > 128 || !(isalnum((unsigned char)s[0]) || s[0] == '_'))
    return false;
  for (size_t i = 1; i < n; i++)
    if (!(isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '.' || s[i] == '-'))
      return false;
  return true;
}

/* Parses s as a reference (pattern false) or an allow-list pattern
 * (pattern true: '*' may end the repository or the tag). 0, or -1 with a
 * reason. */
static int ref_parse(imgref *r, const char *s, size_t len, bool pattern, char *why, size_t whylen) {
  memset(r, 0, sizeof *r);
  if (!len || len > 255)
    return jd_fail(why, whylen, "not a valid image reference");
  const char *at = memchr(s, '@', len);
  size_t name_len = at ? (size_t)(at - s) : len;
  if (at) {
    const char *d = at + 1;
    size_t dn = len - name_len - 1;
    if (dn != 7 + 64 || memcmp(d, "sha256:", 7) != 0 || !all_hex(d + 7, 64))
      return jd_fail(why, whylen, "not a valid digest");
    r->digest = true;
  }
  /* the tag: after the last ':' that follows the last '/' */
  size_t slash = name_len;
  while (slash > 0 && s[slash - 1] != '/')
    slash--;
  const char *colon = memchr(s + slash, ':', name_len - slash);
  size_t repo_len = colon ? (size_t)(colon - s) : name_len;
  if (colon) {
    const char *t = colon + 1;
    size_t tn = name_len - repo_len - 1;
    if (pattern && tn && t[tn - 1] == '*') {
      r->tag_wild = true;
      tn--;
    }
    if (tn && !tag_ok(t, tn))
      return jd_fail(why, whylen, "not a valid tag");
    if (!tn && !r->tag_wild)
      return jd_fail(why, whylen, "empty tag");
    memcpy(r->tag, t, tn);
    r->tag[tn] = '\0';
  }
  char repo[256];
  size_t rn = repo_len;
  memcpy(repo, s, rn);
  repo[rn] = '\0';
  if (pattern && rn && repo[rn - 1] == '*') {
    r->repo_wild = true;
    repo[--rn] = '\0';
  }
  /* the domain: a first component with '.', ':', upper case, or "localhost" */
  const char *first_end = memchr(repo, '/', rn);
  const char *path = repo;
  char domain[256] = "";
  if (first_end) {
    size_t fn = (size_t)(first_end - repo);
    bool upper = false;
    for (size_t i = 0; i < fn; i++)
      upper |= isupper((unsigned char)repo[i]) != 0;
    if (memchr(repo, '.', fn) || memchr(repo, ':', fn) || upper ||
        (fn == 9 && !memcmp(repo, "localhost", 9))) {
      /* upper case makes a registry host of the first component: one
       * that would read as a Docker Hub namespace once lower-cased */
      if (upper || !domain_ok(repo, fn))
        return jd_fail(why, whylen, "not a valid registry host");
      for (size_t i = 0; i < fn; i++)
        domain[i] = (char)tolower((unsigned char)repo[i]);
      domain[fn] = '\0';
      path = first_end + 1;
    }
  }
  if (!strcmp(domain, "docker.io") || !strcmp(domain, "index.docker.io"))
    domain[0] = '\0';
  if (!domain[0] && !strncmp(path, "library/", 8))
    path += 8;
  /* every component of the path (a pattern's last may be cut by its '*') */
  for (const char *c = path;;) {
    const char *e = strchr(c, '/');
    size_t cn = e ? (size_t)(e - c) : strlen(c);
    bool last = !e;
    /* a pattern's last component may stop anywhere before its '*' */
    bool cut = pattern && last && r->repo_wild &&
               strspn(c, "abcdefghijklmnopqrstuvwxyz0123456789._-") == cn;
    if (!cut && !component_ok(c, cn))
      return jd_fail(why, whylen, "not a valid repository name");
    if (last)
      break;
    c = e + 1;
  }
  int w = snprintf(r->repo, sizeof r->repo, "%s%s%s", domain, domain[0] ? "/" : "", path);
  if (w < 0 || (size_t)w >= sizeof r->repo)
    return jd_fail(why, whylen, "not a valid image reference");
  return 0;
}

/* "<domain>-<id>-run" or "-build": an environment image's repository. */
static bool env_image_repo(const char *repo) {
  const char *last = strrchr(repo, '/');
  last = last ? last + 1 : repo;
  size_t n = strlen(last);
  static const jd_domain domains[] = {JD_DOMAIN_AI, JD_DOMAIN_GAME_LOGIC};
  for (size_t i = 0; i < sizeof domains / sizeof domains[0]; i++) {
    const char *d = jd_domain_name(domains[i]);
    size_t dn = strlen(d);
    if (n <= dn + 1 || strncmp(last, d, dn) != 0 || last[dn] != '-')
      continue;
    const char *rest = last + dn + 1;
    size_t rn = n - dn - 1;
    if ((rn > 4 && !strcmp(rest + rn - 4, "-run")) || (rn > 6 && !strcmp(rest + rn - 6, "-build")))
      return true;
  }
  return false;
}

static bool pattern_admits(const imgref *p, const imgref *r) {
  size_t pn = strlen(p->repo);
  if (p->repo_wild ? strncmp(r->repo, p->repo, pn) != 0 : strcmp(r->repo, p->repo) != 0)
    return false;
  if (r->digest || (!p->tag[0] && !p->tag_wild))
    return true;
  const char *tag = r->tag[0] ? r->tag : "latest";
  return p->tag_wild ? !strncmp(tag, p->tag, strlen(p->tag)) : !strcmp(tag, p->tag);
}

/* Calls fn on each item of a comma-separated list, trimmed; stops at the
 * first nonzero return and gives it back. */
static int each_item(const char *list, int (*fn)(void *ud, const char *s, size_t n), void *ud) {
  for (const char *p = list; p && *p;) {
    size_t n = strcspn(p, ",");
    const char *s = p;
    size_t m = n;
    while (m && isspace((unsigned char)*s))
      s++, m--;
    while (m && isspace((unsigned char)s[m - 1]))
      m--;
    if (m) {
      int rc = fn(ud, s, m);
      if (rc)
        return rc;
    }
    p += n + (p[n] == ',');
  }
  return 0;
}

typedef struct check_ud {
  char *err;
  size_t errlen;
} check_ud;

static int check_item(void *ud, const char *s, size_t n) {
  check_ud *c = ud;
  imgref p;
  char why[128];
  if (ref_parse(&p, s, n, true, why, sizeof why) == 0)
    return 0;
  jd_fail(c->err, c->errlen, "base_images: '%.*s': %s", (int)(n > 200 ? 200 : n), s, why);
  return -1;
}

int jd_base_images_check(const char *patterns, char *err, size_t errlen) {
  check_ud c = {err, errlen};
  return each_item(patterns, check_item, &c);
}

typedef struct admit_ud {
  const imgref *ref;
} admit_ud;

static int admit_item(void *ud, const char *s, size_t n) {
  admit_ud *a = ud;
  imgref p;
  return ref_parse(&p, s, n, true, NULL, 0) == 0 && pattern_admits(&p, a->ref);
}

/* Whether ref is admitted: ADMIT_NO (why says), ADMIT_LOCAL (an image of
 * the judger's names, judger/... and judger-test/...: the judger or its
 * tests make them on the host, and Docker Hub's namespaces of these names
 * are not the judger's, so they are never to be pulled), ADMIT_PULL
 * (another name an operator's pattern admits: the engine may pull it). */
enum { ADMIT_NO, ADMIT_LOCAL, ADMIT_PULL };

static int admitted_by(const char *patterns, const char *ref, char *why, size_t whylen) {
  imgref r;
  size_t len = strlen(ref);
  if (ref_parse(&r, ref, len, false, why, whylen) != 0)
    return ADMIT_NO;
  const char *never = NULL;
  size_t name_len = strcspn(ref, ":@");
  if (all_hex(ref, name_len) && !strchr(r.repo, '/'))
    never = "a hexadecimal name can stand for an image id";
  else if (!strcmp(r.repo, "sha256") || !strcmp(r.repo, "sha384") || !strcmp(r.repo, "sha512"))
    never = "an image id is not an allowed image";
  else if (env_image_repo(r.repo))
    never = "another program's environment image is never allowed";
  else if (!strncmp(r.repo, "judger/", 7) && strcmp(r.repo, "judger/debian") != 0)
    never = "the judger's own images are never allowed";
  if (never) {
    jd_fail(why, whylen, "%s", never);
    return ADMIT_NO;
  }
  admit_ud a = {&r};
  if (admit_item(&a, JD_BASE_IMAGE, strlen(JD_BASE_IMAGE)) || each_item(patterns, admit_item, &a))
    return !strncmp(r.repo, "judger/", 7) || !strncmp(r.repo, "judger-test/", 12) ? ADMIT_LOCAL
                                                                                  : ADMIT_PULL;
  jd_fail(why, whylen, "not in the allowed base images (setting base_images)");
  return ADMIT_NO;
}

bool jd_image_admitted(const char *patterns, const char *ref, char *why, size_t whylen) {
  return admitted_by(patterns, ref, why, whylen) != ADMIT_NO;
}

/* ---- strings ---------------------------------------------------------------- */

/* A growing string with a cap: past it, over is set and nothing more is
 * kept. */
typedef struct sbuf {
  char *p;
  size_t len, cap, max;
  bool over, oom;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n) {
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

static void sb_putc(sbuf *b, char c) { sb_put(b, &c, 1); }

static const char *sb_str(const sbuf *b) { return b->p ? b->p : ""; }

/* Length of a Unicode white-space character (Go's unicode.IsSpace) at s,
 * or 0. */
static size_t space_len(const unsigned char *s, size_t n) {
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
      if (space_len(s + left - w, w) == w) {
        k = w;
        break;
      }
    if (!k)
      return cut;
    cut += k;
  }
}

static void trim_unicode(const char **s, size_t *n) {
  size_t k;
  while ((k = space_len((const unsigned char *)*s, *n)) != 0)
    *s += k, *n -= k;
  *n -= trailing_space((const unsigned char *)*s, *n);
}

/* The byte-wise white space of the engine's flag splitter (a byte taken
 * as a rune: 0x85 and 0xA0 count). */
static bool flag_space(unsigned char c) {
  return c == ' ' || (c >= '\t' && c <= '\r') || c == 0x85 || c == 0xa0;
}

/* [\t\v\f\r ] — the engine's reWhitespace. */
static bool ws(char c) { return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r'; }

/* ---- variables -------------------------------------------------------------- */

typedef struct var {
  char *name;
  char *value; /* NULL: unknown */
} var;

typedef struct scope {
  var *v;
  size_t n;
} scope;

typedef struct df_state df_state;

static void scope_clear(df_state *st, scope *s);
static int scope_set(df_state *st, scope *s, const char *name, const char *value);

static const var *scope_find(const scope *s, const char *name) {
  for (size_t i = 0; s && i < s->n; i++)
    if (!strcmp(s->v[i].name, name))
      return &s->v[i];
  return NULL;
}

/* Where a word's variables come from. */
typedef struct lookup {
  const scope *env;  /* the stage's ENV: first */
  const scope *args; /* the stage's ARGs (or the meta ARGs); NULL: none visible */
  bool base_image;   /* names in neither may be the base image's: unknown */
  bool tainted;      /* every name unknown */
  bool strict;       /* ARGs hidden behind a base image (its ENV would win) */
} lookup;

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
      sb_put(out, s + x->i + 1, (size_t)(q - s - x->i - 1));
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
    sb_put(out, value, strlen(value));
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
    sb_put(out, value, strlen(value));
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
    sb_put(out, sb_str(&word), word.len);
  } else if (modifier == '-') {
    sb_put(out, value, strlen(value));
  } /* '+' on an empty value: nothing */
  free(word.p);
}

/* Expands one word; *unknown when a value in it cannot be known or the
 * engine's lexer would fail on it. The caller frees the result (NULL only
 * when memory runs out). */
static char *expand(const char *word, size_t n, char esc, const lookup *lk, bool *unknown) {
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

/* ---- the reader's state ----------------------------------------------------- */

typedef struct stage {
  char *name;      /* the lower-cased AS name, or NULL */
  scope env;       /* ENV at the stage's end */
  bool base_image; /* the chain starts at an image */
  bool tainted;    /* every lookup unknown (a key that could not be resolved, a
                      trigger of the stage it is built on) */
  bool triggers;   /* it has ONBUILD instructions: a stage from it is tainted */
} stage;

struct df_state {
  const char *patterns;
  char esc;
  scope meta;    /* ARGs before the first FROM */
  bool in_stage; /* a FROM was read */
  stage cur;     /* the stage being read */
  scope args;    /* its ARGs */
  stage done[DF_STAGES_MAX];
  size_t ndone;
  size_t kept; /* bytes of names and values held */
  jd_dockerfile_verdict *out;
  bool oom;
  /* the instruction being read, for messages */
  int line;
  const char *text;
  size_t text_len;
  bool in_onbuild;
};

static void var_free(df_state *st, var *v) {
  st->kept -= strlen(v->name) + 1 + (v->value ? strlen(v->value) + 1 : 0);
  free(v->name);
  free(v->value);
}

static void scope_clear(df_state *st, scope *s) {
  for (size_t i = 0; i < s->n; i++)
    var_free(st, &s->v[i]);
  free(s->v);
  s->v = NULL;
  s->n = 0;
}

/* Records the first refusal (the line and instruction being read, and why)
 * in st->out; returns -1, so a check can `return refuse(...)`. */
static int refuse(df_state *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Sets name in s (value NULL: unknown): 0, or -1 when memory runs out
 * (st->oom) or past a cap (refused). */
static int scope_set(df_state *st, scope *s, const char *name, const char *value) {
  size_t need = strlen(name) + 1 + (value ? strlen(value) + 1 : 0);
  var *v = (var *)scope_find(s, name);
  if (!v && s->n >= DF_VARS_MAX)
    return refuse(st, "more than %d variables in one stage", DF_VARS_MAX);
  if (st->kept + need > DF_KEPT_MAX)
    return refuse(st, "the variables hold more than %zu bytes", DF_KEPT_MAX);
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

static int scope_copy(df_state *st, scope *dst, const scope *src) {
  for (size_t i = 0; i < src->n; i++)
    if (scope_set(st, dst, src->v[i].name, src->v[i].value) != 0)
      return -1;
  return 0;
}

static int refuse(df_state *st, const char *fmt, ...) {
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
static lookup stage_lookup(const df_state *st, bool strict) {
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

/* ---- words ------------------------------------------------------------------ */

typedef struct words {
  char **w;
  size_t n;
} words;

static void words_free(words *w) {
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
static int split_ws(words *out, const char *s, size_t n) {
  trim_unicode(&s, &n);
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
static int split_words(words *out, const char *s, size_t n, char esc) {
  sbuf w = {.max = (size_t)-1};
  enum { SPACES, WORD, QUOTE } phase = SPACES;
  char quote = 0;
  bool blank_ok = false;
  int rc = 0;
  for (size_t pos = 0; pos <= n && !rc; pos++) {
    char ch = pos < n ? s[pos] : 0;
    size_t sp = pos < n ? space_len((const unsigned char *)s + pos, n - pos) : 0;
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
static int split_flags(words *flags, size_t *args_at, const char *s, size_t n) {
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
static int split_json(words *out, bool *is_json, const char *s, size_t n) {
  *is_json = false;
  trim_unicode(&s, &n);
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

/* ---- the checks ------------------------------------------------------------- */

/* Whether a source of ADD makes the engine fetch it: any scheme://, a git
 * address (user@host:path, github.com/...). */
static bool fetch_source(const char *s) {
  if (strstr(s, "://"))
    return true;
  if (!strncasecmp(s, "git@", 4) || !strncasecmp(s, "github.com/", 11))
    return true;
  const char *at = strchr(s, '@'), *colon = strchr(s, ':'), *slash = strchr(s, '/');
  return at && colon && at < colon && (!slash || colon < slash); /* scp-like user@host:path */
}

/* A flag word "--name[=value]": its name and value. */
static void flag_parts(const char *flag, char *name, size_t cap, const char **value) {
  const char *f = flag + 2;
  size_t n = strcspn(f, "=");
  snprintf(name, cap, "%.*s", (int)(n < cap ? n : cap - 1), f);
  *value = f[n] == '=' ? f + n + 1 : NULL;
}

static bool name_in(const char *name, const char *const *list) {
  for (; *list; list++)
    if (!strcmp(name, *list))
      return true;
  return false;
}

/* An image of the judger's names, kept in the verdict for
 * jd_dockerfile_images_here() (once each). 0, or -1 (refused: too many). */
static int keep_local(df_state *st, const char *ref) {
  jd_dockerfile_verdict *o = st->out;
  for (size_t i = 0; i < o->nlocal; i++)
    if (!strcmp(o->local[i].ref, ref))
      return 0;
  if (o->nlocal == JD_DOCKERFILE_LOCAL_MAX)
    return refuse(st, "more than %d different images", JD_DOCKERFILE_LOCAL_MAX);
  snprintf(o->local[o->nlocal].ref, sizeof o->local[0].ref, "%s", ref);
  o->local[o->nlocal].line = st->line;
  imgref r;
  o->local[o->nlocal].base = ref_parse(&r, ref, strlen(ref), false, NULL, 0) == 0 && !r.digest &&
                             !strcmp(r.repo, "judger/debian") &&
                             !strcmp(r.tag, strchr(JD_BASE_IMAGE, ':') + 1);
  o->nlocal++;
  return 0;
}

/* An earlier stage (by name or index) or an image the allow-list admits;
 * what names it for the message ("COPY --from"). 0 or -1 (refused). */
static int stage_or_image(df_state *st, const char *value, const char *what) {
  if (!value[0])
    return 0; /* the build context */
  if (strchr(value, '$'))
    return refuse(st, "%s names an image through a variable: name an earlier stage or an image",
                  what);
  char lower[256];
  size_t n = strlen(value);
  if (n >= sizeof lower)
    return refuse(st, "%s: not a valid stage or image name", what);
  for (size_t i = 0; i <= n; i++)
    lower[i] = (char)tolower((unsigned char)value[i]);
  for (size_t i = 0; i < st->ndone; i++)
    if (st->done[i].name && !strcmp(st->done[i].name, lower))
      return 0;
  if (n <= 3 && strspn(value, "0123456789") == n && (size_t)atoi(value) < st->ndone)
    return 0;
  char why[200];
  int by = admitted_by(st->patterns, value, why, sizeof why);
  if (by == ADMIT_LOCAL)
    return keep_local(st, value);
  if (by == ADMIT_PULL)
    return 0;
  return refuse(st, "%s %s: %s", what, value, why);
}

static const char *const proxy_args[] = {
    "HTTP_PROXY", "http_proxy",    "HTTPS_PROXY",   "https_proxy", "FTP_PROXY",      "ftp_proxy",
    "NO_PROXY",   "no_proxy",      "ALL_PROXY",     "all_proxy",   "TARGETPLATFORM", "TARGETOS",
    "TARGETARCH", "TARGETVARIANT", "BUILDPLATFORM", "BUILDOS",     "BUILDARCH",      "BUILDVARIANT",
    NULL};

static int check_from(df_state *st, const words *flags, const char *args, size_t len) {
  for (size_t i = 0; i < flags->n; i++) {
    char name[32];
    const char *v;
    flag_parts(flags->w[i], name, sizeof name, &v);
    if (strcmp(name, "platform") != 0)
      return refuse(st, "unknown flag --%s", name);
  }
  words a = {0};
  if (split_ws(&a, args, len) != 0) {
    words_free(&a);
    st->oom = true;
    return -1;
  }
  int rc = 0;
  if (!a.n) {
    rc = refuse(st, "FROM names no image");
    goto done;
  }
  if (st->ndone + (st->in_stage ? 1 : 0) >= DF_STAGES_MAX) {
    rc = refuse(st, "more than %d stages", DF_STAGES_MAX);
    goto done;
  }
  lookup lk = {.args = &st->meta};
  bool unknown = false;
  char *image = expand(a.w[0], strlen(a.w[0]), st->esc, &lk, &unknown);
  if (!image) {
    st->oom = true;
    rc = -1;
    goto done;
  }
  /* the stage before is done: its name is visible from here on */
  if (st->in_stage) {
    st->done[st->ndone++] = st->cur;
    memset(&st->cur, 0, sizeof st->cur);
  }
  scope_clear(st, &st->args);
  st->in_stage = true;
  if (a.n >= 3 && !strcasecmp(a.w[1], "as")) {
    st->cur.name = strdup(a.w[2]);
    if (!st->cur.name) {
      st->oom = true;
      rc = -1;
      free(image);
      goto done;
    }
    for (char *p = st->cur.name; *p; p++)
      *p = (char)tolower((unsigned char)*p);
  }
  char lower[256] = "";
  snprintf(lower, sizeof lower, "%s", image);
  for (char *p = lower; *p; p++)
    *p = (char)tolower((unsigned char)*p);
  const stage *from = NULL;
  for (size_t i = 0; i < st->ndone && !unknown; i++)
    if (st->done[i].name && !strcmp(st->done[i].name, lower))
      from = &st->done[i];
  char why[200];
  int by;
  if (unknown) {
    rc = refuse(st, "the image name cannot be resolved before the build");
  } else if (from) {
    st->cur.base_image = from->base_image;
    st->cur.tainted = from->tainted || from->triggers;
    rc = scope_copy(st, &st->cur.env, &from->env);
  } else if (!strcasecmp(image, "scratch")) {
    st->cur.base_image = false;
  } else if ((by = admitted_by(st->patterns, image, why, sizeof why)) != ADMIT_NO) {
    st->cur.base_image = true;
    if (by == ADMIT_LOCAL)
      rc = keep_local(st, image);
  } else {
    rc = refuse(st, "FROM %s: %s", image, why);
  }
  free(image);
done:
  words_free(&a);
  return rc;
}

/* ARG name[=default]... : in the meta scope before the first FROM, else
 * the stage's. */
static int check_arg(df_state *st, const char *args, size_t len) {
  words a = {0};
  if (split_words(&a, args, len, st->esc) != 0) {
    st->oom = true;
    words_free(&a);
    return -1;
  }
  lookup lk = stage_lookup(st, false);
  scope *target = st->in_stage ? &st->args : &st->meta;
  int rc = 0;
  for (size_t i = 0; i < a.n && !rc; i++) {
    char *eq = strchr(a.w[i], '=');
    bool key_unknown = false, value_unknown = false;
    char *key =
        expand(a.w[i], eq ? (size_t)(eq - a.w[i]) : strlen(a.w[i]), st->esc, &lk, &key_unknown);
    char *value = eq ? expand(eq + 1, strlen(eq + 1), st->esc, &lk, &value_unknown) : NULL;
    if (!key || (eq && !value)) {
      st->oom = true;
      rc = -1;
    } else if (key_unknown) {
      if (st->in_stage)
        st->cur.tainted = true;
      else
        rc = refuse(st, "an ARG name that cannot be resolved before the build");
    } else {
      const char *v = "";
      bool unknown = false;
      if (name_in(key, proxy_args)) {
        unknown = true; /* the judger passes these */
      } else if (eq) {
        v = value;
        unknown = value_unknown;
      } else if (st->in_stage) {
        const var *m = scope_find(&st->meta, key);
        if (m) {
          v = m->value ? m->value : "";
          unknown = !m->value;
        }
      }
      rc = scope_set(st, target, key, unknown ? NULL : v);
    }
    free(key);
    free(value);
  }
  words_free(&a);
  return rc;
}

/* ENV k=v ... or ENV k v: values expanded with the variables before the
 * line. */
static int check_env(df_state *st, const char *args, size_t len) {
  if (!st->in_stage)
    return 0; /* the engine refuses it: no stage */
  words a = {0};
  if (split_words(&a, args, len, st->esc) != 0) {
    st->oom = true;
    words_free(&a);
    return -1;
  }
  int rc = 0;
  lookup lk = stage_lookup(st, false);
  /* each pair expanded before any is set */
  scope pending = {0};
  bool legacy = a.n && !strchr(a.w[0], '=');
  for (size_t i = 0; i < a.n && !rc; i++) {
    const char *k = a.w[i], *v;
    size_t kn, vn;
    if (legacy) {
      const char *s = args;
      size_t n = len, j = 0;
      while (j < n && !ws(s[j]))
        j++;
      kn = j;
      k = s;
      while (j < n && ws(s[j]))
        j++;
      v = s + j;
      vn = n - j;
    } else {
      const char *eq = strchr(k, '=');
      if (!eq)
        break; /* the engine refuses the line */
      kn = (size_t)(eq - k);
      v = eq + 1;
      vn = strlen(v);
    }
    bool ku = false, vu = false;
    char *key = expand(k, kn, st->esc, &lk, &ku);
    char *value = expand(v, vn, st->esc, &lk, &vu);
    if (!key || !value) {
      st->oom = true;
      rc = -1;
    } else if (ku) {
      st->cur.tainted = true;
    } else {
      rc = scope_set(st, &pending, key, vu ? NULL : value);
    }
    free(key);
    free(value);
    if (legacy)
      break;
  }
  for (size_t i = 0; i < pending.n && !rc; i++)
    rc = scope_set(st, &st->cur.env, pending.v[i].name, pending.v[i].value);
  scope_clear(st, &pending);
  words_free(&a);
  return rc;
}

/* One list of ADD's arguments: every word but the last (the destination)
 * is a source; a URL-looking destination is refused too (nothing in a
 * build whose context is the Dockerfile alone needs one). */
static int add_words(df_state *st, const words *a) {
  lookup loose = stage_lookup(st, false), strict = stage_lookup(st, true);
  int rc = 0;
  for (size_t i = 0; i < a->n && !rc; i++) {
    const char *w = a->w[i];
    bool u1 = false, u2 = false;
    char *v1 = expand(w, strlen(w), st->esc, &loose, &u1);
    char *v2 = expand(w, strlen(w), st->esc, &strict, &u2);
    if (!v1 || !v2) {
      st->oom = true;
      rc = -1;
    } else if (fetch_source(w) || (!u1 && fetch_source(v1)) || (!u2 && fetch_source(v2))) {
      rc = refuse(st, "ADD from a URL is refused: the engine itself would fetch it, from the "
                      "host's network, whatever the build's network");
    } else if (u2 && (i + 1 < a->n || a->n == 1)) {
      rc = refuse(st, "an ADD source that cannot be resolved before the build is refused (it "
                      "could be a URL)");
    }
    free(v1);
    free(v2);
  }
  return rc;
}

static int check_add(df_state *st, const words *flags, const char *args, size_t len) {
  static const char *const allowed[] = {"chown", "chmod", "link", NULL};
  for (size_t i = 0; i < flags->n; i++) {
    char name[32];
    const char *v;
    flag_parts(flags->w[i], name, sizeof name, &v);
    if (!strcmp(name, "checksum") || !strcmp(name, "keep-git-dir"))
      return refuse(st, "ADD --%s is for remote sources: nothing is fetched for a program", name);
    if (!name_in(name, allowed))
      return refuse(st, "unknown flag --%s", name);
  }
  /* the JSON form when the text is one, and the shell form in any case:
   * what the engine takes is one of them */
  words json = {0}, shell = {0};
  bool is_json = false;
  int rc = 0;
  if (split_json(&json, &is_json, args, len) != 0 || split_ws(&shell, args, len) != 0) {
    st->oom = true;
    rc = -1;
  }
  if (!rc)
    rc = add_words(st, &json);
  if (!rc)
    rc = add_words(st, &shell);
  words_free(&json);
  words_free(&shell);
  return rc;
}

static int check_copy(df_state *st, const words *flags) {
  static const char *const allowed[] = {"chown", "chmod", "link", "parents", "exclude", NULL};
  for (size_t i = 0; i < flags->n; i++) {
    char name[32];
    const char *v;
    flag_parts(flags->w[i], name, sizeof name, &v);
    if (!strcmp(name, "from")) {
      if (stage_or_image(st, v ? v : "", "COPY --from") != 0)
        return -1;
    } else if (!name_in(name, allowed)) {
      return refuse(st, "unknown flag --%s", name);
    }
  }
  return 0;
}

/* RUN --mount=type=...,from=...: a cache, a tmpfs or a bind of the context
 * or of an earlier stage or an admitted image; secrets and ssh are the
 * client's, never a program's. */
static int check_mount(df_state *st, const char *spec) {
  static const char *const keys[] = {"type",      "from",        "source",   "src",  "target",
                                     "dst",       "destination", "readonly", "ro",   "rw",
                                     "readwrite", "id",          "sharing",  "mode", "uid",
                                     "gid",       "required",    "size",     NULL};
  if (strchr(spec, '"') || strchr(spec, '\''))
    return refuse(st, "RUN --mount with quotes is refused");
  for (const char *p = spec; *p;) {
    size_t n = strcspn(p, ",");
    char field[512];
    snprintf(field, sizeof field, "%.*s", (int)(n < sizeof field ? n : sizeof field - 1), p);
    char *eq = strchr(field, '=');
    if (eq)
      *eq = '\0';
    for (char *c = field; *c; c++)
      *c = (char)tolower((unsigned char)*c);
    const char *value = eq ? eq + 1 : "";
    if (!name_in(field, keys))
      return refuse(st, "RUN --mount: unknown option '%s'", field);
    if (!strcmp(field, "type") && strcmp(value, "bind") && strcmp(value, "cache") &&
        strcmp(value, "tmpfs"))
      return refuse(st, "RUN --mount=type=%s is refused (only bind, cache and tmpfs)", value);
    if (!strcmp(field, "from") && stage_or_image(st, value, "RUN --mount=from=") != 0)
      return -1;
    p += n + (p[n] == ',');
  }
  return 0;
}

static int check_run(df_state *st, const words *flags) {
  for (size_t i = 0; i < flags->n; i++) {
    char name[32];
    const char *v;
    flag_parts(flags->w[i], name, sizeof name, &v);
    if (!strcmp(name, "mount")) {
      if (check_mount(st, v ? v : "") != 0)
        return -1;
    } else if (!strcmp(name, "network")) {
      if (!v || (strcmp(v, "default") && strcmp(v, "none")))
        return refuse(st, "RUN --network=%s is refused (the build's network is the judger's)",
                      v ? v : "");
    } else if (!strcmp(name, "security")) {
      if (!v || strcmp(v, "sandbox"))
        return refuse(st, "RUN --security=%s is refused", v ? v : "");
    } else {
      return refuse(st, "unknown flag --%s", name);
    }
  }
  return 0;
}

static int check_instruction(df_state *st, const char *text, size_t len);

/* ONBUILD <instruction>: checked as if it ran (at the start of a stage
 * built on this one). */
static int check_onbuild(df_state *st, const char *args, size_t len) {
  if (st->in_onbuild)
    return refuse(st, "ONBUILD ONBUILD is refused");
  if (st->in_stage)
    st->cur.triggers = true;
  st->in_onbuild = true;
  int rc = check_instruction(st, args, len);
  st->in_onbuild = false;
  return rc;
}

/* One instruction (a logical line): its name, flags and arguments. */
static int check_instruction(df_state *st, const char *text, size_t len) {
  trim_unicode(&text, &len);
  size_t cn = 0;
  while (cn < len && !ws(text[cn]))
    cn++;
  char cmd[16];
  if (!cn || cn >= sizeof cmd)
    return 0; /* not an instruction the judger looks at (the engine refuses unknown ones) */
  for (size_t i = 0; i < cn; i++)
    cmd[i] = (char)tolower((unsigned char)text[i]);
  cmd[cn] = '\0';
  size_t r = cn;
  while (r < len && ws(text[r]))
    r++;
  const char *rest = text + r;
  size_t rest_len = len - r;
  words flags = {0};
  size_t at = 0;
  if (split_flags(&flags, &at, rest, rest_len) != 0) {
    st->oom = true;
    words_free(&flags);
    return -1;
  }
  const char *args = rest + at;
  size_t args_len = rest_len - at;
  int rc = 0;
  if (st->in_onbuild &&
      (!strcmp(cmd, "onbuild") || !strcmp(cmd, "from") || !strcmp(cmd, "maintainer")))
    rc = refuse(st, "ONBUILD %s is refused", cmd);
  else if (!strcmp(cmd, "from"))
    rc = check_from(st, &flags, args, args_len);
  else if (!strcmp(cmd, "arg"))
    rc = st->in_onbuild ? 0 : check_arg(st, args, args_len);
  else if (!strcmp(cmd, "env"))
    rc = st->in_onbuild ? 0 : check_env(st, args, args_len);
  else if (!strcmp(cmd, "add"))
    rc = check_add(st, &flags, args, args_len);
  else if (!strcmp(cmd, "copy"))
    rc = check_copy(st, &flags);
  else if (!strcmp(cmd, "run"))
    rc = check_run(st, &flags);
  else if (!strcmp(cmd, "onbuild"))
    rc = flags.n ? refuse(st, "unknown flag %s", flags.w[0]) : check_onbuild(st, args, args_len);
  else if (!strcmp(cmd, "volume"))
    /* While the image builds, a RUN step after VOLUME writes into an
     * anonymous volume on the host's disk, past the image-size cap; and a
     * running container gets a tmpfs there anyway (common/volumes.h). */
    rc = refuse(st, "VOLUME is refused: RUN steps after it would write to a volume on the "
                    "judger's disk; use a directory of the image (the judger mounts a tmpfs at "
                    "/tmp)");
  words_free(&flags);
  return rc;
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

/* A parser directive while they may come: `# key=value`. 0, or -1 when
 * refused. */
static int directive(df_state *st, reader *rd, const char *s, size_t n) {
  if (rd->directives_done)
    return 0;
  size_t i = 0;
  if (!n || s[0] != '#') {
    rd->directives_done = true;
    return 0;
  }
  for (i = 1; i < n && re_space(s[i]); i++)
    ;
  size_t k0 = i;
  if (i < n && isalpha((unsigned char)s[i]))
    for (i++; i < n && isalnum((unsigned char)s[i]); i++)
      ;
  size_t k1 = i;
  for (; i < n && re_space(s[i]); i++)
    ;
  if (k1 == k0 || i >= n || s[i] != '=') {
    rd->directives_done = true;
    return 0;
  }
  size_t v0 = i + 1, v1 = n;
  while (v0 < n && re_space(s[v0]))
    v0++;
  while (v1 > v0 && re_space(s[v1 - 1]))
    v1--;
  if (v0 == n) {
    if (i + 1 == n) {
      rd->directives_done = true; /* "(.+?)" needs a character */
      return 0;
    }
    v0 = i + 1; /* only spaces: the value is one of them */
    v1 = i + 2;
  }
  char key[16];
  size_t kn = k1 - k0;
  if (kn >= sizeof key) {
    rd->directives_done = true;
    return 0;
  }
  for (size_t j = 0; j < kn; j++)
    key[j] = (char)tolower((unsigned char)s[k0 + j]);
  key[kn] = '\0';
  st->line = rd->line;
  st->text = s;
  st->text_len = n;
  if (!strcmp(key, "escape")) {
    if (rd->escape_seen)
      return refuse(st, "only one escape directive can be used");
    rd->escape_seen = true;
    if (v1 - v0 != 1 || (s[v0] != '\\' && s[v0] != '`'))
      return refuse(st, "the escape character must be ` or \\");
    st->esc = s[v0];
    return 0;
  }
  if (!strcmp(key, "syntax")) {
    if (rd->syntax_seen)
      return refuse(st, "only one syntax directive can be used");
    rd->syntax_seen = true;
    return refuse(st, "a syntax directive is refused: BuildKit would pull the frontend image it "
                      "names and run it (the judger's builds use the engine's own reader; "
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
    while ((k = space_len((const unsigned char *)*s, *n)) != 0)
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
  while ((k = space_len((const unsigned char *)s, n)) != 0)
    s += k, n -= k;
  return n == 0;
}

static bool comment_line(const char *s, size_t n) {
  size_t k;
  while ((k = space_len((const unsigned char *)s, n)) != 0)
    s += k, n -= k;
  return n && s[0] == '#';
}

static void state_free(df_state *st) {
  scope_clear(st, &st->meta);
  scope_clear(st, &st->args);
  scope_clear(st, &st->cur.env);
  free(st->cur.name);
  for (size_t i = 0; i < st->ndone; i++) {
    scope_clear(st, &st->done[i].env);
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
    sb_put(&logical, s, n);
    while (!end && next_line(&rd, &s, &n)) {
      const char *raw = s;
      size_t raw_n = n;
      if (process_line(st, &rd, &s, &n, false) != 0)
        break;
      if (comment_line(raw, raw_n) || blank(s, n))
        continue;
      end = end_of_line(s, &n, st->esc);
      sb_put(&logical, s, n);
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
    check_instruction(st, st->text, st->text_len);
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
