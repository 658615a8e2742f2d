/* SPDX-License-Identifier: MIT */
#ifndef KN_STORE_INTERNAL_H
#define KN_STORE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "store.h"

#define STORE__NSTMT 24

struct store__dom;

struct store {
    sqlite3 *db;
    const struct store_identity *id;
    sqlite3_stmt *st[STORE__NSTMT];
    int in_tx;
    uint64_t writes; /* transactions this connection committed (data_version counts others') */
    struct store__dom *dom; /* the domain's cached statements, created on first use */
    int hub_state;          /* 0 not read yet, 1 known (hub), 2 none */
    uint8_t hub[32];
    uint8_t *enrolled; /* keys enrolled by entries stored in this transaction (trust.c) */
    size_t nenrolled, enrolled_cap;
    bool releasing;
    uint64_t crash_left; /* store_test_interrupt(): VM step groups left before every call fails */
};

/* store__db_err() - the KN_E code for an SQLite result code (0 for OK, ROW and DONE). */
int store__db_err(int rc);

/* The domain's projection tables (store/domain.c), created by the version 2 migration. */
extern const char store__domain_schema[];
extern const char store__domain_schema_v3[];
extern const char store__domain_schema_v4[];
extern const char store__domain_schema_v7[];
extern const char store__domain_schema_v8[];
extern const char store__domain_schema_v9[];
void store__dom_free(struct store *s);
/* store__report_functions() - the reports' SQL functions (kn_add_months, kn_day), once per
 * connection, when it opens. */
int store__report_functions(struct store *s);
/* store__exec() - dom_exec() outside an entry being applied: a cached statement (pass a
 * literal), bound from fmt ('t' text, 'i' int64, 'b' 32-byte key), run once. */
int store__exec(struct store *s, const char *sql, const char *fmt, ...);
/* store__dom_prepare() - a statement cached by its text pointer (pass a literal), reset. */
int store__dom_prepare(struct store *s, const char *sql, sqlite3_stmt **out);

/* ---- Trust at the log (trust.c) ---- */
extern const char store__trust_schema_v5[];
extern const char store__domain_schema_v6[];
#define STORE__TRUST_STORE 0
#define STORE__TRUST_HOLD  1
/* store__hub() - true and *hub (may be NULL) when this node knows its hub. */
bool store__hub(struct store *s, uint8_t hub[32]);
/* What the hub's feed says of one author, read once per feed of a batch (store__trust_look),
 * then applied to each of its entries (store__trust_judge: STORE__TRUST_STORE,
 * STORE__TRUST_HOLD, or the KN_E code of a refusal). */
struct store__trust_view {
    bool checked; /* false: the hub, this node, or no hub known: everything is stored */
    char role[16];
    unsigned bits; /* DOM_W_ bits of the role */
    uint64_t revoked_from;
};
int store__trust_look(struct store *s, const uint8_t author[32], struct store__trust_view *v);
int store__trust_judge(const struct store__trust_view *v, uint64_t seq, const char *type);
/* store__trust_type() - an event only the hub's own key may write (enrol, revoke, purge). */
bool store__trust_type(const char *type);
/* store__trust_note() - an entry was stored: keep t_nodes in step with the hub's feed. */
int store__trust_note(struct store *s, const struct store_entry *e, const uint8_t *payload,
                      size_t len);
/* store__trust_own() - may this node append an entry of type at seq? What every other node
 * would refuse is refused here, so that a feed never stops at a refused entry. 0 or KN_E code. */
int store__trust_own(struct store *s, const char *type, uint64_t seq);
/* store__trust_hold() - keep a checked entry of a key not enrolled (yet) aside. */
int store__trust_hold(struct store *s, const struct store_entry *e, const uint8_t *payload);
/* store__trust_note_release() - try node's held entries again at the end of the transaction. */
void store__trust_note_release(struct store *s, const uint8_t node[32]);
/* store__trust_release() - ingest what was held of keys enrolled in this transaction. */
int store__trust_release(struct store *s, struct store_ingest_result *res);
/* store__purged() - the hub purged the payload of (author, seq); seq 0: any entry of author. */
bool store__purged(struct store *s, const uint8_t author[32], uint64_t seq);
/* store__trust_rebuild() - t_nodes from the hub's feed held (after migration). */
int store__trust_rebuild(struct store *s);

/* msgpack-c packer writing into a fixed buffer; overflow is remembered, not written. */
struct store__buf {
    uint8_t *data;
    size_t len;
    size_t cap;
    int overflow;
};
int store__buf_write(void *data, const char *buf, size_t len);

