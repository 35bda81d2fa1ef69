/* Image references as the Dockerfile reader and the base_images setting
 * take them (dockerfile.h): the reference grammar, allow-list patterns and
 * what they admit. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build/base_image.h"
#include "build/dockerfile_internal.h"
#include "build/program.h"
#include "common/error.h"

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

/* The registry host of repo (rn bytes, NUL-terminated): its first
 * component when that has '.', ':', upper case, or is "localhost"; "" for
 * Docker Hub (also when named), whose "library/" is then left out of
 * *path (the rest of repo). 0, or -1 with a reason. */
static int ref_domain(char domain[256], const char **path, const char *repo, size_t rn, char *err,
                      size_t errlen) {
  const char *first_end = memchr(repo, '/', rn);
  *path = repo;
  domain[0] = '\0';
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
        return jd_fail(err, errlen, "not a valid registry host");
      for (size_t i = 0; i < fn; i++)
        domain[i] = (char)tolower((unsigned char)repo[i]);
      domain[fn] = '\0';
      *path = first_end + 1;
    }
  }
  if (!strcmp(domain, "docker.io") || !strcmp(domain, "index.docker.io"))
    domain[0] = '\0';
  if (!domain[0] && !strncmp(*path, "library/", 8))
    *path += 8;
  return 0;
}

/* Whether every component of a repository's path is valid; with cut, the
 * last may stop anywhere before a pattern's '*'. */
static bool path_ok(const char *path, bool cut) {
  for (const char *c = path;;) {
    const char *e = strchr(c, '/');
    size_t cn = e ? (size_t)(e - c) : strlen(c);
    bool last = !e;
    bool cut_here = cut && last && strspn(c, "abcdefghijklmnopqrstuvwxyz0123456789._-") == cn;
    if (!cut_here && !component_ok(c, cn))
      return false;
    if (last)
      return true;
    c = e + 1;
  }
}

/* Parses s as a reference (pattern false) or an allow-list pattern
 * (pattern true: '*' may end the repository or the tag). 0, or -1 with a
 * reason. */
static int ref_parse(imgref *r, const char *s, size_t len, bool pattern, char *err, size_t errlen) {
  memset(r, 0, sizeof *r);
  if (!len || len > 255)
    return jd_fail(err, errlen, "not a valid image reference");
  const char *at = memchr(s, '@', len);
  size_t name_len = at ? (size_t)(at - s) : len;
  if (at) {
    const char *d = at + 1;
    size_t dn = len - name_len - 1;
    if (dn != 7 + 64 || memcmp(d, "sha256:", 7) != 0 || !all_hex(d + 7, 64))
      return jd_fail(err, errlen, "not a valid digest");
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
      return jd_fail(err, errlen, "not a valid tag");
    if (!tn && !r->tag_wild)
      return jd_fail(err, errlen, "empty tag");
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
  char domain[256];
  const char *path;
  if (ref_domain(domain, &path, repo, rn, err, errlen) != 0)
    return -1;
  if (!path_ok(path, pattern && r->repo_wild))
    return jd_fail(err, errlen, "not a valid repository name");
  int w = snprintf(r->repo, sizeof r->repo, "%s%s%s", domain, domain[0] ? "/" : "", path);
  if (w < 0 || (size_t)w >= sizeof r->repo)
    return jd_fail(err, errlen, "not a valid image reference");
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

/* Calls fn on each item of a comma-separated list, trimmed, until fn says
 * to stop; whether it did. */
static bool each_item(const char *list, bool (*fn)(void *ud, const char *s, size_t n), void *ud) {
  for (const char *p = list; p && *p;) {
    size_t n = strcspn(p, ",");
    const char *s = p;
    size_t m = n;
    while (m && isspace((unsigned char)*s))
      s++, m--;
    while (m && isspace((unsigned char)s[m - 1]))
      m--;
    if (m && fn(ud, s, m))
      return true;
    p += n + (p[n] == ',');
  }
  return false;
}

typedef struct check_ud {
  char *err;
  size_t errlen;
} check_ud;

/* A bad pattern stops the walk, named in c->err. */
static bool check_item(void *ud, const char *s, size_t n) {
  check_ud *c = ud;
  imgref p;
  char why[128];
  if (ref_parse(&p, s, n, true, why, sizeof why) == 0)
    return false;
  jd_fail(c->err, c->errlen, "base_images: '%.*s': %s", (int)(n > 200 ? 200 : n), s, why);
  return true;
}

int jd_base_images_check(const char *patterns, char *err, size_t errlen) {
  check_ud c = {err, errlen};
  return each_item(patterns, check_item, &c) ? -1 : 0;
}

typedef struct admit_ud {
  const imgref *ref;
} admit_ud;

/* A pattern that admits a->ref stops the walk. */
static bool admit_item(void *ud, const char *s, size_t n) {
  admit_ud *a = ud;
  imgref p;
  return ref_parse(&p, s, n, true, NULL, 0) == 0 && pattern_admits(&p, a->ref);
}

df_admit jd_df_admitted_by(const char *patterns, const char *ref, char *why, size_t whylen) {
  imgref r;
  size_t len = strlen(ref);
  if (ref_parse(&r, ref, len, false, why, whylen) != 0)
    return DF_ADMIT_NO;
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
    return DF_ADMIT_NO;
  }
  admit_ud a = {&r};
  if (admit_item(&a, JD_BASE_IMAGE, strlen(JD_BASE_IMAGE)) || each_item(patterns, admit_item, &a))
    return !strncmp(r.repo, "judger/", 7) || !strncmp(r.repo, "judger-test/", 12) ? DF_ADMIT_LOCAL
                                                                                  : DF_ADMIT_PULL;
  jd_fail(why, whylen, "not in the allowed base images (setting base_images)");
  return DF_ADMIT_NO;
}

bool jd_image_admitted(const char *patterns, const char *ref, char *why, size_t whylen) {
  return jd_df_admitted_by(patterns, ref, why, whylen) != DF_ADMIT_NO;
}

bool jd_df_is_base_image(const char *ref) {
  imgref r;
  return ref_parse(&r, ref, strlen(ref), false, NULL, 0) == 0 && !r.digest &&
         !strcmp(r.repo, "judger/debian") && !strcmp(r.tag, strchr(JD_BASE_IMAGE, ':') + 1);
}
