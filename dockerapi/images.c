/* Images: build, inspect, tag, remove, list, prune, import. The answer of a
 * build is parsed in build_stream.c. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build_stream.h"
#include "dockerapi/images.h"
#include "dockerapi/system.h"
#include "internal.h"
#include "negotiate.h"

typedef struct mem_reader {
  const char *data;
  size_t len, off;
} mem_reader;

static size_t mem_read(char *buf, size_t n, void *ud) {
  mem_reader *m = ud;
  size_t left = m->len - m->off;
  size_t take = n < left ? n : left;
  memcpy(buf, m->data + m->off, take);
  m->off += take;
  return take;
}

/* The import answer is a JSON-lines progress stream; an "error" member means
 * the import failed even though the status is 200. id (idlen bytes) gets
 * the new image's id: Docker's last line is {"status":"sha256:..."},
 * Podman's carries "id" too; "" when no line named one. */
static int import_check(char *id, size_t idlen, const dk_buf *body) {
  const char *p = body->data;
  *id = '\0';
  while (p && *p) {
    const char *nl = strchr(p, '\n');
    size_t n = nl ? (size_t)(nl - p) : strlen(p);
    json_object *o = NULL;
    if (n && dk__parse_json(&o, p, n) == DK_OK) {
      const char *err = dk__json_str(o, "error");
      if (err) {
        int rc = dk__err(DK_ESTREAM, 200, "image import: %s", err);
        json_object_put(o);
        return rc;
      }
      const char *s = dk__json_str(o, "id");
      if (!s || strncmp(s, "sha256:", 7))
        s = dk__json_str(o, "status");
      if (s && !strncmp(s, "sha256:", 7) && strlen(s) < idlen &&
          strspn(s + 7, "0123456789abcdef") == strlen(s + 7))
        strcpy(id, s);
      json_object_put(o);
    }
    p = nl ? nl + 1 : NULL;
  }
  dk_error_clear();
  return DK_OK;
}

/* The import's query. Podman (4.3 measured) ignores `tag` and names the
 * image repo:latest, moving that tag off another image; it takes the tag
 * inside `repo` ("repo:tag"), as Docker does too, so Podman gets that. */
static int import_path(char **path, dk_client *c, const char *repo, const char *tag) {
  dk_buf q = DK_BUF_INIT(4096);
  int rc = dk__query(&q, "fromSrc", "-");
  bool podman = dk_client_engine(c) == DK_ENGINE_PODMAN;
  char *ref = NULL;
  if (!rc && podman && tag && asprintf(&ref, "%s:%s", repo, tag) < 0)
    rc = DK_ENOMEM;
  if (!rc)
    rc = dk__query(&q, "repo", ref ? ref : repo);
  if (!rc && tag && !podman)
    rc = dk__query(&q, "tag", tag);
  *path = rc ? NULL : dk__path("/images/create%s", q.data);
  free(ref);
  dk_buf_free(&q);
  if (!*path)
    return rc ? dk__err(rc, 0, "image import: query too large or out of memory")
              : dk__err(DK_ENOMEM, 0, NULL);
  return DK_OK;
}

int dk_image_import(dk_client *c, size_t (*read)(char *buf, size_t n, void *ud), void *ud,
                    const char *repo, const char *tag, const dk_call *call) {
  if (!read || !repo)
    return dk__err(DK_EINVAL, 0, "image import: a reader and a repository are needed");
  /* Negotiation first: it tells the engine, which decides the query. */
  int rc = dk__negotiate(c);
  char *path = NULL;
  if (!rc)
    rc = import_path(&path, c, repo, tag);
  if (rc)
    return rc;
  dk__req req = {.method = "POST",
                 .path = path,
                 .content_type = "application/x-tar",
                 .upload = read,
                 .upload_ud = ud,
                 .resp_max = 1024 * 1024,
                 .call = call};
  dk__resp resp;
  char id[80];
  rc = dk__do(c, &req, &resp);
  if (!rc)
    rc = import_check(id, sizeof id, &resp.body);
  /* The promise is "tagged repo:tag" on every engine: where the engine is
   * not Docker (Podman, or one that did not say), tag the id it answered. */
  if (!rc && tag && *id && dk_client_engine(c) != DK_ENGINE_DOCKER)
    rc = dk_image_tag(c, id, repo, tag);
  dk__resp_free(&resp);
  free(path);
  return rc;
}

