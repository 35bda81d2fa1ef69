/* Old environment images (gc) and a program's images (purge): image_cache.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build/build_internal.h"
#include "build/image_cache.h"
#include "common/error.h"
#include "common/labels.h"

void jd_image_gc_result_free(jd_image_gc_result *r) {
  if (!r)
    return;
  dk_strv_free(r->removed);
  dk_strv_free(r->in_use);
  free(r);
}

/* Lists the environment images, of one program when id is set, of one
 * domain when domain is set. */
static int list_env_images(dk_image_list **out, jd_ctx *ctx, const char *domain, const char *id) {
  char fdom[64], fid[96];
  const char *filters[4];
  size_t nf = 0;
  filters[nf++] = JD_LABEL_OP; /* every environment image has it */
  if (domain) {
    snprintf(fdom, sizeof fdom, JD_LABEL_DOMAIN "=%s", domain);
    filters[nf++] = fdom;
  }
  if (id) {
    snprintf(fid, sizeof fid, JD_LABEL_ID "=%s", id);
    filters[nf++] = fid;
  }
  filters[nf] = NULL;
  return dk_image_list_filtered(out, ctx->dk, filters, NULL);
}

typedef struct tag_ref {
  char *repo; /* "<domain>-<id>-<op>" */
  const char *tag;
  const dk_image_summary *img;
} tag_ref;

/* Appends a copy of s to the NULL-terminated *v of *n strings; 0 or -1
 * with "out of memory" in err. */
static int strv_push(char ***v, size_t *n, const char *s, char *err, size_t errlen) {
  char **nv = realloc(*v, (*n + 2) * sizeof **v);
  if (nv)
    *v = nv;
  if (!nv || !(nv[*n] = strdup(s)))
    return jd_fail(err, errlen, "%s", dk_strerror(DK_ENOMEM));
  nv[++*n] = NULL;
  return 0;
}

static int by_repo_then_newest(const void *a, const void *b) {
  const tag_ref *x = a, *y = b;
  int c = strcmp(x->repo, y->repo);
  if (c)
    return c;
  if (x->img->created != y->img->created)
    return x->img->created > y->img->created ? -1 : 1;
  return strcmp(x->tag, y->tag);
}

static bool has_suffix(const char *s, const char *suf) {
  size_t n = strlen(s), m = strlen(suf);
  return n >= m && !strcmp(s + n - m, suf);
}

static void tag_refs_free(tag_ref *refs, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(refs[i].repo);
  free(refs);
}

/* One entry per tag, grouped by repository and newest first: one image may
 * carry tags of several repositories, and a repository's ":latest" marks
 * its current. 0, or -1 when memory runs out. */
static int tag_refs(tag_ref **out, size_t *n, const dk_image_list *list) {
  size_t cap = 0;
  *n = 0;
  for (size_t i = 0; i < list->count; i++)
    for (char **t = list->items[i].repo_tags; t && *t; t++)
      cap++;
  tag_ref *refs = calloc(cap + 1, sizeof *refs);
  if (!refs)
    return -1;
  for (size_t i = 0; i < list->count; i++) {
    for (char **t = list->items[i].repo_tags; t && *t; t++) {
      const char *colon = strrchr(*t, ':');
      if (!colon || !strcmp(*t, "<none>:<none>"))
        continue;
      refs[*n] = (tag_ref){strndup(*t, (size_t)(colon - *t)), *t, &list->items[i]};
      if (!refs[*n].repo) {
        tag_refs_free(refs, *n);
        return -1;
      }
      ++*n;
    }
  }
  qsort(refs, *n, sizeof *refs, by_repo_then_newest);
  *out = refs;
  return 0;
}

typedef struct gc_state {
  jd_ctx *ctx;
  const jd_image_gc_opts *opts;
  jd_image_gc_result *r;
  size_t nremoved, ninuse;
  char *err;
  size_t errlen;
} gc_state;

/* Removes (or, in a dry run, lists) one old tag. Never forced: the engine
 * refuses (409) to delete an image a container still uses, which is
 * exactly the rule. */
static int remove_old(gc_state *g, const char *tag) {
  if (g->opts->dry_run)
    return strv_push(&g->r->removed, &g->nremoved, tag, g->err, g->errlen);
  int rr = dk_image_remove(g->ctx->dk, tag, false, false);
  if (rr == 0)
    return strv_push(&g->r->removed, &g->nremoved, tag, g->err, g->errlen);
  if (rr == DK_ECONFLICT)
    return strv_push(&g->r->in_use, &g->ninuse, tag, g->err, g->errlen);
  return rr == DK_ENOTFOUND ? 0 : jd_build_engine_fail(rr, g->err, g->errlen);
}

/* One repository's tags (newest first): keeps the current image and the
 * `keep` most recent others, removes the rest. */
static int gc_repo(gc_state *g, const tag_ref *refs, size_t n) {
  const char *current_id = NULL;
  for (size_t k = 0; k < n && !current_id; k++)
    if (has_suffix(refs[k].tag, ":latest"))
      current_id = refs[k].img->id;
  if (!current_id && n) /* no ":latest": the newest is the current one */
    current_id = refs[0].img->id;
  int recent = 0;
  for (size_t k = 0; k < n; k++) {
    const tag_ref *tr = &refs[k];
    bool current =
        has_suffix(tr->tag, ":latest") || (current_id && !strcmp(tr->img->id, current_id));
    if (current || recent < g->opts->keep) {
      recent += !current;
      g->r->kept++;
      continue;
    }
    int rc = remove_old(g, tr->tag);
    if (rc)
      return rc;
  }
  return 0;
}

