/* SPDX-License-Identifier: MIT */
/*
 * Trust at the log: whose entries a node stores and relays.
 *
 * The hub's key is the root of trust (meta "hub", fixed at `kortnod init`). The hub enrols a
 * node key with a node.bound entry in its own feed (node, role, office, valid_until_ms) and
 * revokes it with node.revoked (node, from_seq). Table t_nodes is what those entries say, kept as
 * they are stored; it depends only on the hub's feed, never on the card domain's state.
 *
 * At ingest, on a node that knows its hub, each foreign entry is:
 *   - stored when its author is the hub, this node, or an enrolled key (not revoked at its seq,
 *     and allowed by its role to write its event type, when the type is a card-domain event);
 *   - held when its author is not enrolled (yet): checked (signature, payload) and kept aside in
 *     t_held, not in the log, so not relayed and not applied; released into the log when the
 *     enrolment arrives;
 *   - refused when the author is revoked from that seq on, or its role may never write the type.
 * A node that does not know its hub (a bare log, as in benchmarks) stores every valid entry.
 *
 * A role is fixed by the first enrolment of a key: a later node.bound may move the key to
 * another office or change its validity, but not its role. So whether a type is allowed for a
 * key never changes, and two nodes never disagree about an entry they both hold.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

const char store__trust_schema_v5[] =
    "CREATE TABLE t_nodes(node BLOB PRIMARY KEY, role TEXT NOT NULL, office TEXT NOT NULL,"
    "  valid_until_ms INTEGER, revoked_from INTEGER, bound_seq INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE t_held(author BLOB NOT NULL, seq INTEGER NOT NULL, header BLOB NOT NULL,"
    "  payload BLOB NOT NULL, PRIMARY KEY(author, seq)) WITHOUT ROWID;"
    "CREATE TABLE purged(author BLOB NOT NULL, seq INTEGER NOT NULL, by_seq INTEGER NOT NULL,"
    "  PRIMARY KEY(author, seq)) WITHOUT ROWID;"
    "CREATE TABLE t_node_keys(node BLOB NOT NULL, office TEXT NOT NULL, office_key BLOB NOT NULL,"
    "  PRIMARY KEY(node, office)) WITHOUT ROWID;"
    "CREATE TABLE p_node_offices(node TEXT NOT NULL, office TEXT NOT NULL,"
    "  PRIMARY KEY(node, office)) WITHOUT ROWID;"
    "ALTER TABLE p_nodes ADD COLUMN valid_until_ms INTEGER;"
    "ALTER TABLE p_nodes ADD COLUMN revoked_from INTEGER;";

/* Entries held per unknown key at most: a stranger cannot fill the disk. */
#define HELD_MAX_PER_AUTHOR 100000

/* A statement of its own (finalize it). */
static int exec_row(struct store *s, sqlite3_stmt **out, const char *sql)
{
    return store__db_err(sqlite3_prepare_v2(s->db, sql, -1, out, NULL));
}

/* A cached statement, reset (sqlite3_reset it when done; never finalize it). */
static int cached(struct store *s, sqlite3_stmt **out, const char *sql)
{
    return store__dom_prepare(s, sql, out);
}

bool store__hub(struct store *s, uint8_t hub[STORE_KEY_LEN])
{
    if (s->hub_state == 0) {
        /* Its own statement: this also runs during migration, before the store's are made. */
        sqlite3_stmt *st;
        s->hub_state = 2;
        if (exec_row(s, &st, "SELECT value FROM meta WHERE key = 'hub'") == 0) {
            if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_bytes(st, 0) == STORE_ID_HEX_LEN &&
                store_unhex((const char *)sqlite3_column_text(st, 0), s->hub, STORE_KEY_LEN) == 0)
                s->hub_state = 1;
            sqlite3_finalize(st);
        }
    }
    if (s->hub_state == 1 && hub)
        memcpy(hub, s->hub, STORE_KEY_LEN);
    return s->hub_state == 1;
}

