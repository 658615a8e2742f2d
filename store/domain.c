/* SPDX-License-Identifier: MIT */
/*
 * The card domain's engine: which held entries are applied to the projection, in which order,
 * and what state they leave.
 *
 * Order. Every entry gets a height: 1 + the largest height of its parents (the entry before it
 * in its feed, and its deps). Entries are applied by (height, hash). That is a topological order
 * of the causal graph, with ties broken by entry hash, and it depends only on the set of entries
 * held, never on the order they arrived in: every node holding the same entries computes the
 * same state. An entry whose parents are not all held waits.
 *
 * Incremental or rebuilt. When every newly ready entry sorts after the last applied one, they
 * are applied on top of the projection. Otherwise (an entry arrived late and belongs earlier)
 * the projection is cleared and built again. Entries this node writes depend on the last applied
 * entry (the "frontier" dep), so local writes always take the incremental path.
 *
 * Bounded memory. Heights are kept in a table (filled feed by feed, reading the log in key
 * order), new ones are queued in (height, hash) order by one sorted insert, and the queue is
 * applied from its front: a step of either costs memory bounded by its size and the number of
 * feeds, never by the number of entries held (docs/events.md, "How it is computed").
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "internal.h"

/* Version 3: indexes for what every write asks (conflict counts, booked slots). */
const char store__domain_schema_v3[] =
    "CREATE INDEX p_applied_status ON p_applied(status);"
    "CREATE INDEX p_appointments_slot ON p_appointments(office, at_ms);";

/*
 * Version 4: the order is kept in its own table (a height for every held entry that can have
 * one, kept across rebuilds of the projection and filled in bounded steps); p_applied loses its
 * order index, and its status index covers only the entries that were not applied. The
 * projection is cleared, to be built again the new way at the next sync.
 */
const char store__domain_schema_v4[] =
    "DROP TABLE p_applied;"
    "CREATE TABLE p_applied(author BLOB NOT NULL, seq INTEGER NOT NULL, hash BLOB NOT NULL,"
    "  height INTEGER NOT NULL, type TEXT NOT NULL, status INTEGER NOT NULL,"
    "  reason TEXT NOT NULL, PRIMARY KEY(height, hash)) WITHOUT ROWID;"
    "CREATE INDEX p_applied_flagged ON p_applied(status) WHERE status != 0;"
    "CREATE TABLE heights(author BLOB NOT NULL, seq INTEGER NOT NULL, hash BLOB NOT NULL,"
    "  height INTEGER NOT NULL, type TEXT NOT NULL, ts INTEGER NOT NULL,"
    "  PRIMARY KEY(author, seq)) WITHOUT ROWID;"
    "CREATE TABLE heights_fresh(height INTEGER NOT NULL, hash BLOB NOT NULL,"
    "  author BLOB NOT NULL, seq INTEGER NOT NULL, type TEXT NOT NULL, ts INTEGER NOT NULL);"
    "CREATE TABLE dom_queue(height INTEGER NOT NULL, hash BLOB NOT NULL, author BLOB NOT NULL,"
    "  seq INTEGER NOT NULL, type TEXT NOT NULL, ts INTEGER NOT NULL,"
    "  PRIMARY KEY(height, hash)) WITHOUT ROWID;"
    "CREATE TABLE dom_cursor(name TEXT PRIMARY KEY, author BLOB NOT NULL, seq INTEGER NOT NULL,"
    "  hash BLOB NOT NULL, height INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE dom_counts(one INTEGER PRIMARY KEY CHECK(one = 1),"
    "  conflicts INTEGER NOT NULL, invalid INTEGER NOT NULL);"
    "DELETE FROM p_subjects; DELETE FROM p_nodes; DELETE FROM p_offices; DELETE FROM p_admins;"
    "DELETE FROM p_orders; DELETE FROM p_appointments; DELETE FROM p_meetings;"
    "DELETE FROM p_reserves; DELETE FROM p_catalogue; DELETE FROM p_invoices;";

/*
 * Version 6: the chip serial (CPLC) the hub recorded when it shipped the card, which the reader
 * at the hand-over table reads back. Entries before it have none: nothing to rebuild.
 */
const char store__domain_schema_v6[] =
    "ALTER TABLE p_orders ADD COLUMN chip TEXT;"
    "CREATE INDEX p_orders_chip ON p_orders(chip) WHERE chip IS NOT NULL;";

/*
 * Version 7: where nodes say they can be dialled (node.address), and this node's own record of
 * each peer and each path it reached it by (links: local, never part of the log or the digest).
 */
const char store__domain_schema_v7[] =
    "CREATE TABLE p_addresses(node TEXT PRIMARY KEY, addr TEXT NOT NULL, seq INTEGER NOT NULL,"
    "  at_ms INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE links(node BLOB NOT NULL, path TEXT NOT NULL, addr TEXT NOT NULL DEFAULT '',"
    "  last_ok_ms INTEGER NOT NULL DEFAULT 0, last_try_ms INTEGER NOT NULL DEFAULT 0,"
    "  entries_in INTEGER NOT NULL DEFAULT 0, entries_out INTEGER NOT NULL DEFAULT 0,"
    "  clock TEXT, dead_ms INTEGER NOT NULL DEFAULT 0, PRIMARY KEY(node, path)) WITHOUT ROWID;";

/*
 * Version 8: orders by office and state, for the stock report and an office's orders (without
 * it the stock report scanned every order once per office: 142 ms at 50,000 orders and 40
 * offices, 4.8 ms with it).
 */
const char store__domain_schema_v8[] = "CREATE INDEX p_orders_office ON p_orders(office, state);";

/*
 * Version 9: the same index with the times of the stages, so that the stock report's counts
 * and ages come from the index alone (with v8's index the ages read every waiting order's row:
 * 47 ms at 50,000 cards in transit).
 */
const char store__domain_schema_v9[] =
    "DROP INDEX IF EXISTS p_orders_office;"
    "CREATE INDEX p_orders_stage ON p_orders(office, state, stored_ms, collected_ms, notice_ms,"
    "  shipped_ms);";

