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
 * the projection is cleared and rebuilt from the log. Entries this node writes depend on the last
 * applied entry (the "frontier" dep), so local writes always take the incremental path.
 */
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
    { "p_applied", "author, seq" },
    { "p_subjects", "kind, id" },
    { "p_nodes", "node" },
    { "p_offices", "office" },
    { "p_admins", "office, admin" },
    { "p_orders", "order_id" },
    { "p_appointments", "appointment" },
    { "p_meetings", "order_id, n" },
    { "p_reserves", "reserve" },
    { "p_catalogue", "entry" },
    { "p_invoices", "office, month" },
};
#define NPROJECTION (sizeof(projection) / sizeof(projection[0]))

#define DOM_NCACHE 96

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

void dom_month(uint64_t ms, char out[8])
{
    int64_t y;
    unsigned m, d;
    civil_from_days((int64_t)(ms / 86400000), &y, &m, &d);
    /* Swedish time: UTC+2 from 01:00 UTC on the last Sunday of March to 01:00 UTC on the last
     * Sunday of October, UTC+1 otherwise. Only the hour around midnight at a month's end moves. */
    uint64_t summer_from = (uint64_t)last_sunday(y, 3) * 86400000 + 3600000;
    uint64_t summer_to = (uint64_t)last_sunday(y, 10) * 86400000 + 3600000;
    uint64_t local = ms + (ms >= summer_from && ms < summer_to ? 7200000 : 3600000);
    civil_from_days((int64_t)(local / 86400000), &y, &m, &d);
    unsigned yy = (unsigned)(y % 10000);
    out[0] = (char)('0' + yy / 1000);
    out[1] = (char)('0' + yy / 100 % 10);
    out[2] = (char)('0' + yy / 10 % 10);
    out[3] = (char)('0' + yy % 10);
    out[4] = '-';
    out[5] = (char)('0' + m / 10);
    out[6] = (char)('0' + m % 10);
    out[7] = '\0';
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
    char node[STORE_ID_HEX_LEN + 1];
    sqlite3_stmt *st;
    int r;

    if (sodium_memcmp(c->e->author, hub, STORE_KEY_LEN) == 0)
        return (c->ev->writers & DOM_W_HUB)
                   ? 0
                   : dom_invalid(c, "the hub may not write %s", c->ev->type);
    if (!(c->ev->writers & (DOM_W_OFFICE | DOM_W_MOBILE)))
        return dom_invalid(c, "only the hub may write %s", c->ev->type);
    store_hex(c->e->author, STORE_KEY_LEN, node);
    r = dom_row(c, &st, "SELECT role, office FROM p_nodes WHERE node = ?1", "t", node);
    if (r < 0)
        return r;
    if (r == 0)
        return dom_invalid(c, "the writer is not a node bound to an office by the hub");
    bool office_role = strcmp((const char *)sqlite3_column_text(st, 0), "office") == 0;
    bool same = strcmp((const char *)sqlite3_column_text(st, 1), c->office) == 0;
    dom_done(st);
    if (!(c->ev->writers & (office_role ? DOM_W_OFFICE : DOM_W_MOBILE)))
        return dom_invalid(c, "a %s node may not write %s", office_role ? "office" : "mobile",
                           c->ev->type);
    if (!same)
        return dom_invalid(c, "the writer is not bound to office %s",
                           c->office[0] ? c->office : "(none)");
    return 0;
}

/* ---- applying one entry ---- */

struct pending {
    uint8_t author[STORE_KEY_LEN];
    uint64_t seq;
    uint8_t hash[STORE_HASH_LEN];
    uint64_t height; /* 0 while unknown */
    bool waiting;
    size_t indeg;
    size_t first_parent; /* into the shared parents array */
    size_t nparents;
};

/* The entries to order: kept compact, as a sync may take every entry held. */
struct pending_set {
    struct pending *v;
    size_t n, cap;
    struct store_entry_id *parents;
    size_t nparents, parents_cap;
};

