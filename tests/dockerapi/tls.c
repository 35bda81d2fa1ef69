// test-labels: engine
/* TLS against a real engine: each test starts its own dockerd on a loopback
 * tcp port with --tlsverify and certificates made with openssl right now,
 * then connects the way a user would, through DOCKER_HOST,
 * DOCKER_TLS_VERIFY and DOCKER_CERT_PATH.
 *
 * The second daemon shares nothing with the host's: its own network
 * namespace, data-root, exec-root (so its own managed containerd and
 * sockets), pidfile and an empty config file; no bridge, no iptables, the
 * vfs driver (no images are needed). It is up in ~1 s.
 *
 * The network namespace is not optional: dockerd --bridge none DELETES the
 * host's docker0 at start-up (libnetwork removeDefaultBridgeInterface), which
 * breaks every container of the host's engine on the default network. In a
 * namespace of its own, with only lo, it can touch nothing; the test process
 * enters the same namespace, so 127.0.0.1:<port> is the daemon's.
 * The suite's fini stops it and removes its directories even when an
 * assertion failed. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support.h"
#include "common/util.h"

#define DOCKERD "/usr/sbin/dockerd"
#define START_TIMEOUT_MS 30000

static struct {
  int host_ns;          /* fd of the host's network namespace */
  unsigned host_bridge; /* ifindex of the host's docker0 (0 = none) */
  char *dir;            /* everything of the test daemon lives here */
  pid_t pid;            /* the dockerd we started, 0 when none */
  char bridge[16];      /* its own bridge interface, "" when none */
  int port;
  char host[64]; /* "tcp://127.0.0.1:<port>" */
} d;

static char *path_in(const char *name) {
  char *p = NULL;
  cr_assert(asprintf(&p, "%s/%s", d.dir, name) > 0);
  return p;
}

/* Runs a shell command in the test directory; its output goes to a log
 * file shown when it fails. openssl is only a tool of the test here. */
static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *cmd = NULL;
  cr_assert(vasprintf(&cmd, fmt, ap) > 0);
  va_end(ap);
  char *full = NULL;
  cr_assert(asprintf(&full, "cd '%s' && (%s) >>openssl.log 2>&1", d.dir, cmd) > 0);
  int rc = system(full);
  cr_assert(rc == 0, "command failed (%d): %s", rc, cmd);
  free(full);
  free(cmd);
}

/* A CA, a server certificate for 127.0.0.1 and a client certificate, all
 * P-256 (fast to make). Layout as DOCKER_CERT_PATH expects: client/ has
 * ca.pem, cert.pem, key.pem; caonly/ has ca.pem alone; otherca/ has a
 * complete set from an unrelated CA; wrongclient/ trusts our CA but holds
 * the unrelated client certificate. */
static void make_certs(void) {
  /* One shell for all of it: each command is an openssl start-up (~0.1 s). */
  sh("set -e; K='-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes'\n"
     "mkdir -p client caonly otherca wrongclient server\n"
     "openssl req -x509 $K -keyout ca-key.pem -out ca.pem -days 2 -subj '/CN=judger test CA'\n"
     "openssl req $K -keyout server/key.pem -out server.csr -subj '/CN=127.0.0.1'\n"
     "printf 'subjectAltName=IP:127.0.0.1\\nextendedKeyUsage=serverAuth\\n' >server.ext\n"
     "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial"
     " -out server/cert.pem -days 2 -extfile server.ext\n"
     "openssl req $K -keyout client/key.pem -out client.csr -subj '/CN=judger test client'\n"
     "printf 'extendedKeyUsage=clientAuth\\n' >client.ext\n"
     "openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial"
     " -out client/cert.pem -days 2 -extfile client.ext\n"
     "cp ca.pem client/ca.pem; cp ca.pem caonly/ca.pem\n"
     /* an unrelated CA and a client certificate it signed */
     "openssl req -x509 $K -keyout other-ca-key.pem -out otherca/ca.pem -days 2"
     " -subj '/CN=other CA'\n"
     "openssl req $K -keyout otherca/key.pem -out other.csr -subj '/CN=other client'\n"
     "openssl x509 -req -in other.csr -CA otherca/ca.pem -CAkey other-ca-key.pem"
     " -CAcreateserial -out otherca/cert.pem -days 2 -extfile client.ext\n"
     "cp ca.pem wrongclient/ca.pem; cp otherca/cert.pem otherca/key.pem wrongclient/\n");
}

