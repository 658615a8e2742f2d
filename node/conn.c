/* SPDX-License-Identifier: MIT */
/*
 * One connection's replication, without I/O: bytes in from the peer, bytes out to it. The
 * transport (daemon.c) moves the bytes and calls node_conn_pump() when the socket can take more.
 *
 * Both sides send their clock first. Each then sends, feed by feed (the hub's first), what the
 * peer's clock says it lacks, oldest first, in batches; then "synced" once; then keeps sending
 * whatever is appended later (live mode). What the peer holds is tracked as entries go out and
 * come in, so a reconnect simply starts again from the clocks: nothing received is lost, nothing
 * is sent twice on one connection.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "node.h"

#define PUMP_MAX_BYTES (256u << 10) /* encrypted bytes queued before pump stops */

void node_conn_init(struct node_conn *c, struct node *n, const uint8_t netkey[32],
                    const uint8_t *server_pk)
{
    memset(c, 0, sizeof(*c));
    c->n = n;
    c->client = server_pk != NULL;
    if (c->client)
        sync_shs_init_client(&c->shs, netkey, n->id.pk, n->id.sk, server_pk);
    else
        sync_shs_init_server(&c->shs, netkey, n->id.pk, n->id.sk);
    sync_buf_init(&c->in);
    sync_buf_init(&c->plain);
    sync_buf_init(&c->out);
    sync_msg_reader_init(&c->rd);
    c->state = NODE_CONN_HANDSHAKE;
}

void node_conn_finish(struct node_conn *c)
{
    sync_shs_finish(&c->shs);
    sync_buf_finish(&c->in);
    sync_buf_finish(&c->plain);
    sync_buf_finish(&c->out);
    sync_msg_reader_finish(&c->rd);
    free(c->peer);
    sodium_memzero(&c->send, sizeof(c->send));
    sodium_memzero(&c->recv, sizeof(c->recv));
    memset(c, 0, sizeof(*c));
}

static int fail(struct node_conn *c, int err, const char *why)
{
    c->state = NODE_CONN_FAILED;
    c->error = err;
    snprintf(c->why, sizeof(c->why), "%s", why);
    return err;
}

/* The peer's seq for author (0 when unknown); the slot is created when create is set. */
static uint64_t *peer_seq(struct node_conn *c, const uint8_t author[STORE_KEY_LEN], bool create)
{
    for (size_t i = 0; i < c->npeer; i++)
        if (memcmp(c->peer[i].author, author, STORE_KEY_LEN) == 0)
            return &c->peer[i].seq;
    if (!create)
        return NULL;
    if (c->npeer == c->peer_cap) {
        c->peer_cap = c->peer_cap ? 2 * c->peer_cap : 16;
        c->peer = kn_xrealloc(c->peer, c->peer_cap * sizeof(*c->peer));
    }
    memcpy(c->peer[c->npeer].author, author, STORE_KEY_LEN);
    c->peer[c->npeer].seq = 0;
    return &c->peer[c->npeer++].seq;
}

static void send_plain(struct node_conn *c, struct sync_buf *plain)
{
    sync_box_seal(&c->send, plain->data, plain->len, &c->out);
    c->bytes_out += plain->len;
    plain->len = 0;
}

struct feeds {
    struct store_feed *v;
    size_t n, cap;
};

static int collect(void *ud, const struct store_feed *f)
{
    struct feeds *l = ud;
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        l->v = kn_xrealloc(l->v, l->cap * sizeof(*l->v));
    }
    l->v[l->n++] = *f;
    return 0;
}

static int send_clock(struct node_conn *c)
{
    struct feeds f = { 0 };
    struct sync_buf plain;
    int r = store_clock(c->n->store, collect, &f);
    if (r == 0) {
        struct sync_clock_item *items = kn_xmalloc((f.n ? f.n : 1) * sizeof(*items));
        for (size_t i = 0; i < f.n; i++) {
            memcpy(items[i].author, f.v[i].author, STORE_KEY_LEN);
            items[i].seq = f.v[i].seq;
            items[i].has_tip = f.v[i].seq > 0;
            memcpy(items[i].tip, f.v[i].tip_hash, STORE_HASH_LEN);
        }
        sync_buf_init(&plain);
        sync_msg_put_clock(&plain, items, f.n);
        send_plain(c, &plain);
        sync_buf_finish(&plain);
        free(items);
    }
    free(f.v);
    return r;
}

