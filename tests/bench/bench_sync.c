/* SPDX-License-Identifier: MIT */
/*
 * bench_sync - how fast kortnod replicates over the network, with real kortnod processes on
 * 127.0.0.1 in a fresh temporary directory (removed at the end):
 *
 *     bench_sync [--entries N] [--feeds F] [--domain both|off|on] [--live N] [--live-gap-ms MS]
 *                [--live-plain] [--handshakes N] [--only catchup,live,shs] [--threads T]
 *                [--kortnod PATH] [--dir DIR] [--keep]
 *
 *   --entries N       entries in the hub's log for the catch-up (default 100000)
 *   --feeds F         feeds they are spread over, each of its own identity (default 100)
 *   --domain MODE     which empty offices catch up (default both): off, an office made without
 *                     --hub, which keeps the log only (replication alone); on, an office made
 *                     with --hub, as offices are, which also applies every batch to the card
 *                     domain's projection; --no-hub is --domain off
 *   --live N          entries written one at a time for the live latency (default 1000)
 *   --live-gap-ms MS  after each one became visible, wait a random 0..MS ms (default 100), so
 *                     that writes fall at random moments of the daemons' timers
 *   --live-plain      live entries by store_append without deps, not store_domain_write
 *   --handshakes N    secret handshakes, both ends in this process (default 3000)
 *   --only LIST       run only these parts (comma-separated: catchup, live, shs)
 *   --threads T       signing threads for the generator (default: the CPUs online)
 *   --kortnod PATH    the kortnod program (default $KORTNOD, else ../node/kortnod beside this)
 *   --dir DIR         where to create the temporary directory (default $TMPDIR or /tmp)
 *   --keep            leave the data directories there
 *
 * 1. Catch-up. `kortnod init` makes a hub and the empty offices (same network key). N entries
 *    of ~200-byte canonical msgpack payloads (type bench.note, which the card domain records as
 *    invalid: an unknown type) over F feeds are signed here (store_entry_sign, F identities, in
 *    threads) and store_ingest'ed into the hub's database in big batches. Then, for each office,
 *    `kortnod run` at the hub and `kortnod sync` at the office; the figure is N / the sync
 *    process's wall time. Wire bytes are what the office read from its socket (the "bytes in"
 *    kortnod sync prints: handshake, clock and every box-stream frame), against the stored
 *    bytes (signed headers + payloads). Peak RSS and CPU time of each process from wait4(), the
 *    processes being forked by a small launcher process (see launcher_start). The office's log
 *    is checked to hold the N entries afterwards. With the card domain on, the office applies
 *    what arrived once the hub says "synced" (in bounded steps: docs/events.md), and the
 *    figure includes that: the sync process exits when the projection is complete.
 * 2. Live latency. The two nodes as daemons (`kortnod run`), the office dialling the hub. This
 *    process writes to the hub's feed (its own connection to the hub's database, the hub's key)
 *    one entry at a time: an "office.registered" event through store_domain_write, as `kortnod
 *    office register` would (--live-plain: a bare store_append without deps, as `kortnod log
 *    append`), and polls the office's database read-only (max(seq) of the hub's feed in the log
 *    and in the projection, every 0.2 ms) until it is there: commit-to-visible, median and p99.
 *    The office is the one with the card domain unless --domain off. Runs on the catch-up's
 *    nodes when both parts run (the office then holds N entries).
 * 3. Handshakes per second: sync_shs client and server in one thread, in memory; and the
 *    box-stream's seal + open throughput.
 *
 * One line per figure, with [target ...: met|MISSED] where there is a target. Run it from a
 * release build: meson setup build-rel -Dbuildtype=release && meson compile -C build-rel &&
 * build-rel/tests/bench_sync; the big run: --entries 1000000 --feeds 500.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include <msgpack.h>
#include <sodium.h>
#include <sqlite3.h>

#include "bench.h"
#include "store.h"
#include "sync.h"

#define PAYLOAD_TARGET    200
#define PAYLOAD_MAX       256
#define ENTRY_ROOM        640    /* arena bytes per entry: a ~190-byte signed header + payload */
#define ROUND_ENTRIES     100000 /* entries signed and ingested per generator round */
#define INGEST_BATCH      5000
#define TARGET_RATE       50000.0
#define TARGET_RATIO      1.15
#define TARGET_RSS_MB     64.0
#define READY_TIMEOUT_S   20.0
#define VISIBLE_TIMEOUT_S 10.0
#define POLL_INTERVAL_NS  200000L
#define LIVE_WARMUP       5
#define MAX_CHILDREN      8

struct opts {
    size_t entries, feeds, live, handshakes;
    unsigned live_gap_ms, threads;
    bool catchup, live_on, shs, live_plain, keep;
    int domain; /* DOMAIN_BOTH, DOMAIN_OFF, DOMAIN_ON */
    const char *dir, *kortnod;
};

enum { DOMAIN_BOTH, DOMAIN_OFF, DOMAIN_ON };
static struct opts o;
static char tmpdir[4096];
static int failures;
static pid_t children[MAX_CHILDREN];

/* ---- small helpers ---- */

static void sleep_ns(long ns)
{
    struct timespec t = { ns / 1000000000L, ns % 1000000000L };
    while (nanosleep(&t, &t) < 0 && errno == EINTR)
        ;
}

static int launcher_fd = -1;
static double last_cpu_s; /* CPU time of the child reaped last */
static pid_t launcher_pid;

static void kill_children(void)
{
    for (int i = 0; i < MAX_CHILDREN; i++)
        if (children[i] > 0) {
            kill(children[i], SIGTERM);
            children[i] = 0;
        }
    /* The launcher reaps them when its socket closes, then exits. */
    if (launcher_fd >= 0) {
        close(launcher_fd);
        launcher_fd = -1;
        waitpid(launcher_pid, NULL, 0);
    }
}

static void remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char path[4400];
    struct stat st;
    if (!d)
        return;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
            remove_tree(path);
        else
            unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

__attribute__((noreturn)) static void bail(void)
{
    kill_children();
    if (tmpdir[0] && !o.keep)
        remove_tree(tmpdir);
    else if (tmpdir[0])
        fprintf(stderr, "bench_sync: data kept in %s\n", tmpdir);
    exit(1);
}

__attribute__((format(printf, 1, 2), noreturn)) static void fatal(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "bench_sync: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    bail();
}

static void check(const char *what, int err)
{
    if (err < 0)
        fatal("%s: %s", what, kn_strerror(err));
}

static void target(bool met, const char *what)
{
    /* Not a test: a missed target is reported, never a failure (exit 1 is for wrong results). */
    printf(" [target %s: %s]", what, met ? "met" : "MISSED");
}