/* Moves the test (and so the daemon it forks) into a new network
 * namespace with loopback up. */
static void own_netns(void) {
  d.host_bridge = if_nametoindex("docker0");
  d.host_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  cr_assert(d.host_ns >= 0, "cannot open the network namespace: %s", strerror(errno));
  cr_assert(unshare(CLONE_NEWNET) == 0, "unshare(CLONE_NEWNET): %s", strerror(errno));
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  cr_assert(fd >= 0);
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
  cr_assert(ioctl(fd, SIOCGIFFLAGS, &ifr) == 0, "SIOCGIFFLAGS lo: %s", strerror(errno));
  ifr.ifr_flags |= IFF_UP;
  cr_assert(ioctl(fd, SIOCSIFFLAGS, &ifr) == 0, "bring lo up: %s", strerror(errno));
  close(fd);
}

/* The host's docker0 as seen from the host's namespace, right now. */
static unsigned host_bridge_now(void) {
  int here = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  cr_assert(here >= 0);
  cr_assert(setns(d.host_ns, CLONE_NEWNET) == 0, "setns host: %s", strerror(errno));
  unsigned idx = if_nametoindex("docker0");
  cr_assert(setns(here, CLONE_NEWNET) == 0, "setns back: %s", strerror(errno));
  close(here);
  return idx;
}

/* A port nobody listens on right now (the kernel picks it). */
static int free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  cr_assert(fd >= 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  socklen_t len = sizeof a;
  cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
  close(fd);
  return ntohs(a.sin_port);
}

static char *log_tail(void) {
  char *p = path_in("dockerd.log");
  char *text = NULL;
  size_t len = 0;
  if (jd_read_file(&text, &len, p, 1 << 20) != 0)
    text = strdup("(no log)");
  free(p);
  if (len > 1500) {
    memmove(text, text + len - 1500, 1501);
  }
  return text;
}

static void start_dockerd(void) {
  d.port = free_port();
  /* NOT "--bridge none": a dockerd started with it deletes the host's
   * docker0 (moby removeDefaultBridgeInterface), which breaks the host's
   * own engine. The test daemon gets a bridge of its own instead. */
  snprintf(d.bridge, sizeof d.bridge, "jdtls%d", d.port);
  char cmd[96];
  snprintf(cmd, sizeof cmd, "ip link add %s type bridge", d.bridge);
  cr_assert(system(cmd) == 0, "cannot create the test bridge %s", d.bridge);
  snprintf(d.host, sizeof d.host, "tcp://127.0.0.1:%d", d.port);
  sh("mkdir -p data exec && echo '{}' >daemon.json");
  char *cfg = path_in("daemon.json"), *ca = path_in("ca.pem"), *cert = path_in("server/cert.pem"),
       *key = path_in("server/key.pem"), *data = path_in("data"), *exec = path_in("exec"),
       *pidf = path_in("dockerd.pid"), *log = path_in("dockerd.log");
  char listen[80];
  snprintf(listen, sizeof listen, "tcp://127.0.0.1:%d", d.port);
  char *argv[] = {DOCKERD,
                  "--config-file",
                  cfg,
                  "--tlsverify",
                  "--tlscacert",
                  ca,
                  "--tlscert",
                  cert,
                  "--tlskey",
                  key,
                  "-H",
                  listen,
                  "--data-root",
                  data,
                  "--exec-root",
                  exec,
                  "--pidfile",
                  pidf,
                  "--bridge",
                  d.bridge,
                  "--iptables=false",
                  "--ip-masq=false",
                  "--storage-driver",
                  "vfs",
                  NULL};
  pid_t pid = fork();
  cr_assert(pid >= 0);
  if (pid == 0) {
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
      _exit(127);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0)
      dup2(devnull, 0);
    setsid(); /* a signal sent to the test's terminal does not reach it */
    execv(DOCKERD, argv);
    _exit(127);
  }
  d.pid = pid;
  free(cfg);
  free(ca);
  free(cert);
  free(key);
  free(data);
  free(exec);
  free(pidf);
  free(log);
}