int dk_image_import_mem(dk_client *c, const void *tar, size_t len, const char *repo,
                        const char *tag) {
  mem_reader m = {tar, len, 0};
  return dk_image_import(c, mem_read, &m, repo, tag, NULL);
}

void dk_image_info_free(dk_image_info *i) {
  if (!i)
    return;
  free(i->id);
  dk_strv_free(i->repo_tags);
  free(i->created);
  free(i->raw_json);
  dk_strv_free(i->volumes);
  free(i);
}

static char **strv_dup(char *const *v) {
  size_t n = 0;
  while (v && v[n])
    n++;
  char **d = calloc(n + 1, sizeof *d);
  for (size_t k = 0; d && k < n; k++)
    if (!(d[k] = strdup(v[k]))) {
      dk_strv_free(d);
      return NULL;
    }
  return d;
}

dk_image_info *dk_image_info_dup(const dk_image_info *i) {
  if (!i)
    return NULL;
  dk_image_info *d = calloc(1, sizeof *d);
  if (!d)
    return NULL;
  d->id = i->id ? strdup(i->id) : NULL;
  d->repo_tags = strv_dup(i->repo_tags);
  d->created = i->created ? strdup(i->created) : NULL;
  d->size = i->size;
  d->raw_json = i->raw_json ? strdup(i->raw_json) : NULL;
  d->volumes = strv_dup(i->volumes);
  d->volumes_truncated = i->volumes_truncated;
  if ((i->id && !d->id) || !d->repo_tags || (i->created && !d->created) ||
      (i->raw_json && !d->raw_json) || !d->volumes) {
    dk_image_info_free(d);
    return NULL;
  }
  return d;
}

/* The keys of Config.Volumes ({"/data": {}}), in order, at most
 * DK_IMAGE_VOLUMES_MAX (never NULL on success). */
static char **volumes_from_json(json_object *root, bool *truncated) {
  json_object *conf = NULL, *vols = NULL;
  *truncated = false;
  if (json_object_object_get_ex(root, "Config", &conf))
    json_object_object_get_ex(conf, "Volumes", &vols);
  size_t n =
      json_object_is_type(vols, json_type_object) ? (size_t)json_object_object_length(vols) : 0;
  if (n > DK_IMAGE_VOLUMES_MAX) {
    n = DK_IMAGE_VOLUMES_MAX;
    *truncated = true;
  }
  char **v = calloc(n + 1, sizeof *v);
  if (!v || !n)
    return v;
  size_t k = 0;
  json_object_object_foreach(vols, key, val) {
    (void)val;
    if (k == n)
      break;
    if (!(v[k++] = strdup(key))) {
      dk_strv_free(v);
      return NULL;
    }
  }
  return v;
}

/* The strings of a JSON array (never NULL on success), leaving out `skip`
 * (NULL = none), each in Docker's short form (dk__ref_short). */
static char **strv_from_json(json_object *a, const char *skip) {
  size_t n = a && json_object_is_type(a, json_type_array) ? json_object_array_length(a) : 0;
  char **v = calloc(n + 1, sizeof *v);
  if (!v)
    return NULL;
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    const char *s = json_object_get_string(json_object_array_get_idx(a, i));
    if (!s || (skip && !strcmp(s, skip)))
      continue;
    if (!(v[k++] = strdup(dk__ref_short(s)))) {
      dk_strv_free(v);
      return NULL;
    }
  }
  return v;
}

int dk_image_inspect(dk_image_info **out, dk_client *c, const char *name) {
  *out = NULL;
  char *path = dk__object_path("images", name, "/json", NULL);
  if (!path)
    return dk__err(DK_ENOMEM, 0, NULL);
  json_object *o = NULL;
  int rc = dk__get_json(c, path, &o, NULL);
  free(path);
  if (rc)
    return rc;
  dk_image_info *i = calloc(1, sizeof *i);
  json_object *tags = NULL, *size = NULL;
  if (!i) {
    json_object_put(o);
    return dk__err(DK_ENOMEM, 0, NULL);
  }
  i->id = dk__json_strdup(o, "Id");
  i->created = dk__json_strdup(o, "Created");
  json_object_object_get_ex(o, "RepoTags", &tags);
  i->repo_tags = strv_from_json(tags, NULL);
  if (json_object_object_get_ex(o, "Size", &size))
    i->size = json_object_get_int64(size);
  i->raw_json = dk__json_text(o);
  i->volumes = volumes_from_json(o, &i->volumes_truncated);
  json_object_put(o);
  if (!i->id || !i->repo_tags || !i->raw_json || !i->volumes) {
    dk_image_info_free(i);
    return dk__err(DK_EPROTO, 0, "image inspect: answer without an Id");
  }
  *out = i;
  return DK_OK;
}

