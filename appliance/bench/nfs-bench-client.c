/*
 * The NFS benchmark's client: one libnfs (libnfs-dev 4.0) context on its
 * async API, QD calls in flight, one workload per run, one JSON line out:
 *
 *   {"op":"seqwrite","seconds":S,"bytes":B,"ops":N}
 *
 *   nfs-bench-client URL seqwrite FILE MIB QD [OFFSET_MIB]   1 MiB WRITEs, then COMMIT
 *   nfs-bench-client URL seqread  FILE MIB QD [OFFSET_MIB]   1 MiB READs
 *   nfs-bench-client URL randread FILE MIB NOPS QD           4 KiB READs at random 4 KiB offsets
 *   nfs-bench-client URL create   DIR NFILES QD              CREATE + 4 KiB WRITE + close per file
 *   nfs-bench-client URL stat     DIR NFILES QD              stat DIR/fN: LOOKUP + GETATTR
 *   nfs-bench-client URL readdir  DIR                        READDIRPLUS of the whole directory
 *   nfs-bench-client tcp read  FILE MIB                      the limit of one TCP connection here:
 *   nfs-bench-client tcp write FILE MIB                      see run_tcp()
 *
 * URL names the export: nfs://127.0.0.1/export?version=3&nfsport=P&mountport=M.
 * Every call is bounded (nfs_set_timeout); a failure prints "FAIL …" and exits 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <time.h>
#include <nfsc/libnfs.h>

#define MIB (1024 * 1024)

static struct nfs_context *nfs;
static int pending;
static uint64_t ops, bytes;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void fail(const char *what, int err, void *data) {
  printf("FAIL %s: %s (%s)\n", what, err < 0 ? strerror(-err) : "", data && err < 0 ? (char *)data : nfs_get_error(nfs));
  exit(1);
}

/* Services the socket until no call is in flight. */
static void drain(void) {
  while (pending > 0) {
    struct pollfd p = { .fd = nfs_get_fd(nfs), .events = nfs_which_events(nfs) };
    if (poll(&p, 1, 100) < 0 && errno != EINTR) fail("poll", -errno, NULL);
    if (nfs_service(nfs, p.revents) < 0) fail("service", 0, NULL);
  }
}

static void report(const char *op, double seconds) {
  printf("{\"op\":\"%s\",\"seconds\":%.6f,\"bytes\":%" PRIu64 ",\"ops\":%" PRIu64 "}\n", op, seconds, bytes, ops);
}

/* ------------------------------------------------------------ sequential and random I/O */

static struct nfsfh *fh;
static char *wbuf;
static uint64_t next_off, end_off, io_size, rand_left, rand_span;

static void io_cb(int err, struct nfs_context *n, void *data, void *priv);

static int issue(int write) {
  if (rand_span) {
    if (rand_left == 0) return 0;
    rand_left--;
    uint64_t off = ((uint64_t)rand() % (rand_span / 4096)) * 4096;
    pending++;
    return nfs_pread_async(nfs, fh, off, 4096, io_cb, NULL);
  }
  if (next_off >= end_off) return 0;
  uint64_t off = next_off;
  next_off += io_size;
  pending++;
  return write ? nfs_pwrite_async(nfs, fh, off, io_size, wbuf, io_cb, (void *)1) : nfs_pread_async(nfs, fh, off, io_size, io_cb, NULL);
}

static void io_cb(int err, struct nfs_context *n, void *data, void *priv) {
  (void)n;
  pending--;
  if (err < 0) fail(priv ? "write" : "read", err, data);
  ops++;
  bytes += (uint64_t)err;
  if (issue(priv != NULL) < 0) fail("queue", 0, NULL);
}

static void fsync_cb(int err, struct nfs_context *n, void *data, void *priv) {
  (void)n, (void)priv;
  pending--;
  if (err < 0) fail("commit", err, data);
}