static char *path_in(const char *dir, const char *name)
{
    size_t len = strlen(dir) + strlen(name) + 2;
    char *p = malloc(len);
    if (!p)
        abort();
    snprintf(p, len, "%s/%s", dir, name);
    return p;
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t len = 0, cap = 0, got;
    if (!f)
        return NULL;
    do {
        if (cap - len < 4096) {
            cap = cap ? 2 * cap : 8192;
            buf = realloc(buf, cap);
            if (!buf)
                abort();
        }
        got = fread(buf + len, 1, cap - len - 1, f);
        len += got;
    } while (got > 0);
    buf[len] = '\0';
    fclose(f);
    return buf;
}

/* ---- kortnod processes ---- */

/*
 * The kortnod processes are forked by a small launcher process, itself forked at the start of
 * main while this one is still small. Linux counts in a child's peak RSS (ru_maxrss) the memory
 * of the process it was forked from, as it was at the fork (the child's copy before exec), so
 * forking from here after the generator ran would add this process's RSS to every figure.
 */
enum { L_SPAWN = 1, L_WAIT, L_POLL };

struct l_req {
    int op;
    pid_t pid;
    char out[4200], err[4200];
    int argc;
    char args[3072]; /* argc strings, each NUL-terminated */
};

struct l_resp {
    pid_t pid;
    int status; /* -1: still running (L_POLL) */
    long maxrss_kb;
    double cpu_s; /* user + system */
    int err;
};

static bool full_io(int fd, void *buf, size_t len, bool wr)
{
    uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = wr ? write(fd, p, len) : read(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        p += n;
        len -= (size_t)n;
    }
    return true;
}

__attribute__((noreturn)) static void launcher_main(int fd)
{
    pid_t spawned[64];
    size_t nspawned = 0;
    struct l_req q;
    while (full_io(fd, &q, sizeof(q), false)) {
        struct l_resp a = { 0 };
        struct rusage ru;
        int status;
        if (q.op == L_SPAWN) {
            char *argv[40];
            char *p = q.args;
            int n = 0;
            for (; n < q.argc && n < 39; n++, p += strlen(p) + 1)
                argv[n] = p;
            argv[n] = NULL;
            a.pid = fork();
            if (a.pid == 0) {
                int fo = open(q.out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
                int fe = open(q.err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
                if (fo < 0 || fe < 0 || dup2(fo, 1) < 0 || dup2(fe, 2) < 0)
                    _exit(127);
                close(fo);
                close(fe);
                close(fd);
                execv(argv[0], argv);
                _exit(127);
            }
            a.err = a.pid < 0 ? errno : 0;
            if (a.pid > 0 && nspawned < 64)
                spawned[nspawned++] = a.pid;
        } else {
            pid_t r;
            do
                r = wait4(q.pid, &status, q.op == L_POLL ? WNOHANG : 0, &ru);
            while (r < 0 && errno == EINTR);
            a.pid = q.pid;
            a.err = r < 0 ? errno : 0;
            a.status = r == 0 ? -1 : status;
            a.maxrss_kb = r > 0 ? ru.ru_maxrss : 0;
            a.cpu_s = r > 0 ? (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                                  (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6
                            : 0;
        }
        if (!full_io(fd, &a, sizeof(a), true))
            break;
    }
    /* The benchmark is over (or died): stop what is left of ours and go. */
    for (size_t i = 0; i < nspawned; i++)
        if (waitpid(spawned[i], NULL, WNOHANG) == 0)
            kill(spawned[i], SIGTERM);
    while (wait(NULL) > 0 || errno == EINTR)
        ;
    _exit(0);
}

static void launcher_start(void)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) {
        perror("bench_sync: socketpair");
        exit(1);
    }
    fflush(stdout);
    fflush(stderr);
    launcher_pid = fork();
    if (launcher_pid < 0) {
        perror("bench_sync: fork");
        exit(1);
    }
    if (launcher_pid == 0) {
        close(sv[0]);
        launcher_main(sv[1]);
    }
    close(sv[1]);
    launcher_fd = sv[0];
}

static struct l_resp launcher_call(const struct l_req *q)
{
    struct l_resp a;
    if (launcher_fd < 0 || !full_io(launcher_fd, (void *)q, sizeof(*q), true) ||
        !full_io(launcher_fd, &a, sizeof(a), false))
        fatal("the launcher process is gone");
    return a;
}

/* Start kortnod --data dir ARGS..., stdout and stderr into files named after tag in tmpdir. */
static pid_t spawn(const char *dir, const char *tag, const char *const *args)
{
    static struct l_req q;
    const char *argv[32];
    size_t n = 0, at = 0;
    argv[n++] = o.kortnod;
    argv[n++] = "--data";
    argv[n++] = dir;
    while (*args && n < 31)
        argv[n++] = *args++;
    memset(&q, 0, sizeof(q));
    q.op = L_SPAWN;
    q.argc = (int)n;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(argv[i]) + 1;
        if (at + len > sizeof(q.args))
            fatal("arguments too long");
        memcpy(q.args + at, argv[i], len);
        at += len;
    }
    snprintf(q.out, sizeof(q.out), "%s/%s.out", tmpdir, tag);
    snprintf(q.err, sizeof(q.err), "%s/%s.err", tmpdir, tag);
    struct l_resp a = launcher_call(&q);
    if (a.pid < 0)
        fatal("fork: %s", strerror(a.err));
    for (int i = 0; i < MAX_CHILDREN; i++)
        if (children[i] == 0) {
            children[i] = a.pid;
            break;
        }
    return a.pid;
}

/* Wait for (or with poll, look at) a child: its exit status, -1 while it runs (poll), and its
 * peak RSS in MiB into *rss_mb (may be NULL). */
static int reap_op(pid_t pid, bool poll, double *rss_mb)
{
    static struct l_req q;
    memset(&q, 0, sizeof(q));
    q.op = poll ? L_POLL : L_WAIT;
    q.pid = pid;
    struct l_resp a = launcher_call(&q);
    if (a.err)
        fatal("wait4: %s", strerror(a.err));
    if (a.status == -1)
        return -1;
    for (int i = 0; i < MAX_CHILDREN; i++)
        if (children[i] == pid)
            children[i] = 0;
    if (rss_mb)
        *rss_mb = (double)a.maxrss_kb / 1024.0;
    last_cpu_s = a.cpu_s;
    return WIFEXITED(a.status) ? WEXITSTATUS(a.status) : 128 + WTERMSIG(a.status);
}

static int reap(pid_t pid, double *rss_mb)
{
    return reap_op(pid, false, rss_mb);
}

static void show_output(const char *tag)
{
    char path[4200];
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof(path), "%s/%s.%s", tmpdir, tag, i ? "err" : "out");
        char *text = read_file(path);
        if (text && *text)
            fprintf(stderr, "--- %s ---\n%s", path, text);
        free(text);
    }
}

