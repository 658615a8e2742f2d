/* SPDX-License-Identifier: MIT */
/*
 * interop: kortnod's secret handshake and box-stream (sync/shs.c) against the npm reference
 * packages secret-handshake and pull-box-stream, run by tests/interop/peer.js in a node process
 * of its own, over TCP on 127.0.0.1. Each scenario starts one peer, plays one role against it
 * with plain sockets and poll() (no libuv), and checks what both sides saw: the handshake's
 * outcome, the box-stream keys, and every byte each side received, compared against what the
 * other side sent (the peer prints its view as one JSON line).
 *
 * Exits 0 when every scenario passed, 1 otherwise, 77 (skipped) when node or the npm packages
 * are not installed (`npm ci` in tests/interop; .ci/install-deps does it).
 *
 * Environment: KORTNOD_SOURCE_ROOT (the source tree), NODE (the node program; default: node in
 * PATH). Run one scenario with `BUILD/tests/interop_shs NAME`; `--list` lists them. Each run
 * uses fresh random keys; the peer's command line is printed, so a failure can be replayed by
 * hand against `node tests/interop/peer.js`.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "kn.h"
#include "sync.h"

#ifndef KORTNOD_SOURCE_ROOT
#define KORTNOD_SOURCE_ROOT "."
#endif

#define SKIP           77
#define CASE_SECONDS   30 /* the whole of one scenario, peer included */
#define PEER_SECONDS   "20"
#define HANGUP         (-EPIPE) /* the peer closed the connection */
#define CLIENT_HS_LEN  (64 + 112)
#define SERVER_HS_LEN  (64 + 80)
#define FRAME_OVERHEAD SYNC_BOX_HEADER /* per frame: header box; the body has no extra bytes */

static char node_prog[4096];
static char peer_script[4096];

/* ---- what each side sends ---- */

/* peer.js's four writes: "hello from node", 10000 bytes i % 251, one byte 0x21, and 600000
 * bytes ((i >> 12) ^ (i * 13)) & 0xff, 147 frames: every nonce's last byte wraps. */
#define NODE_BULK_LEN 600000
static void node_data(struct sync_buf *b)
{
    static const char hello[] = "hello from node";
    sync_buf_append(b, hello, sizeof(hello) - 1);
    for (size_t i = 0; i < 10000; i++) {
        uint8_t c = (uint8_t)(i % 251);
        sync_buf_append(b, &c, 1);
    }
    sync_buf_append(b, "\x21", 1);
    for (size_t i = 0; i < NODE_BULK_LEN; i++) {
        uint8_t c = (uint8_t)(((i >> 12) ^ (i * 13)) & 0xff);
        sync_buf_append(b, &c, 1);
    }
}
/* Frames on the wire from node: bodies 15 | 4096 4096 1808 | 1 | 146 x 4096 1984, goodbye. */
#define FRAMES(len)     (((len) + SYNC_BOX_MAX_BODY - 1) / SYNC_BOX_MAX_BODY)
#define NODE_FRAME1_LEN (FRAME_OVERHEAD + 15)
#define ALL_NODE        (15 + 10000 + 1 + NODE_BULK_LEN)
#define NODE_FRAMES_LEN \
    ((1 + FRAMES(10000) + 1 + FRAMES(NODE_BULK_LEN)) * FRAME_OVERHEAD + ALL_NODE)

/* kortnod's five messages: 8192 bytes is exactly two full frames, the last has 147 frames. */
static void kortnod_message(int i, struct sync_buf *b)
{
    static const char hello[] = "hello from kortnod";
    switch (i) {
    case 0:
        sync_buf_append(b, hello, sizeof(hello) - 1);
        break;
    case 1:
        for (size_t j = 0; j < 9000; j++) {
            uint8_t c = (uint8_t)((j * 7 + 3) & 0xff);
            sync_buf_append(b, &c, 1);
        }
        break;
    case 2:
        for (size_t j = 0; j < 8192; j++) {
            uint8_t c = (uint8_t)(j >> 5);
            sync_buf_append(b, &c, 1);
        }
        break;
    case 3:
        sync_buf_append(b, "\x7e", 1);
        break;
    case 4:
        for (size_t j = 0; j < 600000; j++) {
            uint8_t c = (uint8_t)(((j >> 11) ^ (j * 31)) & 0xff);
            sync_buf_append(b, &c, 1);
        }
        break;
    }
}
#define KORTNOD_MESSAGES 5

/* ---- small helpers ---- */

