/* The operator's limits on what a task may ask (see policy.h). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "common/policy.h"

static const struct {
  const char *key;
  int64_t def;
} ceilings[] = {
#define JD_POLICY_CEILING_ROW(code, key, def) {key, def},
    JD_POLICY_CEILING_MAP(JD_POLICY_CEILING_ROW)
#undef JD_POLICY_CEILING_ROW
};

const char *jd_ceiling_key(jd_ceiling c) {
  return (unsigned)c < JD_CEIL_COUNT ? ceilings[c].key : "?";
}

int64_t jd_policy_ceiling(const jd_policy *p, jd_ceiling c) {
  if ((unsigned)c >= JD_CEIL_COUNT)
    return 0;
  return p && p->ceiling[c] > 0 ? p->ceiling[c] : ceilings[c].def;
}

int jd_policy_check_ceiling(const jd_policy *p, jd_ceiling c, const char *field, int64_t value,
                            char *err, size_t errlen) {
  int64_t max = jd_policy_ceiling(p, c);
  if (value <= max)
    return 0;
  return jd_fail(err, errlen, "%s: %" PRId64 " is above this host's %s (%" PRId64 ")", field, value,
                 jd_ceiling_key(c), max);
}

bool jd_policy_list_has(const char *list, const char *item) {
  size_t n = strlen(item);
  for (const char *p = list; p && *p;) {
    while (*p == ',' || *p == ' ')
      p++;
    size_t m = strcspn(p, ",");
    size_t k = m;
    while (k && p[k - 1] == ' ')
      k--;
    if (k == n && n && !strncmp(p, item, n))
      return true;
    p += m;
  }
  return false;
}

const char *jd_git_url_scheme(const char *url) {
  static const char *const schemes[] = {"https", "http", "ssh", "git", "file"};
  const char *sep = strstr(url, "://");
  if (sep) {
    for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++)
      if ((size_t)(sep - url) == strlen(schemes[i]) &&
          !strncasecmp(url, schemes[i], strlen(schemes[i])))
        return schemes[i];
    return NULL; /* ext::, fd::, an unknown transport */
  }
  /* "<transport>::<address>" names a remote helper (ext::, fd::): unknown. */
  const char *colon = strchr(url, ':'), *slash = strchr(url, '/');
  if (colon && colon[1] == ':' && (!slash || colon < slash))
    return NULL;
  /* scp-like "user@host:path": a ':' before any '/' (as git reads it). */
  if (colon && (!slash || colon < slash))
    return "ssh";
  return "file"; /* a local path */
}

int jd_policy_git_url(const jd_policy *p, const char *url, char *why, size_t whylen) {
  const char *allowed = p && p->git_schemes ? p->git_schemes : JD_POLICY_GIT_SCHEMES;
  const char *scheme = url ? jd_git_url_scheme(url) : NULL;
  if (!scheme)
    return jd_fail(why, whylen, "a git URL of an unknown scheme (https, ssh, http, git, file)");
  if (!jd_policy_list_has(allowed, scheme))
    return jd_fail(why, whylen,
                   "%s git URLs are not allowed on this host (setting git_schemes: \"%s\")",
                   !strcmp(scheme, "file") ? "file:// and local-path" : scheme, allowed);
  return 0;
}

/* Whether dir is root or under it, lexically; *rest gets what follows. */
static bool under(const char *dir, const char *root, size_t rootlen, const char **rest) {
  while (rootlen > 1 && root[rootlen - 1] == '/')
    rootlen--;
  if (strncmp(dir, root, rootlen))
    return false;
  if (dir[rootlen] != '/' && dir[rootlen] != '\0')
    return false;
  *rest = dir + rootlen;
  return true;
}

/* Walks rest (components below rootfd) without following links: every
 * component must be a directory opened with O_NOFOLLOW. */
static int walk_down(int rootfd, const char *rest, char *why, size_t whylen, const char *dir) {
  int fd = dup(rootfd);
  if (fd < 0)
    return jd_fail(why, whylen, "%s: %s", dir, strerror(errno));
  for (const char *s = rest; *s;) {
    while (*s == '/')
      s++;
    size_t n = strcspn(s, "/");
    if (!n)
      break;
    char comp[NAME_MAX + 1];
    if (n > NAME_MAX) {
      close(fd);
      return jd_fail(why, whylen, "%s: a component is too long", dir);
    }
    memcpy(comp, s, n);
    comp[n] = '\0';
    int next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int saved = errno;
    close(fd);
    if (next < 0)
      return jd_fail(why, whylen, "%s: %s", dir,
                     saved == ELOOP || saved == ENOTDIR ? "a component is a link or not a directory"
                                                        : strerror(saved));
    fd = next;
    s += n;
  }
  close(fd);
  return 0;
}

/* dir with "." and ".." taken out as the kernel would resolve them: a
 * spec's relative dirs come as "<spec dir>/../games/x". A ".." is taken
 * lexically only when what it climbs out of is a directory, not a link
 * (then its parent is the lexical prefix's); a link there is refused. */