/* The value of key in a payload that is a map with string keys; 1 when found. */
static int map_find(const uint8_t *payload, size_t len, const char *key, struct store_mp *val)
{
    struct store_mp m = { payload, payload + len };
    if (len == 0 || (payload[0] & 0xf0) != 0x80)
        return 0;
    uint32_t n = payload[0] & 0x0f;
    m.p++;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *k;
        uint32_t klen;
        if (store_mp_str(&m, &k, &klen) < 0)
            return 0;
        *val = m;
        if (store_mp_skip(&m, 1) < 0)
            return 0;
        if (klen == strlen(key) && memcmp(k, key, klen) == 0) {
            val->end = m.p;
            return 1;
        }
    }
    return 0;
}

static bool map_text(const uint8_t *payload, size_t len, const char *key, char *out, size_t size)
{
    struct store_mp v;
    const uint8_t *b;
    uint32_t n;
    if (!map_find(payload, len, key, &v) || store_mp_str(&v, &b, &n) < 0 || n >= size)
        return false;
    memcpy(out, b, n);
    out[n] = '\0';
    return true;
}

static bool map_uint(const uint8_t *payload, size_t len, const char *key, uint64_t *out)
{
    struct store_mp v;
    return map_find(payload, len, key, &v) && store_mp_uint(&v, out) == 0;
}

void store__trust_note_release(struct store *s, const uint8_t node[STORE_KEY_LEN])
{
    for (size_t i = 0; i < s->nenrolled; i++)
        if (memcmp(s->enrolled + i * STORE_KEY_LEN, node, STORE_KEY_LEN) == 0)
            return;
    if (s->nenrolled == s->enrolled_cap) {
        s->enrolled_cap = s->enrolled_cap ? 2 * s->enrolled_cap : 8;
        s->enrolled = kn_xrealloc(s->enrolled, s->enrolled_cap * STORE_KEY_LEN);
    }
    memcpy(s->enrolled + s->nenrolled++ * STORE_KEY_LEN, node, STORE_KEY_LEN);
}

/*
 * Retention: the hub's payload.purged names an entry whose payload (a holder's sealed data) is
 * deleted here and now, and never stored again; its header stays, and with it every chain.
 */
static int purge_note(struct store *s, uint64_t by_seq, const uint8_t *payload, size_t len)
{
    char hex[STORE_ID_HEX_LEN + 1];
    uint8_t author[STORE_KEY_LEN];
    uint64_t seq;
    if (!payload || !map_text(payload, len, "author", hex, sizeof(hex)) ||
        store_unhex(hex, author, STORE_KEY_LEN) < 0 || !map_uint(payload, len, "seq", &seq) ||
        seq == 0 || seq > INT64_MAX)
        return 0; /* malformed: the card domain records it as invalid */
    int r = store__exec(s, "INSERT OR IGNORE INTO purged(author, seq, by_seq) VALUES (?1, ?2, ?3)",
                        "bii", author, (int64_t)seq, (int64_t)by_seq);
    if (r == 0)
        r = store__exec(s, "DELETE FROM payloads WHERE author = ?1 AND seq = ?2", "bi", author,
                        (int64_t)seq);
    return r;
}

struct purge_of {
    struct store_entry *e;
    store_raw_cb cb;
    void *ud;
    int r;
};

static void purge_payload(void *ud, const uint8_t *buf, size_t len)
{
    struct purge_of *p = ud;
    struct store_raw raw = { p->e->signed_header, p->e->signed_len, buf ? buf : (const uint8_t *)"",
                             len };
    p->r = p->cb(p->ud, &raw);
}

int store_purge_of(struct store *s, const uint8_t author[STORE_KEY_LEN], uint64_t seq,
                   store_raw_cb cb, void *ud)
{
    uint8_t hub[STORE_KEY_LEN];
    sqlite3_stmt *st;
    if (!store__hub(s, hub))
        return KN_ENOTFOUND;
    int r = cached(s, &st, "SELECT by_seq FROM purged WHERE author = ?1 AND seq = ?2");
    if (r < 0)
        return r;
    sqlite3_bind_blob(st, 1, author, STORE_KEY_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (int64_t)seq);
    int rc = sqlite3_step(st);
    uint64_t by = rc == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    if (rc != SQLITE_ROW)
        return rc == SQLITE_DONE ? KN_ENOTFOUND : store__db_err(rc);
    struct purge_of p = { kn_xmalloc(sizeof(*p.e)), cb, ud, 0 };
    r = store_get(s, hub, by, p.e, purge_payload, &p);
    free(p.e);
    return r < 0 ? r : p.r;
}