static void hex(const uint8_t *p, size_t n, char *out)
{
    sodium_bin2hex(out, 2 * n + 1, p, n);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Milliseconds left until deadline, for poll(); 0 when it has passed. */
static int left_ms(double deadline)
{
    double ms = (deadline - now()) * 1000.0;
    return ms <= 0 ? 0 : (int)ms + 1;
}

static int wait_fd(int fd, short events, double deadline)
{
    struct pollfd p = { .fd = fd, .events = events };
    for (;;) {
        int rc = poll(&p, 1, left_ms(deadline));
        if (rc > 0)
            return 0;
        if (rc == 0)
            return -ETIMEDOUT;
        if (errno != EINTR)
            return -errno;
    }
}

/* Read exactly n bytes: 0, HANGUP when the peer closed first, or a negated errno. */
static int read_exact(int fd, uint8_t *buf, size_t n, double deadline)
{
    size_t got = 0;
    while (got < n) {
        int rc = wait_fd(fd, POLLIN, deadline);
        if (rc < 0)
            return rc;
        ssize_t r = read(fd, buf + got, n - got);
        if (r == 0)
            return HANGUP;
        if (r < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            return errno == ECONNRESET ? HANGUP : -errno;
        }
        got += (size_t)r;
    }
    return 0;
}

static int write_all(int fd, const uint8_t *buf, size_t n, double deadline)
{
    size_t done = 0;
    while (done < n) {
        int rc = wait_fd(fd, POLLOUT, deadline);
        if (rc < 0)
            return rc;
        ssize_t w = send(fd, buf + done, n - done, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            return errno == EPIPE || errno == ECONNRESET ? HANGUP : -errno;
        }
        done += (size_t)w;
    }
    return 0;
}

static const char *rcname(int rc)
{
    switch (rc) {
    case 1:
        return "complete";
    case 0:
        return "0";
    case HANGUP:
        return "peer hung up";
    case -ETIMEDOUT:
        return "timeout";
    default:
        return kn_errname(rc);
    }
}

/* ---- the node peer ---- */

struct peer {
    pid_t pid;
    int out; /* its stdout */
    char buf[16384];
    size_t len;
    char result[16384]; /* its last JSON line */
    int status;         /* exit code, or 128 + signal */
};

/* Start node peer.js ARGS... with stdout to a pipe; extra environment: CHLORIDE_JS=1 if js. */
static int peer_start(struct peer *p, bool js, const char *const args[])
{
    const char *argv[24];
    size_t n = 0;
    argv[n++] = node_prog;
    argv[n++] = peer_script;
    for (size_t i = 0; args[i] && n < 22; i++)
        argv[n++] = args[i];
    argv[n] = NULL;

    fprintf(stderr, "  $ %sNODE peer.js", js ? "CHLORIDE_JS=1 " : "");
    for (size_t i = 2; i < n; i++)
        fprintf(stderr, " %s", argv[i]);
    fprintf(stderr, "\n");

    int fds[2];
    if (pipe(fds) < 0)
        return -errno;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        int err = -errno;
        close(fds[0]);
        close(fds[1]);
        return err;
    }
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0)
            dup2(devnull, STDIN_FILENO);
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        if (js)
            setenv("CHLORIDE_JS", "1", 1);
        else
            unsetenv("CHLORIDE_JS");
        execvp(argv[0], (char *const *)argv);
        fprintf(stderr, "interop: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(fds[1]);
    memset(p, 0, sizeof(*p));
    p->pid = pid;
    p->out = fds[0];
    p->status = -1;
    return 0;
}

/* The next line the peer prints, without its newline: 0, HANGUP at EOF, or -ETIMEDOUT. */
static int peer_line(struct peer *p, char *line, size_t size, double deadline)
{
    for (;;) {
        char *nl = memchr(p->buf, '\n', p->len);
        if (nl) {
            size_t n = (size_t)(nl - p->buf);
            size_t copy = n < size - 1 ? n : size - 1;
            memcpy(line, p->buf, copy);
            line[copy] = '\0';
            memmove(p->buf, nl + 1, p->len - n - 1);
            p->len -= n + 1;
            return 0;
        }
        if (p->len == sizeof(p->buf))
            p->len = 0; /* a line longer than any peer.js prints: drop it */
        int rc = wait_fd(p->out, POLLIN, deadline);
        if (rc < 0)
            return rc;
        ssize_t r = read(p->out, p->buf + p->len, sizeof(p->buf) - p->len);
        if (r == 0)
            return HANGUP;
        if (r < 0 && errno != EINTR)
            return -errno;
        if (r > 0)
            p->len += (size_t)r;
    }
}

