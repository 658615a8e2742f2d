/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <sqlite3.h>

#include "internal.h"

#define SCHEMA_VERSION STORE_SCHEMA_VERSION

/*
 * Schema version 1. The log table holds signed headers only and is append-only: the triggers
 * refuse UPDATE and DELETE from any path, this program's included. Payloads live beside it so
 * that retention rules can later remove personal data while every chain stays verifiable.
 * A feed's tip is not stored: it is the last row of its feed in the log's primary key.
 */
static const char schema_v1[] =
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE feeds(author BLOB PRIMARY KEY CHECK(length(author) = 32),"
    "  forked INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;"
    "CREATE TABLE log(author BLOB NOT NULL, seq INTEGER NOT NULL CHECK(seq > 0),"
    "  header BLOB NOT NULL, PRIMARY KEY(author, seq)) WITHOUT ROWID;"
    "CREATE TRIGGER log_no_update BEFORE UPDATE ON log"
    "  BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END;"
    "CREATE TRIGGER log_no_delete BEFORE DELETE ON log"
    "  BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END;"
    "CREATE TABLE payloads(author BLOB NOT NULL, seq INTEGER NOT NULL, body BLOB NOT NULL,"
    "  PRIMARY KEY(author, seq)) WITHOUT ROWID;"
    "CREATE TABLE forks(author BLOB NOT NULL, seq INTEGER NOT NULL, held BLOB NOT NULL,"
    "  other BLOB NOT NULL, PRIMARY KEY(author, seq, other)) WITHOUT ROWID;";

enum stmt_id {
    ST_TIP,
    ST_GET,
    ST_INSERT_LOG,
    ST_INSERT_PAYLOAD,
    ST_INSERT_FEED,
    ST_FEED_FORKED,
    ST_MARK_FORKED,
    ST_INSERT_FORK,
    ST_FEEDS,
    ST_RANGE,
    ST_COUNT,
    ST_META_GET,
    ST_META_SET,
    ST_FORKS,
    ST_FORK_SEQ,
    ST_VERIFY,
    ST__COUNT
};

static const char *const stmt_sql[ST__COUNT] = {
    [ST_TIP] = "SELECT seq, header FROM log WHERE author = ?1 ORDER BY seq DESC LIMIT 1",
    [ST_GET] = "SELECT l.header, p.body FROM log l LEFT JOIN payloads p"
               " ON p.author = l.author AND p.seq = l.seq WHERE l.author = ?1 AND l.seq = ?2",
    [ST_INSERT_LOG] = "INSERT INTO log(author, seq, header) VALUES (?1, ?2, ?3)",
    [ST_INSERT_PAYLOAD] = "INSERT OR REPLACE INTO payloads(author, seq, body) VALUES (?1, ?2, ?3)",
    [ST_INSERT_FEED] = "INSERT OR IGNORE INTO feeds(author) VALUES (?1)",
    [ST_FEED_FORKED] = "SELECT forked FROM feeds WHERE author = ?1",
    [ST_MARK_FORKED] = "UPDATE feeds SET forked = 1 WHERE author = ?1",
    [ST_INSERT_FORK] = "INSERT OR IGNORE INTO forks(author, seq, held, other)"
                       " VALUES (?1, ?2, ?3, ?4)",
    [ST_FEEDS] = "SELECT f.author, f.forked, t.revoked_from,"
                 " (SELECT min(seq) FROM forks k WHERE k.author = f.author) FROM feeds f"
                 " LEFT JOIN t_nodes t ON t.node = f.author ORDER BY f.author",
    [ST_RANGE] = "SELECT l.header, p.body FROM log l LEFT JOIN payloads p"
                 " ON p.author = l.author AND p.seq = l.seq"
                 " WHERE l.author = ?1 AND l.seq >= ?2 AND l.seq <= ?3 ORDER BY l.seq",
    [ST_COUNT] = "SELECT count(*) FROM log",
    [ST_META_GET] = "SELECT value FROM meta WHERE key = ?1",
    [ST_META_SET] = "INSERT OR REPLACE INTO meta(key, value) VALUES (?1, ?2)",
    [ST_FORKS] = "SELECT author, seq FROM forks ORDER BY author, seq",
    [ST_FORK_SEQ] = "SELECT min(seq) FROM forks WHERE author = ?1 HAVING count(*) > 0",
    [ST_VERIFY] = "SELECT l.author, l.seq, l.header, p.body, EXISTS (SELECT 1 FROM purged g"
                  " WHERE g.author = l.author AND g.seq = l.seq) FROM log l LEFT JOIN payloads p"
                  " ON p.author = l.author AND p.seq = l.seq ORDER BY l.author, l.seq",
};

_Static_assert(ST__COUNT <= STORE__NSTMT, "raise STORE__NSTMT");

int store__db_err(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE:
        return 0;
    case SQLITE_NOMEM:
        return KN_ENOMEM;
    case SQLITE_FULL:
        return KN_EFULL;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return -EBUSY;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return KN_ECORRUPT;
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
        return KN_EIO;
    case SQLITE_READONLY:
    case SQLITE_PERM:
        return -EACCES;
    default:
        return KN_EDB;
    }
}

static int db_err(struct store *s, int rc)
{
    (void)s;
    return store__db_err(rc);
}

const char *store_last_error(struct store *s)
{
    return s && s->db ? sqlite3_errmsg(s->db) : "no database";
}

static sqlite3_stmt *stmt(struct store *s, enum stmt_id id)
{
    sqlite3_stmt *st = s->st[id];
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return st;
}

static int exec(struct store *s, const char *sql)
{
    return db_err(s, sqlite3_exec(s->db, sql, NULL, NULL, NULL));
}