/* Run kortnod to completion; its stdout (caller frees). A failure ends the benchmark. */
static char *run_kortnod(const char *dir, const char *tag, const char *const *args)
{
    char path[4200];
    int rc = reap(spawn(dir, tag, args), NULL);
    if (rc != 0) {
        show_output(tag);
        fatal("kortnod %s (in %s) exited with %d", args[0], dir, rc);
    }
    snprintf(path, sizeof(path), "%s/%s.out", tmpdir, tag);
    return read_file(path);
}

/* Wait until the file tag.err holds text (a daemon's log line). */
static void wait_log(pid_t pid, const char *tag, const char *text)
{
    char path[4200];
    double t0 = bench_now();
    snprintf(path, sizeof(path), "%s/%s.err", tmpdir, tag);
    for (;;) {
        char *log = read_file(path);
        bool found = log && strstr(log, text);
        free(log);
        if (found)
            return;
        if (reap_op(pid, true, NULL) >= 0) {
            show_output(tag);
            fatal("%s: the daemon stopped before logging '%s'", tag, text);
        }
        if (bench_now() - t0 > READY_TIMEOUT_S) {
            show_output(tag);
            fatal("%s: no '%s' in its log after %.0f s", tag, text, READY_TIMEOUT_S);
        }
        sleep_ns(5000000L);
    }
}

/* Stop a daemon with SIGTERM (its clean stop); its peak RSS in MiB. */
static double stop_daemon(pid_t pid, const char *tag)
{
    double rss;
    kill(pid, SIGTERM);
    int rc = reap(pid, &rss);
    if (rc != 0) {
        show_output(tag);
        fprintf(stderr, "bench_sync: %s: kortnod run exited with %d\n", tag, rc);
        failures++;
    }
    return rss;
}

/* A TCP port of 127.0.0.1 free right now. */
static int free_port(void)
{
    struct sockaddr_in a = { 0 };
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) < 0)
        fatal("finding a free port: %s", strerror(errno));
    close(fd);
    return ntohs(a.sin_port);
}

/*
 * The nodes of the benchmark, created once: the hub, and the empty offices that catch up from it.
 * The plain office is made without --hub: it does not know its hub, so it keeps the log only
 * (replication: transport, verification, storage). The domain office is made as `kortnod init
 * --role office --hub ID` makes an office: it also applies what arrives to the card domain's
 * projection.
 */
enum { OFFICE_PLAIN, OFFICE_DOMAIN, NOFFICES };

struct office {
    bool on;
    const char *name, *what;
    char *dir;
    char id[STORE_ID_HEX_LEN + 1];
};

struct nodes {
    char *hub_dir;
    char hub_id[STORE_ID_HEX_LEN + 1];
    struct office off[NOFFICES];
};

static void id_from(const char *out, char id[STORE_ID_HEX_LEN + 1], const char *what)
{
    uint8_t key[STORE_KEY_LEN];
    if (!out || strlen(out) < STORE_ID_HEX_LEN)
        fatal("kortnod init (%s) printed no node id", what);
    memcpy(id, out, STORE_ID_HEX_LEN);
    id[STORE_ID_HEX_LEN] = '\0';
    if (store_unhex(id, key, STORE_KEY_LEN) < 0)
        fatal("kortnod init (%s) printed '%s', not a node id", what, id);
}

static void nodes_init(struct nodes *n)
{
    n->hub_dir = path_in(tmpdir, "hub");
    char *netkey = path_in(n->hub_dir, "network.key");
    const char *hub_args[] = { "init", "--role", "hub", "--name", "bench-hub", NULL };
    char *out = run_kortnod(n->hub_dir, "init-hub", hub_args);
    id_from(out, n->hub_id, "hub");
    free(out);
    n->off[OFFICE_PLAIN] = (struct office){ o.domain != DOMAIN_ON, "office-plain",
                                            "office without --hub: replication only", NULL, "" };
    n->off[OFFICE_DOMAIN] =
        (struct office){ o.domain != DOMAIN_OFF, "office",
                         "office with --hub: replication + card domain", NULL, "" };
    for (int k = 0; k < NOFFICES; k++) {
        struct office *f = &n->off[k];
        char tag[64];
        if (!f->on)
            continue;
        f->dir = path_in(tmpdir, f->name);
        const char *args[] = { "init",          "--role", "office", "--name",  f->name,
                               "--network-key", netkey,   "--hub",  n->hub_id, NULL };
        if (k == OFFICE_PLAIN)
            args[7] = NULL;
        snprintf(tag, sizeof(tag), "init-%s", f->name);
        out = run_kortnod(f->dir, tag, args);
        id_from(out, f->id, f->name);
        free(out);
    }
    free(netkey);
}

static void nodes_free(struct nodes *n)
{
    free(n->hub_dir);
    for (int k = 0; k < NOFFICES; k++)
        free(n->off[k].dir);
}

/* ---- 1. catch-up ---- */

struct buf_writer {
    uint8_t *p;
    size_t len, cap;
};

static int buf_write(void *data, const char *buf, size_t len)
{
    struct buf_writer *w = data;
    if (w->cap - w->len < len)
        abort();
    memcpy(w->p + w->len, buf, len);
    w->len += len;
    return 0;
}

/*
 * A canonical payload of PAYLOAD_TARGET bytes (keys in byte order):
 * {"body": text, "feed": f, "i": seq, "kind": "bench.note", "office": "office-NNNN"}.
 */