static void run_io(const char *op, const char *file, uint64_t mib, int qd, uint64_t offset_mib, uint64_t nops) {
  int write = strcmp(op, "seqwrite") == 0;
  int flags = write ? O_RDWR | O_CREAT : O_RDONLY;
  if (write) {
    if (nfs_open2(nfs, file, flags, 0644, &fh) != 0) fail("open", 0, NULL);
  } else if (nfs_open(nfs, file, flags, &fh) != 0) {
    fail("open", 0, NULL);
  }
  io_size = MIB;
  wbuf = malloc(MIB);
  for (int i = 0; i < MIB; i++) wbuf[i] = (char)(i * 7 + 1);
  next_off = offset_mib * MIB;
  end_off = next_off + mib * MIB;
  if (strcmp(op, "randread") == 0) {
    rand_span = mib * MIB;
    rand_left = nops;
    srand(12345);
  }
  double t0 = now();
  for (int i = 0; i < qd; i++)
    if (issue(write) < 0) fail("queue", 0, NULL);
  drain();
  if (write) {
    pending++;
    if (nfs_fsync_async(nfs, fh, fsync_cb, NULL) != 0) fail("commit", 0, NULL);
    drain();
  }
  report(op, now() - t0);
  nfs_close(nfs, fh);
}

/* ------------------------------------------------------------ metadata */

static const char *dir;
static int next_file, nfiles;
static char block[4096];

struct job {
  char path[512];
  struct nfsfh *fh;
};

static void create_next(void);

static void closed_cb(int err, struct nfs_context *n, void *data, void *priv) {
  (void)n;
  pending--;
  if (err < 0) fail("close", err, data);
  free(priv);
  ops++;
  create_next();
}

static void written_cb(int err, struct nfs_context *n, void *data, void *priv) {
  struct job *j = priv;
  (void)n;
  if (err < 0) fail("write", err, data);
  bytes += (uint64_t)err;
  if (nfs_close_async(nfs, j->fh, closed_cb, j) != 0) fail("close", 0, NULL);
}

static void created_cb(int err, struct nfs_context *n, void *data, void *priv) {
  struct job *j = priv;
  (void)n;
  if (err < 0) fail("create", err, data);
  j->fh = data;
  if (nfs_pwrite_async(nfs, j->fh, 0, sizeof block, block, written_cb, j) != 0) fail("write", 0, NULL);
}

static void create_next(void) {
  if (next_file >= nfiles) return;
  struct job *j = calloc(1, sizeof *j);
  snprintf(j->path, sizeof j->path, "%s/f%d", dir, next_file++);
  pending++;
  if (nfs_create_async(nfs, j->path, O_RDWR | O_CREAT | O_TRUNC, 0644, created_cb, j) != 0) fail("create", 0, NULL);
}

static void stat_next(void);

static void stat_cb(int err, struct nfs_context *n, void *data, void *priv) {
  (void)n, (void)priv;
  pending--;
  if (err < 0) fail("stat", err, data);
  ops++;
  stat_next();
}

static char stat_path[512];

static void stat_next(void) {
  if (next_file >= nfiles) return;
  snprintf(stat_path, sizeof stat_path, "%s/f%d", dir, next_file++);
  pending++;
  if (nfs_stat64_async(nfs, stat_path, stat_cb, NULL) != 0) fail("stat", 0, NULL);
}

static void run_meta(const char *op, const char *d, int n, int qd) {
  dir = d;
  nfiles = n;
  memset(block, 'x', sizeof block);
  if (strcmp(op, "create") == 0) nfs_mkdir(nfs, d); /* may exist */
  double t0 = now();
  for (int i = 0; i < qd; i++) strcmp(op, "create") == 0 ? create_next() : stat_next();
  drain();
  report(op, now() - t0);
}

static void run_readdir(const char *d) {
  struct nfsdir *nd;
  double t0 = now();
  if (nfs_opendir(nfs, d, &nd) != 0) fail("opendir", 0, NULL);
  while (nfs_readdir(nfs, nd)) ops++;
  double t = now() - t0;
  nfs_closedir(nfs, nd);
  report("readdir", t);
}

/* ------------------------------------------------------------ one TCP connection, no NFS */

/*
 * What one loopback TCP connection carries on this machine when the server
 * does the least work there is, as the ceiling for the single-client
 * sequential rows (fio measures the disk and page cache, not the network):
 *   read:  a forked peer sends FILE's first MIB MiB with sendfile (page cache
 *          to socket, as Cairn's READ does); this process reads them in
 *          1 MiB read(2) calls, as a client's receive buffer.
 *   write: a forked peer writes MIB MiB in 1 MiB calls; this process reads
 *          each 1 MiB whole and pwrites it into FILE, then fdatasync (as a
 *          server's WRITEs and COMMIT).
 * Streamed, with no request/reply turn: an upper bound, not a protocol.
 */