/* Read the peer's output to its end, keep the last line, reap it (killing it at the deadline). */
static void peer_finish(struct peer *p, double deadline)
{
    if (p->pid <= 0)
        return;
    char line[sizeof(p->result)];
    while (peer_line(p, line, sizeof(line), deadline) == 0)
        memcpy(p->result, line, sizeof(line));
    int st = 0;
    for (;;) {
        pid_t r = waitpid(p->pid, &st, WNOHANG);
        if (r == p->pid)
            break;
        if (r < 0 && errno != EINTR) {
            st = -1;
            break;
        }
        if (now() > deadline) {
            fprintf(stderr, "  peer %ld did not exit in time: killed\n", (long)p->pid);
            kill(p->pid, SIGKILL);
            waitpid(p->pid, &st, 0);
            break;
        }
        struct timespec ts = { 0, 10 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    p->status = st < 0 ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    close(p->out);
    p->pid = 0;
    fprintf(stderr, "  peer exit %d: %s\n", p->status, p->result);
}

/* The string value of "key" in a flat JSON line as peer.js prints it, or "" when absent. */
static void json_str(const char *json, const char *key, char *out, size_t size)
{
    char pat[64];
    snprintf(pat, sizeof(pat), "\"%s\":\"", key);
    out[0] = '\0';
    const char *s = strstr(json, pat);
    if (!s)
        return;
    s += strlen(pat);
    size_t n = 0;
    while (s[n] && s[n] != '"' && n + 1 < size)
        n++;
    memcpy(out, s, n);
    out[n] = '\0';
}

static long json_num(const char *json, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof(pat), "\"%s\":", key);
    const char *s = strstr(json, pat);
    return s ? strtol(s + strlen(pat), NULL, 10) : -1;
}

/* ---- sockets ---- */

static int listen_any(uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t alen = sizeof(a);
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 1) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &alen) < 0) {
        int err = -errno;
        close(fd);
        return err;
    }
    *port = ntohs(a.sin_port);
    return fd;
}

static int accept_one(int lfd, double deadline)
{
    int rc = wait_fd(lfd, POLLIN, deadline);
    if (rc < 0)
        return rc;
    int fd = accept(lfd, NULL, NULL);
    return fd < 0 ? -errno : fd;
}

