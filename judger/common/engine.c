/* The engine's profile and guarantees (see engine.h; docs/engines.md has the
 * measurements behind each entry). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/context.h"
#include "common/engine.h"
#include "common/error.h"

static const struct {
  const char *name, *text;
} guarantees[] = {
#define JD_GUARANTEE_ROW(code, name, text) {name, text},
    JD_GUARANTEE_MAP(JD_GUARANTEE_ROW)
#undef JD_GUARANTEE_ROW
};

const char *jd_guarantee_name(jd_guarantee g) {
  return (unsigned)g < JD_GUARANTEE_COUNT ? guarantees[g].name : NULL;
}

const char *jd_guarantee_text(jd_guarantee g) {
  return (unsigned)g < JD_GUARANTEE_COUNT ? guarantees[g].text : NULL;
}

/* Where build/ and match/ check each one (jd_ctx_require). */
static const char *const refuses[JD_GUARANTEE_COUNT] = {
    [JD_GUARANTEE_BUILD_NETWORK] = "image builds",
    [JD_GUARANTEE_HOST_UNREACHABLE] = "matches",
    [JD_GUARANTEE_OOM_VERDICT] = "matches",
    [JD_GUARANTEE_BUILD_WALL_TIME] = "image builds",
};

const char *jd_guarantee_refuses(jd_guarantee g) {
  return (unsigned)g < JD_GUARANTEE_COUNT ? refuses[g] : NULL;
}

const char *jd_guarantee_state_name(jd_guarantee_state s) {
  static const char *const names[] = {"kept", "lacking", "accepted"};
  return (unsigned)s < sizeof names / sizeof *names ? names[s] : NULL;
}

jd_guarantee_state jd_engine_state(const jd_engine *e, jd_guarantee g, unsigned accepted) {
  if ((unsigned)g >= JD_GUARANTEE_COUNT || !(e->lacking & (1u << g)))
    return JD_GUARANTEE_KEPT;
  return accepted & (1u << g) ? JD_GUARANTEE_ACCEPTED : JD_GUARANTEE_LACKING;
}

static void lack(jd_engine *e, jd_guarantee g, const char *gap) {
  e->lacking |= 1u << g;
  e->gap[g] = gap;
}

void jd_engine_profile(jd_engine *out, dk_engine_kind kind, const char *version) {
  memset(out, 0, sizeof *out);
  out->kind = kind;
  snprintf(out->version, sizeof out->version, "%s", version ? version : "?");
  if (sscanf(out->version, "%d.%d", &out->major, &out->minor) != 2)
    out->major = out->minor = 0;
  out->tmpfs_nr_inodes = true;
  if (kind != DK_ENGINE_PODMAN)
    return;
  /* Podman's compatible API, measured on 4.3.1 and 5.4.2 (docs/engines.md). */
  out->seccomp_by_path = true;
  out->tmpfs_nr_inodes = false;
  out->tmpfs_over_run = true;
  lack(out, JD_GUARANTEE_HOST_UNREACHABLE,
       "Podman ignores inhibit_ipv4: a player reaches the host's listeners through its "
       "network's gateway");
  /* libdockerapi joins a build to the judger's network the way Podman
   * honours (nsoptions): the host's loopback is then out of reach, but the
   * build network's gateway is the host, as for players (measured on 4.3.1
   * and 5.4.2 without the engine-side firewall). Its builds also ignore the
   * cgroup parent that bounds RUN steps' processes (build/run_cgroup.h):
   * accepting build_network on Podman gives up that limit too. */
  lack(out, JD_GUARANTEE_BUILD_NETWORK,
       "Podman ignores inhibit_ipv4 on the build network too (a RUN step reaches the host's "
       "listeners through its gateway) and the RUN steps' process limit");
  /* The wall time of an image build is the connection's: at it the judger
   * hangs up and judges TLE, and Docker then cancels the build. Podman does
   * not (review 28 #14): a RUN step runs on to its own end, holding its CPU
   * and memory: `RUN sleep` ran on 2, 12 and 32 s after the client's exit
   * on 4.3.1, 42 s on 5.4.2. Its working containers cannot be stopped
   * instead: the libpod listing (containers/json?external=true) gives them
   * no label of their build (Labels null; Image the step's parent, Names
   * "<image>-working-container[-N]", shared by a concurrent build of the
   * same Dockerfile); removing one (DELETE ?force=true: 200) deletes its
   * storage while its process runs on (7 s later on 4.3.1), in a cgroup
   * "/buildah-buildah<random>" the API never names. */
  lack(out, JD_GUARANTEE_BUILD_WALL_TIME,
       "Podman does not stop a build when the judger hangs up at its wall time: a RUN step runs "
       "on after the TLE, keeping its CPU and memory until it ends by itself");
  /* Kept only where measured (5.4.2; review 28 #16): a version before or
   * after is not taken to report OOM kills until it is measured. */
  if (out->major < 5)
    lack(out, JD_GUARANTEE_OOM_VERDICT,
         "Podman 4 never reports OOM kills (OOMKilled false): a program over its memory gets RE, "
         "not MLE");
  else if (out->major > 5 || out->minor < 4)
    lack(out, JD_GUARANTEE_OOM_VERDICT,
         "this Podman version is not measured: OOM kills are known to be reported only from 5.4 "
         "to 5.x (a program over its memory could get RE, not MLE)");
}

