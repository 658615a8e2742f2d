// SPDX-License-Identifier: MIT
//
// proxy: a fault-injecting TCP proxy for the fault tests (tests/faults/), between two kortnod
// daemons on 127.0.0.1. It accepts on --listen PORT and forwards each connection to --to PORT,
// both ways, and injects faults chosen on its standard input, one command a line:
//
//   pass                       forward every byte as it comes (the start)
//   delay MS [JITTER]          hold every chunk MS ms (plus 0..JITTER ms) before forwarding it,
//                              in order
//   throttle BYTES             forward at most BYTES bytes a second in each direction of each
//                              connection
//   drop MS                    close each connection, both sides, at a random moment within MS ms
//                              (from its start, or from this command for those already open)
//   truncate up|down|both N    forward a random number of bytes, 1 to N, of the direction (up:
//                              to --to, down: back to the client), then close the connection:
//                              cut in the middle of a frame
//   corrupt up|down|both A B   flip one byte at a random offset of the direction's stream,
//                              from A to B - 1 (counted from the connection's first byte; for a
//                              connection already open, from this command on), then go on
//                              forwarding
//   quit                       (the end of input too)
//
// A mode holds until the next one, for the connections open and those to come; the random
// choices come from --seed (xorshift64*), so the same seed makes the same choices for the same
// sequence of connections and bytes. Each command is answered "ok COMMAND"; events are printed
// one a line, flushed at once: "ready" (listening), "open C", "closed C (why)", "dropped C
// after MS ms", "truncated C DIR after N bytes", "corrupted C DIR at byte N (XX -> YY)".
// Usage errors exit 2; a line it does not understand is answered "error ...".

#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS   32
#define CHUNK       16384
#define QUEUE_LIMIT (1u << 20) // bytes held per direction before reading stops
#define MAX_LINE    256

enum mode { PASS, DELAY, THROTTLE, DROP, TRUNCATE, CORRUPT };
enum { UP, DOWN };

static const char *const dir_names[] = { "up", "down" };

struct chunk {
    struct chunk *next;
    uint64_t due; // ms: not forwarded before
    size_t len, off;
    uint8_t data[];
};

struct dir {
    struct chunk *head, *tail;
    size_t queued;
    uint64_t seen;      // bytes read from this direction's source
    uint64_t cut_at;    // truncate: bytes to forward before the cut (UINT64_MAX: none)
    uint64_t flip_at;   // corrupt: the stream offset to flip (UINT64_MAX: none)
    uint64_t next_send; // throttle: ms before which nothing more goes
    bool eof, cut, shut;
};

struct conn {
    int id;
    int fd[2]; // fd[UP] the client's socket (data read there goes up), fd[DOWN] the server's
    struct dir d[2];
    uint64_t start, drop_at;
    bool used;
};

static struct {
    enum mode mode;
    unsigned arg, jitter, from, to;
    bool dirs[2];
} cfg = { PASS, 0, 0, 0, 0, { false, false } };

static struct conn conns[MAX_CONNS];
static uint64_t rng_state;
static int next_id = 1;

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1DULL;
}

// A number from lo to hi, both included.
static uint64_t rng_between(uint64_t lo, uint64_t hi)
{
    return hi <= lo ? lo : lo + rng() % (hi - lo + 1);
}

__attribute__((format(printf, 1, 2))) static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