static int migrate(struct store *s)
{
    sqlite3_stmt *st = NULL;
    int version = 0, r;

    /* A database already at this version needs no write lock: readers open it beside a
     * writer. Only a migration takes the lock, and then reads the version again under it. */
    r = db_err(s, sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL));
    if (r == 0 && sqlite3_step(st) == SQLITE_ROW)
        version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    st = NULL;
    if (r < 0)
        return r;
    if (version == SCHEMA_VERSION)
        return 0;
    if (version > SCHEMA_VERSION)
        return KN_ESCHEMA;
    version = 0;
    if ((r = exec(s, "BEGIN IMMEDIATE")) < 0)
        return r;
    r = db_err(s, sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL));
    if (r == 0 && sqlite3_step(st) == SQLITE_ROW)
        version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (r < 0)
        goto out;
    if (version > SCHEMA_VERSION) {
        r = KN_ESCHEMA;
        goto out;
    }
    if (version < 1 && (r = exec(s, schema_v1)) < 0)
        goto out;
    /* Version 2: the card domain's projection (rebuilt from the log whenever needed). */
    if (version < 2 && (r = exec(s, store__domain_schema)) < 0)
        goto out;
    if (version < 3 && (r = exec(s, store__domain_schema_v3)) < 0)
        goto out;
    if (version < 4 && (r = exec(s, store__domain_schema_v4)) < 0)
        goto out;
    /* Version 5: trust at the log; t_nodes is filled from the hub's feed already held. */
    if (version < 5 &&
        ((r = exec(s, store__trust_schema_v5)) < 0 || (r = store__trust_rebuild(s)) < 0))
        goto out;
    /* Version 6: the chip serial a card was shipped with, for the reader at hand-over. */
    if (version < 6 && (r = exec(s, store__domain_schema_v6)) < 0)
        goto out;
    /* Version 7: address announcements, and the local record of links to peers. */
    if (version < 7 && (r = exec(s, store__domain_schema_v7)) < 0)
        goto out;
    /* Version 8: an index of orders by office and state (the reports). */
    if (version < 8 && (r = exec(s, store__domain_schema_v8)) < 0)
        goto out;
    /* Version 9: that index with the stages' times (the stock report's ages). */
    if (version < 9 && (r = exec(s, store__domain_schema_v9)) < 0)
        goto out;
    /* Later versions add their steps here, each guarded by version < N. */
    if (version < SCHEMA_VERSION) {
        char sql[64];
        snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", SCHEMA_VERSION);
        if ((r = exec(s, sql)) < 0)
            goto out;
    }
    r = exec(s, "COMMIT");
out:
    if (r < 0)
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return r;
}

int store_open(const char *path, enum store_sync_mode mode, struct store **out)
{
    struct store *s = kn_xcalloc(1, sizeof(*s));
    int r;

    *out = NULL;
    if (sodium_init() < 0) {
        r = KN_ECRYPTO;
        goto out;
    }
    r = db_err(s, sqlite3_open_v2(path, &s->db,
                                  SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                                  NULL));
    if (r < 0)
        goto out;
    sqlite3_extended_result_codes(s->db, 0);
    sqlite3_busy_timeout(s->db, 5000);
    if ((r = store__report_functions(s)) < 0)
        goto out;
    if ((r = exec(s, "PRAGMA journal_mode = WAL")) < 0)
        goto out;
    if ((r = exec(s, mode == STORE_SYNC_FULL ? "PRAGMA synchronous = FULL"
                                             : "PRAGMA synchronous = NORMAL")) < 0)
        goto out;
    /* 16 MiB of page cache (the default is 2): applying a large catch-up to the card domain reads
     * the log of every feed by turns, and with 500 feeds that working set outgrows 2 MiB. */
    if ((r = exec(s, "PRAGMA cache_size = -16384")) < 0)
        goto out;
    /* KORTNOD_DB_MAX_PAGES, a knob for tests and operations: the database may not grow beyond
     * that many pages (as on a full disk); a write that needs more fails with KN_EFULL. */
    const char *max_pages = getenv("KORTNOD_DB_MAX_PAGES");
    if (max_pages && *max_pages) {
        char *end, sql[64];
        unsigned long long v = strtoull(max_pages, &end, 10);
        if (*end || v == 0 || max_pages[0] < '0' || max_pages[0] > '9') {
            r = KN_EINVAL;
            goto out;
        }
        snprintf(sql, sizeof(sql), "PRAGMA max_page_count = %llu", v);
        if ((r = exec(s, sql)) < 0)
            goto out;
    }
    if ((r = migrate(s)) < 0)
        goto out;
    for (int i = 0; i < ST__COUNT; i++) {
        r = db_err(s, sqlite3_prepare_v3(s->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
                                         &s->st[i], NULL));
        if (r < 0)
            goto out;
    }
    *out = s;
    s = NULL;
out:
    store_close(s);
    return r;
}

void store_close(struct store *s)
{
    if (!s)
        return;
    for (int i = 0; i < ST__COUNT; i++)
        sqlite3_finalize(s->st[i]);
    store__dom_free(s);
    free(s->enrolled);
    if (s->db && s->in_tx)
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(s->db);
    free(s);
}

void store_set_identity(struct store *s, const struct store_identity *id)
{
    s->id = id;
}

int store_meta_set(struct store *s, const char *key, const char *value)
{
    sqlite3_stmt *st = stmt(s, ST_META_SET);
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
    int r = db_err(s, sqlite3_step(st));
    sqlite3_reset(st);
    s->hub_state = 0; /* "hub" may have changed */
    return r;
}

int store_meta_get(struct store *s, const char *key, char *out, size_t size)
{
    sqlite3_stmt *st = stmt(s, ST_META_GET);
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st), r = 0;
    if (rc == SQLITE_ROW) {
        const char *v = (const char *)sqlite3_column_text(st, 0);
        snprintf(out, size, "%s", v ? v : "");
    } else {
        r = rc == SQLITE_DONE ? KN_ENOTFOUND : db_err(s, rc);
    }
    sqlite3_reset(st);
    return r;
}

int store_tx_begin(struct store *s)
{
    if (s->in_tx)
        return KN_EINVAL;
    int r = exec(s, "BEGIN IMMEDIATE");
    if (r == 0)
        s->in_tx = 1;
    return r;
}