bool store__purged(struct store *s, const uint8_t author[STORE_KEY_LEN], uint64_t seq)
{
    sqlite3_stmt *st;
    bool found = false;
    if (cached(s, &st,
               seq ? "SELECT 1 FROM purged WHERE author = ?1 AND seq = ?2"
                   : "SELECT 1 FROM purged WHERE author = ?1 LIMIT 1") == 0) {
        sqlite3_bind_blob(st, 1, author, STORE_KEY_LEN, SQLITE_STATIC);
        if (seq)
            sqlite3_bind_int64(st, 2, (int64_t)seq);
        found = sqlite3_step(st) == SQLITE_ROW;
        sqlite3_reset(st);
    }
    return found;
}

int store__trust_note(struct store *s, const struct store_entry *e, const uint8_t *payload,
                      size_t len)
{
    uint8_t hub[STORE_KEY_LEN], node[STORE_KEY_LEN];
    char hex[STORE_ID_HEX_LEN + 1], role[16], office[65];
    uint64_t v;
    sqlite3_stmt *st;
    int r;

    if (!store__hub(s, hub) || memcmp(e->author, hub, STORE_KEY_LEN) != 0)
        return 0;
    if (!strcmp(e->type, "payload.purged"))
        return purge_note(s, e->seq, payload, len);
    bool bound = strcmp(e->type, "node.bound") == 0;
    if (!bound && strcmp(e->type, "node.revoked") != 0)
        return 0;
    /* A malformed one is ignored here; the card domain records it as invalid. */
    if (!payload || !map_text(payload, len, "node", hex, sizeof(hex)) ||
        store_unhex(hex, node, STORE_KEY_LEN) < 0)
        return 0;
    if (bound) {
        uint64_t until = 0;
        if (!map_text(payload, len, "role", role, sizeof(role)) ||
            !map_text(payload, len, "office", office, sizeof(office)))
            return 0;
        bool has_until = map_uint(payload, len, "valid_until_ms", &until);
        r = exec_row(s, &st,
                     "INSERT INTO t_nodes(node, role, office, valid_until_ms, bound_seq)"
                     " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(node) DO UPDATE SET"
                     " office = CASE WHEN t_nodes.role IN ('', excluded.role)"
                     "  THEN excluded.office ELSE t_nodes.office END,"
                     " valid_until_ms = CASE WHEN t_nodes.role IN ('', excluded.role)"
                     "  THEN excluded.valid_until_ms ELSE t_nodes.valid_until_ms END,"
                     " role = CASE WHEN t_nodes.role = '' THEN excluded.role ELSE t_nodes.role END,"
                     " bound_seq = excluded.bound_seq");
        if (r < 0)
            return r;
        sqlite3_bind_blob(st, 1, node, STORE_KEY_LEN, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, role, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, office, -1, SQLITE_STATIC);
        if (has_until)
            sqlite3_bind_int64(st, 4, (int64_t)until);
        sqlite3_bind_int64(st, 5, (int64_t)e->seq);
        r = store__db_err(sqlite3_step(st));
        sqlite3_finalize(st);
        if (r < 0)
            return r;
        store__trust_note_release(s, node);
        /* The office's key sealed to the node (store/seal.c), when the hub gave one, kept per
         * office: a mobile node may be enrolled for several offices. */
        struct store_mp kv;
        const uint8_t *key;
        uint32_t klen;
        if (!map_find(payload, len, "office_key", &kv) || store_mp_bin(&kv, &key, &klen) < 0)
            return 0;
        if ((r = exec_row(s, &st,
                          "INSERT OR REPLACE INTO t_node_keys(node, office, office_key)"
                          " VALUES (?1, ?2, ?3)")) < 0)
            return r;
        sqlite3_bind_blob(st, 1, node, STORE_KEY_LEN, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, office, -1, SQLITE_STATIC);
        sqlite3_bind_blob(st, 3, key, (int)klen, SQLITE_STATIC);
    } else {
        if (!map_uint(payload, len, "from_seq", &v) || v == 0 || v > INT64_MAX)
            return 0;
        r = exec_row(s, &st,
                     "INSERT INTO t_nodes(node, role, office, revoked_from, bound_seq)"
                     " VALUES (?1, '', '', ?2, 0) ON CONFLICT(node) DO UPDATE SET"
                     " revoked_from = min(coalesce(t_nodes.revoked_from, excluded.revoked_from),"
                     "  excluded.revoked_from)");
        if (r < 0)
            return r;
        sqlite3_bind_blob(st, 1, node, STORE_KEY_LEN, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, (int64_t)v);
    }
    r = store__db_err(sqlite3_step(st));
    sqlite3_finalize(st);
    return r;
}