static int connect_to(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    struct sockaddr_in a = { .sin_family = AF_INET,
                             .sin_port = htons(port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        int err = -errno;
        close(fd);
        return err;
    }
    return fd;
}

/* ---- scenarios ---- */

#define FLIP(offset) ((size_t)(offset) + 1)
#define ALL          SIZE_MAX

enum wrong_pk {
    PK_RIGHT,
    PK_OTHER,     /* another node's real key */
    PK_NOT_POINT, /* 32 bytes that are no Ed25519 point */
};

struct scenario {
    const char *name;
    bool kortnod_server; /* else kortnod is the client */
    bool js;             /* chloride's pure JavaScript sodium in node */
    /* what is wrong */
    bool node_other_netkey;
    enum wrong_pk kortnod_expects; /* kortnod client: the server key it is given */
    enum wrong_pk node_expects;    /* node client: the server key it is given */
    size_t node_flip;              /* FLIP(n): flip byte n of all node writes to TCP; 0: none */
    size_t kortnod_flip;           /* FLIP(n): flip byte n of kortnod's box-stream; 0: none */
    /* what must happen */
    int want_hs;           /* kortnod's handshake: 1 complete, KN_EPROTO, or HANGUP */
    int want_box;          /* kortnod's reading of node's box-stream: 1 goodbye, or KN_EPROTO */
    size_t want_recv;      /* bytes of node's data kortnod gets before want_box */
    int want_node_exit;    /* peer.js: 0 all received, 2 handshake failed, 3 box-stream broke */
    size_t want_node_recv; /* bytes of kortnod's data node gets, or ALL */
    bool node_breaks_off;  /* node drops the connection midway: kortnod gets part of its data */
};

struct run {
    const struct scenario *sc;
    int failures;
    /* long-term keys */
    uint8_t netkey[32], node_netkey[32];
    uint8_t k_seed[32], k_pk[32], k_sk[64];
    uint8_t n_seed[32], n_pk[32], n_sk[64];
    uint8_t other_pk[32], bad_pk[32];
    /* kortnod's side */
    struct sync_shs h;
    bool shs_live;
    int hs_rc;
    size_t hs_fail_out; /* bytes the failing step asked to send (must be 0) */
    struct sync_box send0, recv0;
    int box_rc;
    struct sync_buf sent;   /* kortnod's plaintext */
    struct sync_buf wire;   /* node's box-stream bytes as received */
    struct sync_buf got;    /* node's plaintext as kortnod opened it */
    struct sync_buf expect; /* what node sends */
    struct peer peer;
};

__attribute__((format(printf, 3, 4))) static void check(struct run *r, bool ok, const char *fmt,
                                                        ...)
{
    if (ok)
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "  FAIL: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    r->failures++;
}

static void keys_make(struct run *r)
{
    uint8_t seed[32], sk[64];
    randombytes_buf(r->netkey, sizeof(r->netkey));
    randombytes_buf(r->node_netkey, sizeof(r->node_netkey));
    if (!r->sc->node_other_netkey)
        memcpy(r->node_netkey, r->netkey, 32);
    randombytes_buf(r->k_seed, 32);
    crypto_sign_seed_keypair(r->k_pk, r->k_sk, r->k_seed);
    randombytes_buf(r->n_seed, 32);
    crypto_sign_seed_keypair(r->n_pk, r->n_sk, r->n_seed);
    randombytes_buf(seed, 32);
    crypto_sign_seed_keypair(r->other_pk, sk, seed);
    uint8_t curve[32];
    do
        randombytes_buf(r->bad_pk, 32);
    while (crypto_sign_ed25519_pk_to_curve25519(curve, r->bad_pk) == 0);
    sodium_memzero(sk, sizeof(sk));
}

static const uint8_t *pick_pk(const struct run *r, enum wrong_pk w, const uint8_t *right)
{
    return w == PK_OTHER ? r->other_pk : w == PK_NOT_POINT ? r->bad_pk : right;
}

/* Drive kortnod's handshake over fd: read exactly what it wants, step, send what it says. */
static int handshake(struct run *r, int fd, double deadline)
{
    struct sync_buf out;
    uint8_t in[256];
    int rc = 0;

    sync_buf_init(&out);
    for (int steps = 0; steps < 8; steps++) {
        size_t want = sync_shs_want(&r->h);
        if (want > sizeof(in)) {
            check(r, false, "sync_shs_want() = %zu", want);
            rc = KN_EPROTO;
            goto out;
        }
        if (want > 0 && (rc = read_exact(fd, in, want, deadline)) < 0)
            goto out;
        size_t used = 0;
        rc = sync_shs_step(&r->h, want ? in : NULL, want, &used, &out);
        check(r, rc < 0 || used == want, "sync_shs_step used %zu of %zu bytes", used, want);
        if (rc < 0 && rc != -EAGAIN) {
            r->hs_fail_out = out.len;
            goto out;
        }
        if (out.len > 0) {
            int wrc = write_all(fd, out.data, out.len, deadline);
            sync_buf_consume(&out, out.len);
            if (wrc < 0) {
                rc = wrc;
                goto out;
            }
        }
        if (rc == 1)
            goto out;
    }
    check(r, false, "handshake did not finish in 8 steps");
    rc = -ETIMEDOUT;
out:
    sync_buf_finish(&out);
    return rc;
}

/*
 * Both directions at once: send kortnod's sealed messages and goodbye, open node's box-stream
 * until its goodbye or a failure, then half-close. Returns sync_box_open's last result, HANGUP,
 * or a negated errno.
 */
static int exchange(struct run *r, int fd, double deadline)
{
    struct sync_box tx = r->send0, rxbox = r->recv0;
    struct sync_buf out, in;
    int rc = 0, rx = 0; /* rx: 0 while reading, else sync_box_open's final result */
    size_t off = 0;

    sync_buf_init(&out);
    sync_buf_init(&in);
    size_t frames = 1; /* the goodbye */
    for (int i = 0; i < KORTNOD_MESSAGES; i++) {
        struct sync_buf m;
        sync_buf_init(&m);
        kortnod_message(i, &m);
        sync_box_seal(&tx, m.data, m.len, &out);
        sync_buf_append(&r->sent, m.data, m.len);
        frames += (m.len + SYNC_BOX_MAX_BODY - 1) / SYNC_BOX_MAX_BODY;
        sync_buf_finish(&m);
    }
    sync_box_goodbye(&tx, &out);
    size_t want_out = frames * FRAME_OVERHEAD + r->sent.len;
    check(r, out.len == want_out, "kortnod sealed %zu bytes, expected %zu (%zu frames)", out.len,
          want_out, frames);
    if (r->sc->kortnod_flip > 0 && r->sc->kortnod_flip <= out.len)
        out.data[r->sc->kortnod_flip - 1] ^= 0x80;

    while (rx == 0 || off < out.len) {
        struct pollfd p = { .fd = fd,
                            .events =
                                (short)((rx == 0 ? POLLIN : 0) | (off < out.len ? POLLOUT : 0)) };
        int n = poll(&p, 1, left_ms(deadline));
        if (n == 0) {
            rc = -ETIMEDOUT;
            goto out;
        }
        if (n < 0) {
            if (errno == EINTR)
                continue;
            rc = -errno;
            goto out;
        }
        if (off < out.len && (p.revents & (POLLOUT | POLLERR | POLLHUP))) {
            ssize_t w = send(fd, out.data + off, out.len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (w > 0)
                off += (size_t)w;
            else if (w < 0 && errno != EAGAIN && errno != EINTR) {
                rc = HANGUP;
                goto out;
            }
        }
        if (rx == 0 && (p.revents & (POLLIN | POLLERR | POLLHUP))) {
            uint8_t buf[1500]; /* small reads: frames arrive split across reads */
            ssize_t got = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
            if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) {
                rx = HANGUP;
                continue;
            }
            if (got < 0)
                continue;
            sync_buf_append(&r->wire, buf, (size_t)got);
            sync_buf_append(&in, buf, (size_t)got);
            size_t used = 0;
            rx = sync_box_open(&rxbox, in.data, in.len, &used, &r->got);
            check(r, used <= in.len, "sync_box_open used %zu of %zu", used, in.len);
            sync_buf_consume(&in, used);
            if (rx == 1)
                check(r, in.len == 0, "%zu bytes after node's goodbye", in.len);
        }
    }
    rc = rx;
    shutdown(fd, SHUT_WR);
out:
    sync_buf_finish(&out);
    sync_buf_finish(&in);
    return rc;
}

/* Open node's box-stream again from its first byte, fed one byte at a time. */
static void reopen_bytewise(struct run *r)
{
    struct sync_box rxbox = r->recv0;
    struct sync_buf in, plain;
    int rc = 0;

    sync_buf_init(&in);
    sync_buf_init(&plain);
    for (size_t i = 0; i < r->wire.len && rc == 0; i++) {
        size_t used = 0;
        sync_buf_append(&in, r->wire.data + i, 1);
        rc = sync_box_open(&rxbox, in.data, in.len, &used, &plain);
        sync_buf_consume(&in, used);
    }
    check(r, rc == r->box_rc, "byte by byte: sync_box_open ends with %s, in one go with %s",
          rcname(rc), rcname(r->box_rc));
    check(r,
          plain.len == r->got.len &&
              (plain.len == 0 || memcmp(plain.data, r->got.data, plain.len) == 0),
          "byte by byte: %zu bytes opened, in one go %zu (or they differ)", plain.len, r->got.len);
    sync_buf_finish(&in);
    sync_buf_finish(&plain);
}

/* Compare kortnod's box-stream keys and nonces with the ones node printed (--keys). */
static void compare_keys(struct run *r)
{
    static const struct {
        const char *node_field;
        bool kortnod_send; /* node's encrypt = kortnod's recv; node's decrypt = kortnod's send */
        bool nonce;
    } fields[] = {
        { "encrypt_key", false, false },
        { "encrypt_nonce", false, true },
        { "decrypt_key", true, false },
        { "decrypt_nonce", true, true },
    };
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        char theirs[80], ours[80];
        const struct sync_box *b = fields[i].kortnod_send ? &r->send0 : &r->recv0;
        json_str(r->peer.result, fields[i].node_field, theirs, sizeof(theirs));
        if (fields[i].nonce)
            hex(b->nonce, sizeof(b->nonce), ours);
        else
            hex(b->key, sizeof(b->key), ours);
        check(r, strcmp(theirs, ours) == 0, "node's %s %s != kortnod's %s %s", fields[i].node_field,
              theirs, fields[i].kortnod_send ? "send" : "recv", ours);
    }
}