int store_tx_commit(struct store *s)
{
    if (!s->in_tx)
        return KN_EINVAL;
    int r = exec(s, "COMMIT");
    if (r < 0)
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    else
        s->writes++;
    s->in_tx = 0;
    return r;
}

int store_tx_rollback(struct store *s)
{
    if (!s->in_tx)
        return KN_EINVAL;
    s->in_tx = 0;
    return exec(s, "ROLLBACK");
}

/* Run fn inside the open transaction, or inside one of its own. */
static int with_tx(struct store *s, int (*fn)(struct store *, void *), void *arg)
{
    if (s->in_tx)
        return fn(s, arg);
    int r = store_tx_begin(s);
    if (r < 0)
        return r;
    r = fn(s, arg);
    if (r < 0) {
        store_tx_rollback(s);
        return r;
    }
    return store_tx_commit(s);
}

static int column_entry(sqlite3_stmt *st, int col, struct store_entry *e)
{
    const void *h = sqlite3_column_blob(st, col);
    int n = sqlite3_column_bytes(st, col);
    return store_entry_decode(h ? h : "", (size_t)n, e);
}

/* The tip of author's feed: seq 0 when the feed is empty. */
static int feed_tip(struct store *s, const uint8_t author[STORE_KEY_LEN], uint64_t *seq,
                    uint8_t hash[STORE_HASH_LEN])
{
    sqlite3_stmt *st = stmt(s, ST_TIP);
    int rc, r = 0;

    sqlite3_bind_blob(st, 1, author, STORE_KEY_LEN, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *seq = (uint64_t)sqlite3_column_int64(st, 0);
        store__hash(sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st, 1), hash);
    } else if (rc == SQLITE_DONE) {
        *seq = 0;
        memset(hash, 0, STORE_HASH_LEN);
    } else {
        r = db_err(s, rc);
    }
    sqlite3_reset(st);
    return r;
}

/* The first seq the author is known to have signed twice, 0 when none. */
static int fork_seq(struct store *s, const uint8_t author[STORE_KEY_LEN], uint64_t *seq)
{
    sqlite3_stmt *st = stmt(s, ST_FORK_SEQ);
    sqlite3_bind_blob(st, 1, author, STORE_KEY_LEN, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    *seq = rc == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : db_err(s, rc);
}

static int feed_forked(struct store *s, const uint8_t author[STORE_KEY_LEN], bool *forked)
{
    sqlite3_stmt *st = stmt(s, ST_FEED_FORKED);
    sqlite3_bind_blob(st, 1, author, STORE_KEY_LEN, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    *forked = rc == SQLITE_ROW && sqlite3_column_int(st, 0) != 0;
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : db_err(s, rc);
}

int store_feed_get(struct store *s, const uint8_t author[static STORE_KEY_LEN],
                   struct store_feed *out)
{
    memcpy(out->author, author, STORE_KEY_LEN);
    int r = feed_tip(s, author, &out->seq, out->tip_hash);
    if (r == 0)
        r = feed_forked(s, author, &out->forked);
    return r;
}

static int step_done(struct store *s, sqlite3_stmt *st)
{
    int r = db_err(s, sqlite3_step(st));
    sqlite3_reset(st);
    return r;
}

static int insert_entry(struct store *s, const struct store_entry *e, const uint8_t *payload)
{
    sqlite3_stmt *st = stmt(s, ST_INSERT_LOG);
    int r;

    sqlite3_bind_blob(st, 1, e->author, STORE_KEY_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)e->seq);
    sqlite3_bind_blob(st, 3, e->signed_header, (int)e->signed_len, SQLITE_STATIC);
    if ((r = step_done(s, st)) < 0)
        return r;
    if (!payload)
        return 0; /* purged by the hub: the header alone is kept */
    st = stmt(s, ST_INSERT_PAYLOAD);
    sqlite3_bind_blob(st, 1, e->author, STORE_KEY_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)e->seq);
    sqlite3_bind_blob(st, 3, payload ? (const void *)payload : "", (int)e->payload_len,
                      SQLITE_STATIC);
    if ((r = step_done(s, st)) < 0)
        return r;
    return store__trust_note(s, e, payload, (size_t)e->payload_len);
}

static int insert_feed(struct store *s, const uint8_t author[STORE_KEY_LEN])
{
    sqlite3_stmt *st = stmt(s, ST_INSERT_FEED);
    sqlite3_bind_blob(st, 1, author, STORE_KEY_LEN, SQLITE_STATIC);
    return step_done(s, st);
}

struct append_args {
    const struct store_draft *draft;
    struct store_entry *out;
};

static int append_tx(struct store *s, void *arg)
{
    struct append_args *a = arg;
    uint8_t prev[STORE_HASH_LEN];
    uint64_t seq;
    bool forked;
    int r;

    if ((r = feed_forked(s, s->id->pk, &forked)) < 0)
        return r;
    if (forked)
        return KN_EFORKED;
    if ((r = feed_tip(s, s->id->pk, &seq, prev)) < 0)
        return r;
    if ((r = store__trust_own(s, a->draft->type, seq + 1)) < 0)
        return r;
    /* A peer showed our own feed beyond this database: writing now would fork it. */
    char seen[24];
    if (store_meta_get(s, "own_seen", seen, sizeof(seen)) == 0 && strtoull(seen, NULL, 10) > seq)
        return KN_EBEHIND;
    r = store_entry_sign(a->draft, seq + 1, seq ? prev : NULL, s->id->sk, a->out);
    if (r < 0)
        return r;
    if (seq == 0 && (r = insert_feed(s, s->id->pk)) < 0)
        return r;
    if ((r = insert_entry(s, a->out, a->draft->payload)) < 0)
        return r;
    /* The hub enrolling a key: what was held of it is stored now. */
    return store__trust_release(s, NULL);
}