/* The fork proofs held, copied, to go out in messages of at most SYNC_MAX_BATCH. */
struct proofs {
    struct store_raw *v;
    size_t n, cap;
};

static int collect_proof(void *ud, const uint8_t *held, size_t hlen, const uint8_t *other,
                         size_t olen)
{
    struct proofs *p = ud;
    if (p->n == p->cap) {
        p->cap = p->cap ? 2 * p->cap : 8;
        p->v = kn_xrealloc(p->v, p->cap * sizeof(*p->v));
    }
    uint8_t *buf = kn_xmalloc(hlen + olen + 1);
    memcpy(buf, held, hlen);
    memcpy(buf + hlen, other, olen);
    p->v[p->n++] = (struct store_raw){ buf, hlen, buf + hlen, olen };
    return 0;
}

/* Every fork proof this node holds, once per connection after the clock: so a fork found
 * anywhere reaches every node, which then stops the feed at the fork (docs/protocol.md). */
static int send_forks(struct node_conn *c)
{
    struct proofs p = { 0 };
    struct sync_buf plain;
    int r = store_fork_proofs(c->n->store, collect_proof, &p);
    sync_buf_init(&plain);
    for (size_t i = 0; r == 0 && i < p.n; i += SYNC_MAX_BATCH) {
        size_t k = p.n - i < SYNC_MAX_BATCH ? p.n - i : SYNC_MAX_BATCH;
        if ((r = sync_msg_put_forks(&plain, p.v + i, k)) == 0)
            send_plain(c, &plain);
    }
    sync_buf_finish(&plain);
    for (size_t i = 0; i < p.n; i++)
        free((void *)p.v[i].signed_header);
    free(p.v);
    if (r == 0)
        c->forks_sent = p.n;
    return r;
}

static int count_fork(void *ud, const struct store_fork *f)
{
    (void)f;
    (*(size_t *)ud)++;
    return 0;
}

static int on_forks(struct node_conn *c, const struct sync_msg *m)
{
    for (size_t i = 0; i < m->count; i++) {
        int r = store_fork_add(c->n->store, m->entries[i].signed_header, m->entries[i].signed_len,
                               m->entries[i].payload, m->entries[i].payload_len);
        bool bad = r == KN_EFIELD || r == KN_ESIG || (r >= KN_ETRUNC && r <= KN_EPAYLOAD);
        if (r < 0 && !bad)
            return fail(c, r, "storing a fork proof");
        if (r < 0)
            return fail(c, KN_EPROTO, "the peer sent a fork proof that proves nothing");
        if (r == 1) {
            c->forks_in++;
            c->domain_dirty = true;
        }
    }
    return c->peer_synced ? node_conn_apply(c) : 0;
}

struct batch {
    struct store_raw raw[SYNC_MAX_BATCH];
    uint8_t *arena;
    size_t n, used;
};

/* A batch with room for SYNC_MAX_BATCH entries or about 1 MiB, whichever comes first. */
static struct batch *batch_new(void)
{
    struct batch *b = kn_xmalloc(sizeof(*b));
    b->arena = kn_xmalloc(SYNC_MAX_BATCH * STORE_MAX_SIGNED + (1u << 20) + STORE_MAX_PAYLOAD);
    b->n = b->used = 0;
    return b;
}

static void batch_free(struct batch *b)
{
    if (b)
        free(b->arena);
    free(b);
}

static int batch_add(void *ud, const struct store_entry *e, const uint8_t *payload, size_t len)
{
    struct batch *b = ud;
    uint8_t *h = b->arena + b->used;
    memcpy(h, e->signed_header, e->signed_len);
    b->used += e->signed_len;
    uint8_t *p = NULL;
    if (payload) {
        p = b->arena + b->used;
        memcpy(p, payload, len);
        b->used += len;
    }
    b->raw[b->n++] = (struct store_raw){ h, e->signed_len, p, len };
    return b->n == SYNC_MAX_BATCH || b->used > (1u << 20) ? 1 : 0;
}

static int send_one(void *ud, const struct store_raw *raw)
{
    struct node_conn *c = ud;
    struct sync_buf plain;
    sync_buf_init(&plain);
    int r = sync_msg_put_entries(&plain, raw, 1);
    if (r == 0)
        send_plain(c, &plain);
    sync_buf_finish(&plain);
    return r;
}

