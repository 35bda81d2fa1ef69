/* The requests a client sent, by kind (see dockerapi/counts.h). */
#include <stdbool.h>
#include <string.h>

#include "client_internal.h"
#include "dockerapi/counts.h"

static const char *const kind_names[] = {
#define DK_CALL_KIND_NAME(code, name, text) name,
    DK_CALL_KIND_MAP(DK_CALL_KIND_NAME)
#undef DK_CALL_KIND_NAME
};

const char *dk_call_kind_name(dk_call_kind kind) {
  return (unsigned)kind < DK_CALL_KIND_COUNT ? kind_names[kind] : "?";
}

/* A path's first segments (without the query), enough for every endpoint
 * the kinds tell apart. */
typedef struct segs {
  const char *s[3];
  size_t len[3];
  int n; /* all the segments, counted past the third too */
} segs;

static void split(segs *out, const char *path) {
  memset(out, 0, sizeof *out);
  const char *p = path;
  const char *end = p + strcspn(p, "?");
  while (p < end) {
    if (*p == '/') {
      p++;
      continue;
    }
    size_t len = strcspn(p, "/?");
    if (out->n < 3) {
      out->s[out->n] = p;
      out->len[out->n] = len;
    }
    out->n++;
    p += len;
  }
}

static bool is(const segs *g, int i, const char *word) {
  return i < g->n && i < 3 && g->len[i] == strlen(word) && !strncmp(g->s[i], word, g->len[i]);
}

static dk_call_kind container_kind(const segs *g, const char *method) {
  bool get = !strcmp(method, "GET"), post = !strcmp(method, "POST");
  if (g->n == 2) {
    if (is(g, 1, "create") && post)
      return DK_CALL_CONTAINER_CREATE;
    if (is(g, 1, "json") && get)
      return DK_CALL_CONTAINER_LIST;
    if (!strcmp(method, "DELETE"))
      return DK_CALL_CONTAINER_REMOVE;
    return DK_CALL_CONTAINER_OTHER;
  }
  if (g->n != 3)
    return DK_CALL_CONTAINER_OTHER;
  static const struct {
    const char *action;
    dk_call_kind kind;
  } actions[] = {{"start", DK_CALL_CONTAINER_START},   {"wait", DK_CALL_CONTAINER_WAIT},
                 {"json", DK_CALL_CONTAINER_INSPECT},  {"logs", DK_CALL_CONTAINER_LOGS},
                 {"attach", DK_CALL_CONTAINER_ATTACH}, {"kill", DK_CALL_CONTAINER_KILL},
                 {"stop", DK_CALL_CONTAINER_KILL},     {"exec", DK_CALL_EXEC}};
  for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++)
    if (is(g, 2, actions[i].action))
      return actions[i].kind;
  return DK_CALL_CONTAINER_OTHER;
}

static dk_call_kind network_kind(const segs *g, const char *method) {
  if (g->n == 1)
    return !strcmp(method, "GET") ? DK_CALL_NETWORK_LIST : DK_CALL_NETWORK_OTHER;
  if (g->n == 2) {
    if (is(g, 1, "create") && !strcmp(method, "POST"))
      return DK_CALL_NETWORK_CREATE;
    if (is(g, 1, "prune"))
      return DK_CALL_NETWORK_OTHER;
    if (!strcmp(method, "DELETE"))
      return DK_CALL_NETWORK_REMOVE;
    return !strcmp(method, "GET") ? DK_CALL_NETWORK_INSPECT : DK_CALL_NETWORK_OTHER;
  }
  if (g->n == 3 && is(g, 2, "connect"))
    return DK_CALL_NETWORK_CONNECT;
  if (g->n == 3 && is(g, 2, "disconnect"))
    return DK_CALL_NETWORK_DISCONNECT;
  return DK_CALL_NETWORK_OTHER;
}

dk_call_kind dk_call_kind_of(const char *method, const char *path) {
  if (!method || !path)
    return DK_CALL_OTHER;
  segs g;
  split(&g, path);
  if (is(&g, 0, "containers"))
    return container_kind(&g, method);
  if (is(&g, 0, "networks"))
    return network_kind(&g, method);
  if (is(&g, 0, "images"))
    return DK_CALL_IMAGE;
  if (is(&g, 0, "build"))
    return DK_CALL_BUILD;
  if (is(&g, 0, "exec"))
    return DK_CALL_EXEC;
  if (is(&g, 0, "_ping"))
    return DK_CALL_PING;
  if (is(&g, 0, "info") || is(&g, 0, "version") || is(&g, 0, "events") || is(&g, 0, "system"))
    return DK_CALL_SYSTEM;
  return DK_CALL_OTHER;
}

void dk__count(dk_client *c, const char *method, const char *path) {
  atomic_fetch_add_explicit(&c->calls[dk_call_kind_of(method, path)], 1, memory_order_relaxed);
}

void dk_client_counts(dk_call_counts *out, const dk_client *c) {
  for (int k = 0; k < DK_CALL_KIND_COUNT; k++)
    out->n[k] = atomic_load_explicit(&c->calls[k], memory_order_relaxed);
}

uint64_t dk_call_counts_total(const dk_call_counts *counts) {
  uint64_t sum = 0;
  for (int k = 0; k < DK_CALL_KIND_COUNT; k++)
    sum += counts->n[k];
  return sum;
}