/* ---- build ----------------------------------------------------------------- */

static int query_json_kv(dk_buf *q, const char *key, const dk_kv *kv, size_t n) {
  if (!n)
    return DK_OK;
  json_object *o = json_object_new_object();
  if (!o)
    return DK_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    if (!kv[i].key) {
      json_object_put(o);
      return dk__err(DK_EINVAL, 0, "image build: %s entry %zu has no key", key, i);
    }
    json_object_object_add(o, kv[i].key, kv[i].value ? json_object_new_string(kv[i].value) : NULL);
  }
  int rc = dk__query(q, key, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
  json_object_put(o);
  return rc;
}

/* A build's network the way Podman honours it. Its builds read the RUN
 * steps' network namespace from `nsoptions` (buildah's NamespaceOptions,
 * JSON) and, without it, use the engine host's own; `networkmode` is
 * buildah's network policy there (1 disabled, 2 enabled), not a network.
 * none: a private namespace with only lo; host: the host's; bridge,
 * default and NULL: a private one on Podman's default network; a name:
 * that network. */
static int libpod_network(dk_buf *q, const char *mode) {
  bool dflt = !mode || !strcmp(mode, "bridge") || !strcmp(mode, "default");
  bool none = mode && !strcmp(mode, "none");
  bool host = mode && !strcmp(mode, "host");
  /* A path would name a network namespace file to join. */
  if (mode && (!*mode || *mode == '/' || strchr(mode, ':')))
    return dk__err(DK_EINVAL, 0, "image build: network '%s' is not a network name", mode);
  json_object *ns = json_object_new_object(), *a = json_object_new_array();
  if (!ns || !a) {
    json_object_put(ns);
    json_object_put(a);
    return DK_ENOMEM;
  }
  json_object_object_add(ns, "Name", json_object_new_string("network"));
  if (host)
    json_object_object_add(ns, "Host", json_object_new_boolean(1));
  if (!dflt && !none && !host)
    json_object_object_add(ns, "Path", json_object_new_string(mode));
  json_object_array_add(a, ns);
  int rc = dk__query(q, "nsoptions", json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN));
  json_object_put(a);
  if (!rc)
    rc = dk__query(q, "networkmode", none ? "1" : "2");
  return rc;
}

static int build_query(dk_buf *q, const dk_build_opts *o, bool podman) {
  int rc = DK_OK;
  for (const char *const *t = o->tags; !rc && t && *t; t++)
    rc = dk__query(q, "t", *t);
  if (!rc && o->dockerfile)
    rc = dk__query(q, "dockerfile", o->dockerfile);
  if (!rc)
    rc = query_json_kv(q, "buildargs", o->buildargs, o->nbuildargs);
  if (!rc)
    rc = query_json_kv(q, "labels", o->labels, o->nlabels);
  if (!rc && o->memory)
    rc = dk__query_int(q, "memory", o->memory);
  if (!rc && o->memswap)
    rc = dk__query_int(q, "memswap", o->memswap);
  if (!rc && o->cpu_quota)
    rc = dk__query_int(q, "cpuquota", o->cpu_quota);
  if (!rc && o->cpu_period)
    rc = dk__query_int(q, "cpuperiod", o->cpu_period);
  if (!rc && o->cpuset_cpus)
    rc = dk__query(q, "cpusetcpus", o->cpuset_cpus);
  if (!rc && o->cgroup_parent)
    rc = dk__query(q, "cgroupparent", o->cgroup_parent);
  /* The engine reads any non-empty value other than 0/false as true, and
   * rm defaults to true: send every flag explicitly. */
  if (!rc)
    rc = dk__query_bool(q, "nocache", o->nocache);
  if (!rc)
    rc = dk__query_bool(q, "pull", o->pull);
  if (!rc)
    rc = dk__query_bool(q, "rm", !o->keep_intermediate);
  if (!rc)
    rc = dk__query_bool(q, "forcerm", !o->keep_intermediate);
  if (!rc && podman)
    rc = libpod_network(q, o->network_mode);
  else if (!rc && o->network_mode)
    rc = dk__query(q, "networkmode", o->network_mode);
  if (!rc && o->target)
    rc = dk__query(q, "target", o->target);
  return rc;
}