const char store__domain_schema[] =
    "CREATE TABLE p_applied(author BLOB NOT NULL, seq INTEGER NOT NULL, hash BLOB NOT NULL,"
    "  height INTEGER NOT NULL, type TEXT NOT NULL, status INTEGER NOT NULL,"
    "  reason TEXT NOT NULL, PRIMARY KEY(author, seq)) WITHOUT ROWID;"
    "CREATE INDEX p_applied_order ON p_applied(height, hash);"
    "CREATE TABLE p_subjects(kind TEXT NOT NULL, id TEXT NOT NULL, author BLOB NOT NULL,"
    "  seq INTEGER NOT NULL, hash BLOB NOT NULL, PRIMARY KEY(kind, id)) WITHOUT ROWID;"
    "CREATE TABLE p_nodes(node TEXT PRIMARY KEY, role TEXT NOT NULL, office TEXT NOT NULL)"
    "  WITHOUT ROWID;"
    "CREATE TABLE p_offices(office TEXT PRIMARY KEY, kind TEXT NOT NULL, name TEXT NOT NULL,"
    "  town TEXT NOT NULL, place TEXT NOT NULL, booking TEXT NOT NULL, days TEXT NOT NULL,"
    "  status TEXT NOT NULL, registered_ms INTEGER NOT NULL, notice_ms INTEGER,"
    "  notice_ends_ms INTEGER, closed_ms INTEGER) WITHOUT ROWID;"
    "CREATE TABLE p_admins(office TEXT NOT NULL, admin TEXT NOT NULL, name TEXT NOT NULL,"
    "  added_ms INTEGER NOT NULL, PRIMARY KEY(office, admin)) WITHOUT ROWID;"
    "CREATE TABLE p_orders(order_id TEXT PRIMARY KEY, care_provider TEXT NOT NULL,"
    "  holder TEXT NOT NULL, office TEXT NOT NULL, card_type TEXT NOT NULL, state TEXT NOT NULL,"
    "  serial TEXT, rek TEXT, placed_ms INTEGER NOT NULL, shipped_ms INTEGER,"
    "  pin_sent_ms INTEGER, notice_ms INTEGER, collected_ms INTEGER, stored_ms INTEGER,"
    "  handed_over_ms INTEGER, read_by_reader INTEGER, failed_meetings INTEGER NOT NULL,"
    "  closed_ms INTEGER, closed_reason TEXT, police_report TEXT) WITHOUT ROWID;"
    "CREATE TABLE p_appointments(appointment TEXT PRIMARY KEY, order_id TEXT NOT NULL,"
    "  office TEXT NOT NULL, at_ms INTEGER NOT NULL, place_kind TEXT NOT NULL,"
    "  place TEXT NOT NULL, state TEXT NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE p_meetings(order_id TEXT NOT NULL, n INTEGER NOT NULL, office TEXT NOT NULL,"
    "  office_kind TEXT NOT NULL, at_ms INTEGER NOT NULL, month TEXT NOT NULL,"
    "  result TEXT NOT NULL, reason TEXT NOT NULL, extra INTEGER NOT NULL,"
    "  PRIMARY KEY(order_id, n)) WITHOUT ROWID;"
    "CREATE TABLE p_reserves(reserve TEXT PRIMARY KEY, office TEXT NOT NULL,"
    "  holder TEXT NOT NULL, reason TEXT NOT NULL, issued_ms INTEGER NOT NULL,"
    "  valid_until_ms INTEGER NOT NULL, receipt TEXT NOT NULL, returned_ms INTEGER,"
    "  receipt_archived_ms INTEGER) WITHOUT ROWID;"
    "CREATE TABLE p_catalogue(entry TEXT PRIMARY KEY, office TEXT NOT NULL,"
    "  person TEXT NOT NULL, unit TEXT NOT NULL, added_ms INTEGER NOT NULL,"
    "  audited_ms INTEGER NOT NULL, valid_until_ms INTEGER NOT NULL, removed_ms INTEGER)"
    "  WITHOUT ROWID;"
    "CREATE TABLE p_invoices(office TEXT NOT NULL, month TEXT NOT NULL,"
    "  handovers INTEGER NOT NULL, extra_meetings INTEGER NOT NULL,"
    "  amount_ore INTEGER NOT NULL, issued_ms INTEGER NOT NULL, PRIMARY KEY(office, month))"
    "  WITHOUT ROWID;";

/* The projection's tables, in digest order, each with the order of its rows. */
static const char *const projection[][2] = {
    { "p_applied", "height, hash" }, { "p_subjects", "kind, id" },
    { "p_nodes", "node" },           { "p_node_offices", "node, office" },
    { "p_offices", "office" },       { "p_admins", "office, admin" },
    { "p_orders", "order_id" },      { "p_appointments", "appointment" },
    { "p_meetings", "order_id, n" }, { "p_reserves", "reserve" },
    { "p_catalogue", "entry" },      { "p_invoices", "office, month" },
    { "p_addresses", "node" },
};
#define NPROJECTION (sizeof(projection) / sizeof(projection[0]))

#define DOM_NCACHE 192 /* more than the distinct statements of domain.c, events.c and trust.c */

struct store__dom {
    struct {
        const char *sql;
        sqlite3_stmt *st;
    } cache[DOM_NCACHE];
    size_t ncache;
};

void store__dom_free(struct store *s)
{
    if (!s->dom)
        return;
    for (size_t i = 0; i < s->dom->ncache; i++)
        sqlite3_finalize(s->dom->cache[i].st);
    free(s->dom);
    s->dom = NULL;
}

static int prepare(struct store *s, const char *sql, sqlite3_stmt **out)
{
    if (!s->dom)
        s->dom = kn_xcalloc(1, sizeof(*s->dom));
    for (size_t i = 0; i < s->dom->ncache; i++) {
        if (s->dom->cache[i].sql == sql) {
            *out = s->dom->cache[i].st;
            sqlite3_reset(*out);
            sqlite3_clear_bindings(*out);
            return 0;
        }
    }
    int r = store__db_err(sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, out, NULL));
    if (r < 0)
        return r;
    if (s->dom->ncache < DOM_NCACHE) {
        s->dom->cache[s->dom->ncache].sql = sql;
        s->dom->cache[s->dom->ncache++].st = *out;
    } else {
        abort(); /* more distinct statements than the cache holds: raise DOM_NCACHE */
    }
    return 0;
}

int store__dom_prepare(struct store *s, const char *sql, sqlite3_stmt **out)
{
    return prepare(s, sql, out);
}

static void bind_args(sqlite3_stmt *st, const char *fmt, va_list ap)
{
    for (int i = 0; fmt[i]; i++) {
        switch (fmt[i]) {
        case 't': {
            const char *t = va_arg(ap, const char *);
            if (t)
                sqlite3_bind_text(st, i + 1, t, -1, SQLITE_TRANSIENT);
            else
                sqlite3_bind_null(st, i + 1);
            break;
        }
        case 'i':
            sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
            break;
        case 'b':
            sqlite3_bind_blob(st, i + 1, va_arg(ap, const uint8_t *), 32, SQLITE_TRANSIENT);
            break;
        default:
            abort();
        }
    }
}

static int vexec(struct store *s, const char *sql, const char *fmt, va_list ap)
{
    sqlite3_stmt *st;
    int r = prepare(s, sql, &st);
    if (r < 0)
        return r;
    bind_args(st, fmt, ap);
    r = store__db_err(sqlite3_step(st));
    sqlite3_reset(st);
    return r;
}

static int s_exec(struct store *s, const char *sql, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = vexec(s, sql, fmt, ap);
    va_end(ap);
    return r;
}

int store__exec(struct store *s, const char *sql, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = vexec(s, sql, fmt, ap);
    va_end(ap);
    return r;
}

int dom_exec(struct dom_ctx *c, const char *sql, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = vexec(c->s, sql, fmt, ap);
    va_end(ap);
    return r;
}

static int vrow(struct store *s, sqlite3_stmt **out, const char *sql, const char *fmt, va_list ap)
{
    sqlite3_stmt *st;
    int r = prepare(s, sql, &st);
    if (r < 0)
        return r;
    bind_args(st, fmt, ap);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *out = st;
        return 1;
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : store__db_err(rc);
}

static int s_row(struct store *s, sqlite3_stmt **out, const char *sql, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = vrow(s, out, sql, fmt, ap);
    va_end(ap);
    return r;
}

int dom_row(struct dom_ctx *c, sqlite3_stmt **out, const char *sql, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = vrow(c->s, out, sql, fmt, ap);
    va_end(ap);
    return r;
}

void dom_done(sqlite3_stmt *st)
{
    sqlite3_reset(st);
}

int dom_conflict(struct dom_ctx *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->reason, sizeof(c->reason), fmt, ap);
    va_end(ap);
    return DOM_CONFLICT;
}

int dom_invalid(struct dom_ctx *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->reason, sizeof(c->reason), fmt, ap);
    va_end(ap);
    return DOM_INVALID;
}

/* ---- calendar ---- */

/* Days since 1970-01-01 of a civil date, and back (H. Hinnant's algorithms). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static unsigned month_days(int64_t y, unsigned m)
{
    static const unsigned days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

uint64_t dom_add_months(uint64_t ms, int months)
{
    int64_t day = (int64_t)(ms / 86400000), y;
    uint64_t rest = ms % 86400000;
    unsigned m, d;
    civil_from_days(day, &y, &m, &d);
    int64_t total = y * 12 + (m - 1) + months;
    y = total / 12;
    m = (unsigned)(total % 12) + 1;
    if (d > month_days(y, m))
        d = month_days(y, m);
    return (uint64_t)days_from_civil(y, m, d) * 86400000 + rest;
}

/* The last Sunday of month m of year y, as days since 1970. */
static int64_t last_sunday(int64_t y, unsigned m)
{
    int64_t last = days_from_civil(y, m, month_days(y, m));
    int64_t weekday = (last + 4) % 7; /* 1970-01-01 was a Thursday; 0 = Sunday */
    return last - weekday;
}