static size_t payload_make(size_t feed, uint64_t seq, uint8_t out[PAYLOAD_MAX])
{
    static const char words[] = "Cards for the care provider counted, sealed and signed for; "
                                "the courier took the box at the door of the office at ";
    char office[16], body[PAYLOAD_MAX];
    struct buf_writer w = { out, 0, PAYLOAD_MAX };
    msgpack_packer pk;
    size_t fixed;

    snprintf(office, sizeof(office), "office-%04zu", feed % 10000);
    msgpack_packer_init(&pk, &w, buf_write);
    /* Everything but the body, to size the body so that the whole is PAYLOAD_TARGET bytes. */
    msgpack_pack_map(&pk, 5);
    msgpack_pack_str_with_body(&pk, "body", 4);
    fixed = w.len;
    w.len = 0;
    msgpack_pack_str_with_body(&pk, "feed", 4);
    msgpack_pack_uint64(&pk, feed);
    msgpack_pack_str_with_body(&pk, "i", 1);
    msgpack_pack_uint64(&pk, seq);
    msgpack_pack_str_with_body(&pk, "kind", 4);
    msgpack_pack_str_with_body(&pk, "bench.note", 10);
    msgpack_pack_str_with_body(&pk, "office", 6);
    msgpack_pack_str_with_body(&pk, office, strlen(office));
    fixed += w.len + 2; /* str8 header of the body */
    size_t blen = PAYLOAD_TARGET - fixed;
    int k = snprintf(body, sizeof(body), "%s%llu.", words, (unsigned long long)seq);
    for (size_t i = (size_t)k; i < blen; i++)
        body[i] = '.';
    w.len = 0;
    msgpack_pack_map(&pk, 5);
    msgpack_pack_str_with_body(&pk, "body", 4);
    msgpack_pack_str_with_body(&pk, body, blen);
    msgpack_pack_str_with_body(&pk, "feed", 4);
    msgpack_pack_uint64(&pk, feed);
    msgpack_pack_str_with_body(&pk, "i", 1);
    msgpack_pack_uint64(&pk, seq);
    msgpack_pack_str_with_body(&pk, "kind", 4);
    msgpack_pack_str_with_body(&pk, "bench.note", 10);
    msgpack_pack_str_with_body(&pk, "office", 6);
    msgpack_pack_str_with_body(&pk, office, strlen(office));
    return w.len;
}

/* One foreign feed of the hub's log, signed as it goes. */
struct gen_feed {
    uint8_t pk[STORE_KEY_LEN];
    uint8_t sk[STORE_SECRET_LEN];
    uint64_t seq, total; /* signed so far, to sign in all */
    uint8_t prev[STORE_HASH_LEN];
    /* this round: */
    size_t first, count; /* slots in the round's arena */
};

struct gen_round {
    struct gen_feed *feeds;
    size_t nfeeds;
    uint8_t *arena;
    struct store_raw *raw;
    uint64_t t_base;
    int err;
};

struct gen_thread {
    pthread_t t;
    struct gen_round *round;
    size_t from, to; /* feeds */
    uint64_t bytes;
};

static void *gen_sign(void *arg)
{
    struct gen_thread *t = arg;
    struct gen_round *rd = t->round;
    struct store_entry *e = malloc(sizeof(*e));
    uint8_t payload[PAYLOAD_MAX];
    if (!e)
        abort();
    for (size_t f = t->from; f < t->to; f++) {
        struct gen_feed *g = &rd->feeds[f];
        for (size_t k = 0; k < g->count; k++) {
            uint64_t seq = g->seq + 1;
            size_t plen = payload_make(f, seq, payload);
            struct store_draft d = { "bench.note", rd->t_base + seq * 1000 + f, NULL, 0, payload,
                                     plen };
            int r = store_entry_sign(&d, seq, seq > 1 ? g->prev : NULL, g->sk, e);
            if (r < 0) {
                rd->err = r;
                free(e);
                return NULL;
            }
            size_t slot = g->first + k;
            if (e->signed_len + plen > ENTRY_ROOM)
                abort();
            uint8_t *at = rd->arena + slot * ENTRY_ROOM;
            memcpy(at, e->signed_header, e->signed_len);
            memcpy(at + e->signed_len, payload, plen);
            rd->raw[slot] = (struct store_raw){ at, e->signed_len, at + e->signed_len, plen };
            memcpy(g->prev, e->hash, STORE_HASH_LEN);
            g->seq = seq;
            t->bytes += e->signed_len + plen;
        }
    }
    free(e);
    return NULL;
}

static size_t office_registered(uint64_t i, uint8_t out[PAYLOAD_MAX]);

/* The hub's entries that enrol the feeds' keys (an office, and a node.bound per feed). */
static uint64_t g_enrol;

/* The hub registers office live-0 and enrols every feed's key as its office node, as `kortnod
 * office register` and `kortnod node enrol` would: nodes store only enrolled keys' entries. */
static uint64_t enrol_feeds(struct store *s, const char *hub_dir, const struct gen_round *rd)
{
    struct store_identity id;
    struct store_entry *e = malloc(sizeof(*e));
    uint8_t payload[PAYLOAD_MAX];
    char reason[256], *key = path_in(hub_dir, "node.key");
    uint64_t bytes = 0;
    if (!e)
        abort();
    check(key, store_identity_load(key, &id));
    store_set_identity(s, &id);
    size_t plen = office_registered(0, payload);
    int r = store_domain_write(s, "office.registered", payload, plen, 1700000000000ull, e, reason,
                               sizeof(reason));
    if (r == KN_EREFUSED)
        fatal("office.registered refused: %s", reason);
    check("store_domain_write (hub)", r);
    bytes += e->signed_len + plen;
    for (size_t f = 0; f < rd->nfeeds; f++) {
        char hex[STORE_ID_HEX_LEN + 1];
        struct buf_writer w = { payload, 0, PAYLOAD_MAX };
        msgpack_packer pk;
        store_hex(rd->feeds[f].pk, STORE_KEY_LEN, hex);
        msgpack_packer_init(&pk, &w, buf_write);
        msgpack_pack_map(&pk, 3);
        msgpack_pack_str_with_body(&pk, "node", 4);
        msgpack_pack_str_with_body(&pk, hex, STORE_ID_HEX_LEN);
        msgpack_pack_str_with_body(&pk, "office", 6);
        msgpack_pack_str_with_body(&pk, "live-0", 6);
        msgpack_pack_str_with_body(&pk, "role", 4);
        msgpack_pack_str_with_body(&pk, "office", 6);
        r = store_domain_write(s, "node.bound", payload, w.len, 1700000000001ull + f, e, reason,
                               sizeof(reason));
        if (r == KN_EREFUSED)
            fatal("node.bound refused: %s", reason);
        check("store_domain_write (hub)", r);
        bytes += e->signed_len + w.len;
    }
    g_enrol = 1 + rd->nfeeds;
    store_set_identity(s, NULL);
    store_identity_finish(&id);
    free(key);
    free(e);
    return bytes;
}