int jd_engine_learn(jd_engine *out, dk_client *c, char *err, size_t errlen) {
  dk_version *v = NULL;
  int rc = dk_system_version(&v, c);
  if (rc) {
    const dk_error *e = dk_error_last();
    return jd_fail(err, errlen, "engine: /version: %s",
                   e && e->message && *e->message ? e->message : dk_strerror(rc));
  }
  jd_engine_of_version(out, v, c);
  dk_version_free(v);
  return 0;
}

void jd_engine_of_version(jd_engine *out, const dk_version *v, const dk_client *c) {
  /* Fail towards the stricter profile: Podman when either /version or the
   * first answer's headers say so (review 28 #3). */
  dk_engine_kind seen = c ? dk_client_engine(c) : DK_ENGINE_UNKNOWN;
  dk_engine_kind kind = v->engine == DK_ENGINE_PODMAN || seen == DK_ENGINE_PODMAN ? DK_ENGINE_PODMAN
                        : v->engine != DK_ENGINE_UNKNOWN                          ? v->engine
                                                                                  : seen;
  jd_engine_profile(out, kind, v->engine_version ? v->engine_version : v->version);
}

int jd_engine_accept_parse(unsigned *mask, const char *list, char *err, size_t errlen) {
  *mask = 0;
  if (!list || !*list || !strcmp(list, "none"))
    return 0;
  const char *p = list;
  while (*p) {
    /* "a, b" as a person writes it in a config file: blanks around a word. */
    p += strspn(p, " \t");
    size_t n = strcspn(p, ",");
    size_t word = n;
    while (word && (p[word - 1] == ' ' || p[word - 1] == '\t'))
      word--;
    int g = 0;
    while (g < JD_GUARANTEE_COUNT &&
           !(strlen(guarantees[g].name) == word && !strncmp(guarantees[g].name, p, word)))
      g++;
    if (g == JD_GUARANTEE_COUNT) {
      *mask = 0;
      char names[128];
      jd_guarantee_names(names, sizeof names, JD_GUARANTEE_ALL);
      return jd_fail(err, errlen, "engine_accept: '%.*s' is not a guarantee (one of %s)",
                     (int)(word > 64 ? 64 : word), p, names);
    }
    *mask |= 1u << g;
    p += n;
    if (*p == ',')
      p++;
  }
  return 0;
}