/* ms moved to Swedish time: UTC+2 from 01:00 UTC on the last Sunday of March to 01:00 UTC on
 * the last Sunday of October, UTC+1 otherwise. */
static uint64_t swedish_time(uint64_t ms)
{
    int64_t y;
    unsigned m, d;
    civil_from_days((int64_t)(ms / 86400000), &y, &m, &d);
    uint64_t summer_from = (uint64_t)last_sunday(y, 3) * 86400000 + 3600000;
    uint64_t summer_to = (uint64_t)last_sunday(y, 10) * 86400000 + 3600000;
    return ms + (ms >= summer_from && ms < summer_to ? 7200000 : 3600000);
}

/* "YYYY-MM-DD" (or its first len characters) of ms in Swedish time into out[len + 1]. */
static void swedish_date(uint64_t ms, char *out, size_t len)
{
    int64_t y;
    unsigned m, d;
    char buf[11];
    civil_from_days((int64_t)(swedish_time(ms) / 86400000), &y, &m, &d);
    unsigned yy = (unsigned)(y % 10000);
    buf[0] = (char)('0' + yy / 1000);
    buf[1] = (char)('0' + yy / 100 % 10);
    buf[2] = (char)('0' + yy / 10 % 10);
    buf[3] = (char)('0' + yy % 10);
    buf[4] = '-';
    buf[5] = (char)('0' + m / 10);
    buf[6] = (char)('0' + m % 10);
    buf[7] = '-';
    buf[8] = (char)('0' + d / 10);
    buf[9] = (char)('0' + d % 10);
    buf[10] = '\0';
    memcpy(out, buf, len);
    out[len] = '\0';
}

void dom_month(uint64_t ms, char out[8])
{
    /* Only the hour around midnight at a month's end differs from UTC. */
    swedish_date(ms, out, 7);
}

void dom_day(uint64_t ms, char out[11])
{
    swedish_date(ms, out, 10);
}

void store_month(uint64_t ms, char out[8])
{
    dom_month(ms, out);
}

/* ---- payload fields ---- */

static int find(struct dom_ctx *c, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < c->nkv; i++)
        if (c->kv[i].klen == n && memcmp(c->kv[i].key, name, n) == 0)
            return (int)i;
    return -1;
}

bool dom_has(struct dom_ctx *c, const char *name)
{
    return find(c, name) >= 0;
}

const char *dom_text(struct dom_ctx *c, const char *name, char *buf, size_t size)
{
    int i = find(c, name);
    const uint8_t *b;
    uint32_t len;
    if (i < 0)
        return NULL;
    struct store_mp m = { c->kv[i].val, c->kv[i].end };
    if (store_mp_str(&m, &b, &len) < 0 || len >= size)
        return NULL;
    memcpy(buf, b, len);
    buf[len] = '\0';
    return buf;
}

uint64_t dom_uint(struct dom_ctx *c, const char *name)
{
    int i = find(c, name);
    uint64_t v = 0;
    if (i >= 0) {
        struct store_mp m = { c->kv[i].val, c->kv[i].end };
        (void)store_mp_uint(&m, &v);
    }
    return v;
}

bool dom_bool(struct dom_ctx *c, const char *name)
{
    int i = find(c, name);
    return i >= 0 && c->kv[i].val[0] == 0xc3;
}

static bool id_valid(const uint8_t *b, uint32_t n)
{
    if (n == 0 || n > 64)
        return false;
    for (uint32_t i = 0; i < n; i++) {
        uint8_t ch = b[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '-' || ch == ':'))
            return false;
    }
    return true;
}

static int check_field(struct dom_ctx *c, const struct dom_field *f, int i)
{
    struct store_mp m = { c->kv[i].val, c->kv[i].end };
    const uint8_t *b;
    uint32_t n;
    uint64_t u;

    switch (f->kind) {
    case DOM_F_UINT:
        if (store_mp_uint(&m, &u) < 0)
            return dom_invalid(c, "field %s must be a non-negative integer", f->name);
        return 0;
    case DOM_F_BOOL:
        if (c->kv[i].val[0] != 0xc2 && c->kv[i].val[0] != 0xc3)
            return dom_invalid(c, "field %s must be true or false", f->name);
        return 0;
    case DOM_F_BIN:
        if (store_mp_bin(&m, &b, &n) < 0 || n > DOM_MAX_BIN)
            return dom_invalid(c, "field %s must be at most %d bytes of bin", f->name, DOM_MAX_BIN);
        return 0;
    default:
        break;
    }
    if (store_mp_str(&m, &b, &n) < 0)
        return dom_invalid(c, "field %s must be a string", f->name);
    switch (f->kind) {
    case DOM_F_ID:
        if (!id_valid(b, n))
            return dom_invalid(c, "field %s must be 1 to 64 of A-Z a-z 0-9 . _ - :", f->name);
        return 0;
    case DOM_F_TEXT:
        if (n > DOM_MAX_TEXT)
            return dom_invalid(c, "field %s is longer than %d bytes", f->name, DOM_MAX_TEXT);
        return 0;
    case DOM_F_NODE: {
        uint8_t key[STORE_KEY_LEN];
        char hex[STORE_ID_HEX_LEN + 1];
        if (n != STORE_ID_HEX_LEN)
            return dom_invalid(c, "field %s must be a node id (64 hex digits)", f->name);
        memcpy(hex, b, n);
        hex[n] = '\0';
        for (uint32_t k = 0; k < n; k++)
            if (hex[k] >= 'A' && hex[k] <= 'F')
                return dom_invalid(c, "field %s: node ids are written in lower case", f->name);
        if (store_unhex(hex, key, STORE_KEY_LEN) < 0)
            return dom_invalid(c, "field %s must be a node id (64 hex digits)", f->name);
        return 0;
    }
    case DOM_F_MONTH:
        if (n != 7 || b[4] != '-' || b[0] < '1' || b[0] > '9' ||
            !(b[5] == '0' ? b[6] >= '1' && b[6] <= '9' : b[5] == '1' && b[6] >= '0' && b[6] <= '2'))
            return dom_invalid(c, "field %s must be a month, YYYY-MM", f->name);
        for (int k = 0; k < 4; k++)
            if (b[k] < '0' || b[k] > '9')
                return dom_invalid(c, "field %s must be a month, YYYY-MM", f->name);
        return 0;
    case DOM_F_ENUM:
        for (const char *const *v = f->values; *v; v++)
            if (strlen(*v) == n && memcmp(*v, b, n) == 0)
                return 0;
        return dom_invalid(c, "field %s: '%.*s' is not one of the allowed values", f->name,
                           (int)(n > 64 ? 64 : n), (const char *)b);
    default:
        return 0;
    }
}