static void check_node(struct run *r)
{
    const struct scenario *sc = r->sc;
    const char *res = r->peer.result;
    char s[128], want[128];

    check(r, r->peer.status == sc->want_node_exit, "peer.js exited %d, expected %d", r->peer.status,
          sc->want_node_exit);
    if (sc->want_node_exit == 2) {
        json_str(res, "handshake", s, sizeof(s));
        check(r, strcmp(s, "failed") == 0, "peer.js handshake \"%s\", expected failed", s);
        return;
    }
    if (r->hs_rc != 1) {
        /* node's server is done once it has sent its accept; kortnod's client may still refuse */
        check(r, json_num(res, "recv_bytes") == 0, "node received data from a failed handshake");
        return;
    }
    json_str(res, "handshake", s, sizeof(s));
    check(r, strcmp(s, "ok") == 0, "peer.js handshake \"%s\", expected ok", s);
    json_str(res, "remote", s, sizeof(s));
    hex(r->k_pk, 32, want);
    check(r, strcmp(s, want) == 0, "node sees remote %s, kortnod is %s", s, want);
    compare_keys(r);

    uint8_t d[32];
    crypto_hash_sha256(d, r->expect.data, r->expect.len);
    hex(d, 32, want);
    json_str(res, "sent_sha256", s, sizeof(s));
    check(r, strcmp(s, want) == 0 && json_num(res, "sent_bytes") == (long)r->expect.len,
          "node sent %ld bytes sha256 %s; this test expects %zu bytes sha256 %s",
          json_num(res, "sent_bytes"), s, r->expect.len, want);

    size_t n = sc->want_node_recv == ALL ? r->sent.len : sc->want_node_recv;
    if (n > r->sent.len)
        n = r->sent.len;
    crypto_hash_sha256(d, r->sent.data, n);
    hex(d, 32, want);
    json_str(res, "recv_sha256", s, sizeof(s));
    check(r, json_num(res, "recv_bytes") == (long)n && strcmp(s, want) == 0,
          "node received %ld bytes sha256 %s; kortnod sent %zu, expected %zu sha256 %s",
          json_num(res, "recv_bytes"), s, r->sent.len, n, want);
    json_str(res, "end", s, sizeof(s));
    check(r, strcmp(s, sc->want_node_exit == 0 ? "goodbye" : "error") == 0,
          "node's stream end \"%s\"", s);
}

