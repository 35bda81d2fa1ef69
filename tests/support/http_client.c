/* A plain HTTP request from a test (see http_client.h). */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "http_client.h"

static size_t on_body(char *p, size_t size, size_t n, void *ud) {
  dk_buf_append(&((t_http_answer *)ud)->body, p, size * n);
  return size * n;
}

/* "Name: value\r\n" into out when the header is name. */
static void header_value(char *out, size_t n, const char *name, const char *line, size_t len) {
  size_t k = strlen(name);
  if (len < k + 2 || strncasecmp(line, name, k) || line[k] != ':')
    return;
  const char *v = line + k + 1;
  size_t vn = len - k - 1;
  while (vn && *v == ' ')
    v++, vn--;
  while (vn && (v[vn - 1] == '\r' || v[vn - 1] == '\n'))
    vn--;
  snprintf(out, n, "%.*s", (int)vn, v);
}

static size_t on_header(char *p, size_t size, size_t n, void *ud) {
  t_http_answer *a = ud;
  header_value(a->type, sizeof a->type, "Content-Type", p, size * n);
  header_value(a->allow, sizeof a->allow, "Allow", p, size * n);
  return size * n;
}

int t_http(t_http_answer *a, const char *method, const char *url) {
  memset(a, 0, sizeof *a);
  dk_buf_init(&a->body, (size_t)16 << 20);
  CURL *e = curl_easy_init();
  if (!e)
    return -1;
  curl_easy_setopt(e, CURLOPT_URL, url);
  curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
  if (!strcmp(method, "POST"))
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, "x=1");
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, a);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, a);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 10000L);
  curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
  CURLcode rc = curl_easy_perform(e);
  if (rc == CURLE_OK)
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &a->status);
  curl_easy_cleanup(e);
  if (!a->body.data)
    dk_buf_append(&a->body, "", 0);
  return rc == CURLE_OK ? 0 : -1;
}