int store_own_seen(struct store *s, uint64_t seq, uint64_t *tip_out)
{
    uint8_t hash[STORE_HASH_LEN];
    char buf[24];
    uint64_t tip, cur = 0;
    if (!s->id)
        return KN_EINVAL;
    int r = feed_tip(s, s->id->pk, &tip, hash);
    if (r < 0)
        return r;
    if (tip_out)
        *tip_out = tip;
    if (store_meta_get(s, "own_seen", buf, sizeof(buf)) == 0)
        cur = strtoull(buf, NULL, 10);
    if (seq <= tip)
        return cur > tip ? 1 : 0;
    if (seq > cur) {
        snprintf(buf, sizeof(buf), "%llu", (unsigned long long)seq);
        if ((r = store_meta_set(s, "own_seen", buf)) < 0)
            return r;
    }
    return 1;
}

int store_append(struct store *s, const struct store_draft *draft, struct store_entry *out)
{
    struct store_entry local;
    struct append_args a = { draft, out ? out : &local };
    if (!s->id || !s->id->sk)
        return KN_EINVAL;
    return with_tx(s, append_tx, &a);
}

/* ---- ingest ---- */

struct item {
    size_t index;
    int err; /* decoding or payload error, 0 when the entry is well-formed */
    const uint8_t *payload;
    struct store_entry e;
};

struct ingest {
    struct item *items;
    size_t n;
    struct item **order; /* the items sorted by (author, seq, index) */
    struct store_ingest_result *res;
    store_reject_cb cb;
    void *ud;
};

static int item_cmp(const void *pa, const void *pb)
{
    const struct item *a = *(struct item *const *)pa;
    const struct item *b = *(struct item *const *)pb;
    int c = memcmp(a->e.author, b->e.author, STORE_KEY_LEN);
    if (c)
        return c;
    if (a->e.seq != b->e.seq)
        return a->e.seq < b->e.seq ? -1 : 1;
    return a->index < b->index ? -1 : a->index > b->index;
}

static void reject(struct ingest *in, struct item *it, int err)
{
    in->res->rejected++;
    if (in->cb)
        in->cb(in->ud, it->index, &it->e, err);
}

/* Valid, but refused by trust: counted apart from the entries that fail verification. */
static void refuse(struct ingest *in, struct item *it, int err)
{
    in->res->refused++;
    if (in->cb)
        in->cb(in->ud, it->index, &it->e, err);
}

/*
 * The author is not enrolled (yet): keep each entry that is whole and signed aside, to be stored
 * when the enrolment arrives. One signature check per entry: held entries are few.
 */
static int hold_feed(struct store *s, struct ingest *in, size_t from, size_t to)
{
    bool broken = false;
    for (size_t k = from; k < to; k++) {
        struct item *it = in->order[k];
        if (broken) {
            reject(in, it, KN_EAFTERBAD); /* as for a stored feed: nothing after a bad entry */
            continue;
        }
        if (it->err || store_entry_verify_sig(&it->e) != 0) {
            reject(in, it, it->err ? it->err : KN_ESIG);
            broken = true;
            continue;
        }
        int r = store__trust_hold(s, &it->e, it->payload);
        if (r == KN_EHELDFULL) {
            refuse(in, it, r);
            continue;
        }
        if (r < 0)
            return r;
        in->res->held++;
    }
    return 0;
}

/* The state of one feed while its part of the batch is taken. */
struct feed_walk {
    uint64_t tip; /* last seq stored */
    uint8_t tip_hash[STORE_HASH_LEN];
    uint64_t next; /* seq the next entry must have */
    uint8_t next_prev[STORE_HASH_LEN];
    struct item **run; /* contiguous, linked, not yet signature-checked */
    size_t nrun;
    bool broken; /* an entry was refused: the rest of the feed follows it */
    bool forked;
    uint64_t fork_seq; /* the first seq the author signed twice (0: none known) */
};

static int store_run(struct store *s, struct ingest *in, struct feed_walk *w, size_t upto)
{
    for (size_t i = 0; i < upto; i++) {
        int r = insert_entry(s, &w->run[i]->e, w->run[i]->payload);
        if (r < 0)
            return r;
        in->res->accepted++;
        w->tip = w->run[i]->e.seq;
        memcpy(w->tip_hash, w->run[i]->e.hash, STORE_HASH_LEN);
    }
    return 0;
}

/*
 * Store the pending run. One good signature at its end vouches for every entry it links back
 * to; when that one is bad, each is checked so that the first bad entry is the one refused.
 */
static int flush_run(struct store *s, struct ingest *in, struct feed_walk *w)
{
    size_t n = w->nrun, good = n;
    int r;

    w->nrun = 0;
    if (n == 0)
        return 0;
    if (store_entry_verify_sig(&w->run[n - 1]->e) != 0) {
        for (good = 0; good < n; good++)
            if (store_entry_verify_sig(&w->run[good]->e) != 0)
                break;
    }
    if ((r = store_run(s, in, w, good)) < 0)
        return r;
    if (good < n) {
        reject(in, w->run[good], KN_ESIG);
        for (size_t i = good + 1; i < n; i++)
            reject(in, w->run[i], KN_EAFTERBAD);
        w->broken = true;
    }
    w->next = w->tip + 1;
    memcpy(w->next_prev, w->tip_hash, STORE_HASH_LEN);
    return 0;
}

/* Keep a fork proof (held: the entry at seq; other: the second one at seq, or one at seq + 1
 * that links elsewhere) and mark the feed forked. 1 when it is new, 0 when known. */