static void set_free(struct pending_set *set)
{
    free(set->v);
    free(set->parents);
    memset(set, 0, sizeof(*set));
}

static void add_parent(struct pending_set *set, const uint8_t *author, uint64_t seq,
                       const uint8_t *hash)
{
    if (set->nparents == set->parents_cap) {
        set->parents_cap = set->parents_cap ? 2 * set->parents_cap : 512;
        set->parents = kn_xrealloc(set->parents, set->parents_cap * sizeof(*set->parents));
    }
    struct store_entry_id *d = &set->parents[set->nparents++];
    memcpy(d->author, author, STORE_KEY_LEN);
    d->seq = seq;
    memcpy(d->hash, hash, STORE_HASH_LEN);
}

static int apply_one(struct store *s, const struct pending *p, const uint8_t hub[STORE_KEY_LEN])
{
    struct store_entry *e = kn_xmalloc(sizeof(*e));
    struct dom_ctx *c = kn_xcalloc(1, sizeof(*c));
    sqlite3_stmt *st;
    int r, status;

    c->s = s;
    c->e = e;
    r = s_row(s, &st,
              "SELECT l.header, p.body FROM log l LEFT JOIN payloads p"
              " ON p.author = l.author AND p.seq = l.seq WHERE l.author = ?1 AND l.seq = ?2",
              "bi", p->author, (int64_t)p->seq);
    if (r <= 0) {
        r = r == 0 ? KN_ECORRUPT : r;
        goto out;
    }
    r = store_entry_decode(sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0), e);
    size_t plen = (size_t)sqlite3_column_bytes(st, 1);
    uint8_t *payload = kn_xmalloc(plen ? plen : 1);
    if (plen)
        memcpy(payload, sqlite3_column_blob(st, 1), plen);
    dom_done(st);
    if (r < 0) {
        free(payload);
        goto out;
    }

    c->ev = store__dom_event(e->type);
    if (!c->ev)
        status = dom_invalid(c, "unknown event type %s", e->type);
    else if ((status = parse_fields(c, payload, plen)) == 0 && (status = event_office(c)) == 0 &&
             (status = check_writer(c, hub)) == 0)
        status = c->ev->apply(c);
    if (status == DOM_APPLIED && c->ev->subject) {
        char id[DOM_MAX_TEXT + 1];
        if (dom_text(c, c->ev->subject, id, sizeof(id)))
            status = s_exec(s,
                            "INSERT OR REPLACE INTO p_subjects(kind, id, author, seq, hash)"
                            " VALUES (?1, ?2, ?3, ?4, ?5)",
                            "ttbib", c->ev->subject_kind, id, e->author, (int64_t)e->seq, e->hash);
    }
    free(payload);
    if (status < 0) {
        r = status;
        goto out;
    }
    r = s_exec(s,
               "INSERT INTO p_applied(author, seq, hash, height, type, status, reason)"
               " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
               "bibitit", e->author, (int64_t)e->seq, e->hash, (int64_t)p->height, e->type,
               (int64_t)status, status == DOM_APPLIED ? "" : c->reason);
out:
    free(e);
    free(c);
    return r;
}

/* ---- ordering ---- */

static int key_cmp(const uint8_t *a, uint64_t aseq, const uint8_t *b, uint64_t bseq)
{
    int c = memcmp(a, b, STORE_KEY_LEN);
    if (c)
        return c;
    return aseq < bseq ? -1 : aseq > bseq;
}

static int pending_cmp(const void *pa, const void *pb)
{
    const struct pending *a = pa, *b = pb;
    return key_cmp(a->author, a->seq, b->author, b->seq);
}

static int order_cmp(const void *pa, const void *pb)
{
    const struct pending *a = *(const struct pending *const *)pa;
    const struct pending *b = *(const struct pending *const *)pb;
    if (a->height != b->height)
        return a->height < b->height ? -1 : 1;
    return memcmp(a->hash, b->hash, STORE_HASH_LEN);
}