/* Split the payload into its top-level fields and check them against the event's spec. */
static int parse_fields(struct dom_ctx *c, const uint8_t *payload, size_t len)
{
    struct store_mp m = { payload, payload + len };
    uint8_t b;
    uint32_t n;
    int r;

    c->nkv = 0;
    if (len == 0 || ((b = payload[0]) & 0xf0) != 0x80)
        return dom_invalid(c, "the payload must be a map of at most 15 fields");
    n = b & 0x0f;
    m.p++;
    if (n > DOM_MAX_FIELDS)
        return dom_invalid(c, "too many fields");
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *key;
        uint32_t klen;
        if (store_mp_str(&m, &key, &klen) < 0)
            return dom_invalid(c, "field names must be strings");
        c->kv[i].key = key;
        c->kv[i].klen = klen;
        c->kv[i].val = m.p;
        if (store_mp_skip(&m, 1) < 0)
            return dom_invalid(c, "malformed field");
        c->kv[i].end = m.p;
        c->nkv++;
    }
    for (size_t i = 0; i < c->nkv; i++) {
        const struct dom_field *f = c->ev->fields;
        while (f->name && !(strlen(f->name) == c->kv[i].klen &&
                            memcmp(f->name, c->kv[i].key, c->kv[i].klen) == 0))
            f++;
        if (!f->name)
            return dom_invalid(c, "unknown field '%.*s' for %s",
                               (int)(c->kv[i].klen > 40 ? 40 : c->kv[i].klen),
                               (const char *)c->kv[i].key, c->ev->type);
        if ((r = check_field(c, f, (int)i)) != 0)
            return r;
    }
    for (const struct dom_field *f = c->ev->fields; f->name; f++)
        if (f->required && !dom_has(c, f->name))
            return dom_invalid(c, "%s needs the field %s", c->ev->type, f->name);
    return 0;
}

/* ---- who wrote it ---- */

static int hub_id(struct store *s, uint8_t hub[STORE_KEY_LEN])
{
    char hex[STORE_ID_HEX_LEN + 1];
    if (store_meta_get(s, "hub", hex, sizeof(hex)) < 0 || store_unhex(hex, hub, STORE_KEY_LEN) < 0)
        return KN_ENOHUB;
    return 0;
}

/* The office an event is about: its office field, or that of the object it names. */
static int event_office(struct dom_ctx *c)
{
    static const struct {
        const char *field;
        const char *sql;
    } via[] = {
        { "order", "SELECT office FROM p_orders WHERE order_id = ?1" },
        { "appointment", "SELECT office FROM p_appointments WHERE appointment = ?1" },
        { "reserve", "SELECT office FROM p_reserves WHERE reserve = ?1" },
        { "entry", "SELECT office FROM p_catalogue WHERE entry = ?1" },
    };
    char id[DOM_MAX_TEXT + 1];
    sqlite3_stmt *st;

    c->office[0] = '\0';
    if (dom_text(c, "office", c->office, sizeof(c->office)))
        return 0;
    for (size_t i = 0; i < sizeof(via) / sizeof(via[0]); i++) {
        if (!dom_text(c, via[i].field, id, sizeof(id)))
            continue;
        int r = dom_row(c, &st, via[i].sql, "t", id);
        if (r < 0)
            return r;
        if (r == 0)
            return dom_conflict(c, "no %s %s is known", via[i].field, id);
        snprintf(c->office, sizeof(c->office), "%s", (const char *)sqlite3_column_text(st, 0));
        dom_done(st);
        return 0;
    }
    return 0;
}

static int check_writer(struct dom_ctx *c, const uint8_t hub[STORE_KEY_LEN])
{
    char node[STORE_ID_HEX_LEN + 1], role[16] = "";
    uint64_t until = 0, revoked = 0;
    bool same = false;
    sqlite3_stmt *st;
    int r;

    if (sodium_memcmp(c->e->author, hub, STORE_KEY_LEN) == 0)
        return (c->ev->writers & DOM_W_HUB)
                   ? 0
                   : dom_invalid(c, "the hub may not write %s", c->ev->type);
    store_hex(c->e->author, STORE_KEY_LEN, node);
    r = dom_row(c, &st,
                "SELECT role, office, coalesce(valid_until_ms, 0), coalesce(revoked_from, 0)"
                " FROM p_nodes WHERE node = ?1",
                "t", node);
    if (r < 0)
        return r;
    if (r == 1) {
        snprintf(role, sizeof(role), "%s", (const char *)sqlite3_column_text(st, 0));
        same = strcmp((const char *)sqlite3_column_text(st, 1), c->office) == 0;
        until = (uint64_t)sqlite3_column_int64(st, 2);
        revoked = (uint64_t)sqlite3_column_int64(st, 3);
        dom_done(st);
    }
    /* A hub node is another machine of the hub: it writes what the hub writes, but only the
     * hub's own key, the root of trust, enrols, revokes and purges. */
    bool hub_role = !strcmp(role, "hub"), office_role = !strcmp(role, "office");
    if (!hub_role && !(c->ev->writers & (DOM_W_OFFICE | DOM_W_MOBILE)))
        return dom_invalid(c, "only the hub may write %s", c->ev->type);
    if (!role[0])
        return dom_invalid(c, "the writer is not a node bound to an office by the hub");
    if (revoked && c->e->seq >= revoked)
        return dom_invalid(c, "the hub revoked the writer's key from seq %" PRIu64 " on", revoked);
    if (until && c->e->timestamp_ms > until)
        return dom_invalid(c, "the writer's enrolment ended before this entry was written");
    if (hub_role && store__trust_type(c->ev->type))
        return dom_invalid(c, "only the hub's own key may write %s", c->ev->type);
    if (hub_role)
        return (c->ev->writers & DOM_W_HUB)
                   ? 0
                   : dom_invalid(c, "a hub node may not write %s", c->ev->type);
    if (!(c->ev->writers & (office_role ? DOM_W_OFFICE : DOM_W_MOBILE)))
        return dom_invalid(c, "a %s node may not write %s", office_role ? "office" : "mobile",
                           c->ev->type);
    /* An address is about the writer itself, of no office. */
    if (!strcmp(c->ev->type, "node.address"))
        return 0;
    /* A mobile node works for every office it is enrolled for. */
    if (!same && !office_role) {
        if ((r = dom_row(c, &st, "SELECT 1 FROM p_node_offices WHERE node = ?1 AND office = ?2",
                         "tt", node, c->office)) < 0)
            return r;
        if (r == 1) {
            dom_done(st);
            same = true;
        }
    }
    if (!same)
        return dom_invalid(c, "the writer is not bound to office %s",
                           c->office[0] ? c->office : "(none)");
    return 0;
}

/* ---- applying one entry ---- */

/* A place in the order: (height, hash). */
struct dom_key {
    uint8_t author[STORE_KEY_LEN];
    uint64_t seq;
    uint8_t hash[STORE_HASH_LEN];
    uint64_t height;
};

/* A queued entry: its place, and what applying it needs from its header. */
struct dom_item {
    struct dom_key k;
    char type[STORE_MAX_TYPE + 1];
    uint64_t timestamp_ms;
};

static int key_cmp(uint64_t ah, const uint8_t *ahash, uint64_t bh, const uint8_t *bhash)
{
    if (ah != bh)
        return ah < bh ? -1 : 1;
    return memcmp(ahash, bhash, STORE_HASH_LEN);
}

/*
 * Apply one queued entry: its status (enum dom_status), or a KN_E code. Its header was read when it
 * got its height, so only the payload is read here, and only for a known event type: applying reads
 * the log in the order of heights, which jumps between feeds, so every read saved is a page not
 * fetched.
 */
static int apply_one(struct store *s, const struct dom_item *it, const uint8_t hub[STORE_KEY_LEN],
                     struct store_entry *e, struct dom_ctx *c)
{
    sqlite3_stmt *st = NULL;
    const uint8_t *payload = NULL;
    size_t plen = 0;
    bool purged = false;
    int r, status;