static int record_fork(struct store *s, const uint8_t *author, uint64_t seq, const uint8_t *held,
                       size_t hlen, const uint8_t *other, size_t olen)
{
    int r;
    if ((r = insert_feed(s, author)) < 0)
        return r;
    sqlite3_stmt *ins = stmt(s, ST_INSERT_FORK);
    sqlite3_bind_blob(ins, 1, author, STORE_KEY_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(ins, 2, (sqlite3_int64)seq);
    sqlite3_bind_blob(ins, 3, held, (int)hlen, SQLITE_STATIC);
    sqlite3_bind_blob(ins, 4, other, (int)olen, SQLITE_STATIC);
    if ((r = step_done(s, ins)) < 0)
        return r;
    int fresh = sqlite3_changes(s->db) > 0;
    sqlite3_stmt *mark = stmt(s, ST_MARK_FORKED);
    sqlite3_bind_blob(mark, 1, author, STORE_KEY_LEN, SQLITE_STATIC);
    if ((r = step_done(s, mark)) < 0)
        return r;
    return fresh;
}

/* An entry whose seq we hold: a copy, a forgery, or proof that the author forked the feed. */
static int held_seq(struct store *s, struct ingest *in, struct feed_walk *w, struct item *it)
{
    sqlite3_stmt *st = stmt(s, ST_GET);
    uint8_t held_hash[STORE_HASH_LEN];
    int rc, r;

    sqlite3_bind_blob(st, 1, it->e.author, STORE_KEY_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)it->e.seq);
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        r = rc == SQLITE_DONE ? KN_EDB : db_err(s, rc);
        sqlite3_reset(st);
        return r;
    }
    store__hash(sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0), held_hash);
    if (sodium_memcmp(held_hash, it->e.hash, STORE_HASH_LEN) == 0) {
        sqlite3_reset(st);
        in->res->duplicates++;
        return 0;
    }
    if (it->err || store_entry_verify_sig(&it->e) != 0) {
        sqlite3_reset(st);
        reject(in, it, it->err ? it->err : KN_ESIG);
        return 0;
    }
    /* Copy the held header out before the statement is reused. */
    size_t hlen = (size_t)sqlite3_column_bytes(st, 0);
    uint8_t *held = kn_xmalloc(hlen);
    memcpy(held, sqlite3_column_blob(st, 0), hlen);
    sqlite3_reset(st);

    r = record_fork(s, it->e.author, it->e.seq, held, hlen, it->e.signed_header, it->e.signed_len);
    free(held);
    if (r < 0)
        return r;
    in->res->forks++;
    w->forked = true;
    if (!w->fork_seq || it->e.seq < w->fork_seq)
        w->fork_seq = it->e.seq;
    return 0;
}

/*
 * An entry that follows the tip by seq but links to another entry than the tip, with a good
 * signature: the author signed two entries at the tip's seq. Kept as a fork proof (the held tip
 * and this entry), like two entries with one seq; *proved is set. Otherwise nothing is done.
 */
static int link_fork(struct store *s, struct ingest *in, struct feed_walk *w, struct item *it,
                     bool *proved)
{
    *proved = false;
    if (it->err || w->tip == 0 || it->e.seq != w->tip + 1 ||
        sodium_memcmp(it->e.prev_hash, w->tip_hash, STORE_HASH_LEN) == 0 ||
        store_entry_verify_sig(&it->e) != 0)
        return 0;
    sqlite3_stmt *st = stmt(s, ST_GET);
    sqlite3_bind_blob(st, 1, it->e.author, STORE_KEY_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)w->tip);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(st);
        return rc == SQLITE_DONE ? KN_EDB : db_err(s, rc);
    }
    size_t hlen = (size_t)sqlite3_column_bytes(st, 0);
    uint8_t *held = kn_xmalloc(hlen);
    memcpy(held, sqlite3_column_blob(st, 0), hlen);
    sqlite3_reset(st);
    int r = record_fork(s, it->e.author, w->tip, held, hlen, it->e.signed_header, it->e.signed_len);
    free(held);
    if (r < 0)
        return r;
    in->res->forks++;
    w->forked = true;
    if (!w->fork_seq || w->tip < w->fork_seq)
        w->fork_seq = w->tip;
    *proved = true;
    return 0;
}

static int ingest_feed(struct store *s, struct ingest *in, size_t from, size_t to)
{
    struct feed_walk w = { 0 };
    const uint8_t *author = in->order[from]->e.author;
    int refused = 0; /* the trust refusal the rest of the feed follows */
    struct store__trust_view trust;
    int r;

    if ((r = store__trust_look(s, author, &trust)) < 0)
        return r;
    if (store__trust_judge(&trust, in->order[from]->e.seq, in->order[from]->e.type) ==
        STORE__TRUST_HOLD)
        return hold_feed(s, in, from, to);
    if ((r = feed_tip(s, author, &w.tip, w.tip_hash)) < 0 ||
        (r = feed_forked(s, author, &w.forked)) < 0 || (r = fork_seq(s, author, &w.fork_seq)) < 0 ||
        (r = insert_feed(s, author)) < 0)
        return r;
    w.next = w.tip + 1;
    memcpy(w.next_prev, w.tip_hash, STORE_HASH_LEN);
    w.run = kn_xmalloc((to - from) * sizeof(*w.run));

    bool has_purged = store__purged(s, author, 0);
    for (size_t k = from; k < to && r == 0; k++) {
        struct item *it = in->order[k];
        int verdict = 0;
        /* A payload the hub purged is neither needed nor kept: the header is checked alone. */
        if (has_purged && (it->err == 0 || it->err == KN_ENOPAYLOAD || it->err == KN_EPAYLOAD) &&
            store__purged(s, author, it->e.seq)) {
            it->err = 0;
            it->payload = NULL;
        }
        bool past_fork = w.fork_seq && it->e.seq >= w.fork_seq;
        if (!refused && !past_fork && !w.broken && it->e.seq >= w.next && !it->err)
            verdict = store__trust_judge(&trust, it->e.seq, it->e.type);
        if (refused) {
            refuse(in, it, refused == KN_EREVOKED ? KN_EREVOKED : KN_EAFTERBAD);
        } else if (verdict < 0) {
            /* Store what links up to it; nothing after it can link without it. */
            if ((r = flush_run(s, in, &w)) == 0) {
                if (w.broken)
                    reject(in, it, KN_EAFTERBAD);
                else
                    refuse(in, it, verdict);
            }
            refused = verdict;
        } else if (past_fork) {
            /* Entries before a fork stay good; from it on, the author's word is worth nothing. */
            if ((r = flush_run(s, in, &w)) == 0)
                reject(in, it, KN_EFORKED);
        } else if (w.broken) {
            reject(in, it, KN_EAFTERBAD);
        } else if (it->e.seq < w.next) {
            /* Compare against the database: store what is pending first. */
            if ((r = flush_run(s, in, &w)) == 0 && !w.broken) {
                if (it->e.seq <= w.tip)
                    r = held_seq(s, in, &w, it);
                else
                    reject(in, it, KN_EAFTERBAD);
            } else if (r == 0) {
                reject(in, it, KN_EAFTERBAD);
            }
        } else if (it->err || it->e.seq > w.next ||
                   sodium_memcmp(it->e.prev_hash, w.next_prev, STORE_HASH_LEN) != 0) {
            int err = it->err ? it->err : it->e.seq > w.next ? KN_ESEQ : KN_EPREV;
            bool proved = false;
            if ((r = flush_run(s, in, &w)) == 0 && !w.broken && err == KN_EPREV)
                r = link_fork(s, in, &w, it, &proved);
            if (r == 0 && !proved)
                reject(in, it, w.broken ? KN_EAFTERBAD : err);
            if (!proved)
                w.broken = true;
        } else {
            w.run[w.nrun++] = it;
            w.next = it->e.seq + 1;
            memcpy(w.next_prev, it->e.hash, STORE_HASH_LEN);
        }
    }
    if (r == 0)
        r = flush_run(s, in, &w);
    free(w.run);
    return r;
}