/*
 * Entries of the batch whose payload the hub purged go without it; the hub's payload.purged
 * entries that did it go first, each in a message of its own, so that the receiver knows of the
 * purge before the entry comes (it notes a purge from a good hub signature even where it cannot
 * store the purge entry yet: a gap in the hub's feed, and no sign of a bad peer).
 */
static int send_purges(struct node_conn *c, const struct batch *b)
{
    struct store_entry *e = kn_xmalloc(sizeof(*e));
    int r = 0;
    for (size_t i = 0; r == 0 && i < b->n; i++) {
        if (b->raw[i].payload ||
            store_entry_decode(b->raw[i].signed_header, b->raw[i].signed_len, e) < 0)
            continue;
        r = store_purge_of(c->n->store, e->author, e->seq, send_one, c);
        r = r == KN_ENOTFOUND ? 0 : r;
    }
    free(e);
    return r;
}

/* The first seq of each forked feed (store_forks lists proofs by author, then seq). */
struct fork_points {
    struct store_fork *v;
    size_t n, cap;
};

static int collect_fork_point(void *ud, const struct store_fork *f)
{
    struct fork_points *l = ud;
    if (l->n > 0 && memcmp(l->v[l->n - 1].author, f->author, STORE_KEY_LEN) == 0)
        return 0; /* a later proof of the same feed: the first is the lowest */
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 8;
        l->v = kn_xrealloc(l->v, l->cap * sizeof(*l->v));
    }
    l->v[l->n++] = *f;
    return 0;
}

/*
 * After a new fork proof: this node's branch of each forked feed, up to the fork, to the peer.
 * A proof from an entry that links elsewhere is found at the receiver's tip, but two copies of a
 * disk may have split lower: the peer compares each entry with the one it holds at that seq, and
 * any that differ prove the fork lower down, until every node cuts the feed where it split.
 * Forks are rare and this happens once per new proof, so sending a whole branch is affordable.
 */
static int send_branches(struct node_conn *c)
{
    struct fork_points fp = { 0 };
    struct sync_buf plain;
    struct batch *b = batch_new();
    int r = store_forks(c->n->store, collect_fork_point, &fp);
    sync_buf_init(&plain);
    for (size_t i = 0; r == 0 && i < fp.n; i++) {
        uint64_t from = 1;
        while (r == 0 && from <= fp.v[i].seq) {
            b->n = b->used = 0;
            r = store_range(c->n->store, fp.v[i].author, from, fp.v[i].seq, batch_add, b);
            if (r < 0 || b->n == 0)
                break;
            if ((r = send_purges(c, b)) == 0 &&
                (r = sync_msg_put_entries(&plain, b->raw, b->n)) == 0)
                send_plain(c, &plain);
            from += b->n;
        }
        r = r < 0 ? r : 0;
    }
    sync_buf_finish(&plain);
    batch_free(b);
    free(fp.v);
    return r;
}

/* Is author the hub? Its feed goes first: everything else depends on it. */
static bool is_hub(struct node_conn *c, const uint8_t *author)
{
    if (!c->hub_known) {
        char hex[STORE_ID_HEX_LEN + 1];
        c->hub_known = 1;
        if (store_meta_get(c->n->store, "hub", hex, sizeof(hex)) == 0 &&
            store_unhex(hex, c->hub, STORE_KEY_LEN) == 0)
            c->hub_known = 2;
    }
    return c->hub_known == 2 && memcmp(c->hub, author, STORE_KEY_LEN) == 0;
}