/* Sign N entries over F feeds and ingest them into the hub's database. Returns stored bytes. */
static uint64_t generate(const struct nodes *n)
{
    struct gen_round rd = { 0 };
    struct store *s;
    uint64_t bytes = 0;
    size_t done = 0;
    double t0 = bench_now();
    char *db = path_in(n->hub_dir, "kortnod.db");

    check(db, store_open(db, STORE_SYNC_NORMAL, &s));
    rd.nfeeds = o.feeds;
    rd.feeds = calloc(o.feeds, sizeof(*rd.feeds));
    size_t per_round = ROUND_ENTRIES / o.feeds ? ROUND_ENTRIES / o.feeds : 1;
    size_t slots = per_round * o.feeds;
    rd.arena = malloc(slots * ENTRY_ROOM);
    rd.raw = malloc(slots * sizeof(*rd.raw));
    rd.t_base = 1700000000000ull;
    if (!rd.feeds || !rd.arena || !rd.raw)
        abort();
    for (size_t f = 0; f < o.feeds; f++) {
        uint8_t seed[32];
        crypto_generichash(seed, sizeof(seed), (const uint8_t *)&f, sizeof(f),
                           (const uint8_t *)"kortnod-bench-sync", 18);
        crypto_sign_seed_keypair(rd.feeds[f].pk, rd.feeds[f].sk, seed);
        rd.feeds[f].total = o.entries / o.feeds + (f < o.entries % o.feeds ? 1 : 0);
    }
    bytes += enrol_feeds(s, n->hub_dir, &rd);
    while (done < o.entries) {
        /* This round: up to per_round entries of each feed, feed after feed in the arena. */
        size_t slot = 0;
        for (size_t f = 0; f < o.feeds; f++) {
            struct gen_feed *g = &rd.feeds[f];
            uint64_t left = g->total - g->seq;
            g->first = slot;
            g->count = left < per_round ? (size_t)left : per_round;
            slot += g->count;
        }
        struct gen_thread th[64];
        unsigned nt = o.threads < 64 ? o.threads : 64;
        for (unsigned i = 0; i < nt; i++) {
            th[i] = (struct gen_thread){ .round = &rd,
                                         .from = o.feeds * i / nt,
                                         .to = o.feeds * (i + 1) / nt };
            if (pthread_create(&th[i].t, NULL, gen_sign, &th[i]) != 0)
                fatal("pthread_create failed");
        }
        for (unsigned i = 0; i < nt; i++) {
            pthread_join(th[i].t, NULL);
            bytes += th[i].bytes;
        }
        check("store_entry_sign", rd.err);
        for (size_t i = 0; i < slot; i += INGEST_BATCH) {
            struct store_ingest_result res;
            size_t k = slot - i < INGEST_BATCH ? slot - i : INGEST_BATCH;
            check("store_ingest", store_ingest(s, &rd.raw[i], k, &res, NULL, NULL));
            if (res.accepted != k)
                fatal("store_ingest: %zu of %zu accepted (%zu refused)", res.accepted, k,
                      res.rejected);
        }
        done += slot;
    }
    uint64_t count;
    check("store_count", store_count(s, &count));
    store_close(s);
    free(db);
    if (count != o.entries + g_enrol)
        fatal("the hub holds %llu entries, not %zu + %llu enrolments", (unsigned long long)count,
              o.entries, (unsigned long long)g_enrol);
    double t = bench_now() - t0;
    printf("generate hub log (setup): %zu entries over %zu feeds signed and ingested in %.1f s "
           "= %.0f entries/s, %u threads (peak RSS of this process %.1f MB)\n",
           o.entries, o.feeds, t, (double)o.entries / t, o.threads, bench_peak_rss_mb());
    printf("  stored: %llu bytes of signed headers + payloads = %.1f bytes/entry (payload %d)\n",
           (unsigned long long)bytes, (double)bytes / (double)(o.entries + g_enrol),
           PAYLOAD_TARGET);
    fflush(stdout);
    free(rd.feeds);
    free(rd.arena);
    free(rd.raw);
    return bytes;
}

/* A read-only connection to a node's database. */
static sqlite3 *db_ro(const char *dir)
{
    sqlite3 *db;
    char *path = path_in(dir, "kortnod.db");
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        fatal("%s: %s", path, sqlite3_errmsg(db));
    sqlite3_busy_timeout(db, 5000);
    free(path);
    return db;
}

static long long db_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    long long v = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        fatal("%s: %s", sql, sqlite3_errmsg(db));
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* One catch-up: `kortnod run` at the hub, `kortnod sync` at an empty office. */
static void catchup_one(const struct nodes *n, const struct office *f, uint64_t stored)
{
    char listen[32], tag_hub[64], tag_office[64];
    snprintf(listen, sizeof(listen), "127.0.0.1:%d", free_port());
    snprintf(tag_hub, sizeof(tag_hub), "catchup-hub-for-%s", f->name);
    snprintf(tag_office, sizeof(tag_office), "catchup-%s", f->name);

    const char *run_args[] = {
        "run", "--listen", listen, "--ui", "off", "--log-level", "info", NULL
    };
    pid_t hub = spawn(n->hub_dir, tag_hub, run_args);
    wait_log(hub, tag_hub, "listening on");

    const char *sync_args[] = { "sync", listen, n->hub_id, NULL };
    double rss_office, t0 = bench_now();
    pid_t office = spawn(f->dir, tag_office, sync_args);
    int rc = reap(office, &rss_office);
    double t = bench_now() - t0, cpu_office = last_cpu_s;
    double rss_hub = stop_daemon(hub, tag_hub), cpu_hub = last_cpu_s;

    char path[4200];
    snprintf(path, sizeof(path), "%s/%s.out", tmpdir, tag_office);
    char *out = read_file(path);
    unsigned long long in = 0, outn = 0, bin = 0, bout = 0;
    double secs = 0;
    const char *line = out ? strstr(out, "sync: ") : NULL;
    if (!line || sscanf(line,
                        "sync: %llu entries in, %llu entries out, %llu bytes in, %llu bytes "
                        "out, %lf s",
                        &in, &outn, &bin, &bout, &secs) != 5) {
        show_output(tag_office);
        fatal("kortnod sync printed no summary");
    }
    free(out);
    if (rc != 0) {
        show_output(tag_office);
        show_output(tag_hub);
        fprintf(stderr, "bench_sync: %s: kortnod sync exited with %d after %.1f s\n", f->name, rc,
                t);
        failures++;
    }

    sqlite3 *db = db_ro(f->dir);
    long long held = db_int(db, "SELECT count(*) FROM log");
    long long feeds = db_int(db, "SELECT count(*) FROM feeds");
    long long applied = db_int(db, "SELECT count(*) FROM p_applied");
    sqlite3_close(db);
    if (held != (long long)(o.entries + g_enrol) || in != o.entries + g_enrol) {
        fprintf(stderr,
                "bench_sync: %s: the office holds %lld entries (%llu received), %zu + %llu "
                "expected\n",
                f->name, held, in, o.entries, (unsigned long long)g_enrol);
        failures++;
    }

    double rate = (double)held / t;
    printf("catch-up (%s): %lld entries over %zu feeds in %.2f s = %.0f entries/s (wall time of "
           "kortnod sync)",
           f->what, held, o.feeds, t, rate);
    target(rate >= TARGET_RATE && rc == 0, ">= 50000/s");
    printf("\n");
    double per = in ? (double)bin / (double)in : 0;
    double ratio = per / ((double)stored / (double)(o.entries + g_enrol));
    printf("catch-up wire (%s): %llu bytes read by the office = %.1f bytes/entry vs %.1f stored, "
           "ratio %.3f",
           f->name, bin, per, (double)stored / (double)(o.entries + g_enrol), ratio);
    target(ratio <= TARGET_RATIO, "<= 1.15");
    printf("\n");
    printf("catch-up peak RSS (%s), hub (kortnod run): %.1f MiB, CPU %.2f s", f->name, rss_hub,
           cpu_hub);
    target(rss_hub <= TARGET_RSS_MB, "<= 64 MiB");
    printf("\n");
    printf("catch-up peak RSS (%s), office (kortnod sync): %.1f MiB, CPU %.2f s", f->name,
           rss_office, cpu_office);
    target(rss_office <= TARGET_RSS_MB, "<= 64 MiB");
    printf("\n");
    printf("  (%s afterwards: %lld entries in %lld feeds, %lld applied to the card domain; "
           "it sent %llu plaintext bytes)\n",
           f->name, held, feeds, applied, bout);
    fflush(stdout);
}