    memset(c, 0, sizeof(*c));
    memcpy(e->author, it->k.author, STORE_KEY_LEN);
    e->seq = it->k.seq;
    memcpy(e->hash, it->k.hash, STORE_HASH_LEN);
    memcpy(e->type, it->type, sizeof(e->type));
    e->timestamp_ms = it->timestamp_ms;
    c->s = s;
    c->e = e;
    c->ev = store__dom_event(e->type);
    if (c->ev) {
        r = s_row(s, &st, "SELECT body FROM payloads WHERE author = ?1 AND seq = ?2", "bi",
                  e->author, (int64_t)e->seq);
        if (r < 0)
            return r;
        if (r == 1) {
            /* Read in place: nothing below steps this statement again before dom_done. */
            payload = sqlite3_column_blob(st, 0);
            plen = (size_t)sqlite3_column_bytes(st, 0);
        } else {
            st = NULL;
            purged = store__purged(s, e->author, e->seq);
        }
    }
    /* Purged by the hub: applied, as it was where it came before the purge; the purge itself
     * then sets what the state keeps (events.c, payload_purged). */
    if (purged)
        status = DOM_APPLIED;
    else if (!c->ev)
        status = dom_invalid(c, "unknown event type %s", e->type);
    else if ((status = parse_fields(c, payload, plen)) == 0 && (status = event_office(c)) == 0 &&
             (status = check_writer(c, hub)) == 0)
        status = c->ev->apply(c);
    if (status == DOM_APPLIED && !purged && c->ev->subject) {
        char id[DOM_MAX_TEXT + 1];
        if (dom_text(c, c->ev->subject, id, sizeof(id)))
            status = s_exec(s,
                            "INSERT OR REPLACE INTO p_subjects(kind, id, author, seq, hash)"
                            " VALUES (?1, ?2, ?3, ?4, ?5)",
                            "ttbib", c->ev->subject_kind, id, e->author, (int64_t)e->seq, e->hash);
    }
    if (st)
        dom_done(st);
    if (status < 0)
        return status;
    r = s_exec(s,
               "INSERT INTO p_applied(author, seq, hash, height, type, status, reason)"
               " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
               "bibitit", e->author, (int64_t)e->seq, e->hash, (int64_t)it->k.height, e->type,
               (int64_t)status, status == DOM_APPLIED ? "" : c->reason);
    return r < 0 ? r : status;
}

/* ---- the order: a height for every held entry, in the table heights ---- */

/* A feed as the resolver sees it. Its entries with a height are always a prefix of it. */
struct rfeed {
    uint8_t author[STORE_KEY_LEN];
    uint64_t next;        /* the first seq without a height */
    uint64_t end;         /* one past the last seq that may get one: the tip, or the first fork */
    uint64_t last_height; /* of next - 1; 0 before the first entry */
    bool on_stack;
    bool blocked; /* next waits for a parent that is not held, forked, or itself waiting */
};

struct resolver {
    struct rfeed *f; /* sorted by author */
    size_t n;
    struct {
        size_t feed;
        uint64_t upto;
    } * stack;
    size_t top;
};

static void resolver_free(struct resolver *rv)
{
    free(rv->f);
    free(rv->stack);
    memset(rv, 0, sizeof(*rv));
}

static int load_feeds(struct store *s, struct resolver *rv)
{
    sqlite3_stmt *st;
    size_t cap = 0;
    int rc = SQLITE_DONE;

    memset(rv, 0, sizeof(*rv));
    int r =
        s_row(s, &st,
              "SELECT f.author,"
              " (SELECT max(seq) FROM log l WHERE l.author = f.author),"
              " (SELECT min(seq) FROM forks k WHERE k.author = f.author),"
              " (SELECT seq FROM heights h WHERE h.author = f.author ORDER BY seq DESC LIMIT 1),"
              " (SELECT height FROM heights h WHERE h.author = f.author"
              "  ORDER BY seq DESC LIMIT 1),"
              " (SELECT revoked_from FROM t_nodes t WHERE t.node = f.author)"
              " FROM feeds f ORDER BY f.author",
              "");
    if (r <= 0)
        return r;
    do {
        if (sqlite3_column_bytes(st, 0) != STORE_KEY_LEN)
            continue;
        if (rv->n == cap) {
            cap = cap ? 2 * cap : 64;
            rv->f = kn_xrealloc(rv->f, cap * sizeof(*rv->f));
        }
        struct rfeed *f = &rv->f[rv->n++];
        memset(f, 0, sizeof(*f));
        memcpy(f->author, sqlite3_column_blob(st, 0), STORE_KEY_LEN);
        f->end = (uint64_t)sqlite3_column_int64(st, 1) + 1;
        if (sqlite3_column_type(st, 2) != SQLITE_NULL &&
            (uint64_t)sqlite3_column_int64(st, 2) < f->end)
            f->end = (uint64_t)sqlite3_column_int64(st, 2);
        /* A revoked key's entries from its revocation on are cut, as a fork is. */
        if (sqlite3_column_type(st, 5) != SQLITE_NULL &&
            (uint64_t)sqlite3_column_int64(st, 5) < f->end)
            f->end = (uint64_t)sqlite3_column_int64(st, 5);
        f->next = (uint64_t)sqlite3_column_int64(st, 3) + 1;
        f->last_height = (uint64_t)sqlite3_column_int64(st, 4);
    } while ((rc = sqlite3_step(st)) == SQLITE_ROW);
    dom_done(st);
    if (rc != SQLITE_DONE)
        return store__db_err(rc);
    rv->stack = kn_xmalloc((rv->n ? rv->n : 1) * sizeof(*rv->stack));
    return 0;
}