/* What t_nodes says of author: its role (and the writer bits of it) and revocation. */
static int read_view(struct store *s, const uint8_t author[STORE_KEY_LEN],
                     struct store__trust_view *v)
{
    sqlite3_stmt *st;
    v->checked = true;
    int r = cached(s, &st, "SELECT role, revoked_from FROM t_nodes WHERE node = ?1");
    if (r < 0)
        return r;
    sqlite3_bind_blob(st, 1, author, STORE_KEY_LEN, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        snprintf(v->role, sizeof(v->role), "%s", (const char *)sqlite3_column_text(st, 0));
        v->revoked_from = (uint64_t)sqlite3_column_int64(st, 1);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return store__db_err(rc);
    v->bits = !strcmp(v->role, "office")   ? DOM_W_OFFICE
              : !strcmp(v->role, "mobile") ? DOM_W_MOBILE
              : !strcmp(v->role, "hub")    ? DOM_W_HUB
                                           : 0;
    return 0;
}

int store__trust_look(struct store *s, const uint8_t author[STORE_KEY_LEN],
                      struct store__trust_view *v)
{
    uint8_t hub[STORE_KEY_LEN];
    sqlite3_stmt *st;

    memset(v, 0, sizeof(*v));
    if (!store__hub(s, hub) || memcmp(author, hub, STORE_KEY_LEN) == 0 ||
        (s->id && memcmp(author, s->id->pk, STORE_KEY_LEN) == 0))
        return 0; /* everything of it is stored */
    int r = read_view(s, author, v);
    if (r < 0)
        return r;
    /* Entries of it held before its enrolment may link up behind what this batch stores. */
    if (v->role[0] && cached(s, &st, "SELECT 1 FROM t_held WHERE author = ?1 LIMIT 1") == 0) {
        sqlite3_bind_blob(st, 1, author, STORE_KEY_LEN, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW)
            store__trust_note_release(s, author);
        sqlite3_reset(st);
    }
    return 0;
}

bool store__trust_type(const char *type)
{
    return !strcmp(type, "node.bound") || !strcmp(type, "node.revoked") ||
           !strcmp(type, "payload.purged");
}

int store__trust_judge(const struct store__trust_view *v, uint64_t seq, const char *type)
{
    if (!v->checked)
        return STORE__TRUST_STORE;
    if (v->revoked_from && seq >= v->revoked_from)
        return KN_EREVOKED;
    if (v->role[0] == '\0')
        return STORE__TRUST_HOLD;
    const struct dom_event *ev = store__dom_event(type);
    if (ev && (!(ev->writers & v->bits) || store__trust_type(type)))
        return KN_EUNAUTHORISED;
    return STORE__TRUST_STORE;
}

int store__trust_own(struct store *s, const char *type, uint64_t seq)
{
    uint8_t hub[STORE_KEY_LEN];
    struct store__trust_view v = { 0 };
    if (!s->id || !store__hub(s, hub) || memcmp(s->id->pk, hub, STORE_KEY_LEN) == 0)
        return 0;
    int r = read_view(s, s->id->pk, &v);
    if (r < 0)
        return r;
    /* Not enrolled yet: its entries will wait at the others until it is. */
    r = store__trust_judge(&v, seq, type);
    return r == STORE__TRUST_HOLD ? 0 : r;
}

int store__trust_hold(struct store *s, const struct store_entry *e, const uint8_t *payload)
{
    sqlite3_stmt *st;
    int r = exec_row(s, &st, "SELECT count(*) FROM t_held WHERE author = ?1");
    if (r < 0)
        return r;
    sqlite3_bind_blob(st, 1, e->author, STORE_KEY_LEN, SQLITE_STATIC);
    int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    if (n >= HELD_MAX_PER_AUTHOR)
        return KN_EHELDFULL;
    r = exec_row(
        s, &st,
        "INSERT OR IGNORE INTO t_held(author, seq, header, payload) VALUES (?1, ?2, ?3, ?4)");
    if (r < 0)
        return r;
    sqlite3_bind_blob(st, 1, e->author, STORE_KEY_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (int64_t)e->seq);
    sqlite3_bind_blob(st, 3, e->signed_header, (int)e->signed_len, SQLITE_STATIC);
    sqlite3_bind_blob(st, 4, payload ? (const void *)payload : "", (int)e->payload_len,
                      SQLITE_STATIC);
    r = store__db_err(sqlite3_step(st));
    sqlite3_finalize(st);
    return r;
}

/* Copies of held rows, as a batch for store_ingest. */
struct held_batch {
    struct store_raw *raw;
    uint8_t **bufs;
    size_t n, cap;
};

static void held_free(struct held_batch *b)
{
    for (size_t i = 0; i < b->n; i++)
        free(b->bufs[i]);
    free(b->bufs);
    free(b->raw);
    memset(b, 0, sizeof(*b));
}

int store__trust_release(struct store *s, struct store_ingest_result *res)
{
    int r = 0;
    if (s->releasing)
        return 0; /* the ingest of a release: its caller goes on with the list */
    s->releasing = true;
    while (s->nenrolled > 0 && r == 0) {
        uint8_t node[STORE_KEY_LEN];
        memcpy(node, s->enrolled + --s->nenrolled * STORE_KEY_LEN, STORE_KEY_LEN);
        struct held_batch b = { 0 };
        sqlite3_stmt *st;
        if ((r = exec_row(s, &st,
                          "SELECT header, payload FROM t_held WHERE author = ?1 ORDER BY seq")) < 0)
            break;
        sqlite3_bind_blob(st, 1, node, STORE_KEY_LEN, SQLITE_STATIC);
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            size_t hl = (size_t)sqlite3_column_bytes(st, 0),
                   pl = (size_t)sqlite3_column_bytes(st, 1);
            if (b.n == b.cap) {
                b.cap = b.cap ? 2 * b.cap : 64;
                b.raw = kn_xrealloc(b.raw, b.cap * sizeof(*b.raw));
                b.bufs = kn_xrealloc(b.bufs, b.cap * sizeof(*b.bufs));
            }
            uint8_t *buf = kn_xmalloc(hl + pl + 1);
            memcpy(buf, sqlite3_column_blob(st, 0), hl);
            if (pl)
                memcpy(buf + hl, sqlite3_column_blob(st, 1), pl);
            b.bufs[b.n] = buf;
            b.raw[b.n++] = (struct store_raw){ buf, hl, buf + hl, pl };
        }
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE) {
            r = store__db_err(rc);
            held_free(&b);
            break;
        }
        if (b.n > 0) {
            struct store_ingest_result inner;
            size_t saved = s->nenrolled;
            /* Inside the caller's transaction: with_tx runs it there. */
            r = store_ingest(s, b.raw, b.n, &inner, NULL, NULL);
            s->nenrolled = saved; /* what is still held waits for the next entries of its feed */
            if (r == 0 && res) {
                res->accepted += inner.accepted;
                res->released += inner.accepted;
            }
            /* What is in the log now leaves the hold; what does not link up yet stays. */
            if (r == 0 && (r = exec_row(s, &st,
                                        "DELETE FROM t_held WHERE author = ?1 AND seq <="
                                        " (SELECT coalesce(max(seq), 0) FROM log"
                                        "  WHERE author = ?1)")) == 0) {
                sqlite3_bind_blob(st, 1, node, STORE_KEY_LEN, SQLITE_STATIC);
                r = store__db_err(sqlite3_step(st));
                sqlite3_finalize(st);
            }
        }
        held_free(&b);
    }
    s->nenrolled = 0;
    s->releasing = false;
    return r;
}

