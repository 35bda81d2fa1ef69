/* The live benchmark's game logic (tests/bench/live.c): a static program
 * run from the busybox image with its directory at /app. It starts no
 * player: it waits lead_ms, sends `frames` frames (docs/protocol.md
 * "Frames"), `rate` a second (0: back to back), then ends the match.
 *
 * Config (match.json "config", integers):
 *   frames   frames to send (0..100000)
 *   rate     frames a second (0..10000; 0 = as fast as the pipe takes them)
 *   pad      bytes of padding in each frame's data (0..1048576)
 *   lead_ms  wait before the first frame (0..60000): the watchers connect
 *
 * Each frame: {"cmd":"frame","data":{"i":K,"t":T,"p":"xx.."}} where T is
 * the send time in unix ms with 3 decimals (CLOCK_REALTIME: the container
 * shares the host's clock) taken just before its write(2). The end:
 * {"cmd":"end","scores":[0],"messages":["send_us=N"]} where N is the time
 * from the first frame's write to the last one's return, in µs (what the
 * judger's reading of the pipe cost the game). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_PAD (1 << 20)

typedef struct cfg {
  long frames, rate, pad, lead_ms;
} cfg;

static int64_t mono_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

static double unix_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  return (double)t.tv_sec * 1000.0 + (double)t.tv_nsec / 1e6;
}

static long clamp(long v, long lo, long hi) {
  return v < lo ? lo : v > hi ? hi : v;
}

/* The number after "key": in text, or def. */
static long json_long(const char *text, const char *key, long def) {
  char pat[64];
  snprintf(pat, sizeof pat, "\"%s\"", key);
  const char *p = strstr(text, pat);
  if (!p)
    return def;
  p += strlen(pat);
  while (*p == ' ' || *p == '\t' || *p == '\n' || *p == ':')
    p++;
  char *end = NULL;
  long v = strtol(p, &end, 10);
  return end == p ? def : v;
}

static int read_config(cfg *c) {
  static char text[1 << 16];
  int fd = open("/judger/match.json", O_RDONLY);
  ssize_t n = fd >= 0 ? read(fd, text, sizeof text - 1) : -1;
  if (fd >= 0)
    close(fd);
  if (n <= 0)
    return -1;
  text[n] = 0;
  const char *conf = strstr(text, "\"config\"");
  if (!conf)
    return -1;
  c->frames = clamp(json_long(conf, "frames", 100), 0, 100000);
  c->rate = clamp(json_long(conf, "rate", 0), 0, 10000);
  c->pad = clamp(json_long(conf, "pad", 0), 0, MAX_PAD);
  c->lead_ms = clamp(json_long(conf, "lead_ms", 0), 0, 60000);
  return 0;
}

static int say(int fd, const char *s, size_t n) {
  while (n) {
    ssize_t w = write(fd, s, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return -1;
    s += w, n -= (size_t)w;
  }
  return 0;
}

static void sleep_until_us(int64_t at) {
  int64_t left = at - mono_us();
  if (left <= 0)
    return;
  struct timespec t = {left / 1000000, (left % 1000000) * 1000};
  nanosleep(&t, NULL);
}

int main(void) {
  cfg c;
  int fd = open("/judger/cmd", O_WRONLY);
  if (fd < 0 || read_config(&c))
    return 1;
  size_t cap = (size_t)c.pad + 256;
  char *line = malloc(cap), *pad = malloc((size_t)c.pad + 1);
  if (!line || !pad)
    return 1;
  memset(pad, 'x', (size_t)c.pad);
  pad[c.pad] = 0;
  sleep_until_us(mono_us() + c.lead_ms * 1000);
  int64_t t0 = mono_us(), t1 = t0;
  for (long k = 0; k < c.frames; k++) {
    if (c.rate)
      sleep_until_us(t0 + k * 1000000 / c.rate);
    int n = snprintf(
        line, cap,
        "{\"cmd\":\"frame\",\"data\":{\"i\":%ld,\"t\":%.3f,\"p\":\"%s\"}}\n", k,
        unix_ms(), pad);
    if (n < 0 || say(fd, line, (size_t)n))
      return 1;
    t1 = mono_us();
  }
  char end[128];
  int n = snprintf(
      end, sizeof end,
      "{\"cmd\":\"end\",\"scores\":[0],\"messages\":[\"send_us=%lld\"]}\n",
      (long long)(t1 - t0));
  return say(fd, end, (size_t)n) ? 1 : 0;
}