static void use_env(const char *cert_dir) {
  setenv("DOCKER_HOST", d.host, 1);
  setenv("DOCKER_TLS_VERIFY", "1", 1);
  char *p = path_in(cert_dir);
  setenv("DOCKER_CERT_PATH", p, 1);
  free(p);
  unsetenv("DOCKER_API_VERSION");
}

/* Waits until the daemon answers a client holding the right certificate. */
static void wait_ready(void) {
  use_env("client");
  dk_client *c = NULL;
  t_ok(dk_client_new(&c, NULL));
  int64_t end = dk_now_ms() + START_TIMEOUT_MS;
  int rc = -1;
  while (dk_now_ms() < end) {
    dk_call call = {.deadline_ms = dk_now_ms() + 2000};
    rc = dk_ping(c, &call);
    if (rc == 0)
      break;
    int status;
    if (waitpid(d.pid, &status, WNOHANG) == d.pid) {
      d.pid = 0;
      char *tail = log_tail();
      cr_assert_fail("the test dockerd exited at start-up:\n%s", tail);
    }
    usleep(100 * 1000);
  }
  dk_client_free(c);
  if (rc) {
    char *tail = log_tail();
    cr_assert_fail("the test dockerd did not answer in %d ms:\n%s", START_TIMEOUT_MS, tail);
  }
}

static void setup(void) {
  d.dir = t_tmpdir("tls");
  cr_assert(access(DOCKERD, X_OK) == 0, "dockerd is not installed: run images/setup-host.sh");
  make_certs();
  own_netns();
  start_dockerd();
  wait_ready();
}

/* Reads the pid in a pidfile the test daemon wrote; 0 when none. */
static pid_t pidfile(const char *name) {
  char *p = path_in(name);
  char *text = NULL;
  size_t len;
  pid_t pid = 0;
  if (jd_read_file(&text, &len, p, 64) == 0)
    pid = (pid_t)atoi(text);
  free(text);
  free(p);
  return pid;
}

static int wait_exit(pid_t pid, int ms) {
  for (int k = 0; k < ms / 50; k++) {
    if (waitpid(pid, NULL, WNOHANG) == pid)
      return 1;
    usleep(50 * 1000);
  }
  return 0;
}

static void teardown(void) {
  if (!d.dir)
    return;
  /* dockerd stops its own containerd on SIGTERM; if it has to be killed,
   * that containerd (named in our exec-root) goes too. */
  pid_t ctrd = pidfile("exec/containerd/containerd.pid");
  if (d.pid > 0) {
    kill(d.pid, SIGTERM);
    if (!wait_exit(d.pid, 15000)) {
      kill(d.pid, SIGKILL);
      waitpid(d.pid, NULL, 0);
    }
    d.pid = 0;
  }
  if (ctrd > 0 && kill(ctrd, 0) == 0) {
    kill(ctrd, SIGTERM);
    usleep(500 * 1000);
    if (kill(ctrd, 0) == 0)
      kill(ctrd, SIGKILL);
  }
  if (d.bridge[0]) {
    char cmd[96];
    snprintf(cmd, sizeof cmd, "ip link del %s 2>/dev/null", d.bridge);
    if (system(cmd) != 0) {
      /* already gone */
    }
    d.bridge[0] = '\0';
  }
  t_rmdir(d.dir);
  d.dir = NULL;
  if (d.host_ns > 0)
    close(d.host_ns);
}

