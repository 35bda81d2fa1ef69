/* The Dockerfile reader's checks (dockerfile.c): one instruction at a
 * time, what it may not do (dockerfile.h lists what is refused). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "build/dockerfile_internal.h"

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
    return jd_df_refuse(st, "more than %d different images", JD_DOCKERFILE_LOCAL_MAX);
  snprintf(o->local[o->nlocal].ref, sizeof o->local[0].ref, "%s", ref);
  o->local[o->nlocal].line = st->line;
  o->local[o->nlocal].base = jd_df_is_base_image(ref);
  o->nlocal++;
  return 0;
}

/* An earlier stage (by name or index) or an image the allow-list admits;
 * what names it for the message ("COPY --from"). 0 or -1 (refused). */
static int stage_or_image(df_state *st, const char *value, const char *what) {
  if (!value[0])
    return 0; /* the build context */
  if (strchr(value, '$'))
    return jd_df_refuse(
        st, "%s names an image through a variable: name an earlier stage or an image", what);
  char lower[256];
  size_t n = strlen(value);
  if (n >= sizeof lower)
    return jd_df_refuse(st, "%s: not a valid stage or image name", what);
  for (size_t i = 0; i <= n; i++)
    lower[i] = (char)tolower((unsigned char)value[i]);
  for (size_t i = 0; i < st->ndone; i++)
    if (st->done[i].name && !strcmp(st->done[i].name, lower))
      return 0;
  if (n <= 3 && strspn(value, "0123456789") == n && (size_t)atoi(value) < st->ndone)
    return 0;
  char why[200];
  df_admit by = jd_df_admitted_by(st->patterns, value, why, sizeof why);
  if (by == DF_ADMIT_LOCAL)
    return keep_local(st, value);
  if (by == DF_ADMIT_PULL)
    return 0;
  return jd_df_refuse(st, "%s %s: %s", what, value, why);
}

static const char *const proxy_args[] = {
    "HTTP_PROXY", "http_proxy",    "HTTPS_PROXY",   "https_proxy", "FTP_PROXY",      "ftp_proxy",
    "NO_PROXY",   "no_proxy",      "ALL_PROXY",     "all_proxy",   "TARGETPLATFORM", "TARGETOS",
    "TARGETARCH", "TARGETVARIANT", "BUILDPLATFORM", "BUILDOS",     "BUILDARCH",      "BUILDVARIANT",
    NULL};

/* What the new stage starts from (FROM's image, expanded; unknown when it
 * could not be): an earlier stage, scratch, or an image the allow-list
 * admits. 0, or -1 (refused, or memory ran out). */
static int stage_base(df_state *st, const char *image, bool unknown) {
  if (unknown)
    return jd_df_refuse(st, "the image name cannot be resolved before the build");
  char lower[256] = "";
  snprintf(lower, sizeof lower, "%s", image);
  for (char *p = lower; *p; p++)
    *p = (char)tolower((unsigned char)*p);
  const stage *from = NULL;
  for (size_t i = 0; i < st->ndone; i++)
    if (st->done[i].name && !strcmp(st->done[i].name, lower))
      from = &st->done[i];
  if (from) {
    st->cur.base_image = from->base_image;
    st->cur.tainted = from->tainted || from->triggers;
    return jd_df_scope_copy(st, &st->cur.env, &from->env);
  }
  if (!strcasecmp(image, "scratch")) {
    st->cur.base_image = false;
    return 0;
  }
  char why[200];
  df_admit by = jd_df_admitted_by(st->patterns, image, why, sizeof why);
  if (by == DF_ADMIT_NO)
    return jd_df_refuse(st, "FROM %s: %s", image, why);
  st->cur.base_image = true;
  return by == DF_ADMIT_LOCAL ? keep_local(st, image) : 0;
}