static struct pending *lookup(struct pending *v, size_t n, const uint8_t *author, uint64_t seq)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = key_cmp(v[mid].author, v[mid].seq, author, seq);
        if (c == 0)
            return &v[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/*
 * Load the held entries not yet applied (all of them when rebuilding), stopping each feed before
 * its first fork. What is applied of a feed is always a prefix of it (an entry is applied after
 * the one before it), so the pending part of a feed is everything after its last applied seq:
 * found by index, not by scanning the log.
 */
static int load_pending(struct store *s, bool all, struct pending_set *set)
{
    sqlite3_stmt *feeds = NULL, *st;
    struct store_entry *e = kn_xmalloc(sizeof(*e));
    int rc, r;

    memset(set, 0, sizeof(*set));
    r = store__db_err(
        sqlite3_prepare_v2(s->db, "SELECT author FROM feeds ORDER BY author", -1, &feeds, NULL));
    while (r == 0 && (rc = sqlite3_step(feeds)) == SQLITE_ROW) {
        uint8_t author[STORE_KEY_LEN];
        int64_t from = 0, before = INT64_MAX;
        if (sqlite3_column_bytes(feeds, 0) != STORE_KEY_LEN)
            continue;
        memcpy(author, sqlite3_column_blob(feeds, 0), STORE_KEY_LEN);
        if (!all && (r = s_row(s, &st, "SELECT max(seq) FROM p_applied WHERE author = ?1", "b",
                               author)) == 1) {
            from = sqlite3_column_int64(st, 0);
            dom_done(st);
        }
        if (r >= 0 &&
            (r = s_row(s, &st, "SELECT min(seq) FROM forks WHERE author = ?1", "b", author)) == 1) {
            if (sqlite3_column_type(st, 0) != SQLITE_NULL)
                before = sqlite3_column_int64(st, 0);
            dom_done(st);
        }
        if (r < 0)
            break;
        r = 0;
        int rr = s_row(s, &st,
                       "SELECT header FROM log WHERE author = ?1 AND seq > ?2 AND seq < ?3"
                       " ORDER BY seq",
                       "bii", author, from, before);
        if (rr == 1) {
            /* s_row stepped once; walk the rest of the rows on the same statement. */
            do {
                if ((r = store_entry_decode(sqlite3_column_blob(st, 0),
                                            (size_t)sqlite3_column_bytes(st, 0), e)) < 0)
                    break;
                if (set->n == set->cap) {
                    set->cap = set->cap ? 2 * set->cap : 256;
                    set->v = kn_xrealloc(set->v, set->cap * sizeof(*set->v));
                }
                struct pending *p = &set->v[set->n++];
                memset(p, 0, sizeof(*p));
                memcpy(p->author, e->author, STORE_KEY_LEN);
                p->seq = e->seq;
                memcpy(p->hash, e->hash, STORE_HASH_LEN);
                p->first_parent = set->nparents;
                if (e->seq > 1)
                    add_parent(set, e->author, e->seq - 1, e->prev_hash);
                for (size_t i = 0; i < e->ndeps; i++)
                    add_parent(set, e->deps[i].author, e->deps[i].seq, e->deps[i].hash);
                p->nparents = set->nparents - p->first_parent;
            } while ((rc = sqlite3_step(st)) == SQLITE_ROW);
            if (r == 0 && rc != SQLITE_DONE)
                r = store__db_err(rc);
            dom_done(st);
        }
        if (rr < 0)
            r = rr;
    }
    if (r == 0 && rc != SQLITE_DONE)
        r = store__db_err(rc);
    sqlite3_finalize(feeds);
    free(e);
    if (r < 0) {
        set_free(set);
        return r;
    }
    if (set->n > 1)
        qsort(set->v, set->n, sizeof(*set->v), pending_cmp);
    return 0;
}

/*
 * Give every pending entry its height, or mark it waiting: a parent not held, held under
 * another hash, or itself waiting. Parents already applied give their stored height.
 */
static int assign_heights(struct store *s, struct pending_set *set)
{
    struct pending *v = set->v;
    size_t n = set->n;
    size_t *stack = kn_xmalloc((n ? n : 1) * sizeof(*stack));
    int r = 0;

    /* Depth-first with an explicit stack: an entry is done when all its parents are. */
    for (size_t root = 0; root < n && r == 0; root++) {
        if (v[root].height || v[root].waiting)
            continue;
        size_t top = 0;
        stack[top++] = root;
        v[root].indeg = 1; /* on the stack */
        while (top > 0 && r == 0) {
            struct pending *p = &v[stack[top - 1]];
            uint64_t h = 0;
            bool pushed = false, waiting = false;
            for (size_t i = 0; i < p->nparents && !pushed && !waiting; i++) {
                const struct store_entry_id *par = &set->parents[p->first_parent + i];
                struct pending *q = lookup(v, n, par->author, par->seq);
                if (q) {
                    if (sodium_memcmp(q->hash, par->hash, STORE_HASH_LEN) != 0 || q->waiting) {
                        waiting = true;
                    } else if (q->height) {
                        h = q->height > h ? q->height : h;
                    } else if (q->indeg) {
                        waiting = true; /* a cycle: only a forged dep can make one */
                    } else {
                        q->indeg = 1;
                        stack[top++] = (size_t)(q - v);
                        pushed = true;
                    }
                    continue;
                }
                sqlite3_stmt *st;
                r = s_row(s, &st,
                          "SELECT height, hash FROM p_applied WHERE author = ?1 AND seq = ?2", "bi",
                          par->author, (int64_t)par->seq);
                if (r < 0)
                    break;
                if (r == 0) {
                    waiting = true;
                } else {
                    if (sqlite3_column_bytes(st, 1) != STORE_HASH_LEN ||
                        sodium_memcmp(sqlite3_column_blob(st, 1), par->hash, STORE_HASH_LEN) != 0)
                        waiting = true;
                    uint64_t ph = (uint64_t)sqlite3_column_int64(st, 0);
                    h = ph > h ? ph : h;
                    dom_done(st);
                }
                r = 0;
            }
            if (pushed || r < 0)
                continue;
            p->indeg = 0;
            if (waiting)
                p->waiting = true;
            else
                p->height = h + 1;
            top--;
        }
    }
    free(stack);
    return r;
}

static int clear_projection(struct store *s)
{
    char sql[64];
    for (size_t i = 0; i < NPROJECTION; i++) {
        snprintf(sql, sizeof(sql), "DELETE FROM %s", projection[i][0]);
        int r = store__db_err(sqlite3_exec(s->db, sql, NULL, NULL, NULL));
        if (r < 0)
            return r;
    }
    return 0;
}

/* Apply what is ready, in order; rebuild when it does not all come after what was applied. */
static int process(struct store *s, bool force_rebuild, struct store_domain_stats *stats)
{
    uint8_t hub[STORE_KEY_LEN];
    struct pending_set set = { 0 };
    struct pending **ready = NULL;
    size_t nready = 0;
    int r;

    memset(stats, 0, sizeof(*stats));
    if ((r = hub_id(s, hub)) < 0)
        return r;
    bool rebuild = force_rebuild;
    /* A fork proof that arrived after entries of its feed were applied takes them back: the
     * state must be what it would be had the proof come first. */
    if (!rebuild) {
        sqlite3_stmt *st;
        r = s_row(s, &st,
                  "SELECT 1 FROM forks f WHERE EXISTS (SELECT 1 FROM p_applied a"
                  " WHERE a.author = f.author AND a.seq >= f.seq) LIMIT 1",
                  "");
        if (r < 0)
            return r;
        if (r == 1) {
            dom_done(st);
            rebuild = true;
            stats->rebuilt = true;
        }
        r = 0;
    }
    for (int pass = 0; pass < 2; pass++) {
        if (rebuild && (r = clear_projection(s)) < 0)
            goto out;
        if ((r = load_pending(s, rebuild, &set)) < 0 || (r = assign_heights(s, &set)) < 0)
            goto out;
        ready = kn_xmalloc((set.n ? set.n : 1) * sizeof(*ready));
        nready = 0;
        for (size_t i = 0; i < set.n; i++) {
            if (set.v[i].waiting)
                stats->waiting++;
            else
                ready[nready++] = &set.v[i];
        }
        qsort(ready, nready, sizeof(*ready), order_cmp);
        if (rebuild || nready == 0)
            break;
        /* Incremental only when the first ready entry sorts after the last applied one. */
        sqlite3_stmt *st;
        r = s_row(s, &st,
                  "SELECT height, hash FROM p_applied ORDER BY height DESC, hash DESC LIMIT 1", "");
        if (r < 0)
            goto out;
        bool after = true;
        if (r == 1) {
            uint64_t h = (uint64_t)sqlite3_column_int64(st, 0);
            after = ready[0]->height > h ||
                    (ready[0]->height == h &&
                     memcmp(ready[0]->hash, sqlite3_column_blob(st, 1), STORE_HASH_LEN) > 0);
            dom_done(st);
        }
        r = 0;
        if (after)
            break;
        rebuild = true;
        stats->rebuilt = true;
        set_free(&set);
        free(ready);
        ready = NULL;
        stats->waiting = 0;
    }
    for (size_t i = 0; i < nready && r == 0; i++)
        r = apply_one(s, ready[i], hub);
    if (r == 0) {
        sqlite3_stmt *st;
        stats->applied = nready;
        if ((r = s_row(s, &st,
                       "SELECT (SELECT count(*) FROM p_applied WHERE status = 1),"
                       " (SELECT count(*) FROM p_applied WHERE status = 2)",
                       "")) == 1) {
            stats->conflicts = (size_t)sqlite3_column_int64(st, 0);
            stats->invalid = (size_t)sqlite3_column_int64(st, 1);
            dom_done(st);
        }
        r = r < 0 ? r : 0;
    }
out:
    set_free(&set);
    free(ready);
    return r;
}

int store_domain_sync(struct store *s, bool rebuild, struct store_domain_stats *stats)
{
    struct store_domain_stats local;
    struct store_domain_stats *st = stats ? stats : &local;
    int r;
    if (s->in_tx)
        return process(s, rebuild, st);
    if ((r = store_tx_begin(s)) < 0)
        return r;
    if ((r = process(s, rebuild, st)) < 0) {
        store_tx_rollback(s);
        return r;
    }
    return store_tx_commit(s);
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
    if ((r = store_tx_begin(s)) < 0)
        return r;
    if ((r = process(s, false, &stats)) < 0)
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
    r = s_row(s, &st,
              "SELECT author, seq, hash FROM p_applied ORDER BY height DESC, hash DESC LIMIT 1",
              "");
    if (r < 0)
        goto fail;
    if (r == 1) {
        memcpy(deps[ndeps].author, sqlite3_column_blob(st, 0), STORE_KEY_LEN);
        deps[ndeps].seq = (uint64_t)sqlite3_column_int64(st, 1);
        memcpy(deps[ndeps].hash, sqlite3_column_blob(st, 2), STORE_HASH_LEN);
        dom_done(st);
        /* Our own previous entry is a parent anyway; so is a repeat of the subject's. */
        bool own = memcmp(deps[ndeps].author, s->id->pk, STORE_KEY_LEN) == 0;
        bool dup = ndeps == 1 && memcmp(&deps[0], &deps[1], sizeof(deps[0])) == 0;
        if (!own && !dup)
            ndeps++;
    }

    struct store_draft d = { type, timestamp_ms, deps, ndeps, payload, len };
    if ((r = store_append(s, &d, e)) < 0)
        goto fail;
    if ((r = process(s, false, &stats)) < 0)
        goto fail;
    r = s_row(s, &st, "SELECT status, reason FROM p_applied WHERE author = ?1 AND seq = ?2", "bi",
              e->author, (int64_t)e->seq);
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
    return store_tx_commit(s);
fail:
    free(c);
    store_tx_rollback(s);
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