int node_conn_pump(struct node_conn *c)
{
    struct feeds f = { 0 };
    struct sync_buf plain;
    struct batch *b = NULL;
    bool more = false;
    int r;

    if (c->state != NODE_CONN_OPEN || !c->got_clock)
        return 0;
    /* Nothing written since the last pump that finished: nothing new to send. */
    uint64_t version = 0;
    if (store_data_version(c->n->store, &version) == 0 && c->pumped && !c->pump_more &&
        version == c->pumped_version)
        return 0;
    c->pumped_version = version;
    /* A fork proof found (or heard of) since the connection began goes out at once. */
    size_t nforks = 0;
    if (store_forks(c->n->store, count_fork, &nforks) == 0 && nforks != c->forks_sent &&
        ((r = send_forks(c)) < 0 || (r = send_branches(c)) < 0))
        goto out;
    if ((r = store_clock(c->n->store, collect, &f)) < 0)
        goto out;
    b = batch_new();
    sync_buf_init(&plain);
    for (int pass = 0; pass < 2 && r == 0; pass++) {
        for (size_t i = 0; i < f.n && r == 0; i++) {
            if (is_hub(c, f.v[i].author) != (pass == 0))
                continue;
            uint64_t *have = peer_seq(c, f.v[i].author, true);
            while (*have < f.v[i].seq && r == 0) {
                if (c->out.len >= PUMP_MAX_BYTES) {
                    more = true;
                    break;
                }
                b->n = b->used = 0;
                r = store_range(c->n->store, f.v[i].author, *have + 1, f.v[i].seq, batch_add, b);
                if (r < 0)
                    break;
                r = 0;
                if (b->n == 0)
                    break;
                if ((r = send_purges(c, b)) < 0 ||
                    (r = sync_msg_put_entries(&plain, b->raw, b->n)) < 0)
                    break;
                send_plain(c, &plain);
                *have += b->n;
                c->entries_out += b->n;
            }
            if (more)
                break;
        }
        if (more)
            break;
    }
    c->pumped = true;
    c->pump_more = more;
    if (r == 0 && !more && !c->sent_synced) {
        sync_msg_put_synced(&plain);
        send_plain(c, &plain);
        c->sent_synced = true;
    }
    sync_buf_finish(&plain);
out:
    batch_free(b);
    free(f.v);
    return r < 0 ? fail(c, r, "reading the log") : 0;
}

/*
 * What a refused entry says of the peer: an entry that fails verification (signature, hash
 * links, payload, form) is a bad peer; an entry trust refuses (a revoked key, a role that may
 * not write its type), or one that no longer links because the one before it was refused, is a
 * peer that does not know (yet) what this node knows.
 */
static void on_reject(void *ud, size_t index, const struct store_entry *e, int err)
{
    struct node_conn *c = ud;
    (void)index;
    (void)e;
    if (err == KN_EREVOKED || err == KN_EUNAUTHORISED || err == KN_EHELDFULL || err == KN_ESEQ ||
        err == KN_EAFTERBAD || err == KN_EFORKED)
        return;
    c->bad_entries++;
}

static int on_entries(struct node_conn *c, const struct sync_msg *m)
{
    struct store_ingest_result res;
    struct store_entry e;
    c->bad_entries = 0;
    int r = store_ingest(c->n->store, m->entries, m->count, &res, on_reject, c);
    if (r < 0)
        return fail(c, r, "storing entries");
    c->entries_in += res.accepted;
    /* The peer holds what it sent: never send it back. */
    for (size_t i = 0; i < m->count; i++) {
        if (store_entry_decode(m->entries[i].signed_header, m->entries[i].signed_len, &e) < 0)
            continue;
        uint64_t *have = peer_seq(c, e.author, true);
        if (e.seq > *have)
            *have = e.seq;
    }
    c->entries_held += res.held;
    c->forks_in += res.forks;
    /* A fork this batch proved goes back at once: the peer may hold the other branch. */
    if (res.forks > 0 && ((r = send_forks(c)) < 0 || (r = send_branches(c)) < 0))
        return fail(c, r, "reading the fork proofs");
    c->entries_refused += res.refused;
    if (c->bad_entries > 0)
        return fail(c, KN_EPROTO, "the peer sent entries that do not verify");
    /* During catch-up feeds arrive one after another, each from its start, so applying every
     * batch would rebuild the projection again and again: apply once at "synced", then per
     * batch in live mode. */
    if (res.accepted > 0)
        c->domain_dirty = true;
    return c->peer_synced ? node_conn_apply(c) : 0;
}

int node_conn_apply(struct node_conn *c)
{
    struct store_domain_stats stats;
    if (!c->domain_dirty)
        return 0;
    c->domain_dirty = false;
    if (c->n->domain_deferred) {
        c->n->domain_dirty = true;
        return 0;
    }
    int r = store_domain_sync(c->n->store, false, &stats);
    return r < 0 && r != KN_ENOHUB ? fail(c, r, "applying entries") : 0;
}