static void bench_catchup(const struct nodes *n)
{
    uint64_t stored = generate(n);
    for (int k = 0; k < NOFFICES; k++)
        if (n->off[k].on)
            catchup_one(n, &n->off[k], stored);
}

/* ---- 2. live latency ---- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(const double *v, size_t n, double p)
{
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return v[i < n ? i : n - 1];
}

/* The payload of the hub's "office.registered" event for live office number i. */
static size_t office_registered(uint64_t i, uint8_t out[PAYLOAD_MAX])
{
    static const char *const kv[][2] = {
        { "booking", "Call 0910-123 45 on weekdays 9-12" },
        { "days", "mon,tue,wed,thu,fri" },
        { "kind", "organisation" },
        { "name", NULL },
        { "office", NULL },
        { "place", "Storgatan 1, entrance B" },
        { "town", "Skellefteå" },
    };
    char name[48], id[32];
    struct buf_writer w = { out, 0, PAYLOAD_MAX };
    msgpack_packer pk;
    snprintf(name, sizeof(name), "Live office %llu", (unsigned long long)i);
    snprintf(id, sizeof(id), "live-%llu", (unsigned long long)i);
    msgpack_packer_init(&pk, &w, buf_write);
    msgpack_pack_map(&pk, 7);
    for (size_t k = 0; k < 7; k++) {
        const char *v = kv[k][1] ? kv[k][1] : k == 3 ? name : id;
        msgpack_pack_str_with_body(&pk, kv[k][0], strlen(kv[k][0]));
        msgpack_pack_str_with_body(&pk, v, strlen(v));
    }
    return w.len;
}

/*
 * Append one entry of the hub's feed and wait for it at the office: seconds from the append's
 * commit to the office holding it, or -1 on timeout. The entry is written as `kortnod office
 * register` would (store_domain_write: deps on the last applied entry), or with --live-plain
 * as a bare store_append without deps (as `kortnod log append` without --dep).
 */
static double one_live(struct store *hub, sqlite3_stmt *q, uint64_t i, bool domain,
                       double *append_s, double *applied_s)
{
    uint8_t payload[PAYLOAD_MAX];
    struct store_entry *e = malloc(sizeof(*e));
    struct timespec wall;
    char reason[256];
    if (!e)
        abort();
    clock_gettime(CLOCK_REALTIME, &wall);
    uint64_t ts = (uint64_t)wall.tv_sec * 1000 + (uint64_t)wall.tv_nsec / 1000000;
    double t0 = bench_now();
    if (o.live_plain) {
        size_t plen = payload_make(0, i, payload);
        struct store_draft d = { "bench.live", ts, NULL, 0, payload, plen };
        check("store_append (hub)", store_append(hub, &d, e));
    } else {
        size_t plen = office_registered(i, payload);
        int r = store_domain_write(hub, "office.registered", payload, plen, ts, e, reason,
                                   sizeof(reason));
        if (r == KN_EREFUSED)
            fatal("store_domain_write (hub): refused: %s", reason);
        check("store_domain_write (hub)", r);
    }
    double t1 = bench_now();
    uint64_t seq = e->seq;
    free(e);
    *append_s = t1 - t0;
    *applied_s = -1;
    double visible = -1;
    for (;;) {
        long long have = 0, applied = 0;
        int rc = sqlite3_step(q);
        if (rc == SQLITE_ROW) {
            have = sqlite3_column_int64(q, 0);
            applied = sqlite3_column_int64(q, 1);
        }
        sqlite3_reset(q);
        double t = bench_now();
        if (visible < 0 && have >= (long long)seq)
            visible = t - t1;
        if (domain && *applied_s < 0 && applied >= (long long)seq)
            *applied_s = t - t1;
        if (visible >= 0 && (!domain || *applied_s >= 0))
            return visible;
        if (t - t1 > VISIBLE_TIMEOUT_S)
            return visible;
        sleep_ns(POLL_INTERVAL_NS);
    }
}

