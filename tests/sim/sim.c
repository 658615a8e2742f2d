/* SPDX-License-Identifier: MIT */
/*
 * The deterministic simulator: a hub, offices and mobile administrators' laptops in one process,
 * each a real node (node_open: the real store in a data directory of its own) replicating over
 * the real sans-IO connection (node_conn: secret handshake, box-stream, the sync messages), with
 * a simulated network and clock. One seed drives everything: the simulation's choices through
 * one PRNG, and libsodium's random bytes (keys, handshake nonces, sealing) through another, so
 * the same seed gives the same run, bit for bit (--twice checks it).
 *
 * Faults: partitions that form and heal, links cut, bytes of a frame lost, duplicated, reordered,
 * corrupted or cut short, slow links, nodes crashing at any step (inside a transaction too:
 * store_test_interrupt) and restarting from their directory, clocks skewed up to a day, offices
 * offline for most of the run, a restored backup, a revoked laptop that keeps writing, a forked
 * feed (a copied disk writing on its own). Workload: the card's life at the hub and the offices.
 *
 * After the faults stop and every node is up and linked, the network must converge within a
 * bounded time and then: equal clocks and state digests everywhere, every acknowledged append at
 * every node, nothing of a revoked key applied past its revocation, nothing applied past a fork.
 * The first violation prints the seed and the last events, and the run exits 1.
 *
 *   sim [--seed S] [--nodes N] [--ticks T] [--twice] [--quiet] [--keep]
 *   sim --scale APPENDS --nodes N     (no faults: the figures of docs/scale.md)
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <msgpack.h>
#include <sodium.h>
#include <sqlite3.h>

#include "node.h"

#define T0_MS       1798761600000ULL /* 2027-01-01T00:00Z */
#define TICK_MS     100
#define DAY_MS      86400000LL
#define TRACE_LINES 48
#define HEAL_MAX_MS (30 * 60 * 1000ULL) /* convergence must come within this after healing */

/* ---- randomness: one stream for the simulation, one for libsodium ---- */

static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t sodium_state;

static const char *rb_name(void)
{
    return "kortnod-sim";
}

static uint32_t rb_random(void)
{
    return (uint32_t)splitmix(&sodium_state);
}

static void rb_buf(void *buf, size_t n)
{
    uint8_t *p = buf;
    while (n) {
        uint64_t v = splitmix(&sodium_state);
        size_t k = n < 8 ? n : 8;
        memcpy(p, &v, k);
        p += k;
        n -= k;
    }
}

static struct randombytes_implementation rb_impl = {
    .implementation_name = rb_name,
    .random = rb_random,
    .buf = rb_buf,
};

/* ---- the world ---- */

enum role { HUB, OFFICE, MOBILE };

struct acked {
    uint64_t seq;
    uint8_t hash[STORE_HASH_LEN];
};

struct snode {
    char name[24];
    enum role role;
    char office[2][24]; /* the offices it works for (one for an office, two for a laptop) */
    size_t noffices;
    char dir[600];
    struct node *n; /* NULL while down */
    uint8_t pk[STORE_KEY_LEN];
    int64_t skew;             /* its clock minus the true time */
    uint64_t up_at;           /* while down: when it comes back */
    bool dying;               /* a crash is armed inside the store: the next failure is the crash */
    bool recovering;          /* restored from a backup: no writes until synced on every link */
    bool revoked;             /* the hub revoked it; it goes on writing */
    uint64_t revoked_from;    /* from this seq on nothing of it may apply */
    int clone_of;             /* a copied disk of that node, writing with its key; -1 */
    uint64_t fork_seq;        /* for a node whose disk was copied: the first seq after the copy */
    bool offline_long;        /* away for most of the run */
    int group;                /* partition */
    struct acked *acked;      /* its appends that returned success */
    size_t nacked, acked_cap; /* (rolled back with a restored backup: see restore_backup) */
    char backup[700];
    bool has_backup;
};

struct chunk {
    struct chunk *next;
    uint64_t at;
    size_t len;
    uint8_t data[];
};

struct pipe {
    struct chunk *head, *tail;
};

struct slink {
    int a, b; /* a dials b */
    bool open;
    struct node_conn c[2]; /* c[0] at a, c[1] at b */
    struct pipe p[2];      /* p[0]: a to b */
    uint64_t latency;
    uint64_t next_try;
    bool synced; /* both sides said synced since it opened */
};

struct sim {
    uint64_t seed, rng, now; /* now: true time, ms after T0 */
    size_t asked_nodes;
    uint64_t ticks;
    struct snode *nodes;
    size_t nnodes, cap;
    struct slink *links;
    size_t nlinks, links_cap;
    char root[512];
    char netkey_path[700];
    uint8_t netkey[32];
    bool faults, quiet, print_trace, keep;
    uint64_t orders, reserves;
    char trace[TRACE_LINES][200];
    size_t ntrace;
    crypto_generichash_state run_hash;
    /* figures */
    uint64_t writes, refused, crashes, cuts, bad_frames, partitions, bytes;
    int revoked_node, forked_node;
    uint64_t scale_base; /* appends before the workload (the setup's) */
    uint64_t scale;      /* --scale N: no faults, N appends, then the figures of docs/scale.md */
};

static struct sim S;