static int on_message(struct node_conn *c, const struct sync_msg *m)
{
    switch (m->type) {
    case SYNC_MSG_CLOCK:
        if (c->got_clock)
            return fail(c, KN_EPROTO, "a second clock");
        c->got_clock = true;
        for (size_t i = 0; i < m->count; i++) {
            const struct sync_clock_item *it = &m->clock[i];
            *peer_seq(c, it->author, true) = it->seq;
            /* The peer holds another entry at a seq this node holds: two branches of one
             * feed. Ours goes to the peer from that seq, so that it finds the fork. */
            struct store_entry mine;
            if (it->has_tip && it->seq > 0 &&
                store_get(c->n->store, it->author, it->seq, &mine, NULL, NULL) == 0 &&
                memcmp(mine.hash, it->tip, STORE_HASH_LEN) != 0) {
                *peer_seq(c, it->author, false) = it->seq - 1;
                c->tips_differ++;
            }
            uint64_t tip;
            if (memcmp(it->author, c->n->id.pk, STORE_KEY_LEN) == 0 &&
                store_own_seen(c->n->store, it->seq, &tip) == 1 && it->seq > tip) {
                c->own_behind = it->seq;
                c->own_tip = tip;
            }
        }
        return node_conn_pump(c);
    case SYNC_MSG_ENTRIES:
        if (!c->got_clock)
            return fail(c, KN_EPROTO, "entries before the clock");
        return on_entries(c, m);
    case SYNC_MSG_SYNCED:
        c->peer_synced = true;
        return node_conn_apply(c);
    case SYNC_MSG_FORKS:
        if (!c->got_clock)
            return fail(c, KN_EPROTO, "fork proofs before the clock");
        return on_forks(c, m);
    }
    return fail(c, KN_EPROTO, "an unknown message");
}

int node_conn_start(struct node_conn *c)
{
    size_t used;
    if (c->client && sync_shs_step(&c->shs, NULL, 0, &used, &c->out) < 0)
        return fail(c, KN_EPROTO, "handshake");
    return 0;
}

int node_conn_input(struct node_conn *c, const uint8_t *data, size_t len)
{
    size_t used;
    int r;

    if (c->state == NODE_CONN_FAILED || c->state == NODE_CONN_CLOSED)
        return c->error ? c->error : KN_EPROTO;
    c->wire_in += len;
    sync_buf_append(&c->in, data, len);
    while (c->state == NODE_CONN_HANDSHAKE) {
        r = sync_shs_step(&c->shs, c->in.data, c->in.len, &used, &c->out);
        sync_buf_consume(&c->in, used);
        if (r == -EAGAIN)
            return 0;
        if (r < 0)
            return fail(c, KN_EPROTO,
                        "handshake refused: not on this network, or not who we "
                        "expected");
        if (r == 1) {
            sync_shs_boxes(&c->shs, &c->send, &c->recv);
            memcpy(c->peer_id, c->shs.remote_pk, STORE_KEY_LEN);
            c->state = NODE_CONN_OPEN;
            if ((r = send_clock(c)) < 0)
                return fail(c, r, "reading the clock");
            if ((r = send_forks(c)) < 0)
                return fail(c, r, "reading the fork proofs");
        }
    }
    r = sync_box_open(&c->recv, c->in.data, c->in.len, &used, &c->plain);
    sync_buf_consume(&c->in, used);
    if (r < 0)
        return fail(c, KN_EPROTO, "a frame that does not authenticate");
    if (r == 1) {
        c->state = NODE_CONN_CLOSED;
        c->peer_said_goodbye = true;
    }
    if (c->plain.len) {
        sync_msg_reader_feed(&c->rd, c->plain.data, c->plain.len);
        c->plain.len = 0;
        struct sync_msg m;
        while ((r = sync_msg_next(&c->rd, &m)) == 1)
            if ((r = on_message(c, &m)) < 0)
                return r;
        if (r != -EAGAIN)
            return fail(c, KN_EPROTO, "a malformed message");
    }
    return 0;
}

void node_conn_goodbye(struct node_conn *c)
{
    if (c->state == NODE_CONN_OPEN || c->state == NODE_CONN_CLOSED) {
        sync_box_goodbye(&c->send, &c->out);
        if (c->state == NODE_CONN_OPEN)
            c->state = NODE_CONN_CLOSING;
    }
}

void node_conn_keepalive(struct node_conn *c)
{
    struct sync_buf plain;
    sync_buf_init(&plain);
    sync_msg_put_synced(&plain);
    send_plain(c, &plain);
    sync_buf_finish(&plain);
}

bool node_conn_caught_up(const struct node_conn *c)
{
    return c->sent_synced && c->peer_synced;
}