static int tcp_pair(int *peer_fd) {
  int l = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
  socklen_t al = sizeof a;
  if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) || listen(l, 1) || getsockname(l, (struct sockaddr *)&a, &al)) fail("listen", -errno, NULL);
  pid_t pid = fork();
  if (pid < 0) fail("fork", -errno, NULL);
  if (pid == 0) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof a)) _exit(1);
    *peer_fd = s;
    return 0;
  }
  int s = accept(l, NULL, NULL);
  if (s < 0) fail("accept", -errno, NULL);
  int one = 1;
  setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  close(l);
  *peer_fd = s;
  return pid;
}

static void read_whole(int s, char *buf, size_t n) {
  for (size_t got = 0; got < n;) {
    ssize_t r = read(s, buf + got, n - got);
    if (r <= 0) fail("tcp read", r < 0 ? -errno : -EPIPE, NULL);
    got += (size_t)r;
  }
}

static void run_tcp(const char *mode, const char *file, uint64_t mib) {
  char *buf = malloc(MIB);
  memset(buf, 'x', MIB);
  int s;
  int reading = strcmp(mode, "read") == 0;
  int fd = reading ? open(file, O_RDONLY) : open(file, O_WRONLY | O_CREAT, 0644);
  if (fd < 0) fail("open", -errno, NULL);
  pid_t peer = tcp_pair(&s);
  if (peer == 0) { /* the peer: sends (read mode: the server) or writes (write mode: the client) */
    for (uint64_t i = 0; i < mib; i++) {
      off_t off = (off_t)(i * MIB);
      for (size_t sent = 0; sent < MIB;) {
        ssize_t r = reading ? sendfile(s, fd, &off, MIB - sent) : write(s, buf + sent, MIB - sent);
        if (r <= 0) _exit(1);
        sent += (size_t)r;
      }
    }
    _exit(0);
  }
  double t0 = now();
  for (uint64_t i = 0; i < mib; i++) {
    read_whole(s, buf, MIB);
    if (!reading && pwrite(fd, buf, MIB, (off_t)(i * MIB)) != MIB) fail("pwrite", -errno, NULL);
    bytes += MIB;
    ops++;
  }
  if (!reading && fdatasync(fd)) fail("fdatasync", -errno, NULL);
  report(reading ? "tcpread" : "tcpwrite", now() - t0);
  int status = 0;
  waitpid(peer, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) fail("tcp peer", -EIO, NULL);
}

int main(int argc, char **argv) {
  if (argc == 5 && !strcmp(argv[1], "tcp")) {
    run_tcp(argv[2], argv[3], strtoull(argv[4], 0, 10));
    return 0;
  }
  if (argc < 4) {
    fprintf(stderr, "usage: %s URL OP ARGS… (see the source)\n", argv[0]);
    return 2;
  }
  nfs = nfs_init_context();
  if (!nfs) fail("init", 0, NULL);
  nfs_set_timeout(nfs, 120000);
  nfs_set_autoreconnect(nfs, 0);
  struct nfs_url *url = nfs_parse_url_dir(nfs, argv[1]);
  if (!url) fail("url", 0, NULL);
  if (nfs_mount(nfs, url->server, url->path) != 0) fail("mount", 0, NULL);
  const char *op = argv[2];
  if (!strcmp(op, "seqwrite") || !strcmp(op, "seqread")) {
    if (argc < 6) return 2;
    run_io(op, argv[3], strtoull(argv[4], 0, 10), atoi(argv[5]), argc > 6 ? strtoull(argv[6], 0, 10) : 0, 0);
  } else if (!strcmp(op, "randread")) {
    if (argc < 7) return 2;
    run_io(op, argv[3], strtoull(argv[4], 0, 10), atoi(argv[6]), 0, strtoull(argv[5], 0, 10));
  } else if (!strcmp(op, "create") || !strcmp(op, "stat")) {
    if (argc < 6) return 2;
    run_meta(op, argv[3], atoi(argv[4]), atoi(argv[5]));
  } else if (!strcmp(op, "readdir")) {
    run_readdir(argv[3]);
  } else {
    fprintf(stderr, "unknown op %s\n", op);
    return 2;
  }
  nfs_destroy_url(url);
  nfs_destroy_context(nfs);
  return 0;
}