static void check_kortnod(struct run *r)
{
    const struct scenario *sc = r->sc;

    check(r, r->hs_rc == sc->want_hs, "kortnod's handshake: %s (%d), expected %s", rcname(r->hs_rc),
          r->hs_rc, rcname(sc->want_hs));
    if (r->hs_rc == KN_EPROTO) {
        check(r, r->hs_fail_out == 0, "the failing step still gave %zu bytes to send",
              r->hs_fail_out);
        check(r, r->h.state == SYNC_SHS_FAILED, "state %d after KN_EPROTO, not FAILED",
              (int)r->h.state);
    }
    if (r->hs_rc != 1 || sc->want_hs != 1)
        return;
    check(r, r->h.state == SYNC_SHS_DONE, "state %d after completion, not DONE", (int)r->h.state);
    check(r, sodium_memcmp(r->h.remote_pk, r->n_pk, 32) == 0,
          "kortnod sees a remote key that is not node's");
    if (sc->node_breaks_off && r->box_rc == HANGUP) {
        check(r,
              r->got.len <= sc->want_recv &&
                  (r->got.len == 0 || memcmp(r->got.data, r->expect.data, r->got.len) == 0),
              "kortnod opened %zu bytes before node broke off, not a prefix of node's data",
              r->got.len);
        return;
    }
    check(r, r->box_rc == sc->want_box, "kortnod's box-stream reading ended with %s, expected %s",
          rcname(r->box_rc), rcname(sc->want_box));
    size_t same = 0;
    while (same < r->got.len && same < r->expect.len && r->got.data[same] == r->expect.data[same])
        same++;
    check(r, r->got.len == sc->want_recv && same == r->got.len,
          "kortnod opened %zu bytes of node's data, expected the first %zu; first difference at "
          "byte %zu",
          r->got.len, sc->want_recv, same);
    reopen_bytewise(r);
}

static int run_scenario(const struct scenario *sc)
{
    struct run *r = kn_xcalloc(1, sizeof(*r));
    double deadline = now() + CASE_SECONDS;
    int lfd = -1, fd = -1, rc;
    char nk[65], seed[65], spk[65], port_s[16], flip_s[24];
    uint16_t port = 0;

    r->sc = sc;
    r->peer.status = -1;
    sync_buf_init(&r->sent);
    sync_buf_init(&r->wire);
    sync_buf_init(&r->got);
    sync_buf_init(&r->expect);
    node_data(&r->expect);
    keys_make(r);
    hex(r->node_netkey, 32, nk);
    hex(r->n_seed, 32, seed);
    snprintf(flip_s, sizeof(flip_s), "%zu", sc->node_flip - 1);

    fprintf(stderr, "# %s\n", sc->name);
    const char *args[16];
    size_t a = 0;
    if (sc->kortnod_server) {
        if ((lfd = listen_any(&port)) < 0) {
            check(r, false, "listen: %s", strerror(-lfd));
            goto out;
        }
        hex(pick_pk(r, sc->node_expects, r->k_pk), 32, spk);
        snprintf(port_s, sizeof(port_s), "%u", (unsigned)port);
        args[a++] = "client";
        args[a++] = nk;
        args[a++] = seed;
        args[a++] = spk;
        args[a++] = port_s;
    } else {
        args[a++] = "server";
        args[a++] = nk;
        args[a++] = seed;
        args[a++] = "0";
    }
    args[a++] = "--keys";
    args[a++] = "--timeout";
    args[a++] = PEER_SECONDS;
    if (sc->node_flip > 0) {
        args[a++] = "--corrupt";
        args[a++] = flip_s;
    }
    args[a] = NULL;
    if ((rc = peer_start(&r->peer, sc->js, args)) < 0) {
        check(r, false, "cannot start node: %s", strerror(-rc));
        goto out;
    }

    if (sc->kortnod_server) {
        fd = accept_one(lfd, deadline);
        if (fd < 0) {
            check(r, false, "accept: %s", rcname(fd));
            goto out;
        }
        sync_shs_init_server(&r->h, r->netkey, r->k_pk, r->k_sk);
    } else {
        char line[256];
        if ((rc = peer_line(&r->peer, line, sizeof(line), deadline)) < 0) {
            check(r, false, "node server did not say its port: %s", rcname(rc));
            goto out;
        }
        long p = json_num(line, "listening");
        if (p <= 0 || p > 65535) {
            check(r, false, "node server said \"%s\", not its port", line);
            goto out;
        }
        if ((fd = connect_to((uint16_t)p)) < 0) {
            check(r, false, "connect to %ld: %s", p, strerror(-fd));
            goto out;
        }
        sync_shs_init_client(&r->h, r->netkey, r->k_pk, r->k_sk,
                             pick_pk(r, sc->kortnod_expects, r->n_pk));
    }
    r->shs_live = true;

    r->hs_rc = handshake(r, fd, deadline);
    if (r->hs_rc == 1) {
        sync_shs_boxes(&r->h, &r->send0, &r->recv0);
        r->box_rc = exchange(r, fd, deadline);
    } else {
        shutdown(fd, SHUT_WR);
    }

out:
    peer_finish(&r->peer, deadline + 5);
    if (fd >= 0)
        close(fd);
    if (lfd >= 0)
        close(lfd);
    if (r->peer.status >= 0) {
        check_kortnod(r);
        check_node(r);
    }
    if (r->shs_live)
        sync_shs_finish(&r->h);
    int failures = r->failures;
    fprintf(stderr, "%s %s\n", failures ? "not ok" : "ok", sc->name);
    sync_buf_finish(&r->sent);
    sync_buf_finish(&r->wire);
    sync_buf_finish(&r->got);
    sync_buf_finish(&r->expect);
    sodium_memzero(r, sizeof(*r));
    free(r);
    return failures ? -1 : 0;
}