/* t_nodes from the hub's feed as held: after the migration that made the table. */
struct rebuild_ctx {
    struct store *s;
    int r;
};

static int rebuild_cb(void *ud, const struct store_entry *e, const uint8_t *payload, size_t len)
{
    struct rebuild_ctx *c = ud;
    c->r = store__trust_note(c->s, e, payload, len);
    return c->r < 0 ? 1 : 0;
}

int store__trust_rebuild(struct store *s)
{
    uint8_t hub[STORE_KEY_LEN];
    if (!store__hub(s, hub))
        return 0;
    struct rebuild_ctx c = { s, 0 };
    int r = store_range(s, hub, 1, 0, rebuild_cb, &c);
    s->nenrolled = 0;
    return c.r < 0 ? c.r : r < 0 ? r : 0;
}

/* A row of node, role, office, valid_until_ms, revoked_from, bound_seq, held. */
static bool trust_row(sqlite3_stmt *st, struct store_trust *t)
{
    memset(t, 0, sizeof(*t));
    if (sqlite3_column_bytes(st, 0) != STORE_KEY_LEN)
        return false;
    memcpy(t->node, sqlite3_column_blob(st, 0), STORE_KEY_LEN);
    snprintf(t->role, sizeof(t->role), "%s", (const char *)sqlite3_column_text(st, 1));
    snprintf(t->office, sizeof(t->office), "%s", (const char *)sqlite3_column_text(st, 2));
    t->valid_until_ms = (uint64_t)sqlite3_column_int64(st, 3);
    t->revoked_from = (uint64_t)sqlite3_column_int64(st, 4);
    t->bound_seq = (uint64_t)sqlite3_column_int64(st, 5);
    t->held = (uint64_t)sqlite3_column_int64(st, 6);
    return true;
}