static void bench_live(const struct nodes *n)
{
    const struct office *f = &n->off[n->off[OFFICE_DOMAIN].on ? OFFICE_DOMAIN : OFFICE_PLAIN];
    char hub_listen[32], office_listen[32];
    snprintf(hub_listen, sizeof(hub_listen), "127.0.0.1:%d", free_port());
    snprintf(office_listen, sizeof(office_listen), "127.0.0.1:%d", free_port());
    const char *peer_args[] = { "peer", "add", hub_listen, n->hub_id, NULL };
    free(run_kortnod(f->dir, "peer-add", peer_args));

    const char *hub_args[] = { "run", "--listen",    hub_listen, "--ui",
                               "off", "--log-level", "info",     NULL };
    const char *office_args[] = { "run", "--listen",    office_listen, "--ui",
                                  "off", "--log-level", "info",        NULL };
    pid_t hub = spawn(n->hub_dir, "live-hub", hub_args);
    wait_log(hub, "live-hub", "listening on");
    pid_t office = spawn(f->dir, "live-office", office_args);
    wait_log(office, "live-office", "secure connection");

    /* The hub's own feed, appended from here through the hub's database and key. */
    struct store *hs;
    struct store_identity id;
    char *db = path_in(n->hub_dir, "kortnod.db"), *key = path_in(n->hub_dir, "node.key");
    check(db, store_open(db, STORE_SYNC_NORMAL, &hs));
    check(key, store_identity_load(key, &id));
    store_set_identity(hs, &id);
    free(db);
    free(key);

    sqlite3 *odb = db_ro(f->dir);
    sqlite3_stmt *q;
    uint8_t hub_pk[STORE_KEY_LEN];
    store_unhex(n->hub_id, hub_pk, STORE_KEY_LEN);
    if (sqlite3_prepare_v2(
            odb,
            "SELECT (SELECT max(seq) FROM log WHERE author = ?1),"
            " (SELECT h.seq FROM heights h WHERE h.author = ?1 AND EXISTS (SELECT 1 FROM"
            "  p_applied a WHERE a.height = h.height AND a.hash = h.hash)"
            "  ORDER BY h.seq DESC LIMIT 1)",
            -1, &q, NULL) != SQLITE_OK)
        fatal("office database: %s", sqlite3_errmsg(odb));
    sqlite3_bind_blob(q, 1, hub_pk, STORE_KEY_LEN, SQLITE_STATIC);

    bool domain = f == &n->off[OFFICE_DOMAIN];
    double *lat = malloc(o.live * sizeof(*lat)), *app = malloc(o.live * sizeof(*app));
    double append_sum = 0, append_s, applied_s;
    size_t got = 0, lost = 0, napp = 0;
    if (!lat || !app)
        abort();
    double t0 = bench_now();
    for (size_t i = 0; i < LIVE_WARMUP + o.live; i++) {
        if (o.live_gap_ms)
            sleep_ns((long)randombytes_uniform(o.live_gap_ms * 1000u) * 1000L);
        double l = one_live(hs, q, i + 1, domain, &append_s, &applied_s);
        if (i < LIVE_WARMUP)
            continue;
        append_sum += append_s;
        if (l < 0)
            lost++;
        else
            lat[got++] = l;
        if (domain && applied_s >= 0)
            app[napp++] = applied_s;
    }
    double t = bench_now() - t0;
    sqlite3_finalize(q);
    sqlite3_close(odb);
    store_close(hs);
    store_identity_finish(&id);
    double rss_office = stop_daemon(office, "live-office");
    double rss_hub = stop_daemon(hub, "live-hub");

    if (lost) {
        fprintf(stderr,
                "bench_sync: live: %zu of %zu entries not visible at the office within "
                "%.0f s\n",
                lost, o.live, VISIBLE_TIMEOUT_S);
        failures++;
    }
    if (got == 0)
        fatal("live: no entry became visible at the office");
    qsort(lat, got, sizeof(*lat), cmp_double);
    printf("live latency: %zu %s at the hub, one at a time, in the %s's log: median %.1f ms, "
           "p90 %.1f ms, p99 %.1f ms, min %.1f ms, max %.1f ms (the write itself %.2f ms on "
           "average; %.0f s in all)\n",
           got, o.live_plain ? "plain appends" : "office.registered writes", f->name,
           1e3 * pct(lat, got, 0.5), 1e3 * pct(lat, got, 0.9), 1e3 * pct(lat, got, 0.99),
           1e3 * lat[0], 1e3 * lat[got - 1], 1e3 * append_sum / (double)(o.live), t);
    if (domain && napp > 0) {
        qsort(app, napp, sizeof(*app), cmp_double);
        printf("live latency to the projection: %zu of them applied to the office's card "
               "domain: median %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms\n",
               napp, 1e3 * pct(app, napp, 0.5), 1e3 * pct(app, napp, 0.9),
               1e3 * pct(app, napp, 0.99), 1e3 * app[napp - 1]);
    }
    printf("live peak RSS: hub %.1f MiB, %s %.1f MiB (kortnod run, after %s)\n", rss_hub, f->name,
           rss_office, o.catchup ? "the catch-up's data" : "empty logs");
    fflush(stdout);
    free(lat);
    free(app);
}

/* ---- 3. handshakes ---- */

/* One handshake, both ends; 0 when both completed with matching box keys. */
static int handshake(const uint8_t netkey[32], const struct store_identity *c_id,
                     const struct store_identity *s_id, struct sync_buf *to_s,
                     struct sync_buf *to_c)
{
    struct sync_shs c, s;
    struct sync_box cs, cr, ss, sr;
    size_t used;
    int rc = 0, rs = 0;

    sync_shs_init_client(&c, netkey, c_id->pk, c_id->sk, s_id->pk);
    sync_shs_init_server(&s, netkey, s_id->pk, s_id->sk);
    to_s->len = to_c->len = 0;
    for (int round = 0; round < 4 && !(rc == 1 && rs == 1); round++) {
        if (rc != 1) {
            rc = sync_shs_step(&c, to_c->data, to_c->len, &used, to_s);
            sync_buf_consume(to_c, used);
        }
        if (rs != 1) {
            rs = sync_shs_step(&s, to_s->data, to_s->len, &used, to_c);
            sync_buf_consume(to_s, used);
        }
        if ((rc < 0 && rc != -EAGAIN) || (rs < 0 && rs != -EAGAIN))
            break;
    }
    int r = rc == 1 && rs == 1 ? 0 : KN_EPROTO;
    if (r == 0) {
        sync_shs_boxes(&c, &cs, &cr);
        sync_shs_boxes(&s, &ss, &sr);
        if (memcmp(cs.key, sr.key, 32) || memcmp(cs.nonce, sr.nonce, 24) ||
            memcmp(ss.key, cr.key, 32) || memcmp(ss.nonce, cr.nonce, 24))
            r = KN_EPROTO;
    }
    sync_shs_finish(&c);
    sync_shs_finish(&s);
    return r;
}