static int normalize(char *out, size_t outlen, const char *dir, char *why, size_t whylen) {
  size_t len = 0;
  out[0] = '\0';
  for (const char *s = dir; *s;) {
    while (*s == '/')
      s++;
    size_t n = strcspn(s, "/");
    if (!n)
      break;
    if (n == 1 && s[0] == '.') {
      s += n;
      continue;
    }
    if (n == 2 && s[0] == '.' && s[1] == '.') {
      struct stat st;
      if (len && (lstat(out, &st) != 0 || !S_ISDIR(st.st_mode)))
        return jd_fail(why, whylen, "'%s': '..' climbs out of '%s', which is a link or missing",
                       dir, out);
      while (len && out[len - 1] != '/')
        len--;
      if (len)
        len--; /* the '/' before the popped component */
      out[len] = '\0';
      s += n;
      continue;
    }
    if (len + 1 + n + 1 > outlen)
      return jd_fail(why, whylen, "'%s' is too long", dir);
    out[len++] = '/';
    memcpy(out + len, s, n);
    len += n;
    out[len] = '\0';
    s += n;
  }
  if (!len)
    snprintf(out, outlen, "/");
  return 0;
}

int jd_policy_program_dir(const jd_policy *p, const char *state_dir, const char *dir, char *why,
                          size_t whylen) {
  if (!dir || dir[0] != '/')
    return jd_fail(why, whylen, "'%s' is not an absolute path", dir ? dir : "");
  char norm[PATH_MAX];
  if (normalize(norm, sizeof norm, dir, why, whylen))
    return -1;
  const char *given = dir;
  dir = norm;
  char def[PATH_MAX];
  const char *roots = p ? p->program_roots : NULL;
  if (!roots || !*roots) {
    if (!state_dir || snprintf(def, sizeof def, "%s/artifacts", state_dir) >= (int)sizeof def)
      return jd_fail(why, whylen, "no program roots (no state directory)");
    roots = def;
  }
  for (const char *r = roots; *r;) {
    while (*r == ',' || *r == ' ')
      r++;
    size_t n = strcspn(r, ",");
    size_t k = n;
    while (k && r[k - 1] == ' ')
      k--;
    const char *rest = NULL;
    if (k && r[0] == '/' && k < PATH_MAX && under(dir, r, k, &rest)) {
      const char *q = rest;
      while (*q == '/')
        q++;
      if (!*q)
        return jd_fail(why, whylen, "'%s' is a program root itself, not a program under it", dir);
      char root[PATH_MAX];
      memcpy(root, r, k);
      root[k] = '\0';
      /* The root itself is the operator's: followed. What is under it may
       * be a program's: never. */
      int rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (rootfd < 0)
        return jd_fail(why, whylen, "program root %s: %s", root, strerror(errno));
      int rc = walk_down(rootfd, rest, why, whylen, dir);
      close(rootfd);
      return rc;
    }
    r += n;
  }
  return jd_fail(why, whylen,
                 "'%s' is not under this host's program roots (setting program_roots: \"%s\")",
                 given, roots);
}

/* An id as the engine parses it and as nothing else can read it: 1 to
 * 2147483647 (runc's range), digits only, no leading zero. A number the
 * engine cannot parse it looks up as a name, which the image may map to
 * 0; "0" and "00" are root. */
static bool plain_id(const char *s, size_t n) {
  if (n == 0 || n > 10 || s[0] < '1' || s[0] > '9')
    return false;
  unsigned long long v = 0;
  for (size_t i = 0; i < n; i++) {
    if (!isdigit((unsigned char)s[i]))
      return false;
    v = v * 10 + (unsigned)(s[i] - '0');
  }
  return v <= 2147483647ULL;
}

int jd_policy_user(const jd_policy *p, const char *user, char *why, size_t whylen) {
  if (p && p->allow_root_user)
    return 0;
  const char *u = user ? user : "";
  const char *colon = strchr(u, ':');
  /* Only numbers can be checked without the image; a name, the image's
   * user ("") or a uid without its group (the image's group for it, maybe
   * 0) may be root in the image. */
  if (!colon || !plain_id(u, (size_t)(colon - u)) || !plain_id(colon + 1, strlen(colon + 1)))
    return jd_fail(why, whylen,
                   "'%s' may be root in the image: give \"uid:gid\", each a number from 1 to "
                   "2147483647 (setting allow_root_user is off)",
                   u);
  return 0;
}

int jd_policy_tar_url(const jd_policy *p, const char *url, char *why, size_t whylen) {
  const char *allowed = p && p->git_schemes ? p->git_schemes : JD_POLICY_GIT_SCHEMES;
  if (url && !strncasecmp(url, "https://", 8))
    return 0;
  if (url && !strncasecmp(url, "http://", 7) && jd_policy_list_has(allowed, "http"))
    return 0;
  return jd_fail(why, whylen,
                 "tarballs come over https (http when setting git_schemes lists it: \"%s\")",
                 allowed);
}

int jd_policy_build_network(const jd_policy *p, const char *network, char *why, size_t whylen) {
  const char *n = network && *network ? network : "proxy";
  const char *allowed = p && p->build_networks ? p->build_networks : JD_POLICY_BUILD_NETWORKS;
  /* The host's own network stack, or another container's: never. */
  if (!strcmp(n, "host") || !strncmp(n, "container:", 10))
    return jd_fail(why, whylen, "network '%s' is never allowed for builds", n);
  if (!jd_policy_list_has(allowed, n))
    return jd_fail(why, whylen,
                   "network '%s' is not allowed on this host (setting build_networks: \"%s\")", n,
                   allowed);
  return 0;
}
