/* SPDX-License-Identifier: MIT */
/*
 * The daemon's transport: one libuv loop, TCP connections each driving a node_conn, a timer that
 * pumps live entries and drops stalled peers, dialling of configured peers with exponential
 * back-off and jitter, and a clean shutdown on SIGINT/SIGTERM. `kortnod sync` uses the same
 * machinery for one connection that ends when both sides are caught up.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>
#include <sys/resource.h>
#include <unistd.h>
#include <uv.h>

#include "lan.h"
#include "node.h"
#include "reader.h"
#include "ui.h"

#define TICK_MS 25
/* Entries given a place in the order or applied per loop turn while the card domain catches up. */
#define DOMAIN_STEP  20000
#define KEEPALIVE_MS 30000
#define HANDSHAKE_MS 10000
/* Connections at once: offices stay connected in live mode, so the hub needs one for each node
 * of the country (docs/scale.md); an office or a laptop needs a few. */
#define MAX_CONNS_HUB    4096
#define MAX_CONNS_NODE   64
#define WRITE_HIGH_WATER (1u << 20)
#define BACKOFF_MIN_MS   500
#define BACKOFF_MAX_MS   60000
#define LAN_PERIOD_MS    5000
#define LAN_EXPIRE_MS    (4 * LAN_PERIOD_MS) /* a LAN peer not heard this long is gone */
#define REFRESH_TICKS    40                  /* learned addresses read again every second */
#define NOTE_EVERY_MS    60000               /* a live link's record is kept this fresh */
#define MAX_LAN_PEERS    64                  /* LAN peers dialled at most (the rest ignored) */

struct daemon;

struct peer {
    uv_tcp_t tcp;
    struct daemon *d;
    struct node_conn conn;
    int dial; /* index into the dial list, or -1 for an accepted connection */
    bool writing, closing, connected;
    bool warned_behind;  /* said that this peer holds our own feed beyond our database */
    uint64_t forks_said; /* fork proofs from this peer already in the log */
    uint64_t held_said, refused_said; /* trust: entries held / refused already in the log */
    uint64_t since, last_rx, last_tx;
    bool noted_ok;                /* its caught-up state is in the links record */
    uint64_t noted_in, noted_out; /* entries already counted there */
    uint64_t noted_at;            /* loop time of the last note */
    char name[128];
    struct peer *next;
};

/* Where a dial target comes from. */
enum dial_source { DIAL_CONF, DIAL_LOG, DIAL_LAN };
static const char *const source_names[] = { "configured", "announced", "lan" };

struct dial {
    char host[64];
    int port;
    uint8_t pk[STORE_KEY_LEN];
    struct peer *peer; /* while connected */
    uint64_t next_try;
    unsigned failures;
    uint64_t last_sync; /* ms, last time both sides were caught up */
    enum dial_source source;
    bool gone;         /* DIAL_LOG: forgotten, moved or no longer announced; DIAL_LAN: not heard */
    bool forgotten;    /* gone as unreachable (DIAL_LOG) or not heard (DIAL_LAN): status says so */
    bool seen;         /* DIAL_LOG: named by the log at the last reading of the addresses */
    bool passive;      /* DIAL_LAN: the peer dials us (the lower node id dials) */
    uint64_t seq;      /* DIAL_LOG: the node.address entry it came from */
    uint64_t alive_ms; /* DIAL_LOG: wall clock when added or last caught up */
    uint64_t heard;    /* DIAL_LAN: loop time of the last announcement */
};

/* What a card reader holds now, for status.json and a later user interface. */
struct live_reader {
    char name[READER_MAX_NAME];
    enum { LIVE_EMPTY, LIVE_CARD, LIVE_ERROR } card;
    char chip[17];
    char atr[2 * READER_MAX_ATR + 1];
    char order[65];
    bool matches, hsa_checked;
    char text[200]; /* "matches order X", or why not; LIVE_ERROR: the read error */
    int64_t since_ms;
};

struct daemon {
    uv_loop_t loop;
    uv_tcp_t server;
    bool listening;
    uv_timer_t tick;
    uv_idle_t domain; /* runs while arrived entries wait to be applied to the card domain */
    uv_signal_t sigint, sigterm;
    struct node *n;
    uint8_t netkey[32];
    struct peer *peers;
    size_t npeers;
    struct dial *dials;
    size_t ndials, dials_cap;
    bool stopping;
    bool once; /* kortnod sync: stop when the only connection is caught up */
    uint64_t ticks;
    int exit_code;
    enum node_log_level level;
    uint64_t idle_ms;
    size_t max_conns;           /* accepted connections at once */
    struct reader_watch *rw;    /* NULL when the daemon does not watch readers */
    const char *reader_service; /* "starting", "up", "down" */
    char reader_detail[160];
    struct live_reader readers[READER_MAX_READERS];
    size_t nreaders;
    struct lan *lan; /* NULL when LAN discovery is off */
    char lan_state[200];
    uint64_t lan_found, start; /* nodes found on the LAN; loop time at start */
    const char *announce;      /* this node's address for the log, or NULL */
    bool announced;
    uint64_t forget_ms;
    struct ui *ui;      /* the web interface, or NULL */
    bool status_dirty;  /* a link opened or closed: status.json is written soon */
    uint64_t status_at; /* loop time status.json was last written */
};

static const char *const level_names[] = { "error", "warn", "info", "debug" };