static void bench_shs(void)
{
    struct store_identity c_id, s_id;
    struct sync_buf to_s, to_c;
    uint8_t netkey[32];

    bench_identity(&c_id, 0x41);
    bench_identity(&s_id, 0x42);
    randombytes_buf(netkey, sizeof(netkey));
    sync_buf_init(&to_s);
    sync_buf_init(&to_c);
    check("handshake", handshake(netkey, &c_id, &s_id, &to_s, &to_c)); /* warm-up */
    double t0 = bench_now();
    for (size_t i = 0; i < o.handshakes; i++)
        check("handshake", handshake(netkey, &c_id, &s_id, &to_s, &to_c));
    double t = bench_now() - t0;
    printf("handshakes: %zu in %.2f s = %.0f handshakes/s on one core (client and server both "
           "in this thread, in memory; %.0f us each)\n",
           o.handshakes, t, (double)o.handshakes / t, 1e6 * t / (double)o.handshakes);

    /* The box-stream: 64 MiB sealed into 4096-byte frames and opened again. */
    struct sync_box send, recv;
    struct sync_buf wire, plain;
    size_t chunk = 256u << 10, total = 64u << 20, used;
    uint8_t *msg = malloc(chunk);
    if (!msg)
        abort();
    randombytes_buf(msg, chunk);
    randombytes_buf(send.key, sizeof(send.key));
    randombytes_buf(send.nonce, sizeof(send.nonce));
    recv = send;
    sync_buf_init(&wire);
    sync_buf_init(&plain);
    t0 = bench_now();
    uint64_t wire_bytes = 0;
    for (size_t done = 0; done < total; done += chunk) {
        wire.len = plain.len = 0;
        sync_box_seal(&send, msg, chunk, &wire);
        wire_bytes += wire.len;
        if (sync_box_open(&recv, wire.data, wire.len, &used, &plain) != 0 || used != wire.len ||
            plain.len != chunk)
            fatal("box-stream: what was sealed does not open");
    }
    t = bench_now() - t0;
    printf("box-stream: %zu MiB sealed and opened in %.2f s = %.0f MiB/s (one thread; framing "
           "overhead %.2f %%)\n",
           total >> 20, t, (double)(total >> 20) / t,
           100.0 * (double)(wire_bytes - total) / (double)total);
    fflush(stdout);
    free(msg);
    sync_buf_finish(&wire);
    sync_buf_finish(&plain);
    sync_buf_finish(&to_s);
    sync_buf_finish(&to_c);
    store_identity_finish(&c_id);
    store_identity_finish(&s_id);
}

/* ---- main ---- */

static size_t parse_count(const char *s, bool zero_ok)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end != '\0' || s[0] == '-' || (v == 0 && !zero_ok)) {
        fprintf(stderr, "bench_sync: not a %s count: %s\n", zero_ok ? "" : "positive", s);
        exit(2);
    }
    return (size_t)v;
}

static void parse_only(const char *list)
{
    char *copy = strdup(list), *save = NULL;
    o.catchup = o.live_on = o.shs = false;
    for (char *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
        if (!strcmp(w, "catchup"))
            o.catchup = true;
        else if (!strcmp(w, "live"))
            o.live_on = true;
        else if (!strcmp(w, "shs"))
            o.shs = true;
        else {
            fprintf(stderr, "bench_sync: --only takes catchup, live, shs; not '%s'\n", w);
            exit(2);
        }
    }
    free(copy);
}

/* $KORTNOD, else ../node/kortnod from where this program is (the build tree's layout). */
static const char *find_kortnod(void)
{
    static char path[4200];
    const char *env = getenv("KORTNOD");
    if (env && *env)
        return env;
    ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 32);
    if (n > 0) {
        path[n] = '\0';
        char *slash = strrchr(path, '/');
        if (slash) {
            strcpy(slash, "/../node/kortnod");
            if (access(path, X_OK) == 0)
                return path;
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    o = (struct opts){ .entries = 100000,
                       .feeds = 100,
                       .live = 1000,
                       .handshakes = 3000,
                       .live_gap_ms = 100,
                       .threads = cpus > 0 ? (unsigned)cpus : 1,
                       .catchup = true,
                       .live_on = true,
                       .shs = true };

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has = i + 1 < argc;
        if (!strcmp(a, "--entries") && has)
            o.entries = parse_count(argv[++i], false);
        else if (!strcmp(a, "--feeds") && has)
            o.feeds = parse_count(argv[++i], false);
        else if (!strcmp(a, "--live") && has)
            o.live = parse_count(argv[++i], false);
        else if (!strcmp(a, "--live-gap-ms") && has)
            o.live_gap_ms = (unsigned)parse_count(argv[++i], true);
        else if (!strcmp(a, "--handshakes") && has)
            o.handshakes = parse_count(argv[++i], false);
        else if (!strcmp(a, "--threads") && has)
            o.threads = (unsigned)parse_count(argv[++i], false);
        else if (!strcmp(a, "--only") && has)
            parse_only(argv[++i]);
        else if (!strcmp(a, "--kortnod") && has)
            o.kortnod = argv[++i];
        else if (!strcmp(a, "--dir") && has)
            o.dir = argv[++i];
        else if (!strcmp(a, "--no-hub"))
            o.domain = DOMAIN_OFF;
        else if (!strcmp(a, "--domain") && has) {
            const char *v = argv[++i];
            o.domain = !strcmp(v, "both")  ? DOMAIN_BOTH
                       : !strcmp(v, "off") ? DOMAIN_OFF
                       : !strcmp(v, "on")  ? DOMAIN_ON
                                           : -1;
            if (o.domain < 0) {
                fprintf(stderr, "bench_sync: --domain takes both, off or on\n");
                return 2;
            }
        } else if (!strcmp(a, "--live-plain"))
            o.live_plain = true;
        else if (!strcmp(a, "--keep"))
            o.keep = true;
        else {
            fprintf(
                stderr,
                "usage: %s [--entries N] [--feeds F] [--live N] [--live-gap-ms MS] "
                "[--handshakes N] [--only catchup,live,shs] [--domain both|off|on] [--live-plain] "
                "[--threads T] "
                "[--kortnod PATH] [--dir DIR] [--keep]\n",
                argv[0]);
            return 2;
        }
    }
    if (o.feeds > o.entries)
        o.feeds = o.entries;
    if (sodium_init() < 0) {
        fprintf(stderr, "bench_sync: sodium_init failed\n");
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    if (o.catchup || o.live_on)
        launcher_start();
    if ((o.catchup || o.live_on) && !o.kortnod && !(o.kortnod = find_kortnod())) {
        fprintf(stderr, "bench_sync: no kortnod program: give --kortnod PATH or set KORTNOD\n");
        return 1;
    }
    if (!o.dir)
        o.dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";

    if (o.catchup || o.live_on) {
        struct nodes n;
        snprintf(tmpdir, sizeof(tmpdir), "%s/kn-bench-sync-XXXXXX", o.dir);
        if (!mkdtemp(tmpdir)) {
            fprintf(stderr, "bench_sync: mkdtemp %s: %s\n", tmpdir, strerror(errno));
            return 1;
        }
        printf("bench_sync: nodes in %s (%s), kortnod %s, %ld CPUs\n", tmpdir,
               bench_fs_name(tmpdir), o.kortnod, cpus);
        fflush(stdout);
        nodes_init(&n);
        if (o.catchup)
            bench_catchup(&n);
        if (o.live_on)
            bench_live(&n);
        nodes_free(&n);
    }
    if (o.shs)
        bench_shs();

    kill_children();
    if (tmpdir[0] && o.keep)
        printf("bench_sync: data kept in %s\n", tmpdir);
    else if (tmpdir[0])
        remove_tree(tmpdir);
    return failures ? 1 : 0;
}