int jd_image_gc(jd_image_gc_result **out, jd_ctx *ctx, const jd_image_gc_opts *opts, char *err,
                size_t errlen) {
  *out = NULL;
  dk_image_list *list = NULL;
  tag_ref *refs = NULL;
  size_t nrefs = 0;
  gc_state g = {
      .ctx = ctx, .opts = opts, .r = calloc(1, sizeof *g.r), .err = err, .errlen = errlen};
  int rc = g.r ? list_env_images(&list, ctx, opts->domain, opts->id) : DK_ENOMEM;
  if (!rc && tag_refs(&refs, &nrefs, list) != 0)
    rc = DK_ENOMEM;
  if (rc == DK_ENOMEM)
    rc = jd_fail(err, errlen, "%s", dk_strerror(DK_ENOMEM));
  else if (rc)
    rc = jd_build_engine_fail(rc, err, errlen);
  size_t i = 0;
  while (!rc && i < nrefs) {
    size_t j = i + 1;
    while (j < nrefs && !strcmp(refs[j].repo, refs[i].repo))
      j++;
    rc = gc_repo(&g, refs + i, j - i);
    i = j;
  }
  tag_refs_free(refs, nrefs);
  dk_image_list_free(list);
  if (rc) {
    jd_image_gc_result_free(g.r);
    return rc;
  }
  *out = g.r;
  return 0;
}

/* ---- purge ------------------------------------------------------------------- */

/* Every image of a program (its label, whatever its tags). */
static int list_program_images(dk_image_list **out, jd_ctx *ctx, const char *domain,
                               const char *id) {
  char fid[96], fdom[64];
  const char *filters[3] = {fid, NULL, NULL};
  snprintf(fid, sizeof fid, JD_LABEL_ID "=%s", id);
  if (domain) {
    snprintf(fdom, sizeof fdom, JD_LABEL_DOMAIN "=%s", domain);
    filters[1] = fdom;
  }
  return dk_image_list_filtered(out, ctx->dk, filters, NULL);
}

/* Removes one image: the engine's answer, 0, DK_ECONFLICT (a container
 * uses it), DK_ENOTFOUND or another, for the caller to sort. */
static int purge_image(jd_ctx *ctx, const dk_image_summary *im, bool force) {
  /* Without force, by tag: the engine refuses to delete by id an image
   * with several tags, and untagging the last tag deletes the image unless
   * a container uses it (409). */
  bool tagged = false;
  int rr = 0;
  for (char **t = im->repo_tags; !force && t && *t && !rr; t++) {
    if (!strcmp(*t, "<none>:<none>"))
      continue;
    tagged = true;
    rr = dk_image_remove(ctx->dk, *t, false, false);
  }
  if (force || !tagged)
    rr = dk_image_remove(ctx->dk, im->id, force, false);
  return rr;
}

int jd_image_purge(size_t *removed, size_t *in_use, jd_ctx *ctx, const char *domain, const char *id,
                   bool force, char *err, size_t errlen) {
  if (removed)
    *removed = 0;
  if (in_use)
    *in_use = 0;
  if (!id)
    return jd_fail(err, errlen, "%s", dk_strerror(DK_EINVAL));
  dk_image_list *l = NULL;
  int rc = list_program_images(&l, ctx, domain, id);
  for (size_t i = 0; !rc && i < l->count; i++) {
    int rr = purge_image(ctx, &l->items[i], force);
    if (rr == 0 && removed)
      (*removed)++;
    else if (rr == DK_ECONFLICT && in_use)
      (*in_use)++;
    else if (rr && rr != DK_ECONFLICT && rr != DK_ENOTFOUND)
      rc = rr;
  }
  if (rc)
    rc = jd_build_engine_fail(rc, err, errlen);
  dk_image_list_free(l);
  return rc;
}

/* A container's "Image" is what it was created from (a tag, or an id); the
 * engine shows the image id instead once that tag points elsewhere. */
static bool container_uses(const dk_container_summary *c, const dk_image_summary *im) {
  if (!c->image)
    return false;
  const char *bare = strncmp(im->id, "sha256:", 7) ? im->id : im->id + 7;
  if (!strcmp(c->image, im->id) || !strcmp(c->image, bare))
    return true;
  for (char **t = im->repo_tags; t && *t; t++)
    if (!strcmp(c->image, *t))
      return true;
  return false;
}

int jd_image_purge_plan(size_t *would_remove, size_t *in_use, jd_ctx *ctx, const char *domain,
                        const char *id, char *err, size_t errlen) {
  *would_remove = 0;
  *in_use = 0;
  if (!id)
    return jd_fail(err, errlen, "%s", dk_strerror(DK_EINVAL));
  dk_image_list *l = NULL;
  dk_container_list *cl = NULL;
  int rc = list_program_images(&l, ctx, domain, id);
  if (!rc)
    rc = dk_container_list_by_label(&cl, ctx->dk, true, NULL);
  for (size_t i = 0; !rc && i < l->count; i++) {
    bool used = false;
    for (size_t k = 0; k < cl->count && !used; k++)
      used = container_uses(&cl->items[k], &l->items[i]);
    ++*(used ? in_use : would_remove);
  }
  if (rc)
    rc = jd_build_engine_fail(rc, err, errlen);
  dk_container_list_free(cl);
  dk_image_list_free(l);
  return rc;
}