__attribute__((format(printf, 3, 4))) static void logf_(struct daemon *d, enum node_log_level lv,
                                                        const char *fmt, ...)
{
    char ts[32];
    va_list ap;
    if (lv > d->level)
        return;
    node_format_time(node_now_ms(), ts);
    fprintf(stderr, "%s %-5s ", ts, level_names[lv]);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static void peer_close(struct peer *p, const char *why);

static void on_closed(uv_handle_t *h)
{
    struct peer *p = h->data;
    struct daemon *d = p->d;
    for (struct peer **pp = &d->peers; *pp; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    d->npeers--;
    node_conn_finish(&p->conn);
    free(p);
}

static void on_write(uv_write_t *w, int status);

/* Start a write of what the connection queued, one write at a time. */
static void flush(struct peer *p)
{
    if (p->writing || p->closing || !p->connected || p->conn.out.len == 0)
        return;
    uv_write_t *w = kn_xmalloc(sizeof(*w) + p->conn.out.len);
    char *data = (char *)(w + 1);
    memcpy(data, p->conn.out.data, p->conn.out.len);
    uv_buf_t buf = uv_buf_init(data, (unsigned)p->conn.out.len);
    p->last_tx = uv_now(&p->d->loop);
    p->conn.out.len = 0;
    w->data = p;
    p->writing = true;
    int r = uv_write(w, (uv_stream_t *)&p->tcp, &buf, 1, on_write);
    if (r < 0) {
        free(w);
        p->writing = false;
        peer_close(p, uv_strerror(r));
    }
}

/* The path a connection took: "lan" when the peer was found on the local network. */
static const char *peer_path(const struct peer *p)
{
    const struct daemon *d = p->d;
    if (p->dial >= 0)
        return d->dials[p->dial].source == DIAL_LAN ? "lan" : "tcp";
    for (size_t i = 0; i < d->ndials; i++)
        if (d->dials[i].source == DIAL_LAN && !d->dials[i].gone &&
            memcmp(d->dials[i].pk, p->conn.peer_id, STORE_KEY_LEN) == 0)
            return "lan";
    return "tcp";
}

/*
 * What the peer holds as far as we know, as {author: seq}: all we hold once both sides are caught
 * up, else what its clock said and what went either way since. own is this node's clock (may be
 * NULL: read here when needed).
 */
static json_t *peer_clock(struct peer *p, json_t *own)
{
    if (node_conn_caught_up(&p->conn)) {
        if (own)
            return json_incref(own);
        if (node_clock_json(p->d->n, &own) == 0)
            return own;
    }
    json_t *clock = json_object();
    for (size_t i = 0; i < p->conn.npeer; i++) {
        char a[STORE_ID_HEX_LEN + 1];
        store_hex(p->conn.peer[i].author, STORE_KEY_LEN, a);
        json_object_set_new(clock, a, json_integer((json_int_t)p->conn.peer[i].seq));
    }
    return clock;
}

/*
 * Keep this node's record of the link (store_links, which `kortnod status` shows): the attempt,
 * and when ok (both sides caught up) the success, with what the peer holds now.
 */
static void note_link(struct peer *p, bool ok)
{
    struct daemon *d = p->d;
    struct store_link l = { .last_try_ms = node_now_ms() };
    if (p->dial >= 0)
        memcpy(l.node, d->dials[p->dial].pk, STORE_KEY_LEN);
    else if (!sodium_is_zero(p->conn.peer_id, STORE_KEY_LEN))
        memcpy(l.node, p->conn.peer_id, STORE_KEY_LEN);
    else
        return; /* accepted, and never said who it is */
    snprintf(l.path, sizeof(l.path), "%s", peer_path(p));
    if (p->dial >= 0)
        snprintf(l.addr, sizeof(l.addr), "%s", p->name);
    /* The hub keeps no peer's clock: thousands of them, and it waits for no one. */
    json_t *held = ok && strcmp(d->n->role, "hub") != 0 ? peer_clock(p, NULL) : NULL;
    char *clock = held ? json_dumps(held, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(held);
    if (ok)
        l.last_ok_ms = l.last_try_ms;
    l.clock = clock;
    l.entries_in = p->conn.entries_in - p->noted_in;
    l.entries_out = p->conn.entries_out - p->noted_out;
    int r = store_link_note(d->n->store, &l);
    if (r < 0) {
        logf_(d, NODE_LOG_WARN, "peer %s: keeping the record of the link: %s", p->name,
              kn_strerror(r));
    } else {
        p->noted_in = p->conn.entries_in;
        p->noted_out = p->conn.entries_out;
    }
    p->noted_at = uv_now(&d->loop);
    free(clock);
}

static void maybe_done(struct peer *p)
{
    struct daemon *d = p->d;
    if (node_conn_caught_up(&p->conn) && p->dial >= 0) {
        d->dials[p->dial].last_sync = node_now_ms();
        d->dials[p->dial].alive_ms = node_now_ms();
        d->dials[p->dial].failures = 0;
    }
    /* Caught up: recorded at once, then at most once a minute while the link lives. */
    if (node_conn_caught_up(&p->conn) &&
        (!p->noted_ok || uv_now(&d->loop) - p->noted_at > NOTE_EVERY_MS)) {
        p->noted_ok = true;
        note_link(p, true);
    }
    if (d->once && node_conn_caught_up(&p->conn) && p->conn.state == NODE_CONN_OPEN &&
        p->conn.out.len == 0 && !p->writing) {
        node_conn_goodbye(&p->conn);
        flush(p);
    }
}

static void on_write(uv_write_t *w, int status)
{
    struct peer *p = w->data;
    free(w);
    p->writing = false;
    if (status < 0) {
        peer_close(p, uv_strerror(status));
        return;
    }
    /* The peer takes what we send: it is alive, even while it has nothing to say. */
    uv_update_time(&p->d->loop);
    p->last_rx = uv_now(&p->d->loop);
    if (p->conn.state == NODE_CONN_OPEN)
        node_conn_pump(&p->conn);
    flush(p);
    if (!p->writing && p->conn.state == NODE_CONN_CLOSING && p->conn.peer_said_goodbye)
        peer_close(p, NULL);
    else if (!p->writing && p->conn.state == NODE_CONN_CLOSING && p->d->once)
        peer_close(p, NULL);
    else
        maybe_done(p);
}

/* A connection that failed: a bad peer (KN_EPROTO) is a warning; trouble with this node's own
 * database (full, damaged) is an error, logged with what the store said. */
static void log_failure(struct peer *p)
{
    if (p->conn.error == KN_EPROTO)
        logf_(p->d, NODE_LOG_WARN,
              "peer %s: %s; closing (nothing of it is kept past the last good batch)", p->name,
              p->conn.why);
    else
        logf_(p->d, NODE_LOG_ERROR, "peer %s: %s: %s; closing", p->name, p->conn.why,
              kn_strerror(p->conn.error));
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    buf->base = kn_xmalloc(suggested);
    buf->len = suggested;
}

/*
 * Apply arrived entries to the card domain a bounded step per loop turn, so that a catch-up of
 * a million entries does not stop the loop from serving peers for seconds.
 */
static void on_domain_step(uv_idle_t *h)
{
    struct daemon *d = h->data;
    struct store_domain_stats st;
    bool more = false;
    int r = store_domain_step(d->n->store, DOMAIN_STEP, &st, &more);
    if (r < 0 && r != KN_ENOHUB)
        logf_(d, NODE_LOG_ERROR,
              "applying entries to the card domain: %s (tried again when more arrive)",
              kn_strerror(r));
    if (r < 0 || !more) {
        d->n->domain_dirty = false;
        uv_idle_stop(h);
    }
}

static void domain_kick(struct daemon *d)
{
    if (d->n->domain_dirty && !d->stopping && !uv_is_active((uv_handle_t *)&d->domain))
        uv_idle_start(&d->domain, on_domain_step);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct peer *p = s->data;
    if (nread > 0) {
        bool was_open = p->conn.state == NODE_CONN_OPEN;
        uv_update_time(&p->d->loop); /* the cached time may be a whole batch of reads old */
        p->last_rx = uv_now(&p->d->loop);
        int r = node_conn_input(&p->conn, (const uint8_t *)buf->base, (size_t)nread);
        free(buf->base);
        domain_kick(p->d);
        if (r < 0) {
            log_failure(p);
            peer_close(p, NULL);
            return;
        }
        if (p->conn.entries_held > p->held_said) {
            logf_(
                p->d, NODE_LOG_INFO,
                "peer %s: %llu entries of keys the hub has not enrolled are held (not stored, not "
                "passed on) until it does (kortnod node list)",
                p->name, (unsigned long long)(p->conn.entries_held - p->held_said));
            p->held_said = p->conn.entries_held;
        }
        if (p->conn.entries_refused > p->refused_said) {
            logf_(p->d, NODE_LOG_WARN,
                  "peer %s: %llu entries refused: signed by a key the hub revoked, or of a type "
                  "the author's role may not write",
                  p->name, (unsigned long long)(p->conn.entries_refused - p->refused_said));
            p->refused_said = p->conn.entries_refused;
        }
        if (p->conn.forks_in > p->forks_said) {
            unsigned long long fresh = p->conn.forks_in - p->forks_said;
            p->forks_said = p->conn.forks_in;
            logf_(p->d, NODE_LOG_WARN,
                  "peer %s: %llu new fork proof(s): a node signed two entries at one seq; its feed "
                  "is stored and applied only up to there (kortnod report alerts)",
                  p->name, fresh);
        }
        if (p->conn.own_behind && !p->warned_behind) {
            p->warned_behind = true;
            logf_(p->d, NODE_LOG_WARN,
                  "peer %s holds this node's own feed up to seq %llu, this database only up to "
                  "%llu: a restored backup or a copied disk? Writing is refused until the own "
                  "feed is fetched back (kortnod recover); fetching it from this peer now",
                  p->name, (unsigned long long)p->conn.own_behind,
                  (unsigned long long)p->conn.own_tip);
        } else if (p->conn.own_behind && p->warned_behind) {
            uint64_t tip;
            if (store_own_seen(p->d->n->store, 0, &tip) == 0) {
                logf_(p->d, NODE_LOG_INFO,
                      "own feed fetched back up to seq %llu from peer %s: writing allowed again",
                      (unsigned long long)tip, p->name);
                p->conn.own_behind = 0;
            }
        }
        if (!was_open && p->conn.state == NODE_CONN_OPEN) {
            char id[9];
            node_short_id(p->conn.peer_id, id);
            logf_(p->d, NODE_LOG_INFO, "peer %s: secure connection with node %s…", p->name, id);
            p->d->status_dirty = true;
        }
        if (p->conn.state == NODE_CONN_CLOSED) {
            node_conn_goodbye(&p->conn);
            p->conn.state = NODE_CONN_CLOSING;
            p->conn.peer_said_goodbye = true;
        }
        flush(p);
        if (!p->writing && p->conn.state == NODE_CONN_CLOSING && p->conn.peer_said_goodbye) {
            peer_close(p, NULL);
            return;
        }
        maybe_done(p);
        return;
    }
    free(buf->base);
    if (nread < 0)
        peer_close(p, nread != UV_EOF ? uv_strerror((int)nread)
                      : p->conn.state == NODE_CONN_HANDSHAKE
                          ? "the peer closed the connection during the handshake: it is not on "
                            "this network (another network key), or it is not the node we dialled"
                          : "connection closed by the peer");
}

static struct peer *peer_new(struct daemon *d, int dial, const char *name)
{
    struct peer *p = kn_xcalloc(1, sizeof(*p));
    p->d = d;
    p->dial = dial;
    snprintf(p->name, sizeof(p->name), "%s", name);
    uv_tcp_init(&d->loop, &p->tcp);
    p->tcp.data = p;
    p->since = p->last_rx = uv_now(&d->loop);
    node_conn_init(&p->conn, d->n, d->netkey, dial >= 0 ? d->dials[dial].pk : NULL);
    p->next = d->peers;
    d->peers = p;
    d->npeers++;
    return p;
}

static void peer_close(struct peer *p, const char *why)
{
    struct daemon *d = p->d;
    if (p->closing)
        return;
    p->closing = true;
    d->status_dirty = true;
    node_conn_apply(&p->conn); /* what arrived is applied even when the link ends early */
    note_link(p, node_conn_caught_up(&p->conn));
    if (why)
        logf_(d, NODE_LOG_INFO, "peer %s: %s", p->name, why);
    else
        logf_(d, NODE_LOG_DEBUG, "peer %s: closed (%s)", p->name,
              node_conn_caught_up(&p->conn) ? "caught up" : "not caught up");
    if (p->dial >= 0) {
        struct dial *dl = &d->dials[p->dial];
        dl->peer = NULL;
        if (!node_conn_caught_up(&p->conn))
            dl->failures++;
        /* Exponential back-off with ±25 % jitter, so that offices do not all redial at once. */
        uint64_t wait = BACKOFF_MIN_MS << (dl->failures < 7 ? dl->failures : 7);
        if (wait > BACKOFF_MAX_MS)
            wait = BACKOFF_MAX_MS;
        wait = wait * 3 / 4 + randombytes_uniform((uint32_t)(wait / 2 + 1));
        dl->next_try = uv_now(&d->loop) + wait;
    }
    if (d->once) {
        d->exit_code = node_conn_caught_up(&p->conn) ? 0 : 1;
        if (p->conn.state == NODE_CONN_FAILED && p->conn.error != KN_EPROTO)
            fprintf(stderr, "kortnod: sync: %s: %s\n", p->conn.why, kn_strerror(p->conn.error));
        else if (p->conn.state == NODE_CONN_FAILED)
            fprintf(stderr, "kortnod: sync: %s\n", p->conn.why);
        else if (why && !node_conn_caught_up(&p->conn))
            fprintf(stderr, "kortnod: sync: %s: %s\n", p->name, why);
        printf("sync: %llu entries in, %llu entries out, %llu bytes in, %llu bytes out, %.2f s\n",
               (unsigned long long)p->conn.entries_in, (unsigned long long)p->conn.entries_out,
               (unsigned long long)p->conn.wire_in, (unsigned long long)p->conn.bytes_out,
               (double)(uv_now(&d->loop) - p->since) / 1000.0);
        d->stopping = true;
    }
    uv_close((uv_handle_t *)&p->tcp, on_closed);
}

static void on_connect(uv_connect_t *req, int status)
{
    struct peer *p = req->data;
    free(req);
    if (p->closing)
        return;
    if (status < 0) {
        peer_close(p, uv_strerror(status));
        return;
    }
    p->connected = true;
    logf_(p->d, NODE_LOG_INFO, "peer %s: connected", p->name);
    uv_read_start((uv_stream_t *)&p->tcp, on_alloc, on_read);
    node_conn_start(&p->conn);
    flush(p);
}

static void dial(struct daemon *d, size_t i)
{
    struct dial *dl = &d->dials[i];
    struct sockaddr_in addr;
    char name[80];
    snprintf(name, sizeof(name), "%s:%d", dl->host, dl->port);
    if (uv_ip4_addr(dl->host, dl->port, &addr) < 0) {
        logf_(d, NODE_LOG_ERROR, "peer %s: not an IPv4 address", name);
        dl->next_try = UINT64_MAX;
        return;
    }
    struct peer *p = peer_new(d, (int)i, name);
    uv_connect_t *req = kn_xmalloc(sizeof(*req));
    req->data = p;
    dl->peer = p;
    int r = uv_tcp_connect(req, &p->tcp, (const struct sockaddr *)&addr, on_connect);
    if (r < 0) {
        free(req);
        peer_close(p, uv_strerror(r));
    }
}

/* A new dial target; returns its index (the array may move). */
static size_t add_dial(struct daemon *d, const char *host, int port, const uint8_t *pk,
                       enum dial_source source)
{
    if (d->ndials == d->dials_cap) {
        d->dials_cap = d->dials_cap ? 2 * d->dials_cap : 8;
        d->dials = kn_xrealloc(d->dials, d->dials_cap * sizeof(*d->dials));
    }
    struct dial *dl = &d->dials[d->ndials];
    memset(dl, 0, sizeof(*dl));
    snprintf(dl->host, sizeof(dl->host), "%s", host);
    dl->port = port;
    memcpy(dl->pk, pk, STORE_KEY_LEN);
    dl->source = source;
    dl->alive_ms = node_now_ms();
    return d->ndials++;
}

/* Is there a connection with node pk already, or one being dialled? */
static bool connected_to(const struct daemon *d, const uint8_t *pk)
{
    for (const struct peer *p = d->peers; p; p = p->next) {
        if (p->closing)
            continue;
        if (p->dial >= 0 && memcmp(d->dials[p->dial].pk, pk, STORE_KEY_LEN) == 0)
            return true;
        if (p->conn.state == NODE_CONN_OPEN && memcmp(p->conn.peer_id, pk, STORE_KEY_LEN) == 0)
            return true;
    }
    return false;
}

static const char *role_name(int role)
{
    return role == 0 ? "hub" : role == 1 ? "office" : "mobile";
}

/* LAN peers not gone; *reuse (may be NULL) gets a gone one's index that is free, or ndials. */
static size_t lan_peers(const struct daemon *d, size_t *reuse)
{
    size_t n = 0;
    if (reuse)
        *reuse = d->ndials;
    for (size_t k = 0; k < d->ndials; k++) {
        const struct dial *dl = &d->dials[k];
        if (dl->source != DIAL_LAN)
            continue;
        if (!dl->gone)
            n++;
        else if (reuse && *reuse == d->ndials && !dl->peer)
            *reuse = k;
    }
    return n;
}

/* An announcement heard on the LAN: a node of this network, at ip. */
static void on_lan_found(void *data, const struct lan_announce *a, const char *ip)
{
    struct daemon *d = data;
    uint64_t now = uv_now(&d->loop);
    char id[9];
    node_short_id(a->node, id);
    for (size_t i = 0; i < d->ndials; i++) {
        struct dial *dl = &d->dials[i];
        if (dl->source != DIAL_LAN || memcmp(dl->pk, a->node, STORE_KEY_LEN) != 0)
            continue;
        if (strcmp(dl->host, ip) != 0 || dl->port != a->port) {
            logf_(d, NODE_LOG_INFO, "LAN: node %s… moved from %s:%d to %s:%d", id, dl->host,
                  dl->port, ip, a->port);
            snprintf(dl->host, sizeof(dl->host), "%s", ip);
            dl->port = a->port;
        }
        if (dl->gone) {
            if (lan_peers(d, NULL) >= MAX_LAN_PEERS)
                return;
            logf_(d, NODE_LOG_INFO, "LAN: node %s… (%s) at %s:%d is heard again", id,
                  role_name(a->role), ip, a->port);
            lan_announce_now(d->lan);
        }
        dl->gone = dl->forgotten = false;
        dl->heard = now;
        return;
    }
    size_t reuse;
    if (lan_peers(d, &reuse) >= MAX_LAN_PEERS) {
        logf_(d, NODE_LOG_DEBUG, "LAN: node %s… at %s ignored: %d LAN peers already", id, ip,
              MAX_LAN_PEERS);
        return;
    }
    /* A node gone from the LAN leaves its slot to the next one: the list does not grow. */
    size_t i = reuse < d->ndials ? reuse : add_dial(d, ip, a->port, a->node, DIAL_LAN);
    struct dial *dl = &d->dials[i];
    if (i == reuse) {
        memset(dl, 0, sizeof(*dl));
        snprintf(dl->host, sizeof(dl->host), "%s", ip);
        dl->port = a->port;
        memcpy(dl->pk, a->node, STORE_KEY_LEN);
        dl->source = DIAL_LAN;
    }
    dl->heard = now;
    /* One side dials: the lower node id; the other waits, and dials after a while if nothing
     * came (its announcements may not reach the other side). */
    bool first = memcmp(d->n->id.pk, a->node, STORE_KEY_LEN) < 0;
    dl->next_try = first ? now : now + 3 * LAN_PERIOD_MS;
    d->lan_found++;
    lan_announce_now(d->lan); /* the newcomer hears this node at once, not at its next period */
    logf_(d, NODE_LOG_INFO, "LAN: found node %s… (%s) at %s:%d, %llu ms after start; %s", id,
          role_name(a->role), ip, a->port, (unsigned long long)(now - d->start),
          first ? "dialling it" : "it dials this node");
}

/* What the record of links says of a node's TCP path: when it was last reached, and an address
 * given up (with when). */
struct tcp_record {
    uint8_t node[STORE_KEY_LEN];
    char addr[128];
    uint64_t last_ok_ms, dead_ms;
};

struct refresh {
    struct daemon *d;
    struct tcp_record *rec;
    size_t nrec;
    uint8_t hub[STORE_KEY_LEN]; /* the hub's id (read once a reading) */
    bool hub_known;
    char own[64]; /* this node's address as the log says it now */
    bool own_found;
    uint64_t own_at;
};

static int collect_tcp(void *data, const struct store_link *l)
{
    struct refresh *rf = data;
    if (strcmp(l->path, "tcp") != 0)
        return 0;
    rf->rec = kn_xrealloc(rf->rec, (rf->nrec + 1) * sizeof(*rf->rec));
    struct tcp_record *t = &rf->rec[rf->nrec++];
    memcpy(t->node, l->node, STORE_KEY_LEN);
    snprintf(t->addr, sizeof(t->addr), "%s", l->addr);
    t->last_ok_ms = l->last_ok_ms;
    t->dead_ms = l->dead_ms;
    return 0;
}

static const struct tcp_record *tcp_record(const struct refresh *rf, const uint8_t *node)
{
    for (size_t i = 0; i < rf->nrec; i++)
        if (memcmp(rf->rec[i].node, node, STORE_KEY_LEN) == 0)
            return &rf->rec[i];
    return NULL;
}

#define MAX_LEARNED 32

/* One node's announced address: dialled when it is the hub's or a node of the same office. */
static int learn_address(void *data, const struct store_address *a)
{
    struct refresh *rf = data;
    struct daemon *d = rf->d;
    char id[9], host[64];
    int port;
    if (memcmp(a->node, d->n->id.pk, STORE_KEY_LEN) == 0) {
        rf->own_found = true;
        rf->own_at = a->at_ms;
        snprintf(rf->own, sizeof(rf->own), "%s", a->addr);
        return 0;
    }
    /* The hub dials nobody it learns of: the offices and laptops dial it. */
    bool wanted = strcmp(d->n->role, "hub") != 0 &&
                  (a->near || !strcmp(a->role, "hub") ||
                   (rf->hub_known && memcmp(rf->hub, a->node, STORE_KEY_LEN) == 0));
    node_short_id(a->node, id);
    size_t learned = 0;
    for (size_t i = 0; i < d->ndials; i++) {
        struct dial *dl = &d->dials[i];
        if (dl->source != DIAL_LOG || dl->gone)
            continue;
        learned++;
        if (memcmp(dl->pk, a->node, STORE_KEY_LEN) != 0)
            continue;
        char was[80];
        snprintf(was, sizeof(was), "%s:%d", dl->host, dl->port);
        if (wanted && !strcmp(was, a->addr)) {
            dl->seen = true;
            return 0;
        }
        dl->gone = true; /* superseded: the node says it is elsewhere now, or nowhere */
        logf_(d, NODE_LOG_INFO, "node %s… %s %s; forgetting the old address", id,
              a->addr[0] ? "announced a new address instead of" : "withdrew its address", was);
    }
    if (!wanted || !a->addr[0] || learned >= MAX_LEARNED ||
        sscanf(a->addr, "%63[0-9.]:%d", host, &port) != 2)
        return 0;
    for (size_t i = 0; i < d->ndials; i++) {
        const struct dial *dl = &d->dials[i];
        char at[80];
        snprintf(at, sizeof(at), "%s:%d", dl->host, dl->port);
        /* Configured already, or given up in this run. */
        if (memcmp(dl->pk, a->node, STORE_KEY_LEN) == 0 && !strcmp(at, a->addr) &&
            (dl->source == DIAL_CONF || (dl->source == DIAL_LOG && dl->seq == a->seq)))
            return 0;
    }
    /* Given up earlier: an announcement made since, or a contact since, brings it back. */
    const struct tcp_record *t = tcp_record(rf, a->node);
    if (t && t->dead_ms && !strcmp(t->addr, a->addr) && a->at_ms <= t->dead_ms)
        return 0;
    size_t i = add_dial(d, host, port, a->node, DIAL_LOG);
    d->dials[i].seq = a->seq;
    d->dials[i].seen = true;
    /* Unreachable since the last contact, or since it was announced: kept across restarts. */
    uint64_t since = t && t->last_ok_ms > a->at_ms ? t->last_ok_ms : a->at_ms;
    if (since && since < d->dials[i].alive_ms)
        d->dials[i].alive_ms = since;
    logf_(d, NODE_LOG_INFO, "learned the address %s of node %s… (%s) from the log", a->addr, id,
          a->role[0] ? a->role : "hub");
    return 0;
}

#define REANNOUNCE_MS (86400000ull) /* an unchanged address is said again after a day */

/*
 * This node's address in the log (node.address), as configured: written when it changed, when
 * it is a day old (peers that gave it up try again), or withdrawn (no addr) when `announce` was
 * taken out of kortnod.conf.
 */
static void announce_address(struct daemon *d, const struct refresh *rf)
{
    char json[256], reason[200], id[STORE_ID_HEX_LEN + 1];
    const char *want = d->announce ? d->announce : "";
    uint8_t *payload = NULL;
    size_t len;
    if (d->announced)
        return;
    if (!strcmp(rf->own, want) &&
        (!want[0] || (rf->own_found && node_now_ms() - rf->own_at < REANNOUNCE_MS))) {
        d->announced = true; /* the log says it already */
        return;
    }
    store_hex(d->n->id.pk, STORE_KEY_LEN, id);
    if (want[0])
        snprintf(json, sizeof(json), "{\"node\":\"%s\",\"addr\":\"%s\"}", id, want);
    else
        snprintf(json, sizeof(json), "{\"node\":\"%s\"}", id);
    int r = node_payload_from_json(json, &payload, &len, reason, sizeof(reason));
    if (r == 0)
        r = store_domain_write(d->n->store, "node.address", payload, len, node_now_ms(), NULL,
                               reason, sizeof(reason));
    free(payload);
    if (r == 0) {
        d->announced = true;
        if (want[0])
            logf_(d, NODE_LOG_INFO, "announced this node's address %s in the log", want);
        else
            logf_(d, NODE_LOG_INFO, "withdrew this node's address %s from the log", rf->own);
    } else {
        logf_(d, NODE_LOG_DEBUG, "cannot announce the address %s yet: %s",
              want[0] ? want : "(none)", reason[0] ? reason : kn_strerror(r));
    }
}

/* Read the announced addresses again: new ones are dialled, moved ones replace the old. */
static void refresh_addresses(struct daemon *d)
{
    struct refresh rf = { .d = d };
    char hubhex[STORE_ID_HEX_LEN + 1];
    rf.hub_known = store_meta_get(d->n->store, "hub", hubhex, sizeof(hubhex)) == 0 &&
                   store_unhex(hubhex, rf.hub, STORE_KEY_LEN) == 0;
    if (d->once)
        return;
    store_links(d->n->store, collect_tcp, &rf);
    for (size_t i = 0; i < d->ndials; i++)
        d->dials[i].seen = false;
    int r = store_addresses(d->n->store, d->n->id.pk, learn_address, &rf);
    if (r < 0) {
        logf_(d, NODE_LOG_WARN, "reading the announced addresses: %s", kn_strerror(r));
    } else {
        /* Learned addresses the log no longer gives: the node was revoked, or moved offices. */
        for (size_t i = 0; i < d->ndials; i++) {
            struct dial *dl = &d->dials[i];
            char id[9];
            if (dl->source != DIAL_LOG || dl->gone || dl->seen)
                continue;
            dl->gone = true;
            node_short_id(dl->pk, id);
            logf_(d, NODE_LOG_INFO,
                  "node %s… is no longer one to dial (revoked, or of another office now); "
                  "forgetting %s:%d",
                  id, dl->host, dl->port);
        }
        announce_address(d, &rf);
    }
    free(rf.rec);
}

/* Give up addresses that stay unreachable, and LAN peers no longer heard. */
static void forget_dead(struct daemon *d, uint64_t now)
{
    for (size_t i = 0; i < d->ndials; i++) {
        struct dial *dl = &d->dials[i];
        char id[9];
        if (dl->peer || dl->gone)
            continue;
        node_short_id(dl->pk, id);
        if (dl->source == DIAL_LAN && now - dl->heard > LAN_EXPIRE_MS) {
            dl->gone = dl->forgotten = true;
            logf_(d, NODE_LOG_INFO, "LAN: node %s… at %s:%d is no longer heard", id, dl->host,
                  dl->port);
        } else if (dl->source == DIAL_LOG && dl->failures > 0 &&
                   node_now_ms() - dl->alive_ms > d->forget_ms) {
            dl->gone = dl->forgotten = true;
            struct store_link l = { .path = "tcp", .dead_ms = node_now_ms() };
            memcpy(l.node, dl->pk, STORE_KEY_LEN);
            snprintf(l.addr, sizeof(l.addr), "%s:%d", dl->host, dl->port);
            store_link_note(d->n->store, &l);
            logf_(d, NODE_LOG_INFO,
                  "forgetting the address %s of node %s…: unreachable for %llu s (until it "
                  "announces one again)",
                  l.addr, id, (unsigned long long)((node_now_ms() - dl->alive_ms) / 1000));
        }
    }
}

/* LAN discovery, as configured: on the network the node listens on. */
static void start_lan(struct daemon *d, const struct node_run_opts *o, const char *host, int port)
{
    bool loopback = strncmp(host, "127.", 4) == 0, hub = !strcmp(d->n->role, "hub");
    char why[160];
    if (o->lan == 0 || (o->lan == -1 && (hub || loopback))) {
        if (o->lan == 0)
            snprintf(d->lan_state, sizeof(d->lan_state), "off (lan = off)");
        else if (hub)
            snprintf(d->lan_state, sizeof(d->lan_state), "off (the hub; lan = on turns it on)");
        else
            snprintf(d->lan_state, sizeof(d->lan_state),
                     "off: this node listens on %s only (listen = 0.0.0.0:%d lets the local "
                     "network find it)",
                     host, port);
        logf_(d, NODE_LOG_INFO, "LAN discovery %s", d->lan_state);
        return;
    }
    struct lan_announce self = { .role = hub                             ? 0
                                         : !strcmp(d->n->role, "office") ? 1
                                                                         : 2,
                                 .port = (uint16_t)port,
                                 .time_ms = node_now_ms() };
    memcpy(self.node, d->n->id.pk, STORE_KEY_LEN);
    const char *iface = loopback || !strcmp(host, "0.0.0.0") ? NULL : host;
    int r = lan_start(&d->loop, loopback ? LAN_LOOPBACK : LAN_MULTICAST, iface, o->lan_port,
                      d->netkey, &self, LAN_PERIOD_MS, on_lan_found, d, &d->lan, why, sizeof(why));
    if (r < 0) {
        snprintf(d->lan_state, sizeof(d->lan_state), "off: it could not start: %s", why);
        logf_(d, NODE_LOG_WARN, "LAN discovery %s", d->lan_state);
        return;
    }
    if (loopback)
        snprintf(d->lan_state, sizeof(d->lan_state),
                 "on, this machine only (loopback broadcast, UDP port %d)", o->lan_port);
    else
        snprintf(d->lan_state, sizeof(d->lan_state), "on (multicast %s, UDP port %d, via %s)",
                 LAN_GROUP, o->lan_port, iface ? iface : "the default interface");
    logf_(d, NODE_LOG_INFO, "LAN discovery %s", d->lan_state);
}

static void on_connection(uv_stream_t *server, int status)
{
    struct daemon *d = server->data;
    if (status < 0 || d->stopping)
        return;
    struct peer *p = peer_new(d, -1, "incoming");
    if (uv_accept(server, (uv_stream_t *)&p->tcp) < 0 || d->npeers > d->max_conns) {
        peer_close(p, d->npeers > d->max_conns ? "too many connections" : "accept failed");
        return;
    }
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    char ip[48] = "?";
    if (uv_tcp_getpeername(&p->tcp, (struct sockaddr *)&ss, &len) == 0 && ss.ss_family == AF_INET) {
        uv_ip4_name((struct sockaddr_in *)&ss, ip, sizeof(ip));
        snprintf(p->name, sizeof(p->name), "%s:%d", ip,
                 ntohs(((struct sockaddr_in *)&ss)->sin_port));
    }
    p->connected = true;
    logf_(d, NODE_LOG_INFO, "peer %s: accepted", p->name);
    uv_read_start((uv_stream_t *)&p->tcp, on_alloc, on_read);
}

static void close_all(struct daemon *d)
{
    for (struct peer *p = d->peers; p; p = p->next) {
        if (p->closing)
            continue;
        if (p->conn.state == NODE_CONN_OPEN) {
            node_conn_goodbye(&p->conn);
            /* The goodbye goes out best-effort: the close waits for queued writes. */
            flush(p);
        }
        peer_close(p, NULL);
    }
    if (d->listening)
        uv_close((uv_handle_t *)&d->server, NULL);
    d->listening = false;
    if (!uv_is_closing((uv_handle_t *)&d->tick)) {
        uv_close((uv_handle_t *)&d->tick, NULL);
        uv_close((uv_handle_t *)&d->domain, NULL);
    }
    reader_watch_stop(d->rw);
    d->rw = NULL;
    lan_stop(d->lan);
    d->lan = NULL;
    ui_stop(d->ui);
    d->ui = NULL;
    if (!uv_is_closing((uv_handle_t *)&d->sigint)) {
        uv_close((uv_handle_t *)&d->sigint, NULL);
        uv_close((uv_handle_t *)&d->sigterm, NULL);
    }
}

/*
 * Entries held here that the peer lacks, as far as we know: 0 once both sides are caught up;
 * else from its clock, or -1 (not counted: on the hub, where thousands of peers would make
 * status.json too costly to write every second).
 */
static json_int_t peer_waiting(struct daemon *d, struct peer *p, json_t *own)
{
    if (node_conn_caught_up(&p->conn))
        return 0;
    if (!own || !strcmp(d->n->role, "hub"))
        return -1;
    json_t *theirs = peer_clock(p, NULL);
    const char *author;
    json_t *seq;
    json_int_t waiting = 0;
    char self[STORE_ID_HEX_LEN + 1];
    store_hex(p->conn.peer_id, STORE_KEY_LEN, self);
    json_object_foreach (own, author, seq) {
        if (!strcmp(author, self))
            continue; /* a peer holds its own feed */
        json_int_t have = json_integer_value(json_object_get(theirs, author));
        if (json_integer_value(seq) > have)
            waiting += json_integer_value(seq) - have;
    }
    json_decref(theirs);
    return waiting;
}

static json_t *peer_json(struct daemon *d, const char *addr, const uint8_t *pk, struct peer *p,
                         uint64_t last_sync, const char *path, const char *source, bool gone,
                         json_t *own)
{
    char hex[STORE_ID_HEX_LEN + 1];
    store_hex(pk, STORE_KEY_LEN, hex);
    json_int_t waiting = p ? peer_waiting(d, p, own) : -1;
    /* entries_in/out: this connection's; unnoted_*: not yet in the links record. */
    return json_pack("{s:s,s:s,s:b,s:I,s:I,s:I,s:I,s:I,s:o,s:s,s:s,s:b}", "addr", addr, "node", hex,
                     "connected", p && p->conn.state == NODE_CONN_OPEN, "last_sync_ms",
                     (json_int_t)last_sync, "entries_in", (json_int_t)(p ? p->conn.entries_in : 0),
                     "entries_out", (json_int_t)(p ? p->conn.entries_out : 0), "unnoted_in",
                     (json_int_t)(p ? p->conn.entries_in - p->noted_in : 0), "unnoted_out",
                     (json_int_t)(p ? p->conn.entries_out - p->noted_out : 0), "waiting",
                     waiting >= 0 ? json_integer(waiting) : json_null(), "path", path, "source",
                     source, "forgotten", gone);
}

/* The daemon's live view: what status.json holds, and what the web interface shows. */
static json_t *status_doc(struct daemon *d)
{
    json_t *peers = json_array(), *own = NULL;
    if (strcmp(d->n->role, "hub") != 0 && node_clock_json(d->n, &own) < 0)
        own = NULL;
    for (size_t i = 0; i < d->ndials; i++) {
        char addr[80];
        snprintf(addr, sizeof(addr), "%s:%d", d->dials[i].host, d->dials[i].port);
        const struct dial *dl = &d->dials[i];
        json_array_append_new(peers, peer_json(d, addr, dl->pk, dl->peer, dl->last_sync,
                                               dl->source == DIAL_LAN ? "lan" : "tcp",
                                               source_names[dl->source], dl->forgotten, own));
    }
    for (struct peer *p = d->peers; p; p = p->next)
        if (p->dial < 0 && p->conn.state == NODE_CONN_OPEN)
            json_array_append_new(peers,
                                  peer_json(d, p->name, p->conn.peer_id, p,
                                            node_conn_caught_up(&p->conn) ? node_now_ms() : 0,
                                            peer_path(p), "incoming", false, own));
    json_decref(own);
    json_t *doc = json_pack("{s:I,s:i,s:o}", "updated_ms", (json_int_t)node_now_ms(), "pid",
                            (int)getpid(), "peers", peers);
    struct lan_stats ls = { 0 };
    if (d->lan)
        lan_get_stats(d->lan, &ls);
    json_object_set_new(doc, "lan",
                        json_pack("{s:s,s:b,s:I,s:I,s:I,s:I}", "state", d->lan_state, "on",
                                  d->lan != NULL, "found", (json_int_t)d->lan_found, "sent",
                                  (json_int_t)ls.sent, "received", (json_int_t)ls.received,
                                  "ignored", (json_int_t)ls.ignored));
    if (d->reader_service) {
        /* No personal data here: the chip serial and the order, never the HSA-id. */
        json_t *list = json_array();
        for (size_t i = 0; i < d->nreaders; i++) {
            const struct live_reader *lr = &d->readers[i];
            json_t *card = json_null();
            if (lr->card == LIVE_CARD)
                card = json_pack("{s:s,s:b,s:o,s:s,s:I}", "chip", lr->chip, "matches", lr->matches,
                                 "order", lr->order[0] ? json_string(lr->order) : json_null(),
                                 "match", lr->text, "since_ms", (json_int_t)lr->since_ms);
            else if (lr->card == LIVE_ERROR)
                card =
                    json_pack("{s:s,s:I}", "error", lr->text, "since_ms", (json_int_t)lr->since_ms);
            json_array_append_new(list, json_pack("{s:s,s:o}", "name", lr->name, "card", card));
        }
        json_object_set_new(doc, "reader",
                            json_pack("{s:s,s:s,s:o}", "service", d->reader_service, "detail",
                                      d->reader_detail, "readers", list));
    }
    if (d->ui)
        json_object_set_new(doc, "ui", json_string(ui_url(d->ui)));
    return doc;
}

static json_t *ui_live(void *data)
{
    return status_doc(data);
}

/*
 * A hand-over from the web page, checked by the card in a reader: the card the daemon read when
 * it was inserted must be the one shipped for order (chip, and the holder's HSA-id when the
 * order has one). Fills body as `handover complete --from-reader` would.
 */
static int ui_reader(void *data, const char *order, json_t *body, char *err, size_t err_size)
{
    struct daemon *d = data;
    struct store_card card;
    for (size_t i = 0; i < d->nreaders; i++) {
        const struct live_reader *lr = &d->readers[i];
        if (lr->card != LIVE_CARD || !lr->matches || strcmp(lr->order, order) != 0)
            continue;
        if (store_card_get(d->n->store, order, &card) < 0)
            break;
        const char *typed = json_string_value(json_object_get(body, "serial"));
        if (typed && *typed && strcmp(typed, card.serial) != 0) {
            snprintf(err, err_size,
                     "the card in the reader is order %s's (%s), not the serial typed (%s)", order,
                     card.serial, typed);
            return KN_EREFUSED;
        }
        json_object_set_new(body, "serial", json_string(card.serial));
        json_object_set_new(body, "chip", json_string(lr->chip));
        if (lr->atr[0])
            json_object_set_new(body, "atr", json_string(lr->atr));
        json_object_set_new(body, "read_by_reader", json_true());
        json_object_set_new(body, "hsa_id_checked", json_boolean(lr->hsa_checked));
        return 0;
    }
    snprintf(err, err_size,
             "no card of order %s is in a card reader: insert it (the reader must say it matches), "
             "or type its serial",
             order);
    return KN_EREFUSED;
}

/* DATA/status.json, for `kortnod status` and `kortnod ui`: written whole, renamed into place. */
static void write_status(struct daemon *d)
{
    json_t *doc = status_doc(d);
    size_t len = strlen(d->n->dir) + 32;
    char *path = kn_xmalloc(len), *tmp = kn_xmalloc(len);
    snprintf(path, len, "%s/status.json", d->n->dir);
    snprintf(tmp, len, "%s/status.json.tmp", d->n->dir);
    if (json_dump_file(doc, tmp, JSON_INDENT(2)) == 0)
        rename(tmp, path);
    json_decref(doc);
    free(path);
    free(tmp);
}

static struct live_reader *live_reader(struct daemon *d, const char *name, bool add)
{
    for (size_t i = 0; i < d->nreaders; i++)
        if (!strcmp(d->readers[i].name, name))
            return &d->readers[i];
    if (!add || d->nreaders == READER_MAX_READERS)
        return NULL;
    struct live_reader *lr = &d->readers[d->nreaders++];
    memset(lr, 0, sizeof(*lr));
    snprintf(lr->name, sizeof(lr->name), "%s", name);
    return lr;
}

/* The reader thread's events, on the loop: the log, the live state, status.json at once. */
static void on_reader(struct reader_watch *w, const struct reader_event *ev, void *data)
{
    struct daemon *d = data;
    struct live_reader *lr = ev->reader[0] ? live_reader(d, ev->reader, true) : NULL;
    (void)w;
    switch (ev->kind) {
    case READER_EV_SERVICE_UP:
        d->reader_service = "up";
        d->reader_detail[0] = '\0';
        logf_(d, NODE_LOG_INFO, "card readers: the smart card service answers");
        break;
    case READER_EV_SERVICE_DOWN:
        d->reader_service = "down";
        snprintf(d->reader_detail, sizeof(d->reader_detail), "%s", ev->detail);
        logf_(d, NODE_LOG_WARN, "card readers: %s; retrying", ev->detail);
        break;
    case READER_EV_ADDED:
        logf_(d, NODE_LOG_INFO, "card reader added: %s", ev->reader);
        break;
    case READER_EV_REMOVED:
        logf_(d, NODE_LOG_INFO, "card reader removed: %s", ev->reader);
        if (lr)
            *lr = d->readers[--d->nreaders];
        lr = NULL;
        break;
    case READER_EV_INSERTED:
        lr->card = LIVE_CARD;
        lr->since_ms = ev->at_ms;
        snprintf(lr->chip, sizeof(lr->chip), "%s", ev->id.chip);
        snprintf(lr->atr, sizeof(lr->atr), "%s", ev->id.atr);
        lr->matches = node_reader_match(d->n->store, &ev->id, lr->order, lr->text, sizeof(lr->text),
                                        &lr->hsa_checked);
        logf_(d, NODE_LOG_INFO, "card inserted in %s: chip %s, read in %lld ms: %s", ev->reader,
              ev->id.chip[0] ? ev->id.chip : "none", (long long)(ev->at_ms - ev->seen_ms),
              lr->text);
        break;
    case READER_EV_CARD_REMOVED:
        memset(lr->chip, 0, sizeof(lr->chip));
        lr->card = LIVE_EMPTY;
        lr->order[0] = lr->text[0] = '\0';
        lr->matches = false;
        logf_(d, NODE_LOG_INFO, "card removed from %s", ev->reader);
        break;
    case READER_EV_READ_ERROR:
        lr->card = LIVE_ERROR;
        lr->since_ms = ev->at_ms;
        snprintf(lr->text, sizeof(lr->text), "%s", ev->detail);
        logf_(d, NODE_LOG_WARN, "card in %s could not be read: %s", ev->reader, ev->detail);
        break;
    }
    if (!d->once)
        write_status(d);
}

static void on_tick(uv_timer_t *t)
{
    struct daemon *d = t->data;
    uint64_t now = uv_now(&d->loop);
    /* Every second, and soon after a link opens or closes (at most 4 times a second). */
    if (!d->once && (++d->ticks % 40 == 0 || (d->status_dirty && now - d->status_at >= 250))) {
        d->status_dirty = false;
        d->status_at = now;
        write_status(d);
    }
    if (d->stopping) {
        close_all(d);
        return;
    }
    domain_kick(d);
    /* Addresses: every second (the hub, which dials none, every 10 s); this node's own is
     * looked at again every hour, so a day-old one is said again. */
    if (!d->once && d->ticks % (40 * 3600) == 1)
        d->announced = false;
    if (!d->once &&
        d->ticks % (strcmp(d->n->role, "hub") ? REFRESH_TICKS : 10 * REFRESH_TICKS) == 1)
        refresh_addresses(d);
    if (!d->once && d->ticks % 40 == 0)
        forget_dead(d, now);
    for (size_t i = 0; i < d->ndials; i++) {
        struct dial *dl = &d->dials[i];
        if (dl->peer || dl->gone || now < dl->next_try || d->once)
            continue;
        /* A learned address is not dialled while the node is connected another way. */
        if (dl->source != DIAL_CONF && connected_to(d, dl->pk)) {
            dl->next_try = now + LAN_PERIOD_MS;
            continue;
        }
        dial(d, i);
    }
    for (struct peer *p = d->peers, *next; p; p = next) {
        next = p->next;
        if (p->closing)
            continue;
        if (p->conn.state != NODE_CONN_OPEN && now - p->since > HANDSHAKE_MS) {
            peer_close(p, "no handshake in time; dropped");
            continue;
        }
        if (d->idle_ms && now - p->last_rx > d->idle_ms) {
            peer_close(p, "silent for too long; dropped");
            continue;
        }
        if (!p->writing && p->conn.out.len < WRITE_HIGH_WATER)
            node_conn_pump(&p->conn);
        /* A quiet link says it is alive (a repeated "synced"), so that the peer's idle timeout
         * drops only links that are really gone. */
        if (p->conn.state == NODE_CONN_OPEN && node_conn_caught_up(&p->conn) &&
            now - p->last_tx > KEEPALIVE_MS)
            node_conn_keepalive(&p->conn);
        if (p->conn.state == NODE_CONN_FAILED) {
            log_failure(p);
            peer_close(p, NULL);
            continue;
        }
        flush(p);
        maybe_done(p);
    }
}

static void on_signal(uv_signal_t *s, int signum)
{
    struct daemon *d = s->data;
    logf_(d, NODE_LOG_INFO, "signal %d: saying goodbye to %zu peer(s) and stopping", signum,
          d->npeers);
    d->stopping = true;
    close_all(d);
}

static int parse_hostport(const char *s, char host[64], int *port)
{
    const char *colon = strrchr(s, ':');
    char *end;
    if (!colon || colon == s || (size_t)(colon - s) >= 64)
        return KN_EINVAL;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    if (!strcmp(host, "localhost"))
        snprintf(host, 64, "127.0.0.1");
    long v = strtol(colon + 1, &end, 10);
    if (*end || v < 1 || v > 65535)
        return KN_EINVAL;
    *port = (int)v;
    return 0;
}

static int daemon_init(struct daemon *d, struct node *n, const struct node_run_opts *o)
{
    int r;
    memset(d, 0, sizeof(*d));
    d->n = n;
    d->level = o->level;
    d->idle_ms = o->idle_ms;
    if ((r = node_netkey_load(n, d->netkey)) < 0)
        return r;
    /* A peer that vanishes (killed, crashed, its cable cut) makes the next write to it fail with
     * EPIPE, which closes that connection; SIGPIPE would end the whole process instead. */
    signal(SIGPIPE, SIG_IGN);
    /* Each connection is a descriptor: room for all of them (the soft limit is often 1024). */
    d->max_conns = strcmp(n->role, "hub") == 0 ? MAX_CONNS_HUB : MAX_CONNS_NODE;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)d->max_conns + 64) {
        rl.rlim_cur =
            rl.rlim_max < (rlim_t)d->max_conns + 64 ? rl.rlim_max : (rlim_t)d->max_conns + 64;
        setrlimit(RLIMIT_NOFILE, &rl);
        if (rl.rlim_cur < (rlim_t)d->max_conns + 64)
            d->max_conns = rl.rlim_cur > 128 ? (size_t)rl.rlim_cur - 64 : 64;
    }
    if ((r = uv_loop_init(&d->loop)) < 0)
        return r;
    uv_timer_init(&d->loop, &d->tick);
    d->tick.data = d;
    uv_idle_init(&d->loop, &d->domain);
    d->domain.data = d;
    n->domain_deferred = true;
    uv_signal_init(&d->loop, &d->sigint);
    uv_signal_init(&d->loop, &d->sigterm);
    d->sigint.data = d->sigterm.data = d;
    uv_signal_start(&d->sigint, on_signal, SIGINT);
    uv_signal_start(&d->sigterm, on_signal, SIGTERM);
    d->dials = kn_xcalloc(o->npeers ? o->npeers : 1, sizeof(*d->dials));
    for (size_t i = 0; i < o->npeers; i++) {
        if (parse_hostport(o->peers[i].addr, d->dials[i].host, &d->dials[i].port) < 0) {
            free(d->dials);
            return KN_EINVAL;
        }
        memcpy(d->dials[i].pk, o->peers[i].pk, STORE_KEY_LEN);
    }
    d->ndials = d->dials_cap = o->npeers;
    d->forget_ms = o->forget_ms ? o->forget_ms : 7ull * 86400 * 1000;
    d->announce = o->announce;
    return 0;
}

static void daemon_finish(struct daemon *d)
{
    close_all(d);
    uv_run(&d->loop, UV_RUN_DEFAULT);
    /* What arrived and is not applied yet is applied before the node stops. */
    d->n->domain_deferred = false;
    if (d->n->domain_dirty) {
        struct store_domain_stats st;
        int r = store_domain_sync(d->n->store, false, &st);
        if (r < 0 && r != KN_ENOHUB)
            logf_(d, NODE_LOG_ERROR, "applying entries to the card domain: %s", kn_strerror(r));
        d->n->domain_dirty = false;
    }
    int r = uv_loop_close(&d->loop);
    if (r < 0)
        logf_(d, NODE_LOG_ERROR, "handles left open at exit: %s", uv_strerror(r));
    free(d->dials);
    sodium_memzero(d->netkey, sizeof(d->netkey));
}

/* The web interface, as configured (`ui = HOST:PORT|off`; 127.0.0.1 only). */
static void start_ui(struct daemon *d, const struct node_run_opts *o)
{
    char host[64], why[200];
    int port;
    if (!o->ui || !strcmp(o->ui, "off")) {
        logf_(d, NODE_LOG_INFO, "web interface off (ui = off)");
        return;
    }
    if (parse_hostport(o->ui, host, &port) < 0) {
        logf_(d, NODE_LOG_ERROR, "web interface: ui = %s is not HOST:PORT", o->ui);
        return;
    }
    if (ui_start(&d->loop, d->n, host, port, ui_live, ui_reader, d, &d->ui, why, sizeof(why)) < 0) {
        logf_(d, NODE_LOG_WARN, "web interface off: %s", why);
        return;
    }
    logf_(d, NODE_LOG_INFO, "web interface on %s (kortnod ui opens it, logged in)", ui_url(d->ui));
}

int node_run(struct node *n, const struct node_run_opts *o)
{
    struct daemon d;
    struct sockaddr_in addr;
    char host[64];
    int port, r;

    if ((r = daemon_init(&d, n, o)) < 0)
        return r;
    if ((r = parse_hostport(o->listen, host, &port)) < 0 ||
        (r = uv_ip4_addr(host, port, &addr)) < 0)
        goto out;
    uv_tcp_init(&d.loop, &d.server);
    d.server.data = &d;
    d.listening = true;
    if ((r = uv_tcp_bind(&d.server, (const struct sockaddr *)&addr, 0)) < 0 ||
        (r = uv_listen((uv_stream_t *)&d.server, 16, on_connection)) < 0) {
        logf_(&d, NODE_LOG_ERROR, "cannot listen on %s: %s", o->listen, uv_strerror(r));
        goto out;
    }
    char id[9];
    node_short_id(n->id.pk, id);
    logf_(&d, NODE_LOG_INFO, "node %s… (%s) listening on %s, %zu configured peer(s)", id, n->role,
          o->listen, o->npeers);
    if (o->reader == 1 || (o->reader == -1 && strcmp(n->role, "hub") != 0)) {
        d.reader_service = "starting";
        if ((r = reader_watch_start(&d.loop, on_reader, &d, &d.rw)) < 0)
            logf_(&d, NODE_LOG_ERROR, "card readers: cannot watch them: %s", kn_strerror(r));
    }
    d.start = uv_now(&d.loop);
    start_lan(&d, o, host, port);
    start_ui(&d, o);
    d.status_dirty = true; /* status.json at once: kortnod ui and status read it */
    uv_timer_start(&d.tick, on_tick, 0, TICK_MS);
    uv_run(&d.loop, UV_RUN_DEFAULT);
    r = 0;
out:
    daemon_finish(&d);
    logf_(&d, NODE_LOG_INFO, "stopped");
    return r;
}

int node_sync_once(struct node *n, const char *hostport, const uint8_t pk[static STORE_KEY_LEN],
                   enum node_log_level level)
{
    struct node_run_opts o = { .level = level, .npeers = 1, .idle_ms = 30000 };
    struct daemon d;
    int r;

    o.peers = kn_xcalloc(1, sizeof(*o.peers));
    o.peers[0].addr = hostport;
    memcpy(o.peers[0].pk, pk, STORE_KEY_LEN);
    r = daemon_init(&d, n, &o);
    free(o.peers);
    if (r < 0)
        return r;
    d.once = true;
    d.exit_code = 1;
    dial(&d, 0);
    uv_timer_start(&d.tick, on_tick, TICK_MS, TICK_MS);
    uv_run(&d.loop, UV_RUN_DEFAULT);
    r = d.exit_code;
    daemon_finish(&d);
    return r == 0 ? 0 : KN_EPROTO;
}