/* Full id of an image by any name; DK_EPROTO names what was looked for. */
static int resolve_id(char **out, dk_client *c, const char *name) {
  dk_image_info *info = NULL;
  int rc = dk_image_inspect(&info, c, name);
  if (rc) {
    const dk_error *e = dk_error_last();
    char msg[512];
    snprintf(msg, sizeof msg, "%s", e ? e->message : dk_strerror(rc));
    return dk__err(DK_EPROTO, 0, "image build: the engine reported success but %s is missing: %s",
                   name, msg);
  }
  *out = info->id;
  info->id = NULL;
  dk_image_info_free(info);
  return DK_OK;
}

/* 400 before the stream: the engine refused the Dockerfile itself (parse
 * error, missing file): the build's fault, not the caller's. The refusal
 * goes to the build log too. */
static int build_refused(dk__build_stream *b) {
  const dk_error *e = dk_error_last();
  char msg[1024]; /* the last error's text is overwritten by dk__err */
  snprintf(msg, sizeof msg, "%s", e ? e->message : "build refused");
  int rc = dk__err(DK_EBUILD, 400, "%s", msg);
  dk__build_stream_log(b, msg, strlen(msg));
  dk__build_stream_log(b, "\n", 1);
  return rc;
}

/* The id of the image a successful build made: the aux message's, else the
 * id of "Successfully built", else the first tag's, resolved. */
static int built_image_id(char **image_id, dk_client *c, const dk__build_stream *b,
                          const dk_build_opts *opts) {
  if (b->aux_id[0]) {
    *image_id = strdup(b->aux_id);
    return *image_id ? DK_OK : dk__err(DK_ENOMEM, 0, NULL);
  }
  if (b->built_id[0])
    return resolve_id(image_id, c, b->built_id);
  if (opts->tags && opts->tags[0])
    return resolve_id(image_id, c, opts->tags[0]);
  return dk__err(DK_EPROTO, 0, "image build: the engine's answer names no image");
}

/* "/build?t=...&..." for opts (malloc'd) into *path. */
static int build_path(char **path, dk_client *c, const dk_build_opts *opts) {
  *path = NULL;
  dk_buf q = DK_BUF_INIT(64 * 1024);
  /* Negotiation first: it tells the engine, which decides the network's
   * parameters (its failure comes back from dk__do). */
  (void)dk__negotiate(c);
  int rc = build_query(&q, opts, opts->libpod || dk_client_engine(c) == DK_ENGINE_PODMAN);
  if (rc == DK_ETOOBIG || rc == DK_ENOMEM)
    rc = dk__err(rc, 0, "image build: query too large or out of memory");
  if (!rc && !(*path = dk__path("/build%s", q.data ? q.data : "")))
    rc = dk__err(DK_ENOMEM, 0, NULL);
  dk_buf_free(&q);
  return rc;
}

int dk_image_build(char **image_id, dk_client *c, const void *context, size_t context_len,
                   const dk_build_opts *opts, dk_build_cb cb, void *ud, dk_buf *log,
                   const dk_call *call) {
  if (image_id)
    *image_id = NULL;
  if (!c || !context || !context_len)
    return dk__err(DK_EINVAL, 0, "image build: a client and a tar context are needed");
  static const dk_build_opts defaults;
  if (!opts)
    opts = &defaults;
  char *path = NULL;
  int rc = build_path(&path, c, opts);
  if (rc)
    return rc;
  dk__build_stream b;
  dk__build_stream_init(&b, cb, ud, log, opts->log_max);
  mem_reader m = {context, context_len, 0};
  /* Streamed upload: a large context is not copied into curl's buffers. */
  dk__req req = {.method = "POST",
                 .path = path,
                 .content_type = "application/x-tar",
                 .upload = mem_read,
                 .upload_ud = &m,
                 .on_data = dk__build_stream_data,
                 .data_ud = &b,
                 .resp_max = 64 * 1024,
                 .call = call};
  dk__resp resp;
  rc = dk__do(c, &req, &resp);
  if (rc == DK_EBADREQ)
    rc = build_refused(&b);
  else if (!rc)
    rc = dk__build_stream_finish(&b);
  if (!rc && image_id)
    rc = built_image_id(image_id, c, &b, opts);
  if (rc == DK_OK)
    dk_error_clear();
  dk__resp_free(&resp);
  free(path);
  dk__build_stream_free(&b);
  return rc;
}