__attribute__((format(printf, 1, 2))) static void trace(const char *fmt, ...)
{
    char line[200];
    va_list ap;
    va_start(ap, fmt);
    int k = snprintf(line, sizeof(line), "t=%" PRIu64 ".%01" PRIu64 "s ", S.now / 1000,
                     (S.now % 1000) / 100);
    vsnprintf(line + k, sizeof(line) - (size_t)k, fmt, ap);
    va_end(ap);
    snprintf(S.trace[S.ntrace++ % TRACE_LINES], sizeof(S.trace[0]), "%s", line);
    if (S.print_trace)
        fprintf(stderr, "%s\n", line);
    crypto_generichash_update(&S.run_hash, (const uint8_t *)line, strlen(line));
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

__attribute__((noreturn, format(printf, 1, 2))) static void violation(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "VIOLATION (seed %" PRIu64 ", %zu nodes): ", S.seed, S.asked_nodes);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nthe last events:\n");
    size_t first = S.ntrace > TRACE_LINES ? S.ntrace - TRACE_LINES : 0;
    for (size_t i = first; i < S.ntrace; i++)
        fprintf(stderr, "  %s\n", S.trace[i % TRACE_LINES]);
    if (!S.keep)
        nftw(S.root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    else
        fprintf(stderr, "kept: %s\n", S.root);
    fprintf(stderr,
            "reproduce: tests/sim/run --seeds %" PRIu64 " --nodes %zu --ticks %" PRIu64 "\n",
            S.seed, S.asked_nodes, S.ticks);
    exit(1);
}

static uint64_t rnd(void)
{
    return splitmix(&S.rng);
}

static uint64_t below(uint64_t n)
{
    return n ? rnd() % n : 0;
}

static bool chance(double p)
{
    return (double)(rnd() >> 11) / (double)(1ULL << 53) < p;
}

static uint64_t node_time(const struct snode *x)
{
    return (uint64_t)((int64_t)(T0_MS + S.now) + x->skew);
}

/* ---- nodes ---- */

static struct snode *add_node(const char *name, enum role role)
{
    if (S.nnodes == S.cap) {
        S.cap = S.cap ? 2 * S.cap : 64;
        S.nodes = kn_xrealloc(S.nodes, S.cap * sizeof(*S.nodes));
    }
    struct snode *x = &S.nodes[S.nnodes++];
    memset(x, 0, sizeof(*x));
    snprintf(x->name, sizeof(x->name), "%s", name);
    x->role = role;
    x->clone_of = -1;
    snprintf(x->dir, sizeof(x->dir), "%s/%s", S.root, name);
    /* Clocks wrong by up to a day either way; the hub's is right. */
    x->skew = role == HUB ? 0 : (int64_t)below(2 * DAY_MS + 1) - DAY_MS;
    return x;
}

static void must(int r, const char *what, const struct snode *x)
{
    if (r < 0)
        violation("%s at %s: %s", what, x ? x->name : "-", kn_strerror(r));
}

/* An append at x: recorded as acknowledged when the store said so. */
static int write_event(struct snode *x, const char *type, const uint8_t *payload, size_t len)
{
    struct store_entry e;
    char reason[256];
    int r = store_domain_write(x->n->store, type, payload, len, node_time(x), &e, reason,
                               sizeof(reason));
    if (r == 0) {
        if (x->nacked == x->acked_cap) {
            x->acked_cap = x->acked_cap ? 2 * x->acked_cap : 64;
            x->acked = kn_xrealloc(x->acked, x->acked_cap * sizeof(*x->acked));
        }
        x->acked[x->nacked].seq = e.seq;
        memcpy(x->acked[x->nacked++].hash, e.hash, STORE_HASH_LEN);
        S.writes++;
        trace("%s wrote %s seq %" PRIu64, x->name, type, e.seq);
    } else {
        S.refused++;
    }
    return r;
}

static int write_json(struct snode *x, const char *type, const char *fmt, ...)
{
    char json[512], err[128];
    uint8_t *payload;
    size_t len;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(json, sizeof(json), fmt, ap);
    va_end(ap);
    if (node_payload_from_json(json, &payload, &len, err, sizeof(err)) < 0)
        violation("the simulator made bad JSON %s: %s", json, err);
    int r = write_event(x, type, payload, len);
    free(payload);
    return r;
}

/* node.bound, which carries the office's key sealed to the node (binary: not JSON). */
static int write_bound(struct snode *hub, const struct snode *x, const char *office,
                       const char *role)
{
    msgpack_sbuffer sb;
    must(node_bound_payload(hub->n->store, x->pk, office, role, 0, &sb), "office key", hub);
    int r = write_event(hub, "node.bound", (const uint8_t *)sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
    return r;
}

static void node_up(struct snode *x)
{
    must(node_open(x->dir, &x->n), "node_open", x);
    x->n->domain_deferred = false;
    x->dying = false;
    /* What it acknowledged before a crash is still there: nothing acknowledged is lost. */
    for (size_t i = 0; i < x->nacked && !x->recovering; i++) {
        struct store_entry e;
        if (store_get(x->n->store, x->pk, x->acked[i].seq, &e, NULL, NULL) < 0 ||
            memcmp(e.hash, x->acked[i].hash, STORE_HASH_LEN) != 0)
            violation("%s lost its acknowledged append seq %" PRIu64 " in a crash", x->name,
                      x->acked[i].seq);
    }
    trace("%s up", x->name);
}

static void close_links_of(int idx, const char *why);

static void node_down(struct snode *x, uint64_t for_ms, const char *why)
{
    int idx = (int)(x - S.nodes);
    close_links_of(idx, why);
    node_close(x->n);
    x->n = NULL;
    x->up_at = S.now + for_ms;
    trace("%s down for %" PRIu64 " s (%s)", x->name, for_ms / 1000, why);
}

/* ---- links ---- */

static void pipe_clear(struct pipe *p)
{
    for (struct chunk *c = p->head, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    p->head = p->tail = NULL;
}

static void link_close(struct slink *l, const char *why)
{
    if (!l->open)
        return;
    node_conn_finish(&l->c[0]);
    node_conn_finish(&l->c[1]);
    pipe_clear(&l->p[0]);
    pipe_clear(&l->p[1]);
    l->open = false;
    l->synced = false;
    l->next_try = S.now + 500 + below(5000);
    trace("link %s-%s closed: %s", S.nodes[l->a].name, S.nodes[l->b].name, why);
}

static void close_links_of(int idx, const char *why)
{
    for (size_t i = 0; i < S.nlinks; i++)
        if (S.links[i].a == idx || S.links[i].b == idx)
            link_close(&S.links[i], why);
}

static void add_link(int a, int b)
{
    if (S.nlinks == S.links_cap) {
        S.links_cap = S.links_cap ? 2 * S.links_cap : 128;
        S.links = kn_xrealloc(S.links, S.links_cap * sizeof(*S.links));
    }
    struct slink *l = &S.links[S.nlinks++];
    memset(l, 0, sizeof(*l));
    l->a = a;
    l->b = b;
    l->latency = 5 + below(300); /* from a LAN to a poor rural line */
    if (S.scale)
        l->latency = 1; /* one tick a hop: ticks count gossip rounds */
}

static void link_open(struct slink *l)
{
    struct snode *a = &S.nodes[l->a], *b = &S.nodes[l->b];
    node_conn_init(&l->c[0], a->n, S.netkey, b->pk);
    node_conn_init(&l->c[1], b->n, S.netkey, NULL);
    l->open = true;
    l->synced = false;
    if (node_conn_start(&l->c[0]) < 0)
        link_close(l, "handshake start failed");
}

/* What side i queued goes into the pipe, in pieces, each arriving after the link's delay. */
static void send_side(struct slink *l, int i)
{
    struct sync_buf *out = &l->c[i].out;
    size_t off = 0;
    while (off < out->len) {
        size_t n = out->len - off;
        if (chance(0.3))
            n = 1 + below(n); /* TCP cuts the stream where it likes */
        struct chunk *c = kn_xmalloc(sizeof(*c) + n);
        c->next = NULL;
        c->len = n;
        memcpy(c->data, out->data + off, n);
        c->at = S.now + l->latency + below(l->latency / 2 + 1);
        if (l->p[i].tail && c->at < l->p[i].tail->at)
            c->at = l->p[i].tail->at; /* a stream keeps its order */
        if (l->p[i].tail)
            l->p[i].tail->next = c;
        else
            l->p[i].head = c;
        l->p[i].tail = c;
        off += n;
        S.bytes += n;
    }
    out->len = 0;
}

static struct chunk *pipe_pop(struct pipe *p)
{
    struct chunk *c = p->head;
    p->head = c->next;
    if (!p->head)
        p->tail = NULL;
    return c;
}

/*
 * Bytes arriving at side 1 - i. A fault on the wire (a byte flipped, a piece lost, repeated,
 * swapped with the next, or the link cut in the middle of a frame) must end the connection, never
 * get into a log.
 */
static bool deliver_side(struct slink *l, int i)
{
    struct pipe *p = &l->p[i];
    struct node_conn *to = &l->c[1 - i];
    const char *a = S.nodes[l->a].name, *b = S.nodes[l->b].name;
    while (p->head && p->head->at <= S.now) {
        struct chunk *c = pipe_pop(p), *second = NULL;
        uint64_t fault = S.faults ? below(5000) : 99;
        int r;
        if (fault == 0) {
            c->data[below(c->len)] ^= (uint8_t)(1u << below(8));
            trace("link %s-%s: a byte flipped", a, b);
        } else if (fault == 1 && p->head) {
            trace("link %s-%s: a piece lost", a, b);
            free(c);
            c = pipe_pop(p);
        } else if (fault == 2 && p->head) {
            trace("link %s-%s: two pieces swapped", a, b);
            second = c;
            c = pipe_pop(p);
        } else if (fault == 3) {
            r = node_conn_input(to, c->data, below(c->len));
            free(c);
            S.cuts++;
            link_close(l, r < 0 ? "cut mid-frame (the piece refused)" : "cut mid-frame");
            return false;
        }
        r = node_conn_input(to, c->data, c->len);
        if (r == 0 && fault == 4) {
            trace("link %s-%s: a piece repeated", a, b);
            r = node_conn_input(to, c->data, c->len);
        }
        if (r == 0 && second)
            r = node_conn_input(to, second->data, second->len);
        free(c);
        free(second);
        if (r < 0) {
            if (fault <= 4)
                S.bad_frames++;
            link_close(l, to->why);
            return false;
        }
    }
    return true;
}

static bool reachable(const struct slink *l)
{
    const struct snode *a = &S.nodes[l->a], *b = &S.nodes[l->b];
    return a->n && b->n && a->group == b->group;
}

static void step_link(struct slink *l)
{
    if (!l->open) {
        if (reachable(l) && S.now >= l->next_try)
            link_open(l);
        if (!l->open)
            return;
    }
    if (!reachable(l)) {
        link_close(l, "partition");
        return;
    }
    for (int i = 0; i < 2 && l->open; i++) {
        struct node_conn *c = &l->c[i];
        if (c->state == NODE_CONN_OPEN && c->out.len < (64u << 10) && node_conn_pump(c) < 0) {
            link_close(l, c->why);
            return;
        }
        send_side(l, i);
    }
    for (int i = 0; i < 2 && l->open; i++)
        if (!deliver_side(l, i))
            return;
    for (int i = 0; i < 2 && l->open; i++) {
        if (l->c[i].state == NODE_CONN_FAILED) {
            link_close(l, l->c[i].why);
            return;
        }
    }
    if (l->open && S.faults && chance(0.0005)) {
        S.cuts++;
        link_close(l, "the line dropped");
        return;
    }
    if (l->open && node_conn_caught_up(&l->c[0]) && node_conn_caught_up(&l->c[1]))
        l->synced = true;
}

/* ---- the workload: the card's life ---- */

struct pick {
    char order[65];
    uint64_t seen;
};

static int pick_row(void *ud, size_t ncols, const char *const *names,
                    const struct store_cell *cells)
{
    struct pick *p = ud;
    if (!cells)
        return 0;
    for (size_t i = 0; i < ncols; i++)
        if (!strcmp(names[i], "order_id") && cells[i].text) {
            /* reservoir sampling with the simulation's PRNG: any of the rows */
            if (below(++p->seen) == 0)
                snprintf(p->order, sizeof(p->order), "%s", cells[i].text);
        }
    return 0;
}

static bool pick_order(struct snode *x, const char *state, const char *office, char out[65])
{
    struct pick p = { "", 0 };
    struct store_report_args a = { .state = state, .office = office };
    /* the projection is current: connections apply what arrives, writes apply at once */
    if (store_report(x->n->store, STORE_REPORT_ORDERS, &a, pick_row, &p) < 0 || !p.seen)
        return false;
    snprintf(out, 65, "%s", p.order);
    return true;
}

static void act_hub(struct snode *x)
{
    char order[65];
    size_t offices = 0;
    for (size_t i = 0; i < S.nnodes; i++)
        offices += S.nodes[i].role == OFFICE && S.nodes[i].clone_of < 0;
    if (chance(0.5) || !pick_order(x, "ordered", NULL, order)) {
        char office[24];
        snprintf(office, sizeof(office), "off%02" PRIu64, below(offices));
        snprintf(order, sizeof(order), "o%05" PRIu64, ++S.orders);
        write_json(x, "order.placed",
                   "{\"order\":\"%s\",\"care_provider\":\"cp%" PRIu64 "\",\"holder\":\"H\","
                   "\"office\":\"%s\",\"card_type\":\"siths-e\"}",
                   order, below(5), office);
        return;
    }
    write_json(x, "card.shipped", "{\"order\":\"%s\",\"serial\":\"SN-%s\",\"rek\":\"RR%sSE\"}",
               order, order, order);
}

static void act_office(struct snode *x)
{
    static const char *const next[][2] = {
        { "shipped", "notice.received" },
        { "notice", "card.collected" },
        { "collected", "card.stored" },
        { "stored", "handover" },
    };
    const char *office = x->office[below(x->noffices)];
    if (chance(0.08)) {
        /* A reserve card, valid a month by this node's clock, returned later by whoever. */
        uint64_t n = ++S.reserves;
        if (n % 2 || n < 3)
            write_json(x, "reserve.issued",
                       "{\"reserve\":\"r%05" PRIu64 "\",\"office\":\"%s\",\"reason\":\"lost-card\","
                       "\"valid_until_ms\":%" PRIu64 ",\"receipt\":\"rc%05" PRIu64 "\"}",
                       n, office, node_time(x) + 30 * (uint64_t)DAY_MS, n);
        else
            write_json(x, "reserve.returned", "{\"reserve\":\"r%05" PRIu64 "\"}", n - 1);
        return;
    }
    size_t k = below(4);
    char order[65];
    if (!pick_order(x, next[k][0], office, order))
        return;
    if (k == 2)
        write_json(x, "card.stored", "{\"order\":\"%s\",\"locked\":true}", order);
    else if (k < 2)
        write_json(x, next[k][1], "{\"order\":\"%s\"}", order);
    else if (chance(0.2))
        write_json(x, "handover.failed", "{\"order\":\"%s\",\"reason\":\"no-show\"}", order);
    else
        write_json(x, "handover.completed",
                   "{\"order\":\"%s\",\"serial\":\"SN-%s\",\"id_checked\":true,"
                   "\"right_person\":true,\"pin_envelope\":true}",
                   order, order);
}

static bool can_write(const struct snode *x)
{
    return x->n && !x->recovering;
}

static void workload(void)
{
    /* About five appends a second across the network (--scale: as fast as the offices can). */
    for (int k = 0; k < (S.scale ? 20 : 2); k++) {
        if (S.scale ? S.writes >= S.scale_base + S.scale : !chance(0.25))
            continue;
        struct snode *x = &S.nodes[below(S.nnodes)];
        if (!can_write(x))
            continue;
        if (x->role == HUB)
            act_hub(x);
        else
            act_office(x);
        if (x->dying && x->n) {
            node_down(x, 1000 + below(60000), "crashed inside a write");
            S.crashes++;
        }
    }
}

/* ---- faults ---- */

static void copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb");
    if (!in)
        return; /* no -wal or -shm file: nothing to copy */
    FILE *out = fopen(to, "wb");
    if (!out)
        violation("copying %s: %s", to, strerror(errno));
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
        if (fwrite(buf, 1, n, out) != n)
            violation("copying %s: %s", to, strerror(errno));
    fclose(in);
    if (fclose(out) != 0)
        violation("copying %s: %s", to, strerror(errno));
}

/* A node's directory copied whole while it is down (a backup, or a copied disk). */
static void copy_dir(const char *from, const char *to)
{
    static const char *const files[] = { "node.key", "kortnod.db", "kortnod.db-wal", "network.key",
                                         "kortnod.conf" };
    mkdir(to, 0700);
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        char a[700], b[700];
        snprintf(a, sizeof(a), "%s/%s", from, files[i]);
        snprintf(b, sizeof(b), "%s/%s", to, files[i]);
        unlink(b);
        copy_file(a, b);
        chmod(b, 0600);
    }
}

static void partition(void)
{
    if (S.partitions && chance(0.5)) {
        for (size_t i = 0; i < S.nnodes; i++)
            S.nodes[i].group = 0;
        trace("partition healed");
        return;
    }
    int groups = 2 + (int)below(2);
    for (size_t i = 0; i < S.nnodes; i++)
        S.nodes[i].group = (int)below((uint64_t)groups);
    S.partitions++;
    trace("partition into %d groups", groups);
}

static void crash(struct snode *x)
{
    if (chance(0.5)) {
        /* Somewhere inside the next store calls, wherever it falls. */
        store_test_interrupt(x->n->store, 1 + below(20000));
        x->dying = true;
        trace("%s will crash inside the store", x->name);
    } else {
        node_down(x, 1000 + below(120000), "crashed");
        S.crashes++;
    }
}

static void faults(uint64_t ticks_total, uint64_t tick)
{
    if (chance(0.004))
        partition();
    for (size_t i = 0; i < S.nnodes; i++) {
        struct snode *x = &S.nodes[i];
        if (x->offline_long && x->n && tick < ticks_total * 3 / 4)
            node_down(x, 0, "away for weeks");
        if (!x->n) {
            if (S.now >= x->up_at && !(x->offline_long && tick < ticks_total * 3 / 4))
                node_up(x);
            continue;
        }
        if (x->dying && chance(0.05)) {
            /* the armed crash fell outside any write: it happens now */
            node_down(x, 1000 + below(60000), "crashed (armed)");
            S.crashes++;
            continue;
        }
        if (chance(0.0003))
            crash(x);
        else if (x->role != HUB && chance(0.0001)) {
            x->skew = (int64_t)below(2 * DAY_MS + 1) - DAY_MS;
            trace("%s clock set to %+" PRId64 " s", x->name, x->skew / 1000);
        }
    }
    /* Once a run: a backup taken, and restored later. */
    struct snode *b = &S.nodes[1 + S.seed % 3];
    if ((int)(b - S.nodes) == S.forked_node)
        b++;
    if (tick == ticks_total / 5 && b->n) {
        node_down(b, 1000, "backup taken");
        snprintf(b->backup, sizeof(b->backup), "%s.backup", b->dir);
        copy_dir(b->dir, b->backup);
        b->has_backup = true;
    }
    /* Restored once what the backup lacks has reached the hub (else it is lost with the disk). */
    struct store_feed at_hub, own;
    if (tick >= ticks_total / 2 && b->has_backup && !b->recovering && b->n && S.nodes[0].n &&
        store_feed_get(S.nodes[0].n->store, b->pk, &at_hub) == 0 &&
        store_feed_get(b->n->store, b->pk, &own) == 0 && at_hub.seq == own.seq) {
        b->has_backup = false;
        node_down(b, 1000, "disk replaced");
        copy_dir(b->backup, b->dir);
        b->recovering = true;
        trace("%s restored from the backup: no writes until it has synced with every peer",
              b->name);
    }
    /* Once a run: the hub revokes a laptop, which goes on writing. */
    struct snode *hub = &S.nodes[0];
    if (tick == ticks_total / 3 && S.revoked_node >= 0 && hub->n) {
        struct snode *m = &S.nodes[S.revoked_node];
        struct store_feed f;
        char hex[STORE_ID_HEX_LEN + 1];
        store_hex(m->pk, STORE_KEY_LEN, hex);
        if (store_feed_get(hub->n->store, m->pk, &f) < 0)
            f.seq = 0;
        if (write_json(hub, "node.revoked", "{\"from_seq\":%" PRIu64 ",\"node\":\"%s\"}", f.seq + 1,
                       hex) == 0) {
            m->revoked = true;
            m->revoked_from = f.seq + 1;
            trace("%s revoked from seq %" PRIu64, m->name, f.seq + 1);
        }
    }
    /* Once a run: an office's disk copied into a second machine that writes with its key. */
    if (tick == ticks_total * 2 / 5 && S.forked_node >= 0) {
        struct snode *o = &S.nodes[S.forked_node];
        if (o->n)
            node_down(o, 1000, "disk copied");
        struct snode *c = add_node("clone", OFFICE);
        o = &S.nodes[S.forked_node]; /* add_node may move the array */
        memcpy(c->pk, o->pk, STORE_KEY_LEN);
        memcpy(c->office, o->office, sizeof(c->office));
        c->noffices = o->noffices;
        c->clone_of = S.forked_node;
        copy_dir(o->dir, c->dir);
        struct node *tmp;
        must(node_open(c->dir, &tmp), "open the copied disk", c);
        struct store_feed f;
        store_feed_get(tmp->store, o->pk, &f);
        node_close(tmp);
        o->fork_seq = c->fork_seq = f.seq + 1;
        int idx = (int)(c - S.nodes);
        add_link(idx, (int)(S.nnodes > 3 ? 1 + below(S.nnodes - 2) : 0));
        add_link(idx, 0);
        trace("%s copied to %s: both write from seq %" PRIu64, o->name, c->name, c->fork_seq);
    }
}

/* A restored node writes again once every link of it has synced (it has fetched its feed back). */
static void recoveries(void)
{
    for (size_t i = 0; i < S.nnodes; i++) {
        struct snode *x = &S.nodes[i];
        if (!x->recovering || !x->n)
            continue;
        bool all = true;
        for (size_t k = 0; k < S.nlinks && all; k++)
            if ((S.links[k].a == (int)i || S.links[k].b == (int)i) && !S.links[k].synced)
                all = false;
        uint64_t tip;
        if (all && store_own_seen(x->n->store, 0, &tip) == 0) {
            x->recovering = false;
            trace("%s recovered its own feed up to seq %" PRIu64, x->name, tip);
        }
    }
}

/* ---- invariants ---- */

struct clock_hash {
    crypto_generichash_state h;
};

static int hash_feed(void *ud, const struct store_feed *f)
{
    struct clock_hash *c = ud;
    if (f->seq == 0)
        return 0; /* a feed offered to nobody (revoked from its first entry) is no feed */
    crypto_generichash_update(&c->h, f->author, STORE_KEY_LEN);
    crypto_generichash_update(&c->h, (const uint8_t *)&f->seq, sizeof(f->seq));
    crypto_generichash_update(&c->h, f->tip_hash, STORE_HASH_LEN);
    return 0;
}

static void clock_of(struct snode *x, uint8_t out[32])
{
    struct clock_hash c;
    crypto_generichash_init(&c.h, NULL, 0, 32);
    must(store_clock(x->n->store, hash_feed, &c), "clock", x);
    crypto_generichash_final(&c.h, out, 32);
}

/* The nodes whose logs must agree: all but a revoked laptop (it holds its own refused entries)
 * and the copied disks (each holds its own branch). */
static bool judged(const struct snode *x)
{
    return !x->revoked && x->clone_of < 0 && x->fork_seq == 0;
}

static bool converged(void)
{
    uint8_t first_c[32], first_d[32], c[32], d[32];
    bool have = false;
    /* every link up and caught up both ways (so every node, judged or not, has heard all) */
    for (size_t i = 0; i < S.nlinks; i++)
        if (!S.links[i].synced)
            return false;
    for (size_t i = 0; i < S.nnodes; i++) {
        struct snode *x = &S.nodes[i];
        if (!judged(x))
            continue;
        if (store_domain_sync(x->n->store, false, NULL) < 0)
            return false;
        clock_of(x, c);
        must(store_domain_digest(x->n->store, d), "digest", x);
        if (!have) {
            memcpy(first_c, c, 32);
            memcpy(first_d, d, 32);
            have = true;
        } else if (memcmp(c, first_c, 32) || memcmp(d, first_d, 32)) {
            return false;
        }
    }
    return true;
}

struct clock_find {
    const uint8_t *author;
    uint64_t seq;
    uint8_t tip0;
};

static int find_feed(void *ud, const struct store_feed *f)
{
    struct clock_find *c = ud;
    if (!memcmp(f->author, c->author, STORE_KEY_LEN)) {
        c->seq = f->seq;
        c->tip0 = f->tip_hash[0];
    }
    return 0;
}

/* Why the nodes disagree: each judged node's seq of every node's feed, and its digest. */
static void explain_disagreement(void)
{
    for (size_t i = 0; i < S.nlinks; i++) {
        struct slink *l = &S.links[i];
        if (!l->synced)
            trace("link %s-%s not caught up: %s, states %d/%d, synced sent %d/%d got %d/%d, "
                  "pump_more %d/%d",
                  S.nodes[l->a].name, S.nodes[l->b].name, l->open ? "open" : "closed",
                  l->c[0].state, l->c[1].state, l->c[0].sent_synced, l->c[1].sent_synced,
                  l->c[0].peer_synced, l->c[1].peer_synced, l->c[0].pump_more, l->c[1].pump_more);
    }
    for (size_t i = 0; i < S.nnodes; i++) {
        struct snode *x = &S.nodes[i];
        uint8_t d[32];
        char line[2048];
        size_t k = 0;
        if (!judged(x))
            continue;
        store_domain_digest(x->n->store, d);
        k += (size_t)snprintf(line + k, sizeof(line) - k,
                              "%-6s digest %02x%02x%02x%02x feeds:", x->name, d[0], d[1], d[2],
                              d[3]);
        for (size_t a = 0; a < S.nnodes && k < sizeof(line) - 40; a++) {
            struct store_feed f;
            if (S.nodes[a].clone_of >= 0 || store_feed_get(x->n->store, S.nodes[a].pk, &f) < 0)
                continue;
            k += (size_t)snprintf(line + k, sizeof(line) - k, " %s=%" PRIu64 "%s", S.nodes[a].name,
                                  f.seq, f.forked ? "F" : "");
            if (f.forked) {
                struct clock_find cf = { S.nodes[a].pk, 0, 0 };
                store_clock(x->n->store, find_feed, &cf);
                k += (size_t)snprintf(line + k, sizeof(line) - k, "(clock %" PRIu64 " %02x)",
                                      cf.seq, cf.tip0);
            }
        }
        trace("%s", line);
        /* the projection made again from the log: equal to the incremental one? */
        uint8_t r[32];
        struct store_domain_stats st;
        if (store_domain_sync(x->n->store, true, &st) == 0 &&
            store_domain_digest(x->n->store, r) == 0)
            trace("%-6s rebuilt from its log: digest %02x%02x%02x%02x (%zu applied, %zu "
                  "conflicts, %zu invalid, %zu waiting)",
                  x->name, r[0], r[1], r[2], r[3], st.applied, st.conflicts, st.invalid,
                  st.waiting);
    }
}

static int64_t count_applied(struct snode *x, const uint8_t author[STORE_KEY_LEN], uint64_t from)
{
    char path[700];
    sqlite3 *db;
    sqlite3_stmt *st;
    int64_t n = -1;
    snprintf(path, sizeof(path), "%s/kortnod.db", x->dir);
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db,
                           "SELECT count(*) FROM p_applied WHERE author = ?1 AND seq >= ?2"
                           " AND status = 0",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_blob(st, 1, author, STORE_KEY_LEN, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, (int64_t)from);
        if (sqlite3_step(st) == SQLITE_ROW)
            n = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return n;
}

/*
 * Where a copied disk forked the feed: the first seq both copies wrote, each its own entry (a copy
 * may first take the other's entries as its own feed and go on from there). 0: no fork.
 */
static uint64_t fork_point(const struct snode *x)
{
    uint64_t at = 0;
    if (x->clone_of >= 0 || !x->fork_seq)
        return 0;
    for (size_t i = 0; i < S.nnodes; i++) {
        const struct snode *c = &S.nodes[i];
        if (c->clone_of != (int)(x - S.nodes))
            continue;
        for (size_t a = 0; a < x->nacked; a++)
            for (size_t k = 0; k < c->nacked; k++)
                if (x->acked[a].seq == c->acked[k].seq &&
                    memcmp(x->acked[a].hash, c->acked[k].hash, STORE_HASH_LEN) != 0 &&
                    (!at || x->acked[a].seq < at))
                    at = x->acked[a].seq;
    }
    return at;
}

static void check_final(void)
{
    for (size_t i = 0; i < S.nnodes; i++) {
        struct snode *x = &S.nodes[i];
        uint64_t fork = fork_point(x->clone_of >= 0 ? &S.nodes[x->clone_of] : x);
        /* every acknowledged append of x at every node (but past a revocation or a fork) */
        for (size_t k = 0; k < S.nnodes; k++) {
            struct snode *y = &S.nodes[k];
            if (!judged(y))
                continue;
            for (size_t a = 0; a < x->nacked; a++) {
                uint64_t seq = x->acked[a].seq;
                if ((x->revoked && seq >= x->revoked_from) || (fork && seq >= fork))
                    continue;
                struct store_entry e;
                if (store_get(y->n->store, x->pk, seq, &e, NULL, NULL) < 0 ||
                    memcmp(e.hash, x->acked[a].hash, STORE_HASH_LEN) != 0)
                    violation("%s's acknowledged append seq %" PRIu64 " is not at %s", x->name, seq,
                              y->name);
            }
        }
        /* nothing of a revoked key past its revocation, nothing past a fork, anywhere */
        for (size_t k = 0; k < S.nnodes; k++) {
            struct snode *y = &S.nodes[k];
            if (x->revoked && count_applied(y, x->pk, x->revoked_from) != 0)
                violation("%s applies entries of %s past its revocation (seq %" PRIu64 ")", y->name,
                          x->name, x->revoked_from);
            if (fork && x->clone_of < 0 && count_applied(y, x->pk, fork) != 0)
                violation("%s applies entries of %s past its fork (seq %" PRIu64 ")", y->name,
                          x->name, fork);
        }
    }
}

/* ---- a run ---- */

static void setup(size_t nnodes)
{
    size_t mobiles = nnodes / 8, offices = nnodes - 1 - mobiles;
    char hub_hex[STORE_ID_HEX_LEN + 1];
    struct snode *hub = add_node("hub", HUB);
    must(node_init(hub->dir, "hub", "hub", NULL, NULL, &hub->n), "init hub", hub);
    memcpy(hub->pk, hub->n->id.pk, STORE_KEY_LEN);
    store_hex(hub->pk, STORE_KEY_LEN, hub_hex);
    snprintf(S.netkey_path, sizeof(S.netkey_path), "%s/network.key", hub->dir);
    must(node_netkey_load(hub->n, S.netkey), "network key", hub);
    for (size_t i = 0; i < offices + mobiles; i++) {
        char name[24];
        bool mobile = i >= offices;
        if (mobile)
            snprintf(name, sizeof(name), "mob%02zu", i - offices);
        else
            snprintf(name, sizeof(name), "off%02zu", i);
        struct snode *x = add_node(name, mobile ? MOBILE : OFFICE);
        must(node_init(x->dir, mobile ? "mobile" : "office", name, hub_hex, S.netkey_path, &x->n),
             "init", x);
        memcpy(x->pk, x->n->id.pk, STORE_KEY_LEN);
        if (mobile) {
            /* a laptop works for two offices */
            x->noffices = 2;
            snprintf(x->office[0], sizeof(x->office[0]), "off%02" PRIu64, below(offices));
            snprintf(x->office[1], sizeof(x->office[1]), "off%02" PRIu64, below(offices));
        } else {
            x->noffices = 1;
            snprintf(x->office[0], sizeof(x->office[0]), "%s", name);
        }
    }
    hub = &S.nodes[0];
    for (size_t i = 1; i <= offices; i++) {
        const char *o = S.nodes[i].office[0];
        write_json(hub, "office.registered",
                   "{\"office\":\"%s\",\"kind\":\"organisation\",\"name\":\"%s\",\"town\":\"T\","
                   "\"place\":\"P\",\"booking\":\"B\",\"days\":\"mon,tue\"}",
                   o, o);
        write_json(hub, "admin.added", "{\"office\":\"%s\",\"admin\":\"a1\",\"name\":\"A\"}", o);
        write_json(hub, "admin.added", "{\"office\":\"%s\",\"admin\":\"a2\",\"name\":\"B\"}", o);
        must(write_bound(hub, &S.nodes[i], o, "office"), "enrol", &S.nodes[i]);
    }
    for (size_t i = offices + 1; i < S.nnodes; i++)
        for (size_t k = 0; k < S.nodes[i].noffices; k++)
            if (k == 0 || strcmp(S.nodes[i].office[0], S.nodes[i].office[1]))
                must(write_bound(hub, &S.nodes[i], S.nodes[i].office[k], "mobile"), "enrol",
                     &S.nodes[i]);
    /* Offices dial the hub and a neighbour; laptops dial the hub and their offices. */
    for (size_t i = 1; i <= offices; i++) {
        add_link((int)i, 0);
        if (offices > 1)
            add_link((int)i, (int)(1 + i % offices));
    }
    for (size_t i = offices + 1; i < S.nnodes; i++) {
        add_link((int)i, 0);
        for (size_t k = 0; k < S.nodes[i].noffices; k++)
            add_link((int)i, 1 + atoi(S.nodes[i].office[k] + 3));
    }
    S.revoked_node = mobiles ? (int)(offices + 1) : -1;
    S.forked_node = offices > 3 ? (int)(2 + S.seed % (offices - 2)) : -1;
    /* one office away for three quarters of the run ("weeks" without a line) */
    if (offices > 4) {
        struct snode *away = &S.nodes[offices];
        away->offline_long = true;
    }
}

static off_t file_size(const char *dir, const char *name)
{
    char path[700];
    struct stat st;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return stat(path, &st) == 0 ? st.st_size : 0;
}

/*
 * --scale: the network without faults. The setup (enrolments) and S.scale appends of the card's
 * life spread from where they are written; one tick is one gossip round (a hop). Prints the rounds
 * from the last append until every node holds everything, the bytes each node sent and received,
 * and the database size per node.
 */
static uint64_t scale_run(uint8_t hash[32])
{
    uint64_t t0 = S.now, last = 0, rounds = 0;
    S.faults = false;
    S.scale_base = S.writes;
    while (S.writes < S.scale_base + S.scale) {
        S.now += TICK_MS;
        uint64_t before = S.writes;
        workload();
        if (S.writes > before)
            last = S.now;
        for (size_t i = 0; i < S.nlinks; i++)
            step_link(&S.links[i]);
        if (S.now - t0 > 24 * 3600 * 1000ULL)
            violation("--scale: fewer than %" PRIu64 " appends in a simulated day", S.scale);
    }
    for (;;) {
        S.now += TICK_MS;
        rounds++;
        for (size_t i = 0; i < S.nlinks; i++)
            step_link(&S.links[i]);
        if (rounds % 5 == 0 && converged())
            break;
        if (rounds > 100000)
            violation("--scale: no convergence in 100000 rounds");
    }
    uint64_t entries = 0;
    store_count(S.nodes[0].n->store, &entries);
    for (size_t i = 0; i < S.nlinks; i++)
        link_close(&S.links[i], "end");
    double db = 0;
    for (size_t i = 0; i < S.nnodes; i++) {
        node_close(S.nodes[i].n); /* checkpoints the WAL into the file */
        S.nodes[i].n = NULL;
        db += (double)(file_size(S.nodes[i].dir, "kortnod.db") +
                       file_size(S.nodes[i].dir, "kortnod.db-wal"));
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("scale: %zu nodes (%zu links), %" PRIu64 " entries in every log; rounds from the last "
           "append to convergence: %" PRIu64 " (last append at round %" PRIu64 "); wire bytes "
           "per node %.0f (%.0f per entry held); database per node %.2f MiB (%.0f bytes per "
           "entry); peak RSS %ld MiB\n",
           S.nnodes, S.nlinks, entries, (S.now - last) / TICK_MS, (last - t0) / TICK_MS,
           (double)S.bytes / (double)S.nnodes, (double)S.bytes / (double)S.nnodes / (double)entries,
           db / (double)S.nnodes / (1 << 20), db / (double)S.nnodes / (double)entries,
           ru.ru_maxrss / 1024);
    (void)rounds;
    memset(hash, 0, 32);
    for (size_t i = 0; i < S.nnodes; i++)
        free(S.nodes[i].acked);
    free(S.nodes);
    free(S.links);
    if (!S.keep)
        nftw(S.root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return S.now - last;
}

static uint64_t run(uint64_t seed, size_t nnodes, uint64_t ticks, bool keep, bool quiet,
                    uint8_t hash[32], uint64_t scale)
{
    memset(&S, 0, sizeof(S));
    S.quiet = quiet;
    S.keep = keep;
    S.print_trace = getenv("SIM_TRACE") != NULL;
    S.asked_nodes = nnodes;
    S.scale = scale;
    S.ticks = ticks;
    S.seed = seed;
    S.rng = seed * 0x2545f4914f6cdd1dULL + 1;
    sodium_state = seed ^ 0x5eed5eed5eed5eedULL;
    crypto_generichash_init(&S.run_hash, NULL, 0, 32);
    snprintf(S.root, sizeof(S.root), "%s/kortnod-sim-XXXXXX",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    if (!mkdtemp(S.root))
        violation("mkdtemp: %s", strerror(errno));
    setup(nnodes);
    if (S.scale)
        return scale_run(hash);
    S.faults = true;
    for (uint64_t t = 0; t < ticks; t++) {
        S.now += TICK_MS;
        faults(ticks, t);
        workload();
        recoveries();
        for (size_t i = 0; i < S.nlinks; i++)
            step_link(&S.links[i]);
    }
    /* Heal: no more faults, every node up and linked, no more writes; gossip until it agrees. */
    S.faults = false;
    for (size_t i = 0; i < S.nnodes; i++) {
        S.nodes[i].group = 0;
        if (S.nodes[i].n && S.nodes[i].dying) {
            store_test_interrupt(S.nodes[i].n->store, 0);
            S.nodes[i].dying = false;
        }
        if (!S.nodes[i].n)
            node_up(&S.nodes[i]);
    }
    uint64_t healed = S.now, checks = 0;
    trace("healed");
    for (;;) {
        S.now += TICK_MS;
        recoveries();
        for (size_t i = 0; i < S.nlinks; i++)
            step_link(&S.links[i]);
        if (++checks % 10 == 0 && converged())
            break;
        if (S.now - healed > HEAL_MAX_MS) {
            explain_disagreement();
            violation("no convergence within %" PRIu64 " s after healing",
                      (uint64_t)(HEAL_MAX_MS / 1000));
        }
    }
    uint64_t took = S.now - healed;
    trace("converged %" PRIu64 " ms after healing", took);
    check_final();
    uint8_t d[32];
    must(store_domain_digest(S.nodes[0].n->store, d), "digest", &S.nodes[0]);
    crypto_generichash_update(&S.run_hash, d, 32);
    crypto_generichash_final(&S.run_hash, hash, 32);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    if (!S.quiet)
        printf("seed %" PRIu64 ": %zu nodes, %" PRIu64 " s simulated, %" PRIu64 " appends (%" PRIu64
               " refused), %" PRIu64 " crashes, %" PRIu64 " links cut, %" PRIu64
               " bad frames refused, %" PRIu64 " partitions, %.1f MiB "
               "on the wire; converged %.1f s after healing; peak RSS %ld MiB; ok\n",
               seed, S.nnodes, ticks * TICK_MS / 1000, S.writes, S.refused, S.crashes, S.cuts,
               S.bad_frames, S.partitions, (double)S.bytes / (1 << 20), (double)took / 1000,
               ru.ru_maxrss / 1024);
    for (size_t i = 0; i < S.nlinks; i++)
        link_close(&S.links[i], "end");
    for (size_t i = 0; i < S.nnodes; i++) {
        node_close(S.nodes[i].n);
        free(S.nodes[i].acked);
    }
    free(S.nodes);
    free(S.links);
    if (!keep)
        nftw(S.root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    else
        printf("kept: %s\n", S.root);
    return took;
}

int main(int argc, char **argv)
{
    uint64_t seed = 1, ticks = 6000, scale = 0;
    size_t nodes = 12;
    bool twice = false, keep = false, quiet = false;
    for (int i = 1; i < argc; i++) {
        bool has = i + 1 < argc;
        if (!strcmp(argv[i], "--seed") && has)
            seed = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--nodes") && has)
            nodes = (size_t)strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--ticks") && has)
            ticks = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--scale") && has)
            scale = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--twice"))
            twice = true;
        else if (!strcmp(argv[i], "--keep"))
            keep = true;
        else if (!strcmp(argv[i], "--quiet"))
            quiet = true;
        else {
            fprintf(stderr,
                    "usage: sim [--seed S] [--nodes N (>= 3)] [--ticks T (of %d ms)] "
                    "[--twice] [--keep] [--quiet] [--scale APPENDS]\n",
                    TICK_MS);
            return 2;
        }
    }
    if (nodes < 3 || nodes > 2000) {
        fprintf(stderr, "sim: --nodes wants 3 to 2000\n");
        return 2;
    }
    /* Before anything asks libsodium for random bytes. */
    if (randombytes_set_implementation(&rb_impl) != 0 || sodium_init() < 0) {
        fprintf(stderr, "sim: libsodium\n");
        return 1;
    }
    uint8_t h1[32], h2[32];
    run(seed, nodes, ticks, keep, quiet, h1, scale);
    if (twice) {
        run(seed, nodes, ticks, false, quiet, h2, scale);
        if (memcmp(h1, h2, 32) != 0) {
            fprintf(stderr, "VIOLATION (seed %" PRIu64 "): two runs of one seed differ\n", seed);
            return 1;
        }
        printf("seed %" PRIu64 ": the second run is the same, bit for bit\n", seed);
    }
    return 0;
}