/* Offsets in node's bytes on the wire: its handshake, then frames of 34 + body bytes. */
#define NODE_AS_SERVER(off) (SERVER_HS_LEN + (off))
#define NODE_AS_CLIENT(off) (CLIENT_HS_LEN + (off))

static const struct scenario scenarios[] = {
    /* both roles, exchanging data both ways; chloride on sodium-native and on pure JS */
    { .name = "kortnod-server",
      .kortnod_server = true,
      .want_hs = 1,
      .want_box = 1,
      .want_recv = ALL_NODE,
      .want_node_recv = ALL },
    { .name = "kortnod-client",
      .want_hs = 1,
      .want_box = 1,
      .want_recv = ALL_NODE,
      .want_node_recv = ALL },
    { .name = "kortnod-server-js",
      .kortnod_server = true,
      .js = true,
      .want_hs = 1,
      .want_box = 1,
      .want_recv = ALL_NODE,
      .want_node_recv = ALL },
    { .name = "kortnod-client-js",
      .js = true,
      .want_hs = 1,
      .want_box = 1,
      .want_recv = ALL_NODE,
      .want_node_recv = ALL },

    /* another network: the server refuses the client's hello and says nothing */
    { .name = "netkey-node-client",
      .kortnod_server = true,
      .node_other_netkey = true,
      .want_hs = KN_EPROTO,
      .want_node_exit = 2 },
    { .name = "netkey-node-server",
      .node_other_netkey = true,
      .want_hs = HANGUP,
      .want_node_exit = 2 },

    /* the client expects another server: node's server cannot open kortnod's auth ... */
    { .name = "kortnod-expects-other",
      .kortnod_expects = PK_OTHER,
      .want_hs = HANGUP,
      .want_node_exit = 2 },
    /* ... kortnod's client refuses a key that is no point, before it sends its auth ... */
    { .name = "kortnod-expects-no-point",
      .kortnod_expects = PK_NOT_POINT,
      .want_hs = KN_EPROTO,
      .want_node_exit = 2 },
    /* ... and kortnod's server refuses node's auth made for another server */
    { .name = "node-expects-other",
      .kortnod_server = true,
      .node_expects = PK_OTHER,
      .want_hs = KN_EPROTO,
      .want_node_exit = 2 },

    /* a flipped byte in each handshake message from node (node's server is done once it has
       sent its accept, so it sees the hang-up on its box-stream) */
    { .name = "flip-node-client-hello",
      .kortnod_server = true,
      .node_flip = FLIP(40),
      .want_hs = KN_EPROTO,
      .want_node_exit = 2 },
    { .name = "flip-node-client-auth",
      .kortnod_server = true,
      .node_flip = FLIP(64 + 50),
      .want_hs = KN_EPROTO,
      .want_node_exit = 2 },
    { .name = "flip-node-server-hello",
      .node_flip = FLIP(3),
      .want_hs = KN_EPROTO,
      .want_node_exit = 2 },
    { .name = "flip-node-server-accept",
      .node_flip = FLIP(64 + 79),
      .want_hs = KN_EPROTO,
      .want_node_exit = 3 },

    /* a flipped byte in node's box-stream: a header, a body, the header of a full frame, the
       goodbye; kortnod keeps exactly the frames before it */
    { .name = "flip-node-frame1-header",
      .node_flip = FLIP(NODE_AS_SERVER(1)),
      .want_hs = 1,
      .want_box = KN_EPROTO,
      .want_recv = 0,
      .want_node_recv = ALL },
    { .name = "flip-node-frame2-body",
      .kortnod_server = true,
      .node_flip = FLIP(NODE_AS_CLIENT(NODE_FRAME1_LEN + FRAME_OVERHEAD + 100)),
      .want_hs = 1,
      .want_box = KN_EPROTO,
      .want_recv = 15,
      .want_node_recv = ALL },
    { .name = "flip-node-frame4-header",
      .node_flip = FLIP(NODE_AS_SERVER(NODE_FRAME1_LEN + 2 * (FRAME_OVERHEAD + 4096))),
      .want_hs = 1,
      .want_box = KN_EPROTO,
      .want_recv = 15 + 8192,
      .want_node_recv = ALL },
    { .name = "flip-node-goodbye",
      .kortnod_server = true,
      .node_flip = FLIP(NODE_AS_CLIENT(NODE_FRAMES_LEN + 20)),
      .want_hs = 1,
      .want_box = KN_EPROTO,
      .want_recv = ALL_NODE,
      .want_node_recv = ALL },

    /* a flipped byte in kortnod's box-stream: node keeps the frames before it only */
    { .name = "flip-kortnod-frame2-body",
      .kortnod_server = true,
      .kortnod_flip = FLIP(FRAME_OVERHEAD + 18 + FRAME_OVERHEAD + 7),
      .want_hs = 1,
      .want_box = 1,
      .want_recv = ALL_NODE,
      .want_node_exit = 3,
      .want_node_recv = 18,
      .node_breaks_off = true },
};
#define N_SCENARIOS (sizeof(scenarios) / sizeof(scenarios[0]))