/* ---- tag, remove ----------------------------------------------------------- */

int dk_image_tag(dk_client *c, const char *image, const char *repo, const char *tag) {
  if (!image || !repo)
    return dk__err(DK_EINVAL, 0, "image tag: an image and a repository are needed");
  dk_buf q = DK_BUF_INIT(4096);
  int rc = dk__query(&q, "repo", repo);
  if (!rc && tag)
    rc = dk__query(&q, "tag", tag);
  char *path = rc ? NULL : dk__object_path("images", image, "/tag", &q);
  dk_buf_free(&q);
  if (!path)
    return dk__err(rc ? rc : DK_ENOMEM, 0, NULL);
  rc = dk__send_empty(c, "POST", path, NULL);
  free(path);
  return rc;
}

int dk_image_remove(dk_client *c, const char *name, bool force, bool noprune) {
  if (!name)
    return dk__err(DK_EINVAL, 0, "image remove: a name is needed");
  dk_buf q = DK_BUF_INIT(256);
  int rc = dk__query_bool(&q, "force", force);
  if (!rc)
    rc = dk__query_bool(&q, "noprune", noprune);
  char *path = rc ? NULL : dk__object_path("images", name, "", &q);
  dk_buf_free(&q);
  if (!path)
    return dk__err(rc ? rc : DK_ENOMEM, 0, NULL);
  rc = dk__send_json(c, "DELETE", path, NULL, NULL, NULL);
  free(path);
  return rc;
}

/* ---- list, prune ----------------------------------------------------------- */

/* Appends filters={"label":[...],"reference":[...],"dangling":[...]} with
 * only the members that are set. */
static int query_image_filters(dk_buf *q, const char *const *labels, const char *reference,
                               const char *dangling) {
  if ((!labels || !*labels) && !reference && !dangling)
    return DK_OK;
  json_object *f = json_object_new_object();
  const char *ref[] = {reference, NULL}, *dang[] = {dangling, NULL};
  if (f && labels && *labels)
    json_object_object_add(f, "label", dk__json_strv(labels));
  if (f && reference)
    json_object_object_add(f, "reference", dk__json_strv(ref));
  if (f && dangling)
    json_object_object_add(f, "dangling", dk__json_strv(dang));
  return dk__query_filters(q, f);
}

void dk_image_list_free(dk_image_list *l) {
  if (!l)
    return;
  for (size_t i = 0; i < l->count; i++) {
    free(l->items[i].id);
    dk_strv_free(l->items[i].repo_tags);
  }
  free(l->items);
  free(l);
}

int dk_image_list_filtered(dk_image_list **out, dk_client *c, const char *const *labels,
                           const char *reference) {
  *out = NULL;
  dk_buf q = DK_BUF_INIT(64 * 1024);
  int rc = query_image_filters(&q, labels, reference, NULL);
  char *path = rc ? NULL : dk__path("/images/json%s", q.data ? q.data : "");
  dk_buf_free(&q);
  if (!path)
    return dk__err(rc ? rc : DK_ENOMEM, 0, NULL);
  json_object *a = NULL;
  size_t n = 0;
  /* Podman (4.3.1 measured) fails a whole list, 500 "image not known",
   * when an image it listed is removed before it read it: a race with
   * another client's removal, not an engine fault; the list is asked
   * again (a few times: each retry is one more chance to lose it). */
  for (int tries = 0;; tries++) {
    rc = dk__get_json_array(&a, &n, c, path, "image list");
    if (rc != DK_ESERVER || tries == 4 || dk_client_engine(c) != DK_ENGINE_PODMAN ||
        !strstr(dk_error_last()->message, "image not known"))
      break;
  }
  free(path);
  if (rc)
    return rc;
  dk_image_list *l = NULL;
  l = calloc(1, sizeof *l);
  if (!l || !(l->items = calloc(n ? n : 1, sizeof *l->items))) {
    rc = dk__err(DK_ENOMEM, 0, NULL);
    goto cleanup;
  }
  /* Before API 1.43 an untagged image listed "<none>:<none>"; from 1.43 an
   * empty array. Every version gets the 1.43 shape. */
  const char *untagged = dk__api_since(c, "1.43") ? NULL : "<none>:<none>";
  for (size_t i = 0; i < n; i++) {
    json_object *o = json_object_array_get_idx(a, i);
    dk_image_summary *s = &l->items[l->count++];
    json_object *tags = NULL;
    json_object_object_get_ex(o, "RepoTags", &tags);
    s->id = dk__json_strdup(o, "Id");
    s->repo_tags = strv_from_json(tags, untagged);
    s->created = dk__json_int64(o, "Created", 0);
    s->size = dk__json_int64(o, "Size", 0);
    s->containers = (int)dk__json_int64(o, "Containers", -1);
    if (!s->id || !s->repo_tags) {
      rc = dk__err(DK_EPROTO, 0, "image list: an entry without an Id");
      goto cleanup;
    }
  }
  *out = l;
  l = NULL;
cleanup:
  dk_image_list_free(l);
  json_object_put(a);
  return rc;
}