static int check_from(df_state *st, const words *flags, const char *args, size_t len) {
  for (size_t i = 0; i < flags->n; i++) {
    char name[32];
    const char *v;
    flag_parts(flags->w[i], name, sizeof name, &v);
    if (strcmp(name, "platform") != 0)
      return jd_df_refuse(st, "unknown flag --%s", name);
  }
  words a = {0};
  if (jd_df_split_ws(&a, args, len) != 0) {
    jd_df_words_free(&a);
    st->oom = true;
    return -1;
  }
  int rc = 0;
  if (!a.n) {
    rc = jd_df_refuse(st, "FROM names no image");
    goto done;
  }
  if (st->ndone + (st->in_stage ? 1 : 0) >= DF_STAGES_MAX) {
    rc = jd_df_refuse(st, "more than %d stages", DF_STAGES_MAX);
    goto done;
  }
  lookup lk = {.args = &st->meta};
  bool unknown = false;
  char *image = jd_df_expand(a.w[0], strlen(a.w[0]), st->esc, &lk, &unknown);
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
  jd_df_scope_clear(st, &st->args);
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
  rc = stage_base(st, image, unknown);
  free(image);
done:
  jd_df_words_free(&a);
  return rc;
}

/* ARG name[=default]... : in the meta scope before the first FROM, else
 * the stage's. */
static int check_arg(df_state *st, const char *args, size_t len) {
  words a = {0};
  if (jd_df_split_words(&a, args, len, st->esc) != 0) {
    st->oom = true;
    jd_df_words_free(&a);
    return -1;
  }
  lookup lk = jd_df_stage_lookup(st, false);
  scope *target = st->in_stage ? &st->args : &st->meta;
  int rc = 0;
  for (size_t i = 0; i < a.n && !rc; i++) {
    char *eq = strchr(a.w[i], '=');
    bool key_unknown = false, value_unknown = false;
    char *key = jd_df_expand(a.w[i], eq ? (size_t)(eq - a.w[i]) : strlen(a.w[i]), st->esc, &lk,
                             &key_unknown);
    char *value = eq ? jd_df_expand(eq + 1, strlen(eq + 1), st->esc, &lk, &value_unknown) : NULL;
    if (!key || (eq && !value)) {
      st->oom = true;
      rc = -1;
    } else if (key_unknown) {
      if (st->in_stage)
        st->cur.tainted = true;
      else
        rc = jd_df_refuse(st, "an ARG name that cannot be resolved before the build");
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
      rc = jd_df_scope_set(st, target, key, unknown ? NULL : v);
    }
    free(key);
    free(value);
  }
  jd_df_words_free(&a);
  return rc;
}

/* ENV k=v ... or ENV k v: values expanded with the variables before the
 * line. */
static int check_env(df_state *st, const char *args, size_t len) {
  if (!st->in_stage)
    return 0; /* the engine refuses it: no stage */
  words a = {0};
  if (jd_df_split_words(&a, args, len, st->esc) != 0) {
    st->oom = true;
    jd_df_words_free(&a);
    return -1;
  }
  int rc = 0;
  lookup lk = jd_df_stage_lookup(st, false);
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
    char *key = jd_df_expand(k, kn, st->esc, &lk, &ku);
    char *value = jd_df_expand(v, vn, st->esc, &lk, &vu);
    if (!key || !value) {
      st->oom = true;
      rc = -1;
    } else if (ku) {
      st->cur.tainted = true;
    } else {
      rc = jd_df_scope_set(st, &pending, key, vu ? NULL : value);
    }
    free(key);
    free(value);
    if (legacy)
      break;
  }
  for (size_t i = 0; i < pending.n && !rc; i++)
    rc = jd_df_scope_set(st, &st->cur.env, pending.v[i].name, pending.v[i].value);
  jd_df_scope_clear(st, &pending);
  jd_df_words_free(&a);
  return rc;
}

/* One list of ADD's arguments: every word but the last (the destination)
 * is a source; a URL-looking destination is refused too (nothing in a
 * build whose context is the Dockerfile alone needs one). */