static bool executable_in_path(const char *name, char *out, size_t size)
{
    if (strchr(name, '/')) {
        snprintf(out, size, "%s", name);
        return access(name, X_OK) == 0;
    }
    const char *path = getenv("PATH");
    if (!path)
        path = "/usr/local/bin:/usr/bin:/bin";
    while (*path) {
        size_t n = strcspn(path, ":");
        snprintf(out, size, "%.*s/%s", (int)n, n ? path : ".", name);
        if (access(out, X_OK) == 0)
            return true;
        path += n + (path[n] == ':');
    }
    return false;
}

int main(int argc, char **argv)
{
    const char *only = argc > 1 ? argv[1] : NULL;

    if (only && strcmp(only, "--list") == 0) {
        for (size_t i = 0; i < N_SCENARIOS; i++)
            printf("%s\n", scenarios[i].name);
        return 0;
    }
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stderr, NULL, _IOLBF, 0);
    if (sodium_init() < 0) {
        fprintf(stderr, "interop: sodium_init failed\n");
        return 1;
    }

    const char *node = getenv("NODE");
    if (!node || !*node)
        node = "node";
    if (!executable_in_path(node, node_prog, sizeof(node_prog))) {
        fprintf(stderr,
                "interop: skipped: node (%s) is not installed; .ci/install-deps installs "
                "it\n",
                node);
        return SKIP;
    }
    const char *root = getenv("KORTNOD_SOURCE_ROOT");
    if (!root || !*root)
        root = KORTNOD_SOURCE_ROOT;
    snprintf(peer_script, sizeof(peer_script), "%s/tests/interop/peer.js", root);
    static const char *const packages[] = { "secret-handshake", "pull-box-stream", "pull-stream",
                                            "stream-to-pull-stream", "chloride" };
    for (size_t i = 0; i < sizeof(packages) / sizeof(packages[0]); i++) {
        char pkg[4096];
        struct stat st;
        snprintf(pkg, sizeof(pkg), "%s/tests/interop/node_modules/%s/package.json", root,
                 packages[i]);
        if (stat(pkg, &st) != 0) {
            fprintf(stderr,
                    "interop: skipped: %s is missing; run `npm ci --no-audit --no-fund` in "
                    "tests/interop (.ci/install-deps does)\n",
                    pkg);
            return SKIP;
        }
    }

    int passed = 0, failed = 0;
    for (size_t i = 0; i < N_SCENARIOS; i++) {
        if (only && strcmp(only, scenarios[i].name) != 0)
            continue;
        if (run_scenario(&scenarios[i]) == 0)
            passed++;
        else
            failed++;
    }
    if (passed + failed == 0) {
        fprintf(stderr, "interop: no scenario named %s (--list lists them)\n", only);
        return 1;
    }
    fprintf(stderr, "interop: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