static struct rfeed *find_feed(struct resolver *rv, const uint8_t *author)
{
    size_t lo = 0, hi = rv->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = memcmp(rv->f[mid].author, author, STORE_KEY_LEN);
        if (c == 0)
            return &rv->f[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static void push(struct resolver *rv, struct rfeed *f, uint64_t upto)
{
    f->on_stack = true;
    rv->stack[rv->top].feed = (size_t)(f - rv->f);
    rv->stack[rv->top++].upto = upto;
}

/* A parent that has a height: raise *h to it, or set *wait when it is held under another hash. */
static int parent_height(struct store *s, const struct store_entry_id *d, uint64_t *h, bool *wait)
{
    sqlite3_stmt *st;
    int r = s_row(s, &st, "SELECT hash, height FROM heights WHERE author = ?1 AND seq = ?2", "bi",
                  d->author, (int64_t)d->seq);
    if (r <= 0)
        return r == 0 ? KN_ECORRUPT : r;
    if (sqlite3_column_bytes(st, 0) != STORE_HASH_LEN ||
        memcmp(sqlite3_column_blob(st, 0), d->hash, STORE_HASH_LEN) != 0)
        *wait = true;
    uint64_t ph = (uint64_t)sqlite3_column_int64(st, 1);
    *h = ph > *h ? ph : *h;
    dom_done(st);
    return 0;
}

/* A read cursor over one feed of the log: a walk along a feed steps it, a jump seeks. */
struct feed_cursor {
    sqlite3_stmt *st;
    const struct rfeed *f; /* the feed it is on, NULL when on none */
    uint64_t seq;          /* the seq of the row it is on */
};

/* Decode the entry f->next of feed f into *e. */
static int read_next(struct feed_cursor *cur, const struct rfeed *f, struct store_entry *e)
{
    int rc = SQLITE_ROW;
    if (cur->f == f && cur->seq + 1 == f->next)
        rc = sqlite3_step(cur->st);
    else if (cur->f != f || cur->seq != f->next) {
        sqlite3_reset(cur->st);
        sqlite3_bind_blob(cur->st, 1, f->author, STORE_KEY_LEN, SQLITE_STATIC);
        sqlite3_bind_int64(cur->st, 2, (int64_t)f->next);
        rc = sqlite3_step(cur->st);
    }
    cur->f = NULL;
    if (rc != SQLITE_ROW)
        return rc == SQLITE_DONE ? KN_ECORRUPT : store__db_err(rc);
    if ((uint64_t)sqlite3_column_int64(cur->st, 0) != f->next)
        return KN_ECORRUPT; /* a gap in a feed: ingest never leaves one */
    cur->f = f;
    cur->seq = f->next;
    return store_entry_decode(sqlite3_column_blob(cur->st, 1),
                              (size_t)sqlite3_column_bytes(cur->st, 1), e);
}

/*
 * Give heights to held entries that have none, at most budget of them (*count says how many).
 * Each feed is walked from its first entry without a height; an entry whose dep lies further on
 * in another feed first walks that feed up to it (depth-first, a feed at most once on the
 * stack, so memory is bounded by the number of feeds). An entry waits, and with it the rest of
 * its feed, when a parent is not held, is held under another hash, is at or past a fork, waits
 * itself, or is part of a cycle (which only forged deps can make).
 */
static int resolve(struct store *s, struct resolver *rv, size_t budget, size_t *count)
{
    struct store_entry *e = kn_xmalloc(sizeof(*e));
    struct feed_cursor cur = { 0 };
    int r = prepare(s, "SELECT seq, header FROM log WHERE author = ?1 AND seq >= ?2 ORDER BY seq",
                    &cur.st);

    *count = 0;
    for (size_t root = 0; root < rv->n && r == 0 && *count < budget; root++) {
        if (rv->f[root].blocked || rv->f[root].next >= rv->f[root].end)
            continue;
        push(rv, &rv->f[root], UINT64_MAX);
        while (rv->top > 0 && r == 0) {
            struct rfeed *f = &rv->f[rv->stack[rv->top - 1].feed];
            if (f->blocked || f->next >= f->end || f->next > rv->stack[rv->top - 1].upto) {
                f->on_stack = false;
                rv->top--;
                continue;
            }
            if (*count >= budget)
                break;
            if ((r = read_next(&cur, f, e)) < 0)
                break;
            /* The entry before it in the feed is a parent too; ingest checked its hash. */
            uint64_t h = f->last_height;
            bool wait = false, pushed = false;
            for (size_t i = 0; i < e->ndeps && !wait && !pushed && r == 0; i++) {
                const struct store_entry_id *d = &e->deps[i];
                struct rfeed *g = find_feed(rv, d->author);
                if (!g || d->seq == 0)
                    wait = true;
                else if (d->seq < g->next)
                    r = parent_height(s, d, &h, &wait);
                else if (g->on_stack || g->blocked || d->seq >= g->end)
                    wait = true;
                else {
                    push(rv, g, d->seq);
                    pushed = true;
                }
            }
            if (r < 0 || pushed)
                continue;
            if (wait) {
                f->blocked = true;
                continue;
            }
            h++;
            r = s_exec(s,
                       "INSERT INTO heights(author, seq, hash, height, type, ts)"
                       " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                       "bibiti", e->author, (int64_t)e->seq, e->hash, (int64_t)h, e->type,
                       (int64_t)e->timestamp_ms);
            if (r == 0)
                r = s_exec(s,
                           "INSERT INTO heights_fresh(height, hash, author, seq, type, ts)"
                           " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                           "ibbiti", (int64_t)h, e->hash, e->author, (int64_t)e->seq, e->type,
                           (int64_t)e->timestamp_ms);
            f->next++;
            f->last_height = h;
            (*count)++;
        }
        while (rv->top > 0)
            rv->f[rv->stack[--rv->top].feed].on_stack = false;
    }
    if (cur.st)
        sqlite3_reset(cur.st);
    free(e);
    return r;
}

/* ---- the queue: entries with a height, not yet applied, in order ---- */

/* The last entry applied: 1 and *k, 0 when none is, or a KN_E code. */
static int frontier_get(struct store *s, struct dom_key *k)
{
    sqlite3_stmt *st;
    int r = s_row(s, &st,
                  "SELECT author, seq, hash, height FROM dom_cursor WHERE name = 'frontier'", "");
    if (r <= 0)
        return r;
    memset(k, 0, sizeof(*k));
    if (sqlite3_column_bytes(st, 0) == STORE_KEY_LEN &&
        sqlite3_column_bytes(st, 2) == STORE_HASH_LEN) {
        memcpy(k->author, sqlite3_column_blob(st, 0), STORE_KEY_LEN);
        memcpy(k->hash, sqlite3_column_blob(st, 2), STORE_HASH_LEN);
    }
    k->seq = (uint64_t)sqlite3_column_int64(st, 1);
    k->height = (uint64_t)sqlite3_column_int64(st, 3);
    dom_done(st);
    return 1;
}

static int frontier_set(struct store *s, const struct dom_key *k)
{
    return s_exec(s,
                  "INSERT OR REPLACE INTO dom_cursor(name, author, seq, hash, height)"
                  " VALUES ('frontier', ?1, ?2, ?3, ?4)",
                  "bibi", k->author, (int64_t)k->seq, k->hash, (int64_t)k->height);
}

static int sql(struct store *s, const char *text)
{
    return store__db_err(sqlite3_exec(s->db, text, NULL, NULL, NULL));
}

/*
 * Start the projection again: clear it and queue every entry with a height, in order. The
 * sorted bulk insert writes the queue front to back (SQLite sorts in bounded memory, spilling to
 * temporary files), which is far cheaper than keeping an order index while heights are given
 * feed by feed.
 */
static int rebuild_projection(struct store *s)
{
    char text[64];
    int r;
    for (size_t i = 0; i < NPROJECTION; i++) {
        snprintf(text, sizeof(text), "DELETE FROM %s", projection[i][0]);
        if ((r = sql(s, text)) < 0)
            return r;
    }
    if ((r = sql(s, "DELETE FROM dom_cursor")) < 0 || (r = sql(s, "DELETE FROM dom_counts")) < 0 ||
        (r = sql(s, "DELETE FROM dom_queue")) < 0 ||
        (r = sql(s, "INSERT INTO dom_queue(height, hash, author, seq, type, ts)"
                    " SELECT height, hash, author, seq, type, ts FROM heights"
                    " ORDER BY height, hash")) < 0)
        return r;
    return sql(s, "DELETE FROM heights_fresh");
}

/*
 * Queue what was given a height since the last time: after what is queued when it all sorts
 * after the last entry applied, else by starting the projection again.
 */
static int enqueue_fresh(struct store *s, bool *rebuilt)
{
    struct dom_key frontier;
    sqlite3_stmt *st;
    int r =
        s_row(s, &st, "SELECT height, hash FROM heights_fresh ORDER BY height, hash LIMIT 1", "");
    if (r <= 0)
        return r;
    uint64_t h = (uint64_t)sqlite3_column_int64(st, 0);
    uint8_t hash[STORE_HASH_LEN] = { 0 };
    if (sqlite3_column_bytes(st, 1) == STORE_HASH_LEN)
        memcpy(hash, sqlite3_column_blob(st, 1), STORE_HASH_LEN);
    dom_done(st);
    if ((r = frontier_get(s, &frontier)) < 0)
        return r;
    if (r == 1 && key_cmp(h, hash, frontier.height, frontier.hash) < 0) {
        *rebuilt = true;
        return rebuild_projection(s);
    }
    if ((r = s_exec(s,
                    "INSERT INTO dom_queue(height, hash, author, seq, type, ts)"
                    " SELECT height, hash, author, seq, type, ts FROM heights_fresh"
                    " ORDER BY height, hash",
                    "")) < 0)
        return r;
    return s_exec(s, "DELETE FROM heights_fresh", "");
}

/* Apply queued entries in order, at most budget of them; *more when some are left. */
#define APPLY_CHUNK 256

static int apply_queued(struct store *s, const uint8_t hub[STORE_KEY_LEN], size_t budget,
                        size_t *count, bool *more)
{
    struct dom_item *items = kn_xmalloc(APPLY_CHUNK * sizeof(*items));
    struct store_entry *e = kn_xmalloc(sizeof(*e));
    struct dom_ctx *c = kn_xmalloc(sizeof(*c));
    int r = 0;

    *count = 0;
    *more = false;
    for (;;) {
        size_t n = 0, want = budget - *count < APPLY_CHUNK ? budget - *count : APPLY_CHUNK;
        sqlite3_stmt *st;
        int rc = SQLITE_DONE;
        r = s_row(s, &st,
                  "SELECT author, seq, hash, height, type, ts FROM dom_queue"
                  " ORDER BY height, hash LIMIT ?1",
                  "i", (int64_t)(want ? want : 1));
        if (r == 1) {
            do {
                struct dom_item *it = &items[n++];
                if (sqlite3_column_bytes(st, 0) != STORE_KEY_LEN ||
                    sqlite3_column_bytes(st, 2) != STORE_HASH_LEN) {
                    rc = SQLITE_CORRUPT;
                    break;
                }
                memcpy(it->k.author, sqlite3_column_blob(st, 0), STORE_KEY_LEN);
                it->k.seq = (uint64_t)sqlite3_column_int64(st, 1);
                memcpy(it->k.hash, sqlite3_column_blob(st, 2), STORE_HASH_LEN);
                it->k.height = (uint64_t)sqlite3_column_int64(st, 3);
                snprintf(it->type, sizeof(it->type), "%s",
                         (const char *)sqlite3_column_text(st, 4));
                it->timestamp_ms = (uint64_t)sqlite3_column_int64(st, 5);
            } while ((rc = sqlite3_step(st)) == SQLITE_ROW);
            dom_done(st);
            r = rc == SQLITE_DONE ? 0 : store__db_err(rc);
        }
        if (r < 0 || n == 0)
            break;
        if (want == 0) {
            *more = true;
            break;
        }
        int64_t nconflict = 0, ninvalid = 0;
        for (size_t i = 0; i < n && r >= 0; i++) {
            r = apply_one(s, &items[i], hub, e, c);
            nconflict += r == DOM_CONFLICT;
            ninvalid += r == DOM_INVALID;
        }
        if (r < 0)
            break;
        /* Statuses only change when the projection starts again, which clears the counts. */
        if ((nconflict || ninvalid) &&
            (r = s_exec(s,
                        "INSERT INTO dom_counts(one, conflicts, invalid) VALUES (1, ?1, ?2)"
                        " ON CONFLICT(one) DO UPDATE SET conflicts = conflicts + ?1,"
                        " invalid = invalid + ?2",
                        "ii", nconflict, ninvalid)) < 0)
            break;
        const struct dom_key *last = &items[n - 1].k;
        if ((r = s_exec(s, "DELETE FROM dom_queue WHERE (height, hash) <= (?1, ?2)", "ib",
                        (int64_t)last->height, last->hash)) < 0 ||
            (r = frontier_set(s, last)) < 0)
            break;
        *count += n;
    }
    free(items);
    free(e);
    free(c);
    return r < 0 ? r : 0;
}

/*
 * One step: take back what a late fork proof invalidates, give heights to what arrived, and
 * once every held entry that can have one has it, apply them in order (starting the projection
 * again when one sorts before what was applied). At most about budget entries of work; *more
 * says whether work is left. Runs inside a transaction.
 */
static int process(struct store *s, bool force_rebuild, size_t budget,
                   struct store_domain_stats *stats, bool *more)
{
    uint8_t hub[STORE_KEY_LEN];
    struct resolver rv = { 0 };
    struct dom_key frontier;
    sqlite3_stmt *st;
    size_t resolved = 0, applied = 0;
    int r;

    *more = false;
    if ((r = hub_id(s, hub)) < 0)
        return r;
    if (force_rebuild) {
        if ((r = sql(s, "DELETE FROM heights")) < 0 || (r = rebuild_projection(s)) < 0)
            return r;
        stats->rebuilt = true;
    }
    /* A fork proof (or a revocation) that arrived after entries at or past the fork got heights:
     * every entry that depends on them has a greater height, so dropping the heights from the
     * lowest of them on takes back exactly enough; the state must be what it would be had the proof
     * come first. */
    if ((r = s_row(s, &st,
                   "SELECT min(h.height) FROM (SELECT author, seq FROM forks UNION ALL"
                   " SELECT node, revoked_from FROM t_nodes WHERE revoked_from IS NOT NULL) f"
                   " JOIN heights h ON h.author = f.author AND h.seq >= f.seq",
                   "")) < 0)
        return r;
    if (r == 1) {
        int64_t cut = sqlite3_column_type(st, 0) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, 0);
        dom_done(st);
        if (cut > 0) {
            if ((r = s_exec(s, "DELETE FROM heights WHERE height >= ?1", "i", cut)) < 0 ||
                (r = s_exec(s, "DELETE FROM heights_fresh WHERE height >= ?1", "i", cut)) < 0 ||
                (r = s_exec(s, "DELETE FROM dom_queue WHERE height >= ?1", "i", cut)) < 0 ||
                (r = frontier_get(s, &frontier)) < 0)
                return r;
            if (r == 1 && frontier.height >= (uint64_t)cut) {
                if ((r = rebuild_projection(s)) < 0)
                    return r;
                stats->rebuilt = true;
            }
        }
    }

    if ((r = load_feeds(s, &rv)) < 0 || (r = resolve(s, &rv, budget, &resolved)) < 0)
        goto out;
    stats->waiting = 0;
    for (size_t i = 0; i < rv.n; i++) {
        if (rv.f[i].next < rv.f[i].end && !rv.f[i].blocked)
            *more = true; /* the budget ran out before this feed */
        else if (rv.f[i].blocked)
            stats->waiting += rv.f[i].end - rv.f[i].next;
    }
    /* Entries of keys the hub has not enrolled (yet) wait too, outside the log (trust.c). */
    if ((r = s_row(s, &st, "SELECT count(*) FROM t_held", "")) < 0)
        goto out;
    if (r == 1) {
        stats->waiting += (size_t)sqlite3_column_int64(st, 0);
        dom_done(st);
    }
    r = 0;
    if (*more)
        goto out;

    /* Every entry that can have a height has one: queue them, and apply. */
    if ((r = enqueue_fresh(s, &stats->rebuilt)) < 0)
        goto out;
    r = apply_queued(s, hub, budget > resolved ? budget - resolved : 0, &applied, more);
    stats->applied += applied;
    if (r < 0)
        goto out;
    stats->conflicts = stats->invalid = 0;
    if ((r = s_row(s, &st, "SELECT conflicts, invalid FROM dom_counts", "")) == 1) {
        stats->conflicts = (size_t)sqlite3_column_int64(st, 0);
        stats->invalid = (size_t)sqlite3_column_int64(st, 1);
        dom_done(st);
    }
    r = r < 0 ? r : 0;
out:
    resolver_free(&rv);
    return r;
}

/* The work of one transaction when store_domain_sync runs on its own. */
#define SYNC_STEP 50000

int store_domain_step(struct store *s, size_t budget, struct store_domain_stats *stats, bool *more)
{
    struct store_domain_stats local;
    struct store_domain_stats *st = stats ? stats : &local;
    bool m;
    int r;

    memset(st, 0, sizeof(*st));
    if (budget == 0)
        budget = 1;
    if (s->in_tx)
        r = process(s, false, budget, st, &m);
    else if ((r = store_tx_begin(s)) == 0) {
        if ((r = process(s, false, budget, st, &m)) < 0)
            store_tx_rollback(s);
        else
            r = store_tx_commit(s);
    }
    if (more)
        *more = r == 0 && m;
    return r;
}

int store_domain_sync(struct store *s, bool rebuild, struct store_domain_stats *stats)
{
    struct store_domain_stats local;
    struct store_domain_stats *st = stats ? stats : &local;
    bool more;
    int r;

    memset(st, 0, sizeof(*st));
    if (s->in_tx)
        return process(s, rebuild, SIZE_MAX, st, &more);
    /* In bounded transactions: each leaves a consistent state (a prefix of the order applied),
     * a crash loses only the step in progress, and other writers are not held off for long. */
    do {
        if ((r = store_tx_begin(s)) < 0)
            return r;
        if ((r = process(s, rebuild, SYNC_STEP, st, &more)) < 0) {
            store_tx_rollback(s);
            return r;
        }
        if ((r = store_tx_commit(s)) < 0)
            return r;
        rebuild = false;
    } while (more);
    return 0;
}

/* ---- writing ---- */

int store_domain_write(struct store *s, const char *type, const uint8_t *payload, size_t len,
                       uint64_t timestamp_ms, struct store_entry *out, char *reason, size_t rsize)
{
    const struct dom_event *ev = store__dom_event(type);
    struct store_entry_id deps[2];
    struct store_domain_stats stats;
    struct dom_ctx *c = NULL;
    struct store_entry local;
    struct store_entry *e = out ? out : &local;
    sqlite3_stmt *st;
    size_t ndeps = 0;
    uint8_t hub[STORE_KEY_LEN];
    int r;

    if (reason && rsize)
        reason[0] = '\0';
    if (!ev) {
        if (reason)
            snprintf(reason, rsize, "unknown event type %s", type);
        return KN_EREFUSED;
    }
    if ((r = hub_id(s, hub)) < 0)
        return r;
    /* Inside the caller's transaction (several events as one), a savepoint undoes a refusal. */
    bool own_tx = !s->in_tx;
    if ((r = own_tx ? store_tx_begin(s)
                    : store__db_err(
                          sqlite3_exec(s->db, "SAVEPOINT domain_write", NULL, NULL, NULL))) < 0)
        return r;
    bool more;
    memset(&stats, 0, sizeof(stats));
    if ((r = process(s, false, SIZE_MAX, &stats, &more)) < 0)
        goto fail;

    /* Depend on the last entry that moved this object, and on the last entry applied. */
    c = kn_xcalloc(1, sizeof(*c));
    c->s = s;
    c->ev = ev;
    if (parse_fields(c, payload, len) != 0) {
        if (reason)
            snprintf(reason, rsize, "%s", c->reason);
        r = KN_EREFUSED;
        goto fail;
    }
    char id[DOM_MAX_TEXT + 1];
    if (ev->subject && dom_text(c, ev->subject, id, sizeof(id))) {
        r = s_row(s, &st, "SELECT author, seq, hash FROM p_subjects WHERE kind = ?1 AND id = ?2",
                  "tt", ev->subject_kind, id);
        if (r < 0)
            goto fail;
        if (r == 1) {
            memcpy(deps[ndeps].author, sqlite3_column_blob(st, 0), STORE_KEY_LEN);
            deps[ndeps].seq = (uint64_t)sqlite3_column_int64(st, 1);
            memcpy(deps[ndeps].hash, sqlite3_column_blob(st, 2), STORE_HASH_LEN);
            ndeps++;
            dom_done(st);
        }
    }
    struct dom_key frontier;
    if ((r = frontier_get(s, &frontier)) < 0)
        goto fail;
    if (r == 1) {
        memcpy(deps[ndeps].author, frontier.author, STORE_KEY_LEN);
        deps[ndeps].seq = frontier.seq;
        memcpy(deps[ndeps].hash, frontier.hash, STORE_HASH_LEN);
        /* Our own previous entry is a parent anyway; so is a repeat of the subject's. */
        bool own = memcmp(deps[ndeps].author, s->id->pk, STORE_KEY_LEN) == 0;
        bool dup = ndeps == 1 && memcmp(&deps[0], &deps[1], sizeof(deps[0])) == 0;
        if (!own && !dup)
            ndeps++;
    }

    struct store_draft d = { type, timestamp_ms, deps, ndeps, payload, len };
    if ((r = store_append(s, &d, e)) == KN_EUNAUTHORISED || r == KN_EREVOKED) {
        /* What every other node would refuse (store/trust.c), said as the rules say it. */
        if (reason && r == KN_EREVOKED)
            snprintf(reason, rsize, "the hub revoked this node's key");
        else if (reason && !(ev->writers & (DOM_W_OFFICE | DOM_W_MOBILE)))
            snprintf(reason, rsize, "only the hub may write %s", type);
        else if (reason) {
            struct store_trust t;
            bool known = s->id && store_trust_node(s, s->id->pk, &t) == 0;
            snprintf(reason, rsize, "a %s node may not write %s", known ? t.role : "such a", type);
        }
        r = KN_EREFUSED;
        goto fail;
    }
    if (r < 0)
        goto fail;
    if ((r = process(s, false, SIZE_MAX, &stats, &more)) < 0)
        goto fail;
    r = s_row(s, &st,
              "SELECT a.status, a.reason FROM heights h JOIN p_applied a"
              " ON a.height = h.height AND a.hash = h.hash WHERE h.author = ?1 AND h.seq = ?2",
              "bi", e->author, (int64_t)e->seq);
    if (r < 0)
        goto fail;
    if (r == 0 || sqlite3_column_int(st, 0) != DOM_APPLIED) {
        if (reason)
            snprintf(reason, rsize, "%s",
                     r == 0 ? "the entry could not be applied (its dependencies are missing)"
                            : (const char *)sqlite3_column_text(st, 1));
        if (r == 1)
            dom_done(st);
        r = KN_EREFUSED;
        goto fail;
    }
    dom_done(st);
    free(c);
    if (!own_tx)
        return store__db_err(sqlite3_exec(s->db, "RELEASE domain_write", NULL, NULL, NULL));
    return store_tx_commit(s);
fail:
    free(c);
    if (own_tx) {
        store_tx_rollback(s);
    } else {
        sqlite3_exec(s->db, "ROLLBACK TO domain_write", NULL, NULL, NULL);
        sqlite3_exec(s->db, "RELEASE domain_write", NULL, NULL, NULL);
    }
    return r;
}

/* ---- the digest ---- */

int store_domain_digest(struct store *s, uint8_t out[STORE_HASH_LEN])
{
    crypto_generichash_state h;
    char sql[128];
    int r = 0;

    crypto_generichash_init(&h, NULL, 0, STORE_HASH_LEN);
    for (size_t t = 0; t < NPROJECTION && r == 0; t++) {
        sqlite3_stmt *st = NULL;
        snprintf(sql, sizeof(sql), "SELECT * FROM %s ORDER BY %s", projection[t][0],
                 projection[t][1]);
        crypto_generichash_update(&h, (const uint8_t *)projection[t][0],
                                  strlen(projection[t][0]) + 1);
        r = store__db_err(sqlite3_prepare_v2(s->db, sql, -1, &st, NULL));
        int rc;
        while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
            int ncol = sqlite3_column_count(st);
            for (int i = 0; i < ncol; i++) {
                /* Each value as: type byte, 8-byte length, bytes (integers as 8 bytes BE). */
                uint8_t tag = (uint8_t)sqlite3_column_type(st, i), len[8], num[8];
                const uint8_t *p = NULL;
                uint64_t n = 0;
                if (tag == SQLITE_INTEGER) {
                    uint64_t v = (uint64_t)sqlite3_column_int64(st, i);
                    for (int k = 0; k < 8; k++)
                        num[k] = (uint8_t)(v >> (56 - 8 * k));
                    p = num;
                    n = 8;
                } else if (tag == SQLITE_TEXT || tag == SQLITE_BLOB) {
                    p = tag == SQLITE_TEXT ? sqlite3_column_text(st, i)
                                           : sqlite3_column_blob(st, i);
                    n = (uint64_t)sqlite3_column_bytes(st, i);
                }
                for (int k = 0; k < 8; k++)
                    len[k] = (uint8_t)(n >> (56 - 8 * k));
                crypto_generichash_update(&h, &tag, 1);
                crypto_generichash_update(&h, len, 8);
                if (n)
                    crypto_generichash_update(&h, p, n);
            }
        }
        if (r == 0 && rc != SQLITE_DONE)
            r = store__db_err(rc);
        sqlite3_finalize(st);
    }
    crypto_generichash_final(&h, out, STORE_HASH_LEN);
    return r;
}