static int add_words(df_state *st, const words *a) {
  lookup loose = jd_df_stage_lookup(st, false), strict = jd_df_stage_lookup(st, true);
  int rc = 0;
  for (size_t i = 0; i < a->n && !rc; i++) {
    const char *w = a->w[i];
    bool u1 = false, u2 = false;
    char *v1 = jd_df_expand(w, strlen(w), st->esc, &loose, &u1);
    char *v2 = jd_df_expand(w, strlen(w), st->esc, &strict, &u2);
    if (!v1 || !v2) {
      st->oom = true;
      rc = -1;
    } else if (fetch_source(w) || (!u1 && fetch_source(v1)) || (!u2 && fetch_source(v2))) {
      rc = jd_df_refuse(st, "ADD from a URL is refused: the engine itself would fetch it, from the "
                            "host's network, whatever the build's network");
    } else if (u2 && (i + 1 < a->n || a->n == 1)) {
      rc = jd_df_refuse(st, "an ADD source that cannot be resolved before the build is refused (it "
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
      return jd_df_refuse(st, "ADD --%s is for remote sources: nothing is fetched for a program",
                          name);
    if (!name_in(name, allowed))
      return jd_df_refuse(st, "unknown flag --%s", name);
  }
  /* the JSON form when the text is one, and the shell form in any case:
   * what the engine takes is one of them */
  words json = {0}, shell = {0};
  bool is_json = false;
  int rc = 0;
  if (jd_df_split_json(&json, &is_json, args, len) != 0 || jd_df_split_ws(&shell, args, len) != 0) {
    st->oom = true;
    rc = -1;
  }
  if (!rc)
    rc = add_words(st, &json);
  if (!rc)
    rc = add_words(st, &shell);
  jd_df_words_free(&json);
  jd_df_words_free(&shell);
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
      return jd_df_refuse(st, "unknown flag --%s", name);
    }
  }
  return 0;
}

/* RUN --mount=type=...,from=...: a tmpfs or a bind of the context or of an
 * earlier stage or an admitted image; secrets and ssh are the client's,
 * never a program's. A cache is the engine's, shared by every build on it
 * by its target or id (measured on Podman 5.4.2: one build read the file
 * another had planted; BuildKit keys it the same way): refused. */
static int check_mount(df_state *st, const char *spec) {
  static const char *const keys[] = {"type",      "from",        "source",   "src",  "target",
                                     "dst",       "destination", "readonly", "ro",   "rw",
                                     "readwrite", "id",          "sharing",  "mode", "uid",
                                     "gid",       "required",    "size",     NULL};
  if (strchr(spec, '"') || strchr(spec, '\''))
    return jd_df_refuse(st, "RUN --mount with quotes is refused");
  /* The engine expands ARG and ENV in the whole spec before it splits it:
   * a variable could hold ",type=cache" or ",from=<any image>". */
  if (strchr(spec, '$'))
    return jd_df_refuse(st, "RUN --mount with a variable ($) is refused");
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
      return jd_df_refuse(st, "RUN --mount: unknown option '%s'", field);
    if (!strcmp(field, "type") && !strcmp(value, "cache"))
      return jd_df_refuse(st, "RUN --mount=type=cache is refused: the engine shares a cache "
                              "between every build on it (another program's build could read "
                              "or plant files in it)");
    if (!strcmp(field, "type") && strcmp(value, "bind") && strcmp(value, "tmpfs"))
      return jd_df_refuse(st, "RUN --mount=type=%s is refused (only bind and tmpfs)", value);
    if (!strcmp(field, "from") && stage_or_image(st, value, "RUN --mount=from=") != 0)
      return -1;
    p += n + (p[n] == ',');
  }
  return 0;
}

/* Whether s (len bytes) holds a heredoc operator: "<<" neither preceded
 * nor followed by '<' (the here-string "<<<" is not one). */
static bool has_heredoc_op(const char *s, size_t len) {
  for (size_t i = 0; i + 1 < len; i++)
    if (s[i] == '<' && s[i + 1] == '<' && (i == 0 || s[i - 1] != '<') &&
        (i + 2 >= len || s[i + 2] != '<'))
      return true;
  return false;
}

/* Whether one of the bytes of set is among s's n bytes. */
static bool strpbrk_n(const char *s, size_t n, const char *set) {
  for (; *set; set++)
    if (memchr(s, *set, n))
      return true;
  return false;
}