static void set_nonblock(int fd)
{
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

// The faults of the current mode, armed on a connection (new, or open when the mode changed).
static void arm(struct conn *c, uint64_t now)
{
    c->drop_at = cfg.mode == DROP ? now + rng_between(0, cfg.arg) : UINT64_MAX;
    for (int i = 0; i < 2; i++) {
        struct dir *d = &c->d[i];
        d->cut_at = UINT64_MAX;
        d->flip_at = UINT64_MAX;
        if (cfg.mode == TRUNCATE && cfg.dirs[i])
            d->cut_at = d->seen + rng_between(1, cfg.arg);
        if (cfg.mode == CORRUPT && cfg.dirs[i]) {
            uint64_t base = d->seen > cfg.from ? d->seen : cfg.from;
            d->flip_at = base + rng_between(0, cfg.to - cfg.from - 1);
        }
    }
}

static void conn_close(struct conn *c, const char *why)
{
    for (int i = 0; i < 2; i++) {
        close(c->fd[i]);
        struct chunk *k = c->d[i].head;
        while (k) {
            struct chunk *next = k->next;
            free(k);
            k = next;
        }
    }
    say("closed %d (%s)", c->id, why);
    memset(c, 0, sizeof(*c));
}

static void accept_one(int lfd, int port)
{
    int cfd = accept(lfd, NULL, NULL);
    if (cfd < 0)
        return;
    struct conn *c = NULL;
    for (int i = 0; i < MAX_CONNS && !c; i++)
        if (!conns[i].used)
            c = &conns[i];
    struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int sfd = c ? socket(AF_INET, SOCK_STREAM, 0) : -1;
    // The target is on 127.0.0.1: a blocking connect is answered at once.
    if (sfd < 0 || connect(sfd, (struct sockaddr *)&to, sizeof(to)) < 0) {
        say("refused a connection: %s", c ? strerror(errno) : "too many connections");
        if (sfd >= 0)
            close(sfd);
        close(cfd);
        return;
    }
    set_nonblock(cfd);
    set_nonblock(sfd);
    memset(c, 0, sizeof(*c));
    c->used = true;
    c->id = next_id++;
    c->fd[UP] = cfd;
    c->fd[DOWN] = sfd;
    c->start = now_ms();
    arm(c, c->start);
    say("open %d", c->id);
}

// Bytes read from the source of direction i: corrupted, cut, or queued as they are.
static void take(struct conn *c, int i, uint8_t *buf, size_t len, uint64_t now)
{
    struct dir *d = &c->d[i];
    if (d->flip_at >= d->seen && d->flip_at < d->seen + len) {
        size_t at = (size_t)(d->flip_at - d->seen);
        uint8_t old = buf[at];
        buf[at] ^= (uint8_t)rng_between(1, 255);
        say("corrupted %d %s at byte %llu (%02x -> %02x)", c->id, dir_names[i],
            (unsigned long long)d->flip_at, old, buf[at]);
        d->flip_at = UINT64_MAX;
    }
    if (d->cut_at < d->seen + len) {
        len = (size_t)(d->cut_at - d->seen);
        d->cut = true;
        say("truncated %d %s after %llu bytes", c->id, dir_names[i], (unsigned long long)d->cut_at);
    }
    d->seen += len;
    if (len == 0)
        return;
    struct chunk *k = malloc(sizeof(*k) + len);
    if (!k) {
        perror("proxy: malloc");
        exit(1);
    }
    memcpy(k->data, buf, len);
    k->len = len;
    k->off = 0;
    k->next = NULL;
    k->due = now;
    if (cfg.mode == DELAY)
        k->due = now + cfg.arg + rng_between(0, cfg.jitter);
    if (d->tail && d->tail->due > k->due)
        k->due = d->tail->due; // in order
    if (d->tail)
        d->tail->next = k;
    else
        d->head = k;
    d->tail = k;
    d->queued += len;
}

// Forward what is due of direction i. Returns false when the connection was closed.
static bool give(struct conn *c, int i, uint64_t now)
{
    struct dir *d = &c->d[i];
    int to = c->fd[i == UP ? DOWN : UP];
    while (d->head && d->head->due <= now && d->next_send <= now) {
        struct chunk *k = d->head;
        size_t n = k->len - k->off;
        if (cfg.mode == THROTTLE) {
            size_t slice = cfg.arg / 20 ? cfg.arg / 20 : 1; // 50 ms worth at a time
            n = n < slice ? n : slice;
        }
        ssize_t w = send(to, k->data + k->off, n, MSG_NOSIGNAL);
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return true;
        if (w < 0) {
            conn_close(c, strerror(errno));
            return false;
        }
        k->off += (size_t)w;
        d->queued -= (size_t)w;
        if (cfg.mode == THROTTLE)
            d->next_send = now + ((uint64_t)w * 1000 + cfg.arg - 1) / cfg.arg;
        if (k->off == k->len) {
            d->head = k->next;
            if (!d->head)
                d->tail = NULL;
            free(k);
        }
    }
    if (d->head)
        return true;
    if (d->cut) {
        conn_close(c, "truncated");
        return false;
    }
    if (d->eof && !d->shut) {
        shutdown(to, SHUT_WR);
        d->shut = true;
    }
    if (c->d[UP].shut && c->d[DOWN].shut) {
        conn_close(c, "both sides ended");
        return false;
    }
    return true;
}

// A command line: the new mode, or an error. Returns false on quit.
static bool command(char *line, uint64_t now)
{
    char word[32] = "", dirw[16] = "";
    unsigned a = 0, b = 0;
    int n = sscanf(line, "%31s", word);
    line[strcspn(line, "\r\n")] = '\0';
    if (n != 1)
        return true;
    bool ok = true;
    if (!strcmp(word, "quit")) {
        return false;
    } else if (!strcmp(word, "pass")) {
        cfg.mode = PASS;
    } else if (!strcmp(word, "delay") && sscanf(line, "%*s %u %u", &a, &b) >= 1) {
        cfg.mode = DELAY;
        cfg.arg = a;
        cfg.jitter = sscanf(line, "%*s %u %u", &a, &b) == 2 ? b : 0;
    } else if (!strcmp(word, "throttle") && sscanf(line, "%*s %u", &a) == 1 && a > 0) {
        cfg.mode = THROTTLE;
        cfg.arg = a;
    } else if (!strcmp(word, "drop") && sscanf(line, "%*s %u", &a) == 1) {
        cfg.mode = DROP;
        cfg.arg = a;
    } else if (!strcmp(word, "truncate") && sscanf(line, "%*s %15s %u", dirw, &a) == 2 && a > 0) {
        cfg.mode = TRUNCATE;
        cfg.arg = a;
    } else if (!strcmp(word, "corrupt") && sscanf(line, "%*s %15s %u %u", dirw, &a, &b) == 3 &&
               b > a) {
        cfg.mode = CORRUPT;
        cfg.from = a;
        cfg.to = b;
    } else {
        ok = false;
    }
    if (ok && (cfg.mode == TRUNCATE || cfg.mode == CORRUPT)) {
        cfg.dirs[UP] = !strcmp(dirw, "up") || !strcmp(dirw, "both");
        cfg.dirs[DOWN] = !strcmp(dirw, "down") || !strcmp(dirw, "both");
        ok = cfg.dirs[UP] || cfg.dirs[DOWN];
        if (!ok)
            cfg.mode = PASS;
    }
    if (!ok) {
        say("error: not a command: %s", line);
        return true;
    }
    for (int i = 0; i < MAX_CONNS; i++)
        if (conns[i].used) {
            arm(&conns[i], now);
            for (int k = 0; k < 2; k++)
                conns[i].d[k].next_send = 0;
        }
    say("ok %s", line);
    return true;
}

static int usage(void)
{
    fprintf(stderr, "usage: proxy --listen PORT --to PORT [--seed N]\n");
    return 2;
}

int main(int argc, char **argv)
{
    int listen_port = 0, to_port = 0;
    uint64_t seed = 1;
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc)
            return usage();
        if (!strcmp(argv[i], "--listen"))
            listen_port = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--to"))
            to_port = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--seed"))
            seed = strtoull(argv[++i], NULL, 10);
        else
            return usage();
    }
    if (listen_port <= 0 || listen_port > 65535 || to_port <= 0 || to_port > 65535)
        return usage();
    rng_state = seed * 0x9E3779B97F4A7C15ULL + 1; // never 0
    signal(SIGPIPE, SIG_IGN);

    int lfd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)listen_port) };
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(lfd, 16) < 0) {
        fprintf(stderr, "proxy: cannot listen on 127.0.0.1:%d: %s\n", listen_port, strerror(errno));
        return 1;
    }
    say("ready");

    char line[MAX_LINE];
    size_t have = 0;
    for (;;) {
        struct pollfd pfd[2 + 2 * MAX_CONNS];
        int who[2 + 2 * MAX_CONNS];
        int n = 0;
        uint64_t now = now_ms(), wake = UINT64_MAX;
        pfd[n] = (struct pollfd){ .fd = 0, .events = POLLIN };
        who[n++] = -1;
        pfd[n] = (struct pollfd){ .fd = lfd, .events = POLLIN };
        who[n++] = -2;
        for (int i = 0; i < MAX_CONNS; i++) {
            struct conn *c = &conns[i];
            if (!c->used)
                continue;
            if (c->drop_at < wake)
                wake = c->drop_at;
            for (int k = 0; k < 2; k++) {
                struct dir *d = &c->d[k];
                short ev = 0;
                if (!d->eof && !d->cut && d->queued < QUEUE_LIMIT)
                    ev |= POLLIN; // read the source of direction k
                if (ev) {
                    pfd[n] = (struct pollfd){ .fd = c->fd[k], .events = ev };
                    who[n++] = i * 2 + k;
                }
                if (d->head) {
                    uint64_t due = d->head->due > d->next_send ? d->head->due : d->next_send;
                    if (due <= now) {
                        pfd[n] =
                            (struct pollfd){ .fd = c->fd[k == UP ? DOWN : UP], .events = POLLOUT };
                        who[n++] = -3 - (i * 2 + k);
                    } else if (due < wake) {
                        wake = due;
                    }
                }
            }
        }
        int timeout = wake == UINT64_MAX ? -1 : wake <= now ? 0 : (int)(wake - now);
        if (poll(pfd, (nfds_t)n, timeout) < 0 && errno != EINTR) {
            perror("proxy: poll");
            return 1;
        }
        now = now_ms();
        for (int p = 0; p < n; p++) {
            if (!pfd[p].revents)
                continue;
            if (who[p] == -1) {
                ssize_t r = read(0, line + have, sizeof(line) - 1 - have);
                if (r <= 0)
                    return 0;
                have += (size_t)r;
                line[have] = '\0';
                char *nl;
                while ((nl = strchr(line, '\n'))) {
                    *nl = '\0';
                    if (!command(line, now))
                        return 0;
                    have -= (size_t)(nl + 1 - line);
                    memmove(line, nl + 1, have + 1);
                }
                if (have == sizeof(line) - 1)
                    have = 0; // a line too long: forgotten
            } else if (who[p] == -2) {
                accept_one(lfd, to_port);
            } else if (who[p] >= 0) {
                struct conn *c = &conns[who[p] / 2];
                int k = who[p] % 2;
                if (!c->used || c->d[k].eof || c->d[k].cut)
                    continue;
                uint8_t buf[CHUNK];
                ssize_t r = recv(c->fd[k], buf, sizeof(buf), 0);
                if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
                    continue;
                if (r < 0) {
                    conn_close(c, strerror(errno));
                    continue;
                }
                if (r == 0)
                    c->d[k].eof = true;
                else
                    take(c, k, buf, (size_t)r, now);
            }
            // POLLOUT entries are served below, with everything that is due.
        }
        for (int i = 0; i < MAX_CONNS; i++) {
            struct conn *c = &conns[i];
            if (!c->used)
                continue;
            if (c->drop_at <= now) {
                say("dropped %d after %llu ms", c->id, (unsigned long long)(now - c->start));
                conn_close(c, "dropped");
                continue;
            }
            if (give(c, UP, now))
                give(c, DOWN, now);
        }
    }
}