TestSuite(tls, .init = setup, .fini = teardown, .timeout = 90);

Test(tls, client_with_certificate_is_served_and_doctor_says_tls) {
  use_env("client");
  dk_client *c = NULL;
  t_ok(dk_client_new(&c, NULL));
  cr_assert(dk_client_tls(c));
  cr_assert_str_eq(dk_client_host(c), d.host);
  t_ok(dk_ping(c, NULL));
  dk_version *v = NULL;
  t_ok(dk_system_version(&v, c));
  cr_assert(v->version && v->version[0]);
  const char *api = NULL;
  t_ok(dk_client_api_version(&api, c));
  char want[16];
  t_ok(dk_api_version_negotiate(want, sizeof want, v->api_version));
  cr_assert_str_eq(api, want);
  dk_info *info = NULL;
  t_ok(dk_system_info(&info, c));
  cr_assert_str_eq(info->storage_driver, "vfs", "this is our daemon, not the host's");
  cr_assert_eq(info->images, 0);
  cr_assert_eq(host_bridge_now(), d.host_bridge, "the host's docker0 changed");
  dk_info_free(info);
  dk_version_free(v);
  dk_client_free(c);

  /* judger doctor sees the same daemon through the same variables. */
  char *out = path_in("doctor.out");
  char *cmd = NULL;
  cr_assert(asprintf(&cmd, "'%s/bin/judger' doctor >'%s' 2>&1", JD_BINARY_DIR, out) > 0);
  int rc = system(cmd);
  char *text = NULL;
  size_t len;
  cr_assert_eq(jd_read_file(&text, &len, out, 1 << 20), 0);
  cr_assert(WIFEXITED(rc) && WEXITSTATUS(rc) == 0, "doctor failed:\n%s", text);
  char line[128];
  snprintf(line, sizeof line, "host:            %s\n", d.host);
  cr_assert(strstr(text, line), "no '%s' in:\n%s", line, text);
  cr_assert(strstr(text, "tls:             yes\n"), "%s", text);
  cr_assert(strstr(text, "storage driver:  vfs\n"), "%s", text);
  free(text);
  free(cmd);
  free(out);
}

static int refused(const char *cert_dir) {
  use_env(cert_dir);
  dk_client *c = NULL;
  t_ok(dk_client_new(&c, NULL));
  dk_call call = {.deadline_ms = dk_now_ms() + 10000};
  int rc = dk_ping(c, &call);
  const dk_error *e = dk_error_last();
  cr_assert_neq(rc, 0, "%s: served", cert_dir);
  cr_assert(e && e->message[0], "%s: no message", cert_dir);
  cr_log_info("%s: %s: %s", cert_dir, dk_error_name(rc), e->message);
  dk_client_free(c);
  return rc;
}

Test(tls, clients_without_the_right_certificate_are_refused) {
  /* No client certificate at all (the docker CLI then sends none, and so do
   * we): the daemon refuses the handshake. */
  int rc = refused("caonly");
  cr_assert_eq(rc, DK_ETLS, "caonly: %s", dk_error_name(rc));
  /* A client certificate the daemon's CA did not sign. */
  rc = refused("wrongclient");
  cr_assert_eq(rc, DK_ETLS, "wrongclient: %s", dk_error_name(rc));
  /* A client that does not trust the daemon's certificate. */
  rc = refused("otherca");
  cr_assert_eq(rc, DK_ETLS, "otherca: %s", dk_error_name(rc));
  /* Plain HTTP to the TLS port: the daemon answers 400, a clean error. */
  unsetenv("DOCKER_TLS_VERIFY");
  dk_client *c = NULL;
  t_ok(dk_client_new(&c, NULL));
  cr_assert_not(dk_client_tls(c));
  rc = dk_ping(c, NULL);
  cr_assert_neq(rc, 0);
  cr_log_info("plain http: %s: %s", dk_error_name(rc), dk_error_last()->message);
  dk_client_free(c);
}