int store_trust_node(struct store *s, const uint8_t node[STORE_KEY_LEN], struct store_trust *out)
{
    sqlite3_stmt *st;
    int r = exec_row(s, &st,
                     "SELECT node, role, office, valid_until_ms, revoked_from, bound_seq,"
                     " (SELECT count(*) FROM t_held h WHERE h.author = ?1)"
                     " FROM t_nodes WHERE node = ?1");
    if (r < 0)
        return r;
    sqlite3_bind_blob(st, 1, node, STORE_KEY_LEN, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        r = trust_row(st, out) ? 0 : KN_ECORRUPT;
    else
        r = rc == SQLITE_DONE ? KN_ENOTFOUND : store__db_err(rc);
    sqlite3_finalize(st);
    return r;
}

int store_trust_list(struct store *s, store_trust_cb cb, void *ud)
{
    sqlite3_stmt *st;
    int r = exec_row(s, &st,
                     "SELECT node, role, office, valid_until_ms, revoked_from, bound_seq, held"
                     " FROM (SELECT node, role, office, valid_until_ms, revoked_from, bound_seq,"
                     "  (SELECT count(*) FROM t_held h WHERE h.author = t.node) AS held"
                     "  FROM t_nodes t"
                     "  UNION ALL SELECT author, '', '', NULL, NULL, 0, count(*) FROM t_held"
                     "  WHERE author NOT IN (SELECT node FROM t_nodes) GROUP BY author)"
                     " ORDER BY role = '', office, node");
    if (r < 0)
        return r;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct store_trust t;
        if (trust_row(st, &t) && (r = cb(ud, &t)) != 0)
            break;
    }
    if (r == 0 && rc != SQLITE_DONE)
        r = store__db_err(rc);
    sqlite3_finalize(st);
    return r;
}