static int ingest_tx(struct store *s, void *arg);

/* The batch, then what it released: an enrolment from the hub lets held entries in. */
static int ingest_all(struct store *s, void *arg)
{
    struct ingest *in = arg;
    uint8_t hub[STORE_KEY_LEN];
    int r = 0;
    /* The hub's purges first: an entry whose payload a purge in this batch names may come
     * before it, without its payload. Each purge's own signature is checked first. */
    bool hub_known = store__hub(s, hub);
    for (size_t i = 0; r == 0 && hub_known && i < in->n; i++) {
        struct item *it = in->order[i];
        if (!it->err && it->payload && !strcmp(it->e.type, "payload.purged") &&
            memcmp(it->e.author, hub, STORE_KEY_LEN) == 0 && store_entry_verify_sig(&it->e) == 0)
            r = store__trust_note(s, &it->e, it->payload, (size_t)it->e.payload_len);
    }
    if (r == 0)
        r = ingest_tx(s, arg);
    return r < 0 ? r : store__trust_release(s, in->res);
}

static int ingest_tx(struct store *s, void *arg)
{
    struct ingest *in = arg;
    size_t from = 0;
    int r = 0;

    while (from < in->n && r == 0) {
        size_t to = from + 1;
        const uint8_t *author = in->order[from]->e.author;
        while (to < in->n && memcmp(in->order[to]->e.author, author, STORE_KEY_LEN) == 0)
            to++;
        r = ingest_feed(s, in, from, to);
        from = to;
    }
    return r;
}

int store_ingest(struct store *s, const struct store_raw *batch, size_t n,
                 struct store_ingest_result *res, store_reject_cb reject_cb, void *ud)
{
    struct ingest in = { 0 };
    size_t ndecoded = 0;
    int r;

    memset(res, 0, sizeof(*res));
    in.res = res;
    in.cb = reject_cb;
    in.ud = ud;
    in.items = kn_xmalloc((n ? n : 1) * sizeof(*in.items));
    in.order = kn_xmalloc((n ? n : 1) * sizeof(*in.order));

    for (size_t i = 0; i < n; i++) {
        struct item *it = &in.items[ndecoded];
        it->index = i;
        it->payload = batch[i].payload;
        r = store_entry_decode(batch[i].signed_header, batch[i].signed_len, &it->e);
        if (r < 0) {
            res->rejected++;
            if (reject_cb)
                reject_cb(ud, i, NULL, r);
            continue;
        }
        if (!batch[i].payload)
            it->err = KN_ENOPAYLOAD;
        else
            it->err = store_entry_check_payload(&it->e, batch[i].payload, batch[i].payload_len);
        in.order[ndecoded] = it;
        ndecoded++;
    }
    in.n = ndecoded;
    qsort(in.order, in.n, sizeof(*in.order), item_cmp);

    r = with_tx(s, ingest_all, &in);
    if (r < 0) {
        /* Nothing was stored: what the counters said about this batch no longer holds. */
        memset(res, 0, sizeof(*res));
    }
    free(in.items);
    free(in.order);
    return r;
}

/* ---- reading ---- */

static void column_payload(sqlite3_stmt *st, int col, const uint8_t **p, size_t *len)
{
    if (sqlite3_column_type(st, col) == SQLITE_NULL) {
        *p = NULL;
        *len = 0;
        return;
    }
    *len = (size_t)sqlite3_column_bytes(st, col);
    *p = sqlite3_column_blob(st, col);
    if (!*p)
        *p = (const uint8_t *)"";
}

int store_get(struct store *s, const uint8_t author[static STORE_KEY_LEN], uint64_t seq,
              struct store_entry *out, store_payload_cb payload_cb, void *ud)
{
    sqlite3_stmt *st = stmt(s, ST_GET);
    int rc, r;

    sqlite3_bind_blob(st, 1, author, STORE_KEY_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)seq);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        r = column_entry(st, 0, out);
        if (r == 0 && payload_cb) {
            const uint8_t *p;
            size_t len;
            column_payload(st, 1, &p, &len);
            payload_cb(ud, p, len);
        }
    } else {
        r = rc == SQLITE_DONE ? KN_ENOTFOUND : db_err(s, rc);
    }
    sqlite3_reset(st);
    return r;
}

