/* Images: build, inspect, tag, remove, list, prune, import. */
#include <stdlib.h>
#include <string.h>

#include "dockerapi/images.h"
#include "internal.h"

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
 * the import failed even though the status is 200. */
static int import_check(const dk_buf *body) {
  const char *p = body->data;
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
      json_object_put(o);
    }
    p = nl ? nl + 1 : NULL;
  }
  dk_error_clear();
  return DK_OK;
}

int dk_image_import(dk_client *c, size_t (*read)(char *buf, size_t n, void *ud), void *ud,
                    const char *repo, const char *tag, const dk_call *call) {
  if (!read || !repo)
    return dk__err(DK_EINVAL, 0, "image import: a reader and a repository are needed");
  dk_buf q = DK_BUF_INIT(4096);
  int rc = dk__query(&q, "fromSrc", "-");
  if (!rc)
    rc = dk__query(&q, "repo", repo);
  if (!rc && tag)
    rc = dk__query(&q, "tag", tag);
  char *path = rc ? NULL : dk__path("/images/create%s", q.data);
  dk_buf_free(&q);
  if (!path)
    return rc ? rc : dk__err(DK_ENOMEM, 0, NULL);
  dk__req req = {.method = "POST",
                 .path = path,
                 .content_type = "application/x-tar",
                 .upload = read,
                 .upload_ud = ud,
                 .resp_max = 1024 * 1024,
                 .call = call};
  dk__resp resp;
  rc = dk__do(c, &req, &resp);
  if (!rc)
    rc = import_check(&resp.body);
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
  free(i);
}

/* NULL-terminated copy of a JSON array of strings (never NULL on success). */
static char **strv_from_json(json_object *a) {
  size_t n = a && json_object_is_type(a, json_type_array) ? json_object_array_length(a) : 0;
  char **v = calloc(n + 1, sizeof *v);
  if (!v)
    return NULL;
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    const char *s = json_object_get_string(json_object_array_get_idx(a, i));
    if (s && !(v[k++] = strdup(s))) {
      dk_strv_free(v);
      return NULL;
    }
  }
  return v;
}

int dk_image_inspect(dk_image_info **out, dk_client *c, const char *name) {
  *out = NULL;
  char *esc = dk__esc(name);
  char *path = esc ? dk__path("/images/%s/json", esc) : NULL;
  free(esc);
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
  i->repo_tags = strv_from_json(tags);
  if (json_object_object_get_ex(o, "Size", &size))
    i->size = json_object_get_int64(size);
  i->raw_json = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
  json_object_put(o);
  if (!i->id || !i->repo_tags || !i->raw_json) {
    dk_image_info_free(i);
    return dk__err(DK_EPROTO, 0, "image inspect: answer without an Id");
  }
  *out = i;
  return DK_OK;
}