/* A heredoc, or what could become one: Docker 23+ and buildah read the
 * lines after a word matching ^[0-9]*<<-?[^<]*$ (`<<EOF`, `<<-"E"`,
 * `2<<E`) as its body up to the terminator, which the judger would read
 * as instructions (a heredoc ending at a line the judger takes for a
 * comment hides the next one): refused on every engine. Broader than
 * that pattern, for parsers not measured: "<<" anywhere in a word, a word
 * with both '$' and '<', and "${" with a '<' anywhere (BuildKit's parser
 * source expands a word's variables, none set, before it matches, which
 * would make `$x<<E` and `${x:-<}<E` heredocs; white space inside braces
 * could join what white space seems to split). Measured: Docker 26.1
 * reads `<<E` as a heredoc and `$x<<E`, `${x:-<}<E` as words; Podman
 * 4.3.1 reads none as one. It over-refuses a quoted "a <<b" and a word
 * like `$f<x`; the message says how to write them instead. */
static bool has_heredoc(const char *s, size_t len) {
  if (memmem(s, len, "${", 2) && memchr(s, '<', len))
    return true;
  for (size_t i = 0; i < len;) {
    while (i < len && ws(s[i]))
      i++;
    size_t p = i;
    while (i < len && !ws(s[i]))
      i++;
    if (has_heredoc_op(s + p, i - p) || (memchr(s + p, '$', i - p) && memchr(s + p, '<', i - p)))
      return true;
  }
  return false;
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
        return jd_df_refuse(st, "RUN --network=%s is refused (the build's network is the judger's)",
                            v ? v : "");
    } else if (!strcmp(name, "security")) {
      if (!v || strcmp(v, "sandbox"))
        return jd_df_refuse(st, "RUN --security=%s is refused", v ? v : "");
    } else {
      return jd_df_refuse(st, "unknown flag --%s", name);
    }
  }
  return 0;
}

/* ONBUILD <instruction>: checked as if it ran (at the start of a stage
 * built on this one). */
static int check_onbuild(df_state *st, const char *args, size_t len) {
  if (st->in_onbuild)
    return jd_df_refuse(st, "ONBUILD ONBUILD is refused");
  if (st->in_stage)
    st->cur.triggers = true;
  st->in_onbuild = true;
  int rc = jd_df_check_instruction(st, args, len);
  st->in_onbuild = false;
  return rc;
}

/* One instruction (a logical line): its name, flags and arguments. */
int jd_df_check_instruction(df_state *st, const char *text, size_t len) {
  jd_df_trim_unicode(&text, &len);
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
  if (jd_df_split_flags(&flags, &at, rest, rest_len) != 0) {
    st->oom = true;
    jd_df_words_free(&flags);
    return -1;
  }
  const char *args = rest + at;
  size_t args_len = rest_len - at;
  int rc = 0;
  bool body = !strcmp(cmd, "run") || !strcmp(cmd, "copy") || !strcmp(cmd, "add");
  /* The whole instruction, flags too: the engine looks for heredocs on the
   * whole line. */
  if (body && has_heredoc(text, len))
    rc = jd_df_refuse(st,
                      "%s with a heredoc (<<, or '<' beside a variable) is refused: write "
                      "the file into the program's directory and COPY it",
                      cmd);
  /* Quotes and escapes in the flags: the flag splitter and the engine's
   * heredoc lexer read `'x\' <<#E '` differently (to the first `\'` is an
   * escaped quote, to the second it ends the quote), so such flags could
   * carry a word only the engine sees. No user, mode or pattern needs one
   * (RUN's flag values are checked whole). */
  else if (body && strcmp(cmd, "run") && at && strpbrk_n(rest, at, "'\"\\`"))
    rc = jd_df_refuse(st, "%s flags with a quote or an escape are refused", cmd);
  else if (st->in_onbuild &&
           (!strcmp(cmd, "onbuild") || !strcmp(cmd, "from") || !strcmp(cmd, "maintainer")))
    rc = jd_df_refuse(st, "ONBUILD %s is refused", cmd);
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
    rc = flags.n ? jd_df_refuse(st, "unknown flag %s", flags.w[0])
                 : check_onbuild(st, args, args_len);
  else if (!strcmp(cmd, "volume"))
    /* While the image builds, a RUN step after VOLUME writes into an
     * anonymous volume on the host's disk, past the image-size cap; and a
     * running container gets a tmpfs there anyway (common/volumes.h). */
    rc = jd_df_refuse(st,
                      "VOLUME is refused: RUN steps after it would write to a volume on the "
                      "judger's disk; use a directory of the image (the judger mounts a tmpfs at "
                      "/tmp)");
  jd_df_words_free(&flags);
  return rc;
}
