// test-labels: unit
/* judger/common/watch_token.c: tokens are HMAC-SHA256 (RFC 4231 vector),
 * checked in constant time, per task; key files are bounded, regular,
 * never followed through a link, never readable by others. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common/watch_token.h"
#include "support.h"

static const unsigned char KEY[] = "0123456789abcdef-a-watch-key";
#define KEYLEN (sizeof KEY - 1)

Test(watch_token, is_the_hmac_of_the_prefixed_task_id) {
  char tok[JD_WATCH_TOKEN_HEX + 1];
  cr_assert_eq(jd_watch_token(tok, KEY, KEYLEN, "m-42"), 0);
  cr_assert_eq(strlen(tok), JD_WATCH_TOKEN_HEX);
  unsigned char mac[32];
  unsigned int n = 0;
  const char *msg = "judger-watch:m-42";
  HMAC(EVP_sha256(), KEY, (int)KEYLEN, (const unsigned char *)msg, strlen(msg), mac, &n);
  char want[65];
  for (int i = 0; i < 32; i++)
    snprintf(want + 2 * i, 3, "%02x", mac[i]);
  cr_assert_str_eq(tok, want);
  /* RFC 4231 test case 2 checks the HMAC itself through the same call. */
  unsigned char jefe[] = "Jefe";
  const char *m2 = "what do ya want for nothing?";
  HMAC(EVP_sha256(), jefe, 4, (const unsigned char *)m2, strlen(m2), mac, &n);
  cr_assert_eq(mac[0], 0x5b);
  cr_assert_eq(mac[31], 0x43);
}

Test(watch_token, accepts_its_own_token_only) {
  char tok[JD_WATCH_TOKEN_HEX + 1];
  cr_assert_eq(jd_watch_token(tok, KEY, KEYLEN, "task-1"), 0);
  cr_assert(jd_watch_token_ok(tok, KEY, KEYLEN, "task-1"));
  cr_assert_not(jd_watch_token_ok(tok, KEY, KEYLEN, "task-2"), "another task's token");
  cr_assert_not(jd_watch_token_ok(tok, (const unsigned char *)"another-key-000000", 18, "task-1"));
  char upper[JD_WATCH_TOKEN_HEX + 1];
  for (int i = 0; i <= JD_WATCH_TOKEN_HEX; i++)
    upper[i] = (char)(tok[i] >= 'a' && tok[i] <= 'f' ? tok[i] - 32 : tok[i]);
  cr_assert(jd_watch_token_ok(upper, KEY, KEYLEN, "task-1"), "hex case is ignored");
  char bad[JD_WATCH_TOKEN_HEX + 2];
  memcpy(bad, tok, sizeof tok);
  bad[10] = bad[10] == '0' ? '1' : '0';
  cr_assert_not(jd_watch_token_ok(bad, KEY, KEYLEN, "task-1"), "one digit off");
  memcpy(bad, tok, sizeof tok);
  bad[JD_WATCH_TOKEN_HEX - 1] = '\0';
  cr_assert_not(jd_watch_token_ok(bad, KEY, KEYLEN, "task-1"), "too short");
  memcpy(bad, tok, sizeof tok);
  bad[JD_WATCH_TOKEN_HEX] = 'a';
  bad[JD_WATCH_TOKEN_HEX + 1] = '\0';
  cr_assert_not(jd_watch_token_ok(bad, KEY, KEYLEN, "task-1"), "too long");
  cr_assert_not(jd_watch_token_ok(NULL, KEY, KEYLEN, "task-1"));
  cr_assert_not(jd_watch_token_ok(tok, KEY, 0, "task-1"), "no key");
  cr_assert_not(jd_watch_token_ok("", KEY, KEYLEN, "task-1"));
  cr_assert_neq(jd_watch_token(tok, KEY, KEYLEN, ""), 0);
}

static char *write_key(const char *dir, const char *name, const char *body, size_t len) {
  char *path = NULL;
  cr_assert(asprintf(&path, "%s/%s", dir, name) > 0);
  FILE *f = fopen(path, "wb");
  cr_assert(f);
  cr_assert_eq(fwrite(body, 1, len, f), len);
  fclose(f);
  cr_assert_eq(chmod(path, 0600), 0);
  return path;
}

Test(watch_token, a_key_file_readable_by_others_is_refused) {
  char *dir = t_tmpdir("watchkey");
  char err[256] = "";
  unsigned char *key = NULL;
  size_t len = 0;
  char *p = write_key(dir, "k", "0123456789abcdefXYZ\n", 20);
  cr_assert_eq(chmod(p, 0644), 0);
  cr_assert_eq(jd_watch_key_read(&key, &len, p, err, sizeof err), -1, "0644 is refused");
  cr_assert_null(key);
  cr_assert(strstr(err, p) && strstr(err, "readable by others: chmod o-r"), "%s", err);
  cr_assert_eq(chmod(p, 0604), 0);
  cr_assert_eq(jd_watch_key_read(&key, &len, p, err, sizeof err), -1, "0604 is refused");
  cr_assert_eq(chmod(p, 0640), 0);
  cr_assert_eq(jd_watch_key_read(&key, &len, p, err, sizeof err), 0, "group may read: %s", err);
  free(key);
  cr_assert_eq(chmod(p, 0400), 0);
  cr_assert_eq(jd_watch_key_read(&key, &len, p, err, sizeof err), 0, "%s", err);
  free(key);
  free(p);
  t_rmdir(dir);
}

Test(watch_token, key_files_are_bounded_regular_and_not_links) {
  char *dir = t_tmpdir("watchkey");
  char err[256] = "";
  unsigned char *key = NULL;
  size_t len = 0;
  char *p = write_key(dir, "ok", "0123456789abcdefXYZ\n", 20);
  cr_assert_eq(jd_watch_key_read(&key, &len, p, err, sizeof err), 0, "%s", err);
  cr_assert_eq(len, 19, "the trailing newline is dropped");
  cr_assert_eq(memcmp(key, "0123456789abcdefXYZ", 19), 0);
  free(key);
  char *link = NULL;
  cr_assert(asprintf(&link, "%s/link", dir) > 0);
  cr_assert_eq(symlink(p, link), 0);
  cr_assert_eq(jd_watch_key_read(&key, &len, link, err, sizeof err), -1, "a link is refused");
  cr_assert_null(key);
  char *shortk = write_key(dir, "short", "short\n", 6);
  cr_assert_eq(jd_watch_key_read(&key, &len, shortk, err, sizeof err), -1);
  cr_assert(strstr(err, "16"), "%s", err);
  size_t big = JD_WATCH_KEY_MAX + 10;
  char *body = malloc(big);
  memset(body, 'k', big);
  char *bigk = write_key(dir, "big", body, big);
  cr_assert_eq(jd_watch_key_read(&key, &len, bigk, err, sizeof err), -1, "too big");
  cr_assert_eq(jd_watch_key_read(&key, &len, dir, err, sizeof err), -1, "a directory");
  char *fifo = NULL;
  cr_assert(asprintf(&fifo, "%s/fifo", dir) > 0);
  cr_assert_eq(mkfifo(fifo, 0600), 0);
  cr_assert_eq(jd_watch_key_read(&key, &len, fifo, err, sizeof err), -1, "a FIFO never blocks");
  cr_assert_eq(jd_watch_key_read(&key, &len, "/nonexistent/key", err, sizeof err), -1);
  free(body);
  free(p);
  free(link);
  free(shortk);
  free(bigk);
  free(fifo);
  t_rmdir(dir);
}