int store_range(struct store *s, const uint8_t author[static STORE_KEY_LEN], uint64_t from,
                uint64_t to, store_entry_cb cb, void *ud)
{
    /* Own statement: callbacks may call back into the store. */
    sqlite3_stmt *st = NULL;
    struct store_entry *e = kn_xmalloc(sizeof(*e));
    int rc, r;

    r = db_err(s, sqlite3_prepare_v2(s->db, stmt_sql[ST_RANGE], -1, &st, NULL));
    if (r < 0)
        goto out;
    sqlite3_bind_blob(st, 1, author, STORE_KEY_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)from);
    sqlite3_bind_int64(st, 3, to ? (sqlite3_int64)to : INT64_MAX);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const uint8_t *p;
        size_t len;
        if ((r = column_entry(st, 0, e)) < 0)
            goto out;
        column_payload(st, 1, &p, &len);
        if ((r = cb(ud, e, p, len)) != 0)
            goto out;
    }
    r = rc == SQLITE_DONE ? 0 : db_err(s, rc);
out:
    sqlite3_finalize(st);
    free(e);
    return r;
}

int store_clock(struct store *s, store_feed_cb cb, void *ud)
{
    sqlite3_stmt *st = NULL;
    struct store_feed f;
    int rc, r;

    r = db_err(s, sqlite3_prepare_v2(s->db, stmt_sql[ST_FEEDS], -1, &st, NULL));
    if (r < 0)
        goto out;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (sqlite3_column_bytes(st, 0) != STORE_KEY_LEN) {
            r = KN_ECORRUPT;
            goto out;
        }
        memcpy(f.author, sqlite3_column_blob(st, 0), STORE_KEY_LEN);
        f.forked = sqlite3_column_int(st, 1) != 0;
        if ((r = feed_tip(s, f.author, &f.seq, f.tip_hash)) < 0)
            goto out;
        /* A revoked key's entries from its revocation on, and a forked feed's from the fork on,
         * are offered to nobody: every node's clock stops there. */
        uint64_t revoked = (uint64_t)sqlite3_column_int64(st, 2);
        uint64_t forked = (uint64_t)sqlite3_column_int64(st, 3);
        if (forked && (!revoked || forked < revoked))
            revoked = forked;
        if (revoked && f.seq >= revoked) {
            f.seq = revoked - 1;
            memset(f.tip_hash, 0, sizeof(f.tip_hash));
            struct store_entry *e = kn_xmalloc(sizeof(*e));
            if (f.seq > 0 && store_get(s, f.author, f.seq, e, NULL, NULL) == 0)
                memcpy(f.tip_hash, e->hash, STORE_HASH_LEN);
            free(e);
        }
        if ((r = cb(ud, &f)) != 0)
            goto out;
    }
    r = rc == SQLITE_DONE ? 0 : db_err(s, rc);
out:
    sqlite3_finalize(st);
    return r;
}

int store_forks(struct store *s, store_fork_cb cb, void *ud)
{
    sqlite3_stmt *st = stmt(s, ST_FORKS);
    struct store_fork f;
    int rc, r = 0;

    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (sqlite3_column_bytes(st, 0) != STORE_KEY_LEN)
            continue;
        memcpy(f.author, sqlite3_column_blob(st, 0), STORE_KEY_LEN);
        f.seq = (uint64_t)sqlite3_column_int64(st, 1);
        if ((r = cb(ud, &f)) != 0)
            break;
    }
    if (r == 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
        r = db_err(s, rc);
    sqlite3_reset(st);
    return r;
}

int store_fork_proofs(struct store *s, store_fork_proof_cb cb, void *ud)
{
    sqlite3_stmt *st = NULL;
    int rc, r = db_err(s, sqlite3_prepare_v2(s->db,
                                             "SELECT held, other FROM forks ORDER BY author, seq",
                                             -1, &st, NULL));
    while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW)
        r = cb(ud, sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0),
               sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st, 1));
    if (r == 0 && rc != SQLITE_DONE)
        r = db_err(s, rc);
    sqlite3_finalize(st);
    return r;
}

struct fork_args {
    const uint8_t *held, *other;
    size_t hlen, olen;
    struct store_entry *a, *b;
    int fresh; /* what record_fork said: 1 new, 0 known */
};

static int fork_add_tx(struct store *s, void *arg)
{
    struct fork_args *f = arg;
    int r = record_fork(s, f->a->author, f->a->seq, f->held, f->hlen, f->other, f->olen);
    f->fresh = r > 0;
    return r < 0 ? r : 0;
}

int store_fork_add(struct store *s, const uint8_t *held, size_t held_len, const uint8_t *other,
                   size_t other_len)
{
    struct fork_args f = { .held = held,
                           .other = other,
                           .hlen = held_len,
                           .olen = other_len,
                           .a = kn_xmalloc(sizeof(*f.a)),
                           .b = kn_xmalloc(sizeof(*f.b)) };
    int r;
    if ((r = store_entry_decode(held, held_len, f.a)) < 0 ||
        (r = store_entry_decode(other, other_len, f.b)) < 0)
        goto out;
    bool same_seq =
        f.a->seq == f.b->seq && sodium_memcmp(f.a->hash, f.b->hash, STORE_HASH_LEN) != 0;
    bool links_elsewhere = f.b->seq == f.a->seq + 1 && f.b->has_prev &&
                           sodium_memcmp(f.b->prev_hash, f.a->hash, STORE_HASH_LEN) != 0;
    if (memcmp(f.a->author, f.b->author, STORE_KEY_LEN) != 0 || (!same_seq && !links_elsewhere)) {
        r = KN_EFIELD;
        goto out;
    }
    if (store_entry_verify_sig(f.a) != 0 || store_entry_verify_sig(f.b) != 0) {
        r = KN_ESIG;
        goto out;
    }
    /* Where the hub is known, only proofs about keys that matter here are kept: the hub's, this
     * node's and enrolled ones; a stranger's cannot fill the table. */
    struct store__trust_view v;
    if ((r = store__trust_look(s, f.a->author, &v)) < 0)
        goto out;
    if (v.checked && v.role[0] == '\0') {
        r = 0;
        goto out;
    }
    r = with_tx(s, fork_add_tx, &f);
    if (r == 0)
        r = f.fresh;
out:
    free(f.a);
    free(f.b);
    return r;
}