/* Podman's compat prune cannot prune beyond dangling images (it adds its
 * own dangling=true, and refuses our dangling=false beside it: 500); its
 * libpod endpoint can (all=true). The libpod API's path carries a libpod
 * version: 4.0.0 is the oldest Podman 4 and 5 accept. Its answer lists
 * the removed images, [{"Id":..,"Size":..}], an "Err" for one it could not. */
static int podman_prune_all(size_t *deleted, dk_client *c, const char *const *labels) {
  dk_buf q = DK_BUF_INIT(64 * 1024);
  int rc = query_image_filters(&q, labels, NULL, NULL);
  char *path = rc ? NULL
                  : dk__path("/v4.0.0/libpod/images/prune?all=true%s%s", q.data ? "&" : "",
                             q.data ? q.data + 1 : "");
  dk_buf_free(&q);
  if (!path)
    return dk__err(rc ? rc : DK_ENOMEM, 0, NULL);
  dk__req req = {.method = "POST", .path = path, .unversioned = 1, .resp_max = 1024 * 1024};
  dk__resp resp;
  json_object *a = NULL;
  rc = dk__do(c, &req, &resp);
  if (!rc && (dk__parse_json(&a, resp.body.data, resp.body.len) != DK_OK ||
              !json_object_is_type(a, json_type_array)))
    rc = dk__err(DK_EPROTO, 200, "image prune: the answer is not a list");
  for (size_t i = 0; !rc && deleted && i < json_object_array_length(a); i++)
    if (!dk__json_get(json_object_array_get_idx(a, i), "Err"))
      (*deleted)++;
  json_object_put(a);
  dk__resp_free(&resp);
  free(path);
  return rc;
}

int dk_image_prune(size_t *deleted, dk_client *c, const char *const *labels, bool dangling_only) {
  if (deleted)
    *deleted = 0;
  if (!dangling_only && dk__negotiate(c) == DK_OK && dk_client_engine(c) == DK_ENGINE_PODMAN)
    return podman_prune_all(deleted, c, labels);
  dk_buf q = DK_BUF_INIT(64 * 1024);
  int rc = query_image_filters(&q, labels, NULL, dangling_only ? "true" : "false");
  char *path = rc ? NULL : dk__path("/images/prune%s", q.data);
  dk_buf_free(&q);
  if (!path)
    return dk__err(rc ? rc : DK_ENOMEM, 0, NULL);
  json_object *o = NULL;
  rc = dk__send_json(c, "POST", path, NULL, &o, NULL);
  free(path);
  if (rc)
    return rc;
  json_object *a = NULL;
  if (deleted && json_object_object_get_ex(o, "ImagesDeleted", &a) &&
      json_object_is_type(a, json_type_array)) {
    /* Entries are {"Untagged":...} or {"Deleted":...}; an image built in
     * steps also deletes its untagged parent layers' images. */
    for (size_t i = 0; i < json_object_array_length(a); i++)
      if (dk__json_str(json_object_array_get_idx(a, i), "Deleted"))
        (*deleted)++;
  }
  json_object_put(o);
  return DK_OK;
}