void jd_guarantee_names(char *buf, size_t size, unsigned mask) {
  if (!size)
    return;
  size_t len = 0;
  buf[0] = '\0';
  for (int g = 0; g < JD_GUARANTEE_COUNT; g++) {
    if (!(mask & (1u << g)))
      continue;
    int n = snprintf(buf + len, size - len, "%s%s", len ? "," : "", guarantees[g].name);
    len = n < 0 || (size_t)n >= size - len ? size - 1 : len + (size_t)n;
  }
}

int jd_engine_require_mask(const jd_engine *e, unsigned need, unsigned accepted, char *err,
                           size_t errlen) {
  unsigned refused = need & e->lacking & ~accepted & JD_GUARANTEE_ALL;
  if (!refused)
    return 0;
  /* Every refused guarantee with its gap, then the setting that runs the
   * work anyway: what is accepted already plus these. */
  char what[1024];
  size_t len = 0;
  int count = 0;
  for (int g = 0; g < JD_GUARANTEE_COUNT; g++) {
    if (!(refused & (1u << g)))
      continue;
    int n = snprintf(what + len, sizeof what - len, "%s%s (%s)", count ? ", " : "",
                     guarantees[g].name, e->gap[g] ? e->gap[g] : "?");
    len = n < 0 || (size_t)n >= sizeof what - len ? sizeof what - 1 : len + (size_t)n;
    count++;
  }
  char accept[128];
  jd_guarantee_names(accept, sizeof accept, (accepted & JD_GUARANTEE_ALL) | refused);
  return jd_fail(err, errlen,
                 "engine %s %s cannot keep the guarantee%s %s; refused: set engine_accept=%s to "
                 "run anyway (docs/security.md \"Engines\")",
                 dk_engine_kind_name(e->kind), e->version, count > 1 ? "s" : "", what, accept);
}

int jd_engine_require(const jd_engine *e, jd_guarantee g, unsigned accepted, char *err,
                      size_t errlen) {
  if ((unsigned)g >= JD_GUARANTEE_COUNT)
    return 0;
  return jd_engine_require_mask(e, 1u << g, accepted, err, errlen);
}

/* Learning is rare (once per context): one lock for every context. */
static pthread_mutex_t learn_mu = PTHREAD_MUTEX_INITIALIZER;

const jd_engine *jd_ctx_engine(jd_ctx *ctx, char *err, size_t errlen) {
  /* An engine that answers as another since it was learnt (review 28 #5):
   * its profile is not this one; refused, as a system fault, until the
   * process learns it again (the daemon stops for that: engine_watch.c). */
  if (ctx->dk && dk_client_engine_changed(ctx->dk)) {
    jd_fail(err, errlen,
            "engine: it answers as another engine since it was learnt; restart to "
            "learn it and its guarantees again (docs/security.md \"Engines\")");
    return NULL;
  }
  if (__atomic_load_n(&ctx->engine_known, __ATOMIC_ACQUIRE))
    return &ctx->engine;
  pthread_mutex_lock(&learn_mu);
  int rc = 0;
  if (!__atomic_load_n(&ctx->engine_known, __ATOMIC_ACQUIRE)) {
    jd_engine e;
    rc = jd_engine_learn(&e, ctx->dk, err, errlen);
    if (!rc) {
      ctx->engine = e;
      __atomic_store_n(&ctx->engine_known, 1, __ATOMIC_RELEASE);
    }
  }
  pthread_mutex_unlock(&learn_mu);
  return rc ? NULL : &ctx->engine;
}

int jd_ctx_require_mask(jd_ctx *ctx, unsigned need, char *err, size_t errlen) {
  const jd_engine *e = jd_ctx_engine(ctx, err, errlen);
  if (!e)
    return -1;
  return jd_engine_require_mask(e, need, ctx->engine_accept, err, errlen);
}

int jd_ctx_require(jd_ctx *ctx, jd_guarantee g, char *err, size_t errlen) {
  if ((unsigned)g >= JD_GUARANTEE_COUNT)
    return jd_fail(err, errlen, "no guarantee %d", (int)g); /* the caller's bug: fail closed */
  return jd_ctx_require_mask(ctx, 1u << g, err, errlen);
}