int store_data_version(struct store *s, uint64_t *out)
{
    sqlite3_stmt *st = NULL;
    int r = db_err(s, sqlite3_prepare_v2(s->db, "PRAGMA data_version", -1, &st, NULL));
    if (r == 0 && sqlite3_step(st) == SQLITE_ROW)
        *out = (uint64_t)sqlite3_column_int64(st, 0) + s->writes;
    else if (r == 0)
        r = KN_EDB;
    sqlite3_finalize(st);
    return r;
}

int store_count(struct store *s, uint64_t *out)
{
    sqlite3_stmt *st = stmt(s, ST_COUNT);
    int rc = sqlite3_step(st);
    *out = rc == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 0 : db_err(s, rc);
}

/* ---- verification of everything held ---- */

struct verify {
    enum store_verify_mode mode;
    store_problem_cb cb;
    void *ud;
    int broken;
    uint8_t author[STORE_KEY_LEN];
    bool skip; /* this feed already has a reported problem */
    struct store_entry *prev, *cur;
    uint64_t expected;
};

static int problem(struct verify *v, uint64_t seq, int err)
{
    v->broken++;
    v->skip = true;
    if (v->cb)
        v->cb(v->ud, v->author, seq, err);
    return err;
}

/* The end of a feed: in chain mode its tip's signature vouches for the links checked so far. */
static void verify_feed_end(struct verify *v)
{
    if (!v->skip && v->expected > 1 && v->mode == STORE_VERIFY_CHAIN &&
        store_entry_verify_sig(v->prev) != 0)
        (void)problem(v, v->prev->seq, KN_ESIG);
}

static int verify_row(struct verify *v, sqlite3_stmt *st)
{
    uint64_t seq = (uint64_t)sqlite3_column_int64(st, 1);
    const uint8_t *payload;
    size_t plen;
    int r;

    r = column_entry(st, 2, v->cur);
    if (r < 0)
        return problem(v, seq, r);
    if (memcmp(v->cur->author, v->author, STORE_KEY_LEN) != 0)
        return problem(v, seq, KN_EFIELD);
    if (v->cur->seq != seq || seq != v->expected)
        return problem(v, seq, KN_ESEQ);
    if (seq > 1 && sodium_memcmp(v->cur->prev_hash, v->prev->hash, STORE_HASH_LEN) != 0) {
        /* Either the previous entry or this one's link was altered; a signature tells which. */
        if (store_entry_verify_sig(v->prev) != 0)
            return problem(v, seq - 1, KN_ESIG);
        return problem(v, seq, store_entry_verify_sig(v->cur) != 0 ? KN_ESIG : KN_EPREV);
    }
    column_payload(st, 3, &payload, &plen);
    bool purged = sqlite3_column_int(st, 4) != 0;
    if (!payload && !purged)
        return problem(v, seq, KN_ENOPAYLOAD);
    if (payload && (r = store_entry_check_payload(v->cur, payload, plen)) < 0)
        return problem(v, seq, store_entry_verify_sig(v->cur) != 0 ? KN_ESIG : r);
    if (v->mode == STORE_VERIFY_EVERY && store_entry_verify_sig(v->cur) != 0)
        return problem(v, seq, KN_ESIG);
    struct store_entry *t = v->prev;
    v->prev = v->cur;
    v->cur = t;
    v->expected++;
    return 0;
}

int store_verify_all(struct store *s, enum store_verify_mode mode, store_problem_cb cb, void *ud,
                     uint64_t *checked)
{
    struct verify v = { .mode = mode, .cb = cb, .ud = ud };
    sqlite3_stmt *st = stmt(s, ST_VERIFY);
    uint64_t n = 0;
    bool any = false;
    int rc, r;

    v.prev = kn_xmalloc(sizeof(*v.prev));
    v.cur = kn_xmalloc(sizeof(*v.cur));
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const uint8_t *author = sqlite3_column_blob(st, 0);
        n++;
        if (sqlite3_column_bytes(st, 0) != STORE_KEY_LEN) {
            /* A damaged key column: report under whatever author it claims. */
            uint8_t zero[STORE_KEY_LEN] = { 0 };
            v.broken++;
            if (cb)
                cb(ud, zero, (uint64_t)sqlite3_column_int64(st, 1), KN_EFIELD);
            continue;
        }
        if (!any || memcmp(author, v.author, STORE_KEY_LEN) != 0) {
            if (any)
                verify_feed_end(&v);
            any = true;
            memcpy(v.author, author, STORE_KEY_LEN);
            v.skip = false;
            v.expected = 1;
        }
        if (!v.skip)
            (void)verify_row(&v, st);
    }
    if (any)
        verify_feed_end(&v);
    r = rc == SQLITE_DONE ? v.broken : db_err(s, rc);
    sqlite3_reset(st);
    free(v.prev);
    free(v.cur);
    if (checked)
        *checked = n;
    return r;
}

int store_check_file(struct store *s, char *why, size_t size)
{
    sqlite3_stmt *st = NULL;
    int rc = SQLITE_DONE,
        r = db_err(s, sqlite3_prepare_v2(s->db, "PRAGMA quick_check", -1, &st, NULL));
    bool damaged = false;
    while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(st, 0);
        if (t && !strcmp(t, "ok"))
            continue;
        /* The first problem SQLite names (the rest follow from it, or are more of the same). */
        if (!damaged && why && size)
            snprintf(why, size, "%s", t ? t : "?");
        damaged = true;
    }
    if (r == 0 && rc != SQLITE_DONE)
        r = db_err(s, rc);
    if (r < 0 && why && size)
        snprintf(why, size, "%s", sqlite3_errmsg(s->db));
    else if (r == 0 && damaged)
        r = KN_ECORRUPT;
    sqlite3_finalize(st);
    return r;
}

/* The simulator's crash: every statement fails once the budget of VM steps is spent. */
static int crash_progress(void *ud)
{
    struct store *s = ud;
    if (s->crash_left == 0)
        return 1;
    s->crash_left--;
    return 0;
}

void store_test_interrupt(struct store *s, uint64_t steps)
{
    s->crash_left = steps;
    sqlite3_progress_handler(s->db, steps ? 16 : 0, steps ? crash_progress : NULL, s);
}
