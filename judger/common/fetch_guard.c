/* The options every download of a handed URL gets (see fetch_guard.h). */
#include <string.h>
#include <sys/socket.h>

#include "common/fetch_guard.h"
#include "common/netaddr.h"

/* curl's socket for each address it connects to (after resolving, and on
 * every redirect): none for a non-public one when only public ones may be
 * reached. */
static curl_socket_t open_socket(void *ud, curlsocktype purpose, struct curl_sockaddr *a) {
  jd_fetch_guard *g = ud;
  (void)purpose;
  if (g->public_only && !jd_addr_is_public(&a->addr)) {
    jd_addr_text(g->refused, sizeof g->refused, &a->addr);
    return CURL_SOCKET_BAD;
  }
  return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

/* A fired cancel token stops the transfer. */
static int progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                    curl_off_t ulnow) {
  const jd_fetch_guard *g = ud;
  (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
  return g->cancel && dk_cancel_fired(g->cancel) ? 1 : 0;
}

void jd_fetch_guard_apply(CURL *h, jd_fetch_guard *g, const char *url) {
  curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, open_socket);
  curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, g);
  curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, progress);
  curl_easy_setopt(h, CURLOPT_XFERINFODATA, g);
  curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR,
                   strncmp(url, "https://", 8) ? "http,https" : "https");
  curl_easy_setopt(h, CURLOPT_PROXY, "");
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
  curl_easy_setopt(h, CURLOPT_FAILONERROR, 1L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
}