void store__hash(const uint8_t *buf, size_t len, uint8_t out[STORE_HASH_LEN]);

/* ---- The card domain: engine (domain.c) and events (events.c) ---- */

/* What applying an entry came to; stored in p_applied.status. */
enum dom_status {
    DOM_APPLIED = 0,  /* the state moved */
    DOM_CONFLICT = 1, /* valid alone, but not from this state: kept, listed, not applied */
    DOM_INVALID = 2,  /* not valid alone: wrong fields, unknown type, writer not allowed */
};

/* Who may write an event: the hub, or a node bound to the event's office in that role. */
#define DOM_W_HUB    1u
#define DOM_W_OFFICE 2u
#define DOM_W_MOBILE 4u

enum dom_kind {
    DOM_F_ID,    /* str, 1-64 of A-Z a-z 0-9 . _ - : */
    DOM_F_TEXT,  /* str, 0-512 bytes of UTF-8 */
    DOM_F_UINT,  /* uint */
    DOM_F_BOOL,  /* bool */
    DOM_F_ENUM,  /* str, one of values */
    DOM_F_NODE,  /* str, a node id: 64 lower-case hex digits */
    DOM_F_MONTH, /* str, YYYY-MM */
    DOM_F_BIN,   /* bin, at most DOM_MAX_BIN bytes */
};

struct dom_field {
    const char *name;
    enum dom_kind kind;
    bool required;
    const char *const *values; /* DOM_F_ENUM: NULL-terminated */
};

struct dom_ctx;

struct dom_event {
    const char *type;
    unsigned writers;         /* DOM_W_ bits */
    const char *subject;      /* the field naming the object the event moves, or NULL */
    const char *subject_kind; /* "office", "order", "appointment", "reserve", "entry", "node" */
    const struct dom_field *fields;  /* ended by { NULL } */
    int (*apply)(struct dom_ctx *c); /* DOM_APPLIED, dom_conflict(), dom_invalid() or < 0 */
};

extern const struct dom_event store__dom_events[];
const struct dom_event *store__dom_event(const char *type);

#define DOM_MAX_FIELDS 24
#define DOM_MAX_TEXT   512
#define DOM_MAX_BIN    4096

/* The entry being applied, its payload's top-level fields, and where to say why not. */
struct dom_ctx {
    struct store *s;
    const struct store_entry *e;
    const struct dom_event *ev;
    size_t nkv;
    struct {
        const uint8_t *key;
        uint32_t klen;
        const uint8_t *val; /* the msgpack value */
        const uint8_t *end;
    } kv[DOM_MAX_FIELDS];
    char office[65]; /* the office the event is about, "" when none */
    char reason[256];
};

/* Field accessors: absent fields read as NULL / 0 / false. The fields were checked against the
 * event's spec before apply() runs, so types are as declared. dom_text copies into buf. */
const char *dom_text(struct dom_ctx *c, const char *name, char *buf, size_t size);
bool dom_has(struct dom_ctx *c, const char *name);
uint64_t dom_uint(struct dom_ctx *c, const char *name);
bool dom_bool(struct dom_ctx *c, const char *name);

/* dom_conflict()/dom_invalid() - record why (printf-style) and return the status to return. */
__attribute__((format(printf, 2, 3))) int dom_conflict(struct dom_ctx *c, const char *fmt, ...);
__attribute__((format(printf, 2, 3))) int dom_invalid(struct dom_ctx *c, const char *fmt, ...);

/*
 * dom_exec() - run one SQL statement (cached by its text pointer: pass string literals), binding
 * ?1, ?2, ... from the arguments as fmt says: 't' const char * (NULL binds NULL), 'i' int64_t,
 * 'b' a 32-byte key (const uint8_t *). Returns 0 or a KN_E code.
 * dom_row() - the same for a query: 1 with *st positioned on the first row (read columns, then
 * call dom_done), 0 when there is none, or a KN_E code.
 */
int dom_exec(struct dom_ctx *c, const char *sql, const char *fmt, ...);
int dom_row(struct dom_ctx *c, sqlite3_stmt **st, const char *sql, const char *fmt, ...);
void dom_done(sqlite3_stmt *st);

/* Calendar arithmetic on ms since 1970, in UTC: add months (day clamped to the month's end). */
uint64_t dom_add_months(uint64_t ms, int months);
/* The month "YYYY-MM" of ms in Swedish time (CET/CEST by the EU rule); out has room for 8. */
void dom_month(uint64_t ms, char out[8]);
/* The day "YYYY-MM-DD" of ms in Swedish time; out has room for 11. */
void dom_day(uint64_t ms, char out[11]);

#endif
