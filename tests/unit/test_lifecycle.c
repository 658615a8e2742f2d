/* SPDX-License-Identifier: MIT */
/*
 * The card domain (store/domain.c, store/events.c): every validator rule allowed and refused,
 * the projection's independence of arrival order (a property test over random permutations),
 * concurrent conflicts between nodes, and entries waiting for their parents.
 *
 * The property test prints its seed; repeat a run with KN_LIFECYCLE_SEED=S, and change the
 * number of permutations with KN_LIFECYCLE_PERMS=N.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <msgpack.h>
#include <sqlite3.h>

#include "helpers.h"
#include "internal.h" /* s->db, to read the projection tables */

#define T0     1767225600000ull /* 2026-01-01 00:00 UTC */
#define MIN_MS 60000ull
#define HOUR   3600000ull
#define DAY    86400000ull
#define U64(x) ((uint64_t)(x))

/* ---- identities: the hub, two nodes per office, one node nobody bound ---- */

static struct store_identity id_hub, id_a, id_am, id_b, id_bm, id_u;
static char hex_hub[65], hex_a[65], hex_am[65], hex_b[65], hex_bm[65], hex_u[65];

static int group_setup(void **state)
{
    (void)state;
    th_identity(&id_hub, 0x11);
    th_identity(&id_a, 0x21);  /* storuman, office */
    th_identity(&id_am, 0x22); /* storuman, mobile */
    th_identity(&id_b, 0x31);  /* umea, office */
    th_identity(&id_bm, 0x32); /* umea, mobile */
    th_identity(&id_u, 0x41);  /* never bound */
    store_hex(id_hub.pk, STORE_KEY_LEN, hex_hub);
    store_hex(id_a.pk, STORE_KEY_LEN, hex_a);
    store_hex(id_am.pk, STORE_KEY_LEN, hex_am);
    store_hex(id_b.pk, STORE_KEY_LEN, hex_b);
    store_hex(id_bm.pk, STORE_KEY_LEN, hex_bm);
    store_hex(id_u.pk, STORE_KEY_LEN, hex_u);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    store_identity_finish(&id_hub);
    store_identity_finish(&id_a);
    store_identity_finish(&id_am);
    store_identity_finish(&id_b);
    store_identity_finish(&id_bm);
    store_identity_finish(&id_u);
    return 0;
}

/* A minute per event, from 2026-01-01: fixed, never the clock. */
static uint64_t g_clock;
static uint64_t now(void)
{
    return g_clock += MIN_MS;
}

static int test_setup(void **state)
{
    (void)state;
    g_clock = T0;
    return 0;
}

/* The stores a test opened: closed by its teardown when a failed assertion left them open. */
static struct store *g_open[32];

static void close_store(struct store *s)
{
    for (size_t i = 0; i < 32; i++)
        if (g_open[i] == s)
            g_open[i] = NULL;
    store_close(s);
}

static int test_teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < 32; i++) {
        store_close(g_open[i]);
        g_open[i] = NULL;
    }
    return 0;
}

/* ---- payloads ---- */

struct kv {
    const char *key;
    char kind;
    const char *s;
    uint64_t u;
};

static int kv_cmp(const void *a, const void *b)
{
    return strcmp(((const struct kv *)a)->key, ((const struct kv *)b)->key);
}

/*
 * A canonical msgpack map from specs ended by NULL: "s:key", const char *; "u:key", uint64_t;
 * "b:key", int (a bool). Keys are sorted bytewise. Returns malloc'd bytes.
 */
static uint8_t *vpayload(size_t *len, va_list ap)
{
    struct kv kv[32];
    size_t n = 0;
    const char *spec;

    while ((spec = va_arg(ap, const char *)) != NULL) {
        assert_true(n < 32);
        assert_true(strlen(spec) > 2 && spec[1] == ':');
        kv[n].key = spec + 2;
        kv[n].kind = spec[0];
        switch (spec[0]) {
        case 's':
            kv[n].s = va_arg(ap, const char *);
            break;
        case 'u':
            kv[n].u = va_arg(ap, uint64_t);
            break;
        case 'b':
            kv[n].u = (uint64_t)va_arg(ap, int);
            break;
        default:
            fail_msg("bad payload spec %s", spec);
        }
        n++;
    }
    qsort(kv, n, sizeof(kv[0]), kv_cmp);

    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, n);
    for (size_t i = 0; i < n; i++) {
        msgpack_pack_str_with_body(&pk, kv[i].key, strlen(kv[i].key));
        if (kv[i].kind == 's')
            msgpack_pack_str_with_body(&pk, kv[i].s, strlen(kv[i].s));
        else if (kv[i].kind == 'u')
            msgpack_pack_uint64(&pk, kv[i].u);
        else if (kv[i].u)
            msgpack_pack_true(&pk);
        else
            msgpack_pack_false(&pk);
    }
    uint8_t *out = malloc(sb.size ? sb.size : 1);
    assert_non_null(out);
    memcpy(out, sb.data, sb.size);
    *len = sb.size;
    msgpack_sbuffer_destroy(&sb);
    assert_int_equal(store_payload_check(out, *len), 0);
    return out;
}

static uint8_t *payload(size_t *len, ...)
{
    va_list ap;
    va_start(ap, len);
    uint8_t *p = vpayload(len, ap);
    va_end(ap);
    return p;
}

/* ---- writing events ---- */

static char g_reason[512];

static void as(struct store *s, const struct store_identity *id)
{
    store_set_identity(s, id);
}

static uint64_t log_count(struct store *s)
{
    uint64_t n;
    assert_int_equal(store_count(s, &n), 0);
    return n;
}

static int vwrite(struct store *s, const char *type, uint64_t ts, struct store_entry *out,
                  va_list ap)
{
    size_t len;
    uint8_t *p = vpayload(&len, ap);
    int r = store_domain_write(s, type, p, len, ts, out, g_reason, sizeof(g_reason));
    free(p);
    return r;
}

static int wr(struct store *s, const char *type, uint64_t ts, ...)
{
    va_list ap;
    va_start(ap, ts);
    int r = vwrite(s, type, ts, NULL, ap);
    va_end(ap);
    return r;
}

static void ok_(int line, struct store *s, const char *type, uint64_t ts, ...)
{
    va_list ap;
    va_start(ap, ts);
    int r = vwrite(s, type, ts, NULL, ap);
    va_end(ap);
    if (r != 0)
        fail_msg("line %d: %s was not recorded (%s): %s", line, type, kn_errname(r), g_reason);
}

static void no_(int line, struct store *s, const char *type, uint64_t ts, const char *word, ...)
{
    uint64_t before = log_count(s);
    va_list ap;
    va_start(ap, word);
    int r = vwrite(s, type, ts, NULL, ap);
    va_end(ap);
    if (r != KN_EREFUSED)
        fail_msg("line %d: %s: expected KN_EREFUSED, got %s (reason: '%s')", line, type,
                 kn_errname(r), g_reason);
    if (!strstr(g_reason, word))
        fail_msg("line %d: %s refused with '%s'; expected a reason mentioning '%s'", line, type,
                 g_reason, word);
    if (log_count(s) != before)
        fail_msg("line %d: a refused %s was appended", line, type);
}

/* OK: recorded. NO: refused with KN_EREFUSED, a reason containing word, nothing appended. */
#define OK(s, type, ts, ...) ok_(__LINE__, (s), (type), (ts), __VA_ARGS__, (const char *)NULL)
#define NO(s, type, ts, word, ...) \
    no_(__LINE__, (s), (type), (ts), (word), __VA_ARGS__, (const char *)NULL)

/* ---- reading the projection ---- */

static sqlite3_stmt *q_prepare(struct store *s, const char *sql, const char *arg)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(s->db));
    if (arg)
        sqlite3_bind_text(st, 1, arg, -1, SQLITE_TRANSIENT);
    return st;
}

/* The first column of the first row as text: "<none>" without a row, "<null>" for NULL. */
static const char *q_text(struct store *s, const char *sql, const char *arg)
{
    static char buf[8][600];
    static int next;
    char *out = buf[next++ % 8];
    sqlite3_stmt *st = q_prepare(s, sql, arg);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        snprintf(out, 600, "%s",
                 sqlite3_column_type(st, 0) == SQLITE_NULL
                     ? "<null>"
                     : (const char *)sqlite3_column_text(st, 0));
    else
        snprintf(out, 600, "<none>");
    sqlite3_finalize(st);
    return out;
}

/* The first column of the first row as an integer: -1 without a row, -2 for NULL. */
static int64_t q_int(struct store *s, const char *sql, const char *arg)
{
    sqlite3_stmt *st = q_prepare(s, sql, arg);
    int64_t v = -1;
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_type(st, 0) == SQLITE_NULL ? -2 : sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static const char *state_of(struct store *s, const char *order)
{
    return q_text(s, "SELECT state FROM p_orders WHERE order_id = ?1", order);
}

static void digest(struct store *s, uint8_t out[STORE_HASH_LEN])
{
    assert_int_equal(store_domain_digest(s, out), 0);
}

/* The state built entry by entry equals the state rebuilt from the log; then close. */
static void finish(struct store *s)
{
    uint8_t a[STORE_HASH_LEN], b[STORE_HASH_LEN];
    struct store_domain_stats st;
    digest(s, a);
    assert_int_equal(store_domain_sync(s, true, &st), 0);
    assert_true(st.rebuilt || st.applied > 0);
    digest(s, b);
    assert_memory_equal(a, b, STORE_HASH_LEN);
    close_store(s);
}

/* ---- stores and a base world ---- */

static struct store *mem_store(void)
{
    struct store *s = NULL;
    assert_int_equal(store_open(":memory:", STORE_SYNC_NORMAL, &s), 0);
    size_t i = 0;
    while (i < 32 && g_open[i])
        i++;
    assert_true(i < 32);
    g_open[i] = s;
    assert_int_equal(store_meta_set(s, "hub", hex_hub), 0);
    return s;
}

static void reg(struct store *s, const char *office, const char *kind, const char *days)
{
    OK(s, "office.registered", now(), "s:office", office, "s:kind", kind, "s:name", office,
       "s:town", office, "s:place", "Storgatan 1", "s:booking", "sms 070-1234567", "s:days", days);
}

static void bind_node(struct store *s, const char *node, const char *office, const char *role)
{
    OK(s, "node.bound", now(), "s:node", node, "s:office", office, "s:role", role);
}

static void admin(struct store *s, const char *office, const char *who)
{
    OK(s, "admin.added", now(), "s:office", office, "s:admin", who, "s:name", who);
}

/* Written as the hub: two offices (private storuman, organisation umea with one administrator
 * only), each with an office node and a mobile node. */
static void base_events(struct store *s)
{
    as(s, &id_hub);
    reg(s, "storuman", "private", "mon,wed");
    reg(s, "umea", "organisation", "tue,thu,fri");
    admin(s, "storuman", "anna");
    admin(s, "umea", "bo");
    bind_node(s, hex_a, "storuman", "office");
    bind_node(s, hex_am, "storuman", "mobile");
    bind_node(s, hex_b, "umea", "office");
    bind_node(s, hex_bm, "umea", "mobile");
}

static struct store *base(void)
{
    struct store *s = mem_store();
    base_events(s);
    return s;
}

static const char *serial_of(const char *order)
{
    static char buf[4][40];
    static int next;
    char *out = buf[next++ % 4];
    snprintf(out, 40, "SN-%s", order);
    return out;
}

/* Order `order` for `office`, and drive it up to `upto` (ordered, shipped, notice, collected,
 * stored): the hub's steps as the hub, the office's as node. Leaves the identity at node. */
static void order_to(struct store *s, const char *order, const char *office,
                     const struct store_identity *node, const char *upto)
{
    char rek[40];
    snprintf(rek, sizeof(rek), "RR-%s-SE", order);
    as(s, &id_hub);
    OK(s, "order.placed", now(), "s:order", order, "s:care_provider", "region-vb", "s:holder",
       "Holder Holdersson", "s:office", office, "s:card_type", "siths-eid");
    if (strcmp(upto, "ordered") != 0) {
        OK(s, "card.shipped", now(), "s:order", order, "s:serial", serial_of(order), "s:rek", rek);
        OK(s, "pin.sent", now(), "s:order", order);
    }
    as(s, node);
    if (!strcmp(upto, "ordered") || !strcmp(upto, "shipped"))
        return;
    OK(s, "notice.received", now(), "s:order", order);
    if (!strcmp(upto, "notice"))
        return;
    OK(s, "card.collected", now(), "s:order", order);
    if (!strcmp(upto, "collected"))
        return;
    OK(s, "card.stored", now(), "s:order", order, "b:locked", 1);
    assert_string_equal(state_of(s, order), "stored");
}

/* A hand-over with the trained routine followed, by the current identity, at ts. */
static int hand(struct store *s, const char *order, uint64_t ts)
{
    return wr(s, "handover.completed", ts, "s:order", order, "s:serial", serial_of(order),
              "b:id_checked", 1, "b:right_person", 1, "b:pin_envelope", 1, (const char *)NULL);
}

#define HAND_OK(s, order, ts)                                                        \
    do {                                                                             \
        int r_ = hand((s), (order), (ts));                                           \
        if (r_ != 0)                                                                 \
            fail_msg("line %d: hand-over of %s refused (%s): %s", __LINE__, (order), \
                     kn_errname(r_), g_reason);                                      \
    } while (0)

#define HAND_NO(s, order, ts, word)                                                             \
    do {                                                                                        \
        uint64_t n_ = log_count(s);                                                             \
        int r_ = hand((s), (order), (ts));                                                      \
        if (r_ != KN_EREFUSED || !strstr(g_reason, (word)))                                     \
            fail_msg("line %d: hand-over of %s: expected refusal mentioning '%s', got %s (%s)", \
                     __LINE__, (order), (word), kn_errname(r_), g_reason);                      \
        assert_int_equal(log_count(s), n_);                                                     \
    } while (0)

/* ---- moving entries between stores ---- */

struct raw {
    uint8_t *hdr;
    size_t hlen;
    uint8_t *pl;
    size_t plen;
};

struct raws {
    struct raw *v;
    size_t n, cap;
};

struct authors {
    uint8_t k[64][STORE_KEY_LEN];
    size_t n;
};

static int gather_feed(void *ud, const struct store_feed *f)
{
    struct authors *a = ud;
    assert_true(a->n < 64);
    memcpy(a->k[a->n++], f->author, STORE_KEY_LEN);
    return 0;
}

static int gather_entry(void *ud, const struct store_entry *e, const uint8_t *payload, size_t len)
{
    struct raws *r = ud;
    if (r->n == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 64;
        r->v = realloc(r->v, r->cap * sizeof(*r->v));
        assert_non_null(r->v);
    }
    struct raw *x = &r->v[r->n++];
    x->hlen = e->signed_len;
    x->hdr = malloc(e->signed_len);
    assert_non_null(x->hdr);
    memcpy(x->hdr, e->signed_header, e->signed_len);
    x->plen = payload ? len : 0;
    x->pl = malloc(len ? len : 1);
    assert_non_null(x->pl);
    if (payload && len)
        memcpy(x->pl, payload, len);
    return 0;
}

/* Every entry s holds, feed by feed in seq order, as travelling bytes. */
static void gather(struct store *s, struct raws *out)
{
    struct authors a = { .n = 0 };
    memset(out, 0, sizeof(*out));
    assert_int_equal(store_clock(s, gather_feed, &a), 0);
    for (size_t i = 0; i < a.n; i++)
        assert_int_equal(store_range(s, a.k[i], 1, 0, gather_entry, out), 0);
}

static void raws_free(struct raws *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->v[i].hdr);
        free(r->v[i].pl);
    }
    free(r->v);
    memset(r, 0, sizeof(*r));
}

static struct store_raw as_raw(const struct raw *x)
{
    struct store_raw r = { x->hdr, x->hlen, x->pl, x->plen };
    return r;
}

/* Ingest the listed entries (idx NULL: all) in one batch; every one must be accepted or held. */
static void ingest(struct store *dst, const struct raws *r, const size_t *idx, size_t n)
{
    struct store_raw *b = malloc((n ? n : 1) * sizeof(*b));
    struct store_ingest_result res;
    assert_non_null(b);
    for (size_t i = 0; i < n; i++)
        b[i] = as_raw(&r->v[idx ? idx[i] : i]);
    assert_int_equal(store_ingest(dst, b, n, &res, NULL, NULL), 0);
    assert_int_equal(res.rejected, 0);
    assert_int_equal(res.forks, 0);
    free(b);
}

/* Everything src holds into dst, then the domain applied there. */
static void xfer(struct store *src, struct store *dst)
{
    struct raws r;
    gather(src, &r);
    ingest(dst, &r, NULL, r.n);
    raws_free(&r);
    assert_int_equal(store_domain_sync(dst, false, NULL), 0);
}

/* ---- a seeded PRNG (splitmix64) ---- */

static uint64_t rnd_next(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static size_t rnd_below(uint64_t *x, size_t n)
{
    return (size_t)(rnd_next(x) % n);
}

static void shuffle(size_t *v, size_t n, uint64_t *rng)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = rnd_below(rng, i);
        size_t t = v[i - 1];
        v[i - 1] = v[j];
        v[j] = t;
    }
}

static void mark_reject(void *ud, size_t index, const struct store_entry *e, int err)
{
    (void)e;
    bool *rejected = ud;
    assert_true(err == KN_ESEQ || err == KN_EAFTERBAD);
    rejected[index] = true;
}

/*
 * Ingest every entry of r into dst in a random order, in batches of 1..maxbatch new entries,
 * applying the domain after each batch. An entry the log refuses because its feed has a gap
 * (its predecessor has not come yet) is held back and offered again with every later batch, as
 * a sync layer keeps what it could not store yet. *last receives the stats of the last
 * store_domain_sync; *nrebuilt (may be NULL) counts the syncs that rebuilt. With step > 0 each
 * batch is followed by one store_domain_step of a random budget of 1..step instead (work may be
 * left at the end).
 */
static void ingest_random_steps(struct store *dst, const struct raws *r, uint64_t *rng,
                                size_t maxbatch, struct store_domain_stats *last, size_t *nrebuilt,
                                size_t step)
{
    size_t n = r->n, next = 0, nheld = 0;
    size_t *perm = malloc((n ? n : 1) * sizeof(*perm));
    size_t *held = malloc((n ? n : 1) * sizeof(*held));
    size_t *bidx = malloc((n ? n : 1) * sizeof(*bidx));
    bool *rejected = malloc(n ? n : 1);
    struct store_raw *b = malloc((n ? n : 1) * sizeof(*b));
    assert_true(perm && held && bidx && rejected && b);
    for (size_t i = 0; i < n; i++)
        perm[i] = i;
    shuffle(perm, n, rng);
    while (next < n || nheld > 0) {
        size_t k = 1 + rnd_below(rng, maxbatch), nb = 0;
        for (size_t i = 0; i < nheld; i++)
            bidx[nb++] = held[i];
        for (size_t i = 0; i < k && next < n; i++)
            bidx[nb++] = perm[next++];
        shuffle(bidx, nb, rng);
        for (size_t i = 0; i < nb; i++) {
            b[i] = as_raw(&r->v[bidx[i]]);
            rejected[i] = false;
        }
        struct store_ingest_result res;
        assert_int_equal(store_ingest(dst, b, nb, &res, mark_reject, rejected), 0);
        assert_int_equal(res.forks, 0);
        nheld = 0;
        for (size_t i = 0; i < nb; i++)
            if (rejected[i])
                held[nheld++] = bidx[i];
        assert_true(nheld < nb || next < n); /* progress */
        if (step > 0) {
            size_t budget = 1 + rnd_below(rng, step);
            assert_int_equal(store_domain_step(dst, budget, last, NULL), 0);
            assert_true(last->applied <= budget);
            continue;
        }
        assert_int_equal(store_domain_sync(dst, false, last), 0);
        if (nrebuilt && last->rebuilt)
            (*nrebuilt)++;
    }
    free(perm);
    free(held);
    free(bidx);
    free(rejected);
    free(b);
}

static void ingest_random(struct store *dst, const struct raws *r, uint64_t *rng, size_t maxbatch,
                          struct store_domain_stats *last, size_t *nrebuilt)
{
    ingest_random_steps(dst, r, rng, maxbatch, last, nrebuilt, 0);
}

/* =============================== 1. the validator's rules =============================== */

static void test_office_registered(void **state)
{
    (void)state;
    struct store *s = mem_store();
    as(s, &id_hub);
#define REG_NO(word, office, kind, days)                                                       \
    NO(s, "office.registered", now(), word, "s:office", office, "s:kind", kind, "s:name", "N", \
       "s:town", "T", "s:place", "P", "s:booking", "B", "s:days", days)
    REG_NO("kind", "x1", "shop", "mon,tue");
    REG_NO("kind", "x1", "Private", "mon,tue");
    /* at least two weekdays, mon-fri; weekend days do not count */
    REG_NO("two weekdays", "x1", "private", "mon");
    REG_NO("two weekdays", "x1", "private", "sat,sun");
    REG_NO("two weekdays", "x1", "private", "fri,sat,sun");
    REG_NO("two weekdays", "x1", "private", "");
    /* the form: three-letter names, each once, in week order */
    REG_NO("days", "x1", "private", "wed,mon");
    REG_NO("days", "x1", "private", "mon,mon");
    REG_NO("days", "x1", "private", "monday,tue");
    REG_NO("days", "x1", "private", "mon;tue");
    REG_NO("days", "x1", "private", "Mon,Tue");
    REG_NO("office", "x 1", "private", "mon,tue");
    NO(s, "office.registered", now(), "town", "s:office", "x1", "s:kind", "private", "s:name", "N",
       "s:place", "P", "s:booking", "B", "s:days", "mon,tue");
    assert_int_equal(log_count(s), 0);

    reg(s, "storuman", "private", "mon,wed");
    reg(s, "umea", "organisation", "mon,tue,wed,thu,fri,sat,sun");
    reg(s, "lycksele", "private", "thu,fri,sat");
    assert_string_equal(q_text(s, "SELECT kind FROM p_offices WHERE office = ?1", "umea"),
                        "organisation");
    assert_string_equal(q_text(s, "SELECT status FROM p_offices WHERE office = ?1", "storuman"),
                        "open");
    assert_string_equal(q_text(s, "SELECT days FROM p_offices WHERE office = ?1", "storuman"),
                        "mon,wed");
    assert_int_equal(q_int(s, "SELECT registered_ms FROM p_offices WHERE office = ?1", "storuman"),
                     (int64_t)(T0 + MIN_MS * 14));
    /* an office is registered once */
    REG_NO("already registered", "storuman", "organisation", "tue,thu");

    /* only the hub registers offices */
    bind_node(s, hex_a, "storuman", "office");
    as(s, &id_a);
    REG_NO("only the hub", "x2", "private", "mon,tue");
#undef REG_NO
    finish(s);
}

/* The days form is "mon,tue,...": a trailing comma is not a weekday list. */
static void test_office_days_trailing_comma(void **state)
{
    (void)state;
    struct store *s = mem_store();
    as(s, &id_hub);
    NO(s, "office.registered", now(), "days", "s:office", "x1", "s:kind", "private", "s:name", "N",
       "s:town", "T", "s:place", "P", "s:booking", "B", "s:days", "mon,tue,");
    reg(s, "storuman", "private", "mon,wed");
    NO(s, "office.updated", now(), "days", "s:office", "storuman", "s:days", "mon,wed,");
    assert_string_equal(q_text(s, "SELECT days FROM p_offices WHERE office = ?1", "storuman"),
                        "mon,wed");
    finish(s);
}

static void test_office_updated_closed(void **state)
{
    (void)state;
    struct store *s = base();
    order_to(s, "o1", "storuman", &id_a, "stored");
    as(s, &id_hub);
    NO(s, "office.updated", now(), "two weekdays", "s:office", "storuman", "s:days", "tue");
    NO(s, "office.updated", now(), "no office", "s:office", "lycksele", "s:town", "Lycksele");
    OK(s, "office.updated", now(), "s:office", "storuman", "s:days", "tue,thu", "s:booking",
       "call 070-7654321");
    assert_string_equal(q_text(s, "SELECT days FROM p_offices WHERE office = ?1", "storuman"),
                        "tue,thu");
    assert_string_equal(q_text(s, "SELECT booking FROM p_offices WHERE office = ?1", "storuman"),
                        "call 070-7654321");
    assert_string_equal(q_text(s, "SELECT place FROM p_offices WHERE office = ?1", "storuman"),
                        "Storgatan 1");
    as(s, &id_a);
    NO(s, "office.updated", now(), "only the hub", "s:office", "storuman", "s:name", "Mine");
    NO(s, "office.closed", now(), "only the hub", "s:office", "storuman");

    as(s, &id_hub);
    OK(s, "order.placed", now(), "s:order", "o9", "s:care_provider", "x", "s:holder", "H",
       "s:office", "storuman", "s:card_type", "siths-eid");
    OK(s, "office.closed", now(), "s:office", "storuman");
    assert_string_equal(q_text(s, "SELECT status FROM p_offices WHERE office = ?1", "storuman"),
                        "closed");
    NO(s, "card.shipped", now(), "closed", "s:order", "o9", "s:serial", "SN9", "s:rek", "RR9");
    NO(s, "node.bound", now(), "closed", "s:node", hex_b, "s:office", "storuman", "s:role",
       "office");
    NO(s, "office.closed", now(), "already closed", "s:office", "storuman");
    NO(s, "office.updated", now(), "closed", "s:office", "storuman", "s:name", "Later");
    NO(s, "admin.added", now(), "closed", "s:office", "storuman", "s:admin", "carl", "s:name",
       "Carl");
    NO(s, "office.notice", now(), "not open", "s:office", "storuman");
    NO(s, "order.placed", now(), "no new orders", "s:order", "o2", "s:care_provider", "x",
       "s:holder", "H", "s:office", "storuman", "s:card_type", "siths-eid");
    as(s, &id_a);
    HAND_NO(s, "o1", now(), "closed");
    NO(s, "reserve.issued", now(), "closed", "s:reserve", "r1", "s:office", "storuman", "s:holder",
       "H", "s:reason", "lost-card", "u:valid_until_ms", U64(g_clock + 30 * DAY), "s:receipt",
       "k1");
    finish(s);
}

/* office.updated changes the fields it names; days need not be among them. */
static void test_office_updated_without_days(void **state)
{
    (void)state;
    struct store *s = base();
    as(s, &id_hub);
    OK(s, "office.updated", now(), "s:office", "storuman", "s:booking", "call 070-7654321");
    assert_string_equal(q_text(s, "SELECT booking FROM p_offices WHERE office = ?1", "storuman"),
                        "call 070-7654321");
    OK(s, "office.updated", now(), "s:office", "storuman", "s:name", "Storuman ID-kontor",
       "s:place", "Hotell Toppen, lobbyn");
    assert_string_equal(q_text(s, "SELECT place FROM p_offices WHERE office = ?1", "storuman"),
                        "Hotell Toppen, lobbyn");
    assert_string_equal(q_text(s, "SELECT days FROM p_offices WHERE office = ?1", "storuman"),
                        "mon,wed");
    finish(s);
}

static void test_admins(void **state)
{
    (void)state;
    struct store *s = base();
    as(s, &id_hub);
    NO(s, "admin.added", now(), "already", "s:office", "umea", "s:admin", "bo", "s:name", "Bo");
    NO(s, "admin.added", now(), "no office", "s:office", "lycksele", "s:admin", "x", "s:name", "X");
    NO(s, "admin.removed", now(), "not an administrator", "s:office", "umea", "s:admin", "carl");
    admin(s, "umea", "carl");
    assert_int_equal(q_int(s, "SELECT count(*) FROM p_admins WHERE office = ?1", "umea"), 2);
    OK(s, "admin.removed", now(), "s:office", "umea", "s:admin", "carl");
    assert_int_equal(q_int(s, "SELECT count(*) FROM p_admins WHERE office = ?1", "umea"), 1);
    as(s, &id_b);
    NO(s, "admin.added", now(), "only the hub", "s:office", "umea", "s:admin", "dan", "s:name",
       "Dan");
    NO(s, "admin.removed", now(), "only the hub", "s:office", "umea", "s:admin", "bo");
    finish(s);
}

static void test_node_bound(void **state)
{
    (void)state;
    struct store *s = mem_store();
    char upper[65];
    as(s, &id_hub);
    reg(s, "storuman", "private", "mon,wed");
    reg(s, "umea", "organisation", "tue,thu");
    NO(s, "node.bound", now(), "no office", "s:node", hex_a, "s:office", "lycksele", "s:role",
       "office");
    snprintf(upper, sizeof(upper), "%s", hex_a);
    for (char *p = upper; *p; p++)
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 'a' + 'A');
    NO(s, "node.bound", now(), "lower case", "s:node", upper, "s:office", "storuman", "s:role",
       "office");
    NO(s, "node.bound", now(), "node id", "s:node", "abc", "s:office", "storuman", "s:role",
       "office");
    NO(s, "node.bound", now(), "role", "s:node", hex_a, "s:office", "storuman", "s:role", "kiosk");
    bind_node(s, hex_a, "storuman", "office");
    assert_string_equal(q_text(s, "SELECT office FROM p_nodes WHERE node = ?1", hex_a), "storuman");

    /* only the hub binds nodes, also not a bound one */
    as(s, &id_a);
    NO(s, "node.bound", now(), "only the hub", "s:node", hex_u, "s:office", "storuman", "s:role",
       "mobile");

    /* a mobile node works for every office it is enrolled for: u for storuman, then also umea */
    as(s, &id_hub);
    bind_node(s, hex_u, "storuman", "mobile");
    order_to(s, "o1", "storuman", &id_u, "notice");
    as(s, &id_hub);
    /* a key's role is fixed by its first enrolment (the log stores by it): a new key for that */
    NO(s, "node.bound", now(), "another role", "s:node", hex_u, "s:office", "umea", "s:role",
       "office");
    bind_node(s, hex_u, "umea", "mobile");
    assert_string_equal(q_text(s, "SELECT office FROM p_nodes WHERE node = ?1", hex_u), "umea");
    assert_int_equal(q_int(s, "SELECT count(*) FROM p_node_offices WHERE node = ?1", hex_u), 2);
    order_to(s, "o2", "umea", &id_u, "notice");
    as(s, &id_u);
    OK(s, "card.collected", now(), "s:order", "o1");
    OK(s, "card.collected", now(), "s:order", "o2");
    /* binding an office node again moves it: a works for storuman, then only for umea */
    as(s, &id_hub);
    bind_node(s, hex_a, "umea", "office");
    as(s, &id_a);
    NO(s, "card.stored", now(), "not bound to office storuman", "s:order", "o1", "b:locked", 1);
    finish(s);
}

struct addr_seen {
    int n;
    bool hub_seen, am_near;
};

static int count_address(void *data, const struct store_address *a)
{
    struct addr_seen *f = data;
    f->n++;
    if (memcmp(a->node, id_hub.pk, STORE_KEY_LEN) == 0)
        f->hub_seen = memcmp(a->addr, "192.0.2.1:7117", 15) == 0 && a->role[0] == 0;
    if (memcmp(a->node, id_am.pk, STORE_KEY_LEN) == 0)
        f->am_near = a->near && memcmp(a->role, "mobile", 7) == 0;
    return 0;
}

/* node.address: a node announces only itself; the newest of its feed is kept; no office. */
static void test_node_address(void **state)
{
    (void)state;
    struct store *s = base();
    as(s, &id_am); /* a mobile node, about itself: applied */
    OK(s, "node.address", now(), "s:node", hex_am, "s:addr", "10.1.2.3:7117");
    assert_string_equal(q_text(s, "SELECT addr FROM p_addresses WHERE node = ?1", hex_am),
                        "10.1.2.3:7117");
    OK(s, "node.address", now(), "s:node", hex_am, "s:addr", "10.1.2.4:7117");
    assert_string_equal(q_text(s, "SELECT addr FROM p_addresses WHERE node = ?1", hex_am),
                        "10.1.2.4:7117");
    OK(s, "node.address", now(), "s:node", hex_am); /* withdrawn */
    assert_string_equal(q_text(s, "SELECT addr FROM p_addresses WHERE node = ?1", hex_am), "");
    OK(s, "node.address", now(), "s:node", hex_am, "s:addr", "10.1.2.5:7117");
    OK(s, "node.address", now(), "s:node", hex_am, "s:addr", ""); /* withdrawn too */
    assert_string_equal(q_text(s, "SELECT addr FROM p_addresses WHERE node = ?1", hex_am), "");
    NO(s, "node.address", now(), "announces only its own address", "s:node", hex_a, "s:addr",
       "10.1.2.3:7117");
    NO(s, "node.address", now(), "is not HOST:PORT", "s:node", hex_am, "s:addr", "host:7117");
    NO(s, "node.address", now(), "is not HOST:PORT", "s:node", hex_am, "s:addr", "10.1.2.3:0");
    NO(s, "node.address", now(), "is not HOST:PORT", "s:node", hex_am, "s:addr", " 10.1.2.3:80");
    as(s, &id_hub);
    OK(s, "node.address", now(), "s:node", hex_hub, "s:addr", "192.0.2.1:7117");
    as(s, &id_u); /* a key nobody bound */
    NO(s, "node.address", now(), "not a node bound", "s:node", hex_u, "s:addr", "10.9.9.9:1");
    /* what the daemon reads: the address, the writer's role, whether it shares an office */
    struct addr_seen f = { 0 };
    assert_int_equal(store_addresses(s, id_a.pk, count_address, &f), 0);
    assert_int_equal(f.n, 2);
    assert_true(f.hub_seen);
    assert_true(f.am_near); /* storuman's mobile, seen from storuman's office */
    f = (struct addr_seen){ 0 };
    assert_int_equal(store_addresses(s, id_b.pk, count_address, &f), 0);
    assert_false(f.am_near); /* seen from umea's office */
    finish(s);
}

static void test_writers(void **state)
{
    (void)state;
    struct store *s = base();
    /* hub-only events from an office node */
    as(s, &id_a);
    NO(s, "order.placed", now(), "only the hub", "s:order", "o1", "s:care_provider", "x",
       "s:holder", "H", "s:office", "storuman", "s:card_type", "siths-eid");
    order_to(s, "o1", "storuman", &id_a, "shipped");
    order_to(s, "o2", "umea", &id_b, "shipped");
    as(s, &id_a);
    NO(s, "card.shipped", now(), "only the hub", "s:order", "o1", "s:serial", "x", "s:rek", "y");
    NO(s, "pin.sent", now(), "only the hub", "s:order", "o1");
    NO(s, "card.revoked", now(), "only the hub", "s:order", "o1", "s:reason", "employment-ended");
    NO(s, "invoice.issued", now(), "only the hub", "s:office", "storuman", "s:month", "2026-01",
       "u:handovers", U64(0), "u:extra_meetings", U64(0), "u:amount_ore", U64(0));
    /* an office node writing for another office */
    NO(s, "notice.received", now(), "not bound to office umea", "s:order", "o2");
    as(s, &id_bm);
    NO(s, "notice.received", now(), "not bound to office storuman", "s:order", "o1");
    as(s, &id_b);
    NO(s, "office.notice", now(), "not bound to office storuman", "s:office", "storuman");
    /* a node nobody bound */
    as(s, &id_u);
    NO(s, "notice.received", now(), "not a node bound", "s:order", "o1");
    NO(s, "catalogue.added", now(), "not a node bound", "s:entry", "e1", "s:office", "storuman",
       "s:person", "P", "s:unit", "U");
    /* office events from the hub */
    as(s, &id_hub);
    NO(s, "notice.received", now(), "hub may not", "s:order", "o1");
    NO(s, "handover.completed", now(), "hub may not", "s:order", "o1", "s:serial", serial_of("o1"),
       "b:id_checked", 1, "b:right_person", 1, "b:pin_envelope", 1);
    NO(s, "reserve.issued", now(), "hub may not", "s:reserve", "r1", "s:office", "storuman",
       "s:holder", "H", "s:reason", "lost-card", "u:valid_until_ms", U64(g_clock + DAY),
       "s:receipt", "k1");
    /* a mobile node steps a card of its own office but does not give notice for it */
    as(s, &id_am);
    OK(s, "notice.received", now(), "s:order", "o1");
    NO(s, "office.notice", now(), "mobile node may not", "s:office", "storuman");
    as(s, &id_b);
    OK(s, "notice.received", now(), "s:order", "o2");
    finish(s);
}

/* The chip serial read by a reader at hand-over must be the one the hub shipped the card with. */
static void test_handover_chip(void **state)
{
    (void)state;
    struct store *s = base();
    as(s, &id_hub);
    OK(s, "order.placed", now(), "s:order", "o1", "s:care_provider", "region-vb", "s:holder",
       "Holder", "s:office", "storuman", "s:card_type", "siths-eid");
    NO(s, "card.shipped", now(), "16 hex digits", "s:order", "o1", "s:serial", serial_of("o1"),
       "s:rek", "RR1SE", "s:chip", "47905040deadbeef");
    NO(s, "card.shipped", now(), "16 hex digits", "s:order", "o1", "s:serial", serial_of("o1"),
       "s:rek", "RR1SE", "s:chip", "4790504");
    OK(s, "card.shipped", now(), "s:order", "o1", "s:serial", serial_of("o1"), "s:rek", "RR1SE",
       "s:chip", "47905040DEADBEEF");
    assert_string_equal(q_text(s, "SELECT chip FROM p_orders WHERE order_id = ?1", "o1"),
                        "47905040DEADBEEF");
    /* one chip, one card */
    OK(s, "order.placed", now(), "s:order", "o2", "s:care_provider", "region-vb", "s:holder",
       "Holder", "s:office", "storuman", "s:card_type", "siths-eid");
    NO(s, "card.shipped", now(), "shipped already, for order o1", "s:order", "o2", "s:serial",
       serial_of("o2"), "s:rek", "RR2SE", "s:chip", "47905040DEADBEEF");
    as(s, &id_a);
    OK(s, "notice.received", now(), "s:order", "o1");
    OK(s, "card.collected", now(), "s:order", "o1");
    OK(s, "card.stored", now(), "s:order", "o1", "b:locked", 1);
    NO(s, "handover.completed", now(), "not the card shipped", "s:order", "o1", "s:serial",
       serial_of("o1"), "b:id_checked", 1, "b:right_person", 1, "b:pin_envelope", 1,
       "b:read_by_reader", 1, "s:chip", "47905040DEADBEEE", "s:atr", "3B8F80");
    NO(s, "handover.completed", now(), "16 hex digits", "s:order", "o1", "s:serial",
       serial_of("o1"), "b:id_checked", 1, "b:right_person", 1, "b:pin_envelope", 1,
       "b:read_by_reader", 1, "s:chip", "nothex");
    assert_string_equal(state_of(s, "o1"), "stored");
    OK(s, "handover.completed", now(), "s:order", "o1", "s:serial", serial_of("o1"), "b:id_checked",
       1, "b:right_person", 1, "b:pin_envelope", 1, "b:read_by_reader", 1, "s:chip",
       "47905040DEADBEEF", "s:atr", "3B8F80", "b:hsa_id_checked", 1);
    assert_string_equal(state_of(s, "o1"), "handed-over");
    finish(s);
}

static void test_card_life(void **state)
{
    (void)state;
    struct store *s = base();
    as(s, &id_hub);
    OK(s, "order.placed", now(), "s:order", "o1", "s:care_provider", "region-vb", "s:holder",
       "Holder", "s:office", "storuman", "s:card_type", "siths-eid");
    assert_string_equal(state_of(s, "o1"), "ordered");
    NO(s, "order.placed", now(), "already exists", "s:order", "o1", "s:care_provider", "x",
       "s:holder", "H", "s:office", "storuman", "s:card_type", "siths-eid");
    NO(s, "order.placed", now(), "no office", "s:order", "o9", "s:care_provider", "x", "s:holder",
       "H", "s:office", "lycksele", "s:card_type", "siths-eid");
    NO(s, "card.shipped", now(), "no order", "s:order", "o9", "s:serial", "S", "s:rek", "R");

    /* nothing at the office before the card is shipped */
    as(s, &id_a);
    NO(s, "notice.received", now(), "cannot follow", "s:order", "o1");
    NO(s, "card.collected", now(), "ordered", "s:order", "o1");
    NO(s, "card.stored", now(), "ordered", "s:order", "o1", "b:locked", 1);
    HAND_NO(s, "o1", now(), "ordered");

    /* the PIN letter goes separately, once, in any state before the hand-over */
    as(s, &id_hub);
    OK(s, "pin.sent", now(), "s:order", "o1");
    NO(s, "pin.sent", now(), "already sent", "s:order", "o1");
    OK(s, "card.shipped", now(), "s:order", "o1", "s:serial", serial_of("o1"), "s:rek", "RR123SE");
    assert_string_equal(state_of(s, "o1"), "shipped");
    assert_string_equal(q_text(s, "SELECT rek FROM p_orders WHERE order_id = ?1", "o1"), "RR123SE");
    NO(s, "card.shipped", now(), "cannot follow", "s:order", "o1", "s:serial", "S2", "s:rek", "R2");

    as(s, &id_a);
    NO(s, "card.collected", now(), "shipped", "s:order", "o1");
    NO(s, "card.stored", now(), "shipped", "s:order", "o1", "b:locked", 1);
    NO(s, "appointment.booked", now(), "shipped", "s:appointment", "ap1", "s:order", "o1",
       "u:at_ms", U64(T0 + 10 * DAY), "s:place_kind", "office", "s:place", "Office");
    HAND_NO(s, "o1", now(), "shipped");
    OK(s, "notice.received", now(), "s:order", "o1");
    assert_string_equal(state_of(s, "o1"), "notice");
    NO(s, "notice.received", now(), "notice", "s:order", "o1");
    NO(s, "card.stored", now(), "notice", "s:order", "o1", "b:locked", 1);
    HAND_NO(s, "o1", now(), "notice");
    OK(s, "card.collected", now(), "s:order", "o1");
    assert_string_equal(state_of(s, "o1"), "collected");
    NO(s, "card.collected", now(), "collected", "s:order", "o1");
    /* stored locked, or not at all */
    NO(s, "card.stored", now(), "locked", "s:order", "o1", "b:locked", 0);
    OK(s, "card.stored", now(), "s:order", "o1", "b:locked", 1);
    assert_string_equal(state_of(s, "o1"), "stored");
    NO(s, "card.stored", now(), "stored", "s:order", "o1", "b:locked", 1);
    uint64_t t_hand = now();
    OK(s, "handover.completed", t_hand, "s:order", "o1", "s:serial", serial_of("o1"),
       "b:id_checked", 1, "b:right_person", 1, "b:pin_envelope", 1, "b:read_by_reader", 1);
    assert_string_equal(state_of(s, "o1"), "handed-over");
    assert_int_equal(q_int(s, "SELECT handed_over_ms FROM p_orders WHERE order_id = ?1", "o1"),
                     (int64_t)t_hand);
    assert_int_equal(q_int(s, "SELECT read_by_reader FROM p_orders WHERE order_id = ?1", "o1"), 1);
    assert_int_equal(q_int(s, "SELECT count(*) FROM p_meetings WHERE order_id = ?1", "o1"), 1);
    assert_string_equal(q_text(s, "SELECT month FROM p_meetings WHERE order_id = ?1", "o1"),
                        "2026-01");
    assert_string_equal(q_text(s, "SELECT office_kind FROM p_meetings WHERE order_id = ?1", "o1"),
                        "private");
    /* after the hand-over nothing of the office's steps */
    HAND_NO(s, "o1", now(), "handed-over");
    NO(s, "card.returned", now(), "handed-over", "s:order", "o1");
    NO(s, "notice.received", now(), "handed-over", "s:order", "o1");
    as(s, &id_hub);
    NO(s, "pin.sent", now(), "handed-over", "s:order", "o1");

    /* a collected card is stored locked before it is booked or handed over */
    order_to(s, "o2", "storuman", &id_a, "collected");
    HAND_NO(s, "o2", now(), "collected");
    NO(s, "handover.failed", now(), "collected", "s:order", "o2", "s:reason", "no-show");
    NO(s, "appointment.booked", now(), "collected", "s:appointment", "ap2", "s:order", "o2",
       "u:at_ms", U64(T0 + 10 * DAY), "s:place_kind", "office", "s:place", "Office");
    OK(s, "card.stored", now(), "s:order", "o2", "b:locked", 1);
    HAND_OK(s, "o2", now());
    finish(s);
}

static void test_appointments(void **state)
{
    (void)state;
    struct store *s = base();
    uint64_t slot = T0 + 7 * DAY + 10 * HOUR;
    order_to(s, "o1", "storuman", &id_a, "stored");
    order_to(s, "o2", "storuman", &id_a, "stored");
    order_to(s, "o3", "storuman", &id_a, "shipped");
    order_to(s, "o4", "umea", &id_b, "stored");

    as(s, &id_a);
    NO(s, "appointment.booked", now(), "home", "s:appointment", "ap1", "s:order", "o1", "u:at_ms",
       slot, "s:place_kind", "administrator-home", "s:place", "Anna's kitchen");
    NO(s, "appointment.booked", now(), "place_kind", "s:appointment", "ap1", "s:order", "o1",
       "u:at_ms", slot, "s:place_kind", "garage", "s:place", "X");
    OK(s, "appointment.booked", now(), "s:appointment", "ap1", "s:order", "o1", "u:at_ms", slot,
       "s:place_kind", "home-delivery", "s:place", "Holder's home, Skolgatan 3");
    assert_string_equal(
        q_text(s, "SELECT place_kind FROM p_appointments WHERE appointment = ?1", "ap1"),
        "home-delivery");
    NO(s, "appointment.booked", now(), "already exists", "s:appointment", "ap1", "s:order", "o2",
       "u:at_ms", U64(slot + 5 * HOUR), "s:place_kind", "office", "s:place", "Office");
    /* one slot of an office, two bookings: the second is refused */
    NO(s, "appointment.booked", now(), "slot", "s:appointment", "ap2", "s:order", "o2", "u:at_ms",
       slot, "s:place_kind", "public-place", "s:place", "Cafe Nord");
    as(s, &id_am);
    NO(s, "appointment.booked", now(), "slot", "s:appointment", "ap2", "s:order", "o2", "u:at_ms",
       slot, "s:place_kind", "workplace", "s:place", "Clinic");
    OK(s, "appointment.booked", now(), "s:appointment", "ap2", "s:order", "o2", "u:at_ms",
       U64(slot + HOUR), "s:place_kind", "public-place", "s:place", "Cafe Nord");
    NO(s, "appointment.booked", now(), "shipped", "s:appointment", "ap3", "s:order", "o3",
       "u:at_ms", U64(slot + 2 * HOUR), "s:place_kind", "office", "s:place", "Office");
    /* an organisation office books only with two administrators */
    as(s, &id_b);
    NO(s, "appointment.booked", now(), "needs two", "s:appointment", "ap4", "s:order", "o4",
       "u:at_ms", slot, "s:place_kind", "office", "s:place", "Reception");
    as(s, &id_hub);
    admin(s, "umea", "carl");
    /* the same time at another office is another slot */
    as(s, &id_b);
    OK(s, "appointment.booked", now(), "s:appointment", "ap4", "s:order", "o4", "u:at_ms", slot,
       "s:place_kind", "office", "s:place", "Reception");
    NO(s, "appointment.moved", now(), "not bound to office storuman", "s:appointment", "ap2",
       "u:at_ms", U64(slot + 3 * HOUR));

    /* moved: not onto a booked slot, not to the administrator's home */
    as(s, &id_a);
    NO(s, "appointment.moved", now(), "slot", "s:appointment", "ap2", "u:at_ms", slot);
    NO(s, "appointment.moved", now(), "home", "s:appointment", "ap2", "u:at_ms",
       U64(slot + 2 * HOUR), "s:place_kind", "administrator-home");
    NO(s, "appointment.moved", now(), "ap9", "s:appointment", "ap9", "u:at_ms",
       U64(slot + 2 * HOUR));
    OK(s, "appointment.moved", now(), "s:appointment", "ap2", "u:at_ms", U64(slot + HOUR));
    OK(s, "appointment.moved", now(), "s:appointment", "ap2", "u:at_ms", U64(slot + 2 * HOUR),
       "s:place_kind", "workplace", "s:place", "Health centre");
    assert_int_equal(q_int(s, "SELECT at_ms FROM p_appointments WHERE appointment = ?1", "ap2"),
                     (int64_t)(slot + 2 * HOUR));
    assert_string_equal(q_text(s, "SELECT place FROM p_appointments WHERE appointment = ?1", "ap2"),
                        "Health centre");

    /* cancelled: once; then neither moved nor used; its slot is free again */
    OK(s, "appointment.cancelled", now(), "s:appointment", "ap1");
    assert_string_equal(q_text(s, "SELECT state FROM p_appointments WHERE appointment = ?1", "ap1"),
                        "cancelled");
    NO(s, "appointment.cancelled", now(), "not booked", "s:appointment", "ap1");
    NO(s, "appointment.moved", now(), "not booked", "s:appointment", "ap1", "u:at_ms",
       U64(slot + 4 * HOUR));
    NO(s, "handover.completed", now(), "booked", "s:order", "o1", "s:serial", serial_of("o1"),
       "b:id_checked", 1, "b:right_person", 1, "b:pin_envelope", 1, "s:appointment", "ap1");
    OK(s, "appointment.booked", now(), "s:appointment", "ap5", "s:order", "o1", "u:at_ms", slot,
       "s:place_kind", "office", "s:place", "Office");
    OK(s, "handover.completed", now(), "s:order", "o1", "s:serial", serial_of("o1"), "b:id_checked",
       1, "b:right_person", 1, "b:pin_envelope", 1, "s:appointment", "ap5");
    assert_string_equal(q_text(s, "SELECT state FROM p_appointments WHERE appointment = ?1", "ap5"),
                        "done");
    /* a done appointment frees its slot too */
    OK(s, "appointment.moved", now(), "s:appointment", "ap2", "u:at_ms", slot);
    NO(s, "appointment.booked", now(), "handed-over", "s:appointment", "ap6", "s:order", "o1",
       "u:at_ms", U64(slot + 6 * HOUR), "s:place_kind", "office", "s:place", "Office");
    finish(s);
}

static void test_handover_rules(void **state)
{
    (void)state;
    struct store *s = base();
    order_to(s, "o1", "storuman", &id_a, "stored");
    as(s, &id_a);
#define HO_NO(word, serial, idc, rp, pe)                                                          \
    NO(s, "handover.completed", now(), word, "s:order", "o1", "s:serial", serial, "b:id_checked", \
       idc, "b:right_person", rp, "b:pin_envelope", pe)
    HO_NO("serial", "SN-other", 1, 1, 1);
    HO_NO("id_checked", serial_of("o1"), 0, 1, 1);
    HO_NO("right_person", serial_of("o1"), 1, 0, 1);
    HO_NO("pin_envelope", serial_of("o1"), 1, 1, 0);
    HO_NO("id_checked", serial_of("o1"), 0, 0, 0);
#undef HO_NO
    NO(s, "handover.completed", now(), "pin_envelope", "s:order", "o1", "s:serial", serial_of("o1"),
       "b:id_checked", 1, "b:right_person", 1);
    NO(s, "handover.completed", now(), "no order", "s:order", "o9", "s:serial", "SN-o9",
       "b:id_checked", 1, "b:right_person", 1, "b:pin_envelope", 1);
    assert_string_equal(state_of(s, "o1"), "stored");
    assert_int_equal(q_int(s, "SELECT count(*) FROM p_meetings", NULL), 0);
    HAND_OK(s, "o1", now());

    /* an organisation office hands over only with two trained administrators */
    order_to(s, "o2", "umea", &id_b, "stored");
    order_to(s, "o3", "umea", &id_b, "stored");
    HAND_NO(s, "o2", now(), "needs two");
    as(s, &id_hub);
    admin(s, "umea", "carl");
    as(s, &id_bm);
    HAND_OK(s, "o2", now());
    assert_string_equal(q_text(s, "SELECT office_kind FROM p_meetings WHERE order_id = ?1", "o2"),
                        "organisation");
    as(s, &id_hub);
    OK(s, "admin.removed", now(), "s:office", "umea", "s:admin", "bo");
    as(s, &id_b);
    HAND_NO(s, "o3", now(), "needs two");
    NO(s, "handover.failed", now(), "needs two", "s:order", "o3", "s:reason", "no-show");
    as(s, &id_hub);
    admin(s, "umea", "dora");
    as(s, &id_b);
    HAND_OK(s, "o3", now());
    finish(s);
}

static void test_handover_failed(void **state)
{
    (void)state;
    struct store *s = base();
    uint64_t slot = T0 + 3 * DAY;
    const char *meetings = "SELECT group_concat(result || ':' || reason || ':' || extra, ' ')"
                           " FROM (SELECT * FROM p_meetings WHERE order_id = ?1 ORDER BY n)";
    order_to(s, "o1", "storuman", &id_a, "stored");
    order_to(s, "o2", "storuman", &id_a, "stored");
    order_to(s, "o3", "storuman", &id_a, "stored");
    as(s, &id_a);
    NO(s, "handover.failed", now(), "reason", "s:order", "o1", "s:reason", "late");
    NO(s, "handover.failed", now(), "reason", "s:order", "o1");
    NO(s, "handover.failed", now(), "no order", "s:order", "o9", "s:reason", "no-show");

    /* no valid ID: the meeting failed; the card stays stored; the next meeting is an extra one */
    OK(s, "appointment.booked", now(), "s:appointment", "ap1", "s:order", "o1", "u:at_ms", slot,
       "s:place_kind", "office", "s:place", "Office");
    OK(s, "handover.failed", now(), "s:order", "o1", "s:reason", "no-valid-id", "s:appointment",
       "ap1");
    assert_string_equal(q_text(s, "SELECT state FROM p_appointments WHERE appointment = ?1", "ap1"),
                        "failed");
    assert_string_equal(state_of(s, "o1"), "stored");
    assert_int_equal(q_int(s, "SELECT failed_meetings FROM p_orders WHERE order_id = ?1", "o1"), 1);
    HAND_OK(s, "o1", now());
    assert_int_equal(q_int(s, "SELECT failed_meetings FROM p_orders WHERE order_id = ?1", "o1"), 1);
    assert_string_equal(q_text(s, meetings, "o1"), "failed:no-valid-id:0 completed::1");
    NO(s, "handover.failed", now(), "handed-over", "s:order", "o1", "s:reason", "no-show");

    /* the holder did not come: the next meeting is not an extra paid one */
    OK(s, "handover.failed", now(), "s:order", "o2", "s:reason", "no-show");
    HAND_OK(s, "o2", now());
    assert_string_equal(q_text(s, meetings, "o2"), "failed:no-show:0 completed::0");

    /* the wrong person came, then the PIN envelope was missing: both later meetings extra */
    OK(s, "handover.failed", now(), "s:order", "o3", "s:reason", "wrong-person");
    OK(s, "handover.failed", now(), "s:order", "o3", "s:reason", "no-pin-envelope");
    HAND_OK(s, "o3", now());
    assert_string_equal(q_text(s, meetings, "o3"),
                        "failed:wrong-person:0 failed:no-pin-envelope:1 completed::1");
    assert_int_equal(q_int(s, "SELECT failed_meetings FROM p_orders WHERE order_id = ?1", "o3"), 2);
    finish(s);
}

/* A private office hands over during its notice period of one month, then no more. Notice on
 * 31 January ends on 28 February (the day is clamped to the month's end). */
static void test_notice_private(void **state)
{
    (void)state;
    struct store *s = base();
    uint64_t notice = T0 + 30 * DAY; /* 2026-01-31 00:00 UTC */
    uint64_t ends = T0 + 58 * DAY;   /* 2026-02-28 00:00 UTC */
    order_to(s, "o1", "storuman", &id_a, "stored");
    order_to(s, "o2", "storuman", &id_a, "stored");
    order_to(s, "o3", "storuman", &id_a, "stored");
    order_to(s, "o4", "storuman", &id_a, "stored");
    as(s, &id_a);
    OK(s, "office.notice", notice, "s:office", "storuman");
    assert_string_equal(q_text(s, "SELECT status FROM p_offices WHERE office = ?1", "storuman"),
                        "notice");
    assert_int_equal(q_int(s, "SELECT notice_ends_ms FROM p_offices WHERE office = ?1", "storuman"),
                     (int64_t)ends);
    NO(s, "office.notice", notice + MIN_MS, "not open", "s:office", "storuman");
    as(s, &id_hub);
    NO(s, "order.placed", notice + MIN_MS, "no new orders", "s:order", "o5", "s:care_provider", "x",
       "s:holder", "H", "s:office", "storuman", "s:card_type", "siths-eid");
    as(s, &id_a);
    HAND_OK(s, "o1", notice + 15 * DAY);
    /* A meeting after the notice period cannot be booked, even while the office is open. */
    NO(s, "appointment.booked", ends - HOUR, "notice period", "s:appointment", "ap3", "s:order",
       "o3", "u:at_ms", U64(ends + DAY), "s:place_kind", "office", "s:place", "Office");
    OK(s, "appointment.booked", ends - HOUR, "s:appointment", "ap3", "s:order", "o3", "u:at_ms",
       U64(ends - HOUR / 2), "s:place_kind", "office", "s:place", "Office");
    HAND_OK(s, "o2", ends); /* the last moment of the notice period */
    HAND_NO(s, "o3", ends + 1, "notice period");
    HAND_NO(s, "o4", ends + DAY, "notice period");
    NO(s, "handover.failed", ends + DAY, "notice period", "s:order", "o3", "s:reason", "no-show");
    NO(s, "appointment.booked", ends + DAY, "notice period", "s:appointment", "ap4", "s:order",
       "o4", "u:at_ms", U64(ends + 2 * DAY), "s:place_kind", "office", "s:place", "Office");
    NO(s, "reserve.issued", ends + DAY, "notice period", "s:reserve", "r1", "s:office", "storuman",
       "s:holder", "H", "s:reason", "lost-card", "u:valid_until_ms", U64(ends + 30 * DAY),
       "s:receipt", "k1");
    /* cards still there go back */
    OK(s, "card.returned", ends + DAY, "s:order", "o3", "s:reason", "office closed");
    assert_string_equal(state_of(s, "o3"), "returned");
    finish(s);
}

/* An organisation office hands over during three months of notice. */
static void test_notice_organisation(void **state)
{
    (void)state;
    struct store *s = base();
    uint64_t notice = T0 + 31 * DAY; /* 2026-02-01 */
    uint64_t ends = T0 + 120 * DAY;  /* 2026-05-01 */
    as(s, &id_hub);
    admin(s, "umea", "carl");
    order_to(s, "o1", "umea", &id_b, "stored");
    order_to(s, "o2", "umea", &id_b, "stored");
    order_to(s, "o3", "umea", &id_b, "stored");
    as(s, &id_hub);
    OK(s, "office.notice", notice, "s:office", "umea");
    assert_int_equal(q_int(s, "SELECT notice_ends_ms FROM p_offices WHERE office = ?1", "umea"),
                     (int64_t)ends);
    as(s, &id_b);
    HAND_OK(s, "o1", T0 + 90 * DAY); /* 2026-04-01: past one month, within three */
    HAND_OK(s, "o2", ends);
    HAND_NO(s, "o3", ends + 1, "notice period");
    finish(s);
}

static void test_revocation(void **state)
{
    (void)state;
    struct store *s = base();
    order_to(s, "o1", "storuman", &id_a, "stored");
    order_to(s, "o2", "storuman", &id_a, "stored");
    order_to(s, "o3", "storuman", &id_a, "ordered");
    as(s, &id_hub);
    NO(s, "card.revoked", now(), "police_report", "s:order", "o1", "s:reason", "lost");
    NO(s, "card.revoked", now(), "reason", "s:order", "o1", "s:reason", "stolen");
    NO(s, "card.revoked", now(), "no order", "s:order", "o9", "s:reason", "employment-ended");
    OK(s, "card.revoked", now(), "s:order", "o1", "s:reason", "lost", "s:police_report",
       "AM-2026-4711");
    assert_string_equal(state_of(s, "o1"), "revoked");
    assert_string_equal(q_text(s, "SELECT police_report FROM p_orders WHERE order_id = ?1", "o1"),
                        "AM-2026-4711");
    assert_string_equal(q_text(s, "SELECT closed_reason FROM p_orders WHERE order_id = ?1", "o1"),
                        "lost");
    NO(s, "card.revoked", now(), "revoked", "s:order", "o1", "s:reason", "employment-ended");
    /* a revoked card is not handed over, nor booked, nor returned */
    as(s, &id_a);
    HAND_NO(s, "o1", now(), "revoked");
    NO(s, "handover.failed", now(), "revoked", "s:order", "o1", "s:reason", "no-show");
    NO(s, "appointment.booked", now(), "revoked", "s:appointment", "ap1", "s:order", "o1",
       "u:at_ms", U64(T0 + 5 * DAY), "s:place_kind", "office", "s:place", "Office");
    NO(s, "card.returned", now(), "revoked", "s:order", "o1");

    /* employment ended after the hand-over; an order revoked before shipping */
    HAND_OK(s, "o2", now());
    as(s, &id_hub);
    OK(s, "card.revoked", now(), "s:order", "o2", "s:reason", "employment-ended");
    assert_string_equal(state_of(s, "o2"), "revoked");
    OK(s, "card.revoked", now(), "s:order", "o3", "s:reason", "employment-ended");
    NO(s, "card.shipped", now(), "revoked", "s:order", "o3", "s:serial", "S", "s:rek", "R");
    finish(s);
}

static void test_destroyed(void **state)
{
    (void)state;
    struct store *s = base();
    order_to(s, "o1", "storuman", &id_a, "stored");
    order_to(s, "o2", "storuman", &id_a, "stored");
    order_to(s, "o3", "storuman", &id_a, "stored");
    as(s, &id_hub);
    NO(s, "card.destroyed", now(), "stored", "s:order", "o1");
    as(s, &id_a);
    NO(s, "card.destroyed", now(), "stored", "s:order", "o1");
    OK(s, "card.returned", now(), "s:order", "o1", "s:reason", "not fetched in time");
    assert_string_equal(state_of(s, "o1"), "returned");
    NO(s, "card.returned", now(), "returned", "s:order", "o1");
    as(s, &id_b);
    NO(s, "card.destroyed", now(), "not bound", "s:order", "o1");
    as(s, &id_a);
    OK(s, "card.destroyed", now(), "s:order", "o1");
    assert_string_equal(state_of(s, "o1"), "destroyed");
    assert_string_equal(q_text(s, "SELECT closed_reason FROM p_orders WHERE order_id = ?1", "o1"),
                        "not fetched in time");
    NO(s, "card.destroyed", now(), "destroyed", "s:order", "o1");
    as(s, &id_hub);
    NO(s, "card.revoked", now(), "destroyed", "s:order", "o1", "s:reason", "employment-ended");
    OK(s, "card.revoked", now(), "s:order", "o2", "s:reason", "employment-ended");
    OK(s, "card.destroyed", now(), "s:order", "o2");
    as(s, &id_a);
    HAND_OK(s, "o3", now());
    as(s, &id_hub);
    NO(s, "card.destroyed", now(), "handed-over", "s:order", "o3");
    finish(s);
}

static void test_reserve(void **state)
{
    (void)state;
    struct store *s = base();
    uint64_t issued = T0 + 10 * DAY; /* 2026-01-11 */
    uint64_t three = T0 + 100 * DAY; /* 2026-04-11: three months later */
#define RES(r, office, reason, until)                                             \
    "s:reserve", r, "s:office", office, "s:holder", "Holder", "s:reason", reason, \
        "u:valid_until_ms", U64(until), "s:receipt", "kv-" r
    as(s, &id_hub);
    NO(s, "reserve.issued", issued, "hub may not", RES("r1", "storuman", "lost-card", three));
    as(s, &id_b);
    NO(s, "reserve.issued", issued, "not bound", RES("r1", "storuman", "lost-card", three));
    as(s, &id_a);
    NO(s, "reserve.issued", issued, "three months", RES("r1", "storuman", "lost-card", three + 1));
    NO(s, "reserve.issued", issued, "three months",
       RES("r1", "storuman", "lost-card", issued + 365 * DAY));
    NO(s, "reserve.issued", issued, "three months", RES("r1", "storuman", "lost-card", issued));
    NO(s, "reserve.issued", issued, "reason", RES("r1", "storuman", "vacation", three));
    OK(s, "reserve.issued", issued, RES("r1", "storuman", "lost-card", three));
    assert_int_equal(q_int(s, "SELECT valid_until_ms FROM p_reserves WHERE reserve = ?1", "r1"),
                     (int64_t)three);
    NO(s, "reserve.issued", issued, "already exists", RES("r1", "storuman", "new-hire", three));
    const char *reasons[] = { "new-hire", "short-term-employment", "no-swedish-address",
                              "coordination-number", "foreign-person" };
    char id[8];
    for (int i = 0; i < 5; i++) {
        snprintf(id, sizeof(id), "rr%d", i);
        OK(s, "reserve.issued", issued + U64(i), "s:reserve", id, "s:office", "storuman",
           "s:holder", "H", "s:reason", reasons[i], "u:valid_until_ms", U64(issued + 30 * DAY),
           "s:receipt", id);
    }
    /* the receipt is archived once; the card comes back once */
    OK(s, "receipt.archived", issued + HOUR, "s:reserve", "r1");
    NO(s, "receipt.archived", issued + HOUR, "already archived", "s:reserve", "r1");
    OK(s, "reserve.returned", issued + 20 * DAY, "s:reserve", "r1");
    assert_int_equal(q_int(s, "SELECT returned_ms FROM p_reserves WHERE reserve = ?1", "r1"),
                     (int64_t)(issued + 20 * DAY));
    assert_int_equal(
        q_int(s, "SELECT receipt_archived_ms FROM p_reserves WHERE reserve = ?1", "r1"),
        (int64_t)(issued + HOUR));
    NO(s, "reserve.returned", issued + 21 * DAY, "already returned", "s:reserve", "r1");
    NO(s, "reserve.returned", issued + 21 * DAY, "no reserve", "s:reserve", "r9");
    as(s, &id_am);
    OK(s, "reserve.returned", issued + 21 * DAY, "s:reserve", "rr0");
    /* an organisation office issues with two administrators only */
    as(s, &id_b);
    NO(s, "reserve.issued", issued, "needs two", RES("r2", "umea", "foreign-person", three));
    as(s, &id_hub);
    admin(s, "umea", "carl");
    as(s, &id_b);
    OK(s, "reserve.issued", issued, RES("r2", "umea", "foreign-person", three));
    as(s, &id_a);
    NO(s, "reserve.returned", now(), "not bound", "s:reserve", "r2");
#undef RES
    finish(s);
}

static void test_catalogue(void **state)
{
    (void)state;
    struct store *s = base();
    uint64_t added = T0 + DAY, audit = T0 + 90 * DAY;
    as(s, &id_hub);
    OK(s, "catalogue.added", added, "s:entry", "e1", "s:office", "umea", "s:person", "Eva Ek",
       "s:unit", "Hemtjansten norr");
    assert_int_equal(q_int(s, "SELECT valid_until_ms FROM p_catalogue WHERE entry = ?1", "e1"),
                     (int64_t)(T0 + 366 * DAY)); /* 2027-01-02: one year */
    NO(s, "catalogue.added", added, "already exists", "s:entry", "e1", "s:office", "umea",
       "s:person", "X", "s:unit", "Y");
    NO(s, "catalogue.added", added, "no office", "s:entry", "e9", "s:office", "lycksele",
       "s:person", "X", "s:unit", "Y");
    as(s, &id_b);
    OK(s, "catalogue.added", added, "s:entry", "e2", "s:office", "umea", "s:person", "Per Ek",
       "s:unit", "Hemtjansten syd");
    as(s, &id_a);
    NO(s, "catalogue.added", added, "not bound", "s:entry", "e3", "s:office", "umea", "s:person",
       "X", "s:unit", "Y");
    NO(s, "catalogue.audited", audit, "not bound", "s:entry", "e1");
    as(s, &id_b);
    NO(s, "catalogue.audited", audit, "known", "s:entry", "e9");
    /* the quarterly audit keeps the entry alive a year from the audit */
    OK(s, "catalogue.audited", audit, "s:entry", "e1");
    assert_int_equal(q_int(s, "SELECT audited_ms FROM p_catalogue WHERE entry = ?1", "e1"),
                     (int64_t)audit);
    assert_int_equal(q_int(s, "SELECT valid_until_ms FROM p_catalogue WHERE entry = ?1", "e1"),
                     (int64_t)(T0 + 455 * DAY)); /* 2027-04-01 */
    as(s, &id_hub);
    OK(s, "catalogue.removed", audit + DAY, "s:entry", "e1");
    NO(s, "catalogue.audited", audit + 2 * DAY, "removed", "s:entry", "e1");
    NO(s, "catalogue.removed", audit + 2 * DAY, "removed", "s:entry", "e1");
    NO(s, "catalogue.added", audit + 2 * DAY, "already exists", "s:entry", "e1", "s:office", "umea",
       "s:person", "Eva Ek", "s:unit", "Hemtjansten norr");
    as(s, &id_bm);
    OK(s, "catalogue.audited", audit, "s:entry", "e2");
    OK(s, "catalogue.removed", audit + DAY, "s:entry", "e2");
    /* an entry not confirmed within a year has lapsed: no audit brings it back */
    as(s, &id_hub);
    OK(s, "catalogue.added", added, "s:entry", "e4", "s:office", "umea", "s:person", "Ola Ek",
       "s:unit", "Skolan");
    NO(s, "catalogue.audited", T0 + 367 * DAY, "lapsed", "s:entry", "e4");
    OK(s, "catalogue.audited", T0 + 366 * DAY, "s:entry", "e4"); /* the last valid moment */
    finish(s);
}

struct rows {
    size_t n;
    char seen[16][96];
};

static int collect_rows(void *ud, size_t ncols, const char *const *names,
                        const struct store_cell *cells)
{
    struct rows *r = ud;
    char line[96] = "";
    (void)names;
    if (!cells)
        return 0; /* the column names */
    for (size_t i = 0; i < ncols && i < 3; i++) {
        strncat(line, cells[i].text ? cells[i].text : "-", sizeof(line) - strlen(line) - 2);
        strcat(line, "|");
    }
    if (r->n < 16)
        snprintf(r->seen[r->n], sizeof(r->seen[0]), "%s", line);
    r->n++;
    return 0;
}

static bool has_row(const struct rows *r, const char *prefix)
{
    for (size_t i = 0; i < r->n && i < 16; i++)
        if (!strncmp(r->seen[i], prefix, strlen(prefix)))
            return true;
    return false;
}

/* The directory drops an office whose notice has ended; alerts name lapsed catalogue entries and
 * receipts not archived a week after the reserve card was issued. */
static void test_reports_time_rules(void **state)
{
    (void)state;
    struct store *s = base();
    struct rows r = { 0 };
    uint64_t notice = T0 + 40 * DAY;
    as(s, &id_hub);
    OK(s, "catalogue.added", T0, "s:entry", "c1", "s:office", "umea", "s:person", "P", "s:unit",
       "U");
    admin(s, "umea", "cia");
    as(s, &id_a);
    OK(s, "reserve.issued", T0, "s:reserve", "r1", "s:office", "storuman", "s:holder", "H",
       "s:reason", "new-hire", "u:valid_until_ms", U64(T0 + 60 * DAY), "s:receipt", "k1");
    OK(s, "office.notice", notice, "s:office", "storuman");

    struct store_report_args a = { .now_ms = T0 + 3 * DAY };
    assert_int_equal(store_report(s, STORE_REPORT_ALERTS, &a, collect_rows, &r), 0);
    assert_false(has_row(&r, "receipt-not-archived|"));
    a.now_ms = T0 + 8 * DAY;
    memset(&r, 0, sizeof(r));
    assert_int_equal(store_report(s, STORE_REPORT_ALERTS, &a, collect_rows, &r), 0);
    assert_true(has_row(&r, "receipt-not-archived|storuman|r1|"));
    a.now_ms = T0 + 370 * DAY;
    memset(&r, 0, sizeof(r));
    assert_int_equal(store_report(s, STORE_REPORT_ALERTS, &a, collect_rows, &r), 0);
    assert_true(has_row(&r, "catalogue-lapsed|umea|c1|"));
    assert_false(has_row(&r, "audit-overdue|umea|c1|"));

    /* storuman (private) is listed during its notice period, not after it */
    a.now_ms = notice + DAY;
    memset(&r, 0, sizeof(r));
    assert_int_equal(store_report(s, STORE_REPORT_DIRECTORY, &a, collect_rows, &r), 0);
    assert_int_equal(r.n, 2);
    a.now_ms = notice + 32 * DAY;
    memset(&r, 0, sizeof(r));
    assert_int_equal(store_report(s, STORE_REPORT_DIRECTORY, &a, collect_rows, &r), 0);
    assert_int_equal(r.n, 1);
    finish(s);
}

/* ms of a UTC time */
static uint64_t utc_ms(int y, int mon, int d, int h, int min, int sec)
{
    struct tm tm = { .tm_year = y - 1900,
                     .tm_mon = mon - 1,
                     .tm_mday = d,
                     .tm_hour = h,
                     .tm_min = min,
                     .tm_sec = sec };
    return (uint64_t)timegm(&tm) * 1000;
}

/* Days and months in Swedish time: UTC+1, and UTC+2 from 01:00 UTC on the last Sunday of March
 * to 01:00 UTC on the last Sunday of October (2026: 29 March and 25 October). */
static void test_swedish_day(void **state)
{
    (void)state;
    static const struct {
        int t[6];
        const char *day;
    } cases[] = {
        { { 2026, 1, 15, 12, 0, 0 }, "2026-01-15" },
        { { 2026, 3, 28, 22, 59, 59 }, "2026-03-28" },
        { { 2026, 3, 28, 23, 0, 0 }, "2026-03-29" },
        { { 2026, 3, 29, 0, 59, 59 }, "2026-03-29" },
        { { 2026, 6, 30, 21, 59, 59 }, "2026-06-30" },
        { { 2026, 6, 30, 22, 0, 0 }, "2026-07-01" },
        { { 2026, 10, 24, 22, 30, 0 }, "2026-10-25" },
        { { 2026, 10, 25, 22, 59, 0 }, "2026-10-25" },
        { { 2026, 10, 25, 23, 0, 0 }, "2026-10-26" },
        { { 2026, 12, 31, 22, 59, 59 }, "2026-12-31" },
        { { 2026, 12, 31, 23, 0, 0 }, "2027-01-01" },
        { { 2028, 2, 28, 23, 0, 0 }, "2028-02-29" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const int *t = cases[i].t;
        uint64_t ms = utc_ms(t[0], t[1], t[2], t[3], t[4], t[5]);
        char day[11], month[8];
        dom_day(ms, day);
        dom_month(ms, month);
        assert_string_equal(day, cases[i].day);
        assert_memory_equal(month, cases[i].day, 7);
        assert_int_equal(month[7], '\0');
    }
}

static void test_invoice(void **state)
{
    (void)state;
    struct store *s = base();
#define INV(office, month, n, x, ore)                                                        \
    "s:office", office, "s:month", month, "u:handovers", U64(n), "u:extra_meetings", U64(x), \
        "u:amount_ore", U64(ore)
    as(s, &id_hub);
    OK(s, "invoice.issued", now(), INV("storuman", "2026-01", 3, 1, 175000));
    assert_int_equal(q_int(s, "SELECT amount_ore FROM p_invoices WHERE office = ?1", "storuman"),
                     175000);
    assert_int_equal(
        q_int(s, "SELECT extra_meetings FROM p_invoices WHERE office = ?1", "storuman"), 1);
    NO(s, "invoice.issued", now(), "already issued", INV("storuman", "2026-01", 4, 0, 200000));
    OK(s, "invoice.issued", now(), INV("storuman", "2026-02", 0, 0, 0));
    OK(s, "invoice.issued", now(), INV("umea", "2026-01", 2, 0, 200000));
    NO(s, "invoice.issued", now(), "month", INV("umea", "2026-13", 1, 0, 1));
    NO(s, "invoice.issued", now(), "month", INV("umea", "2026-00", 1, 0, 1));
    NO(s, "invoice.issued", now(), "month", INV("umea", "26-01", 1, 0, 1));
    NO(s, "invoice.issued", now(), "month", INV("umea", "2026-1a", 1, 0, 1));
    NO(s, "invoice.issued", now(), "no office", INV("lycksele", "2026-01", 1, 0, 1));
    as(s, &id_a);
    NO(s, "invoice.issued", now(), "only the hub", INV("storuman", "2026-03", 1, 0, 50000));
#undef INV
    assert_int_equal(q_int(s, "SELECT count(*) FROM p_invoices", NULL), 3);
    finish(s);
}

static void test_fields(void **state)
{
    (void)state;
    struct store *s = base();
    char longtext[600];
    memset(longtext, 'x', 513);
    longtext[513] = '\0';
    as(s, &id_hub);
    NO(s, "order.placed", now(), "unknown field", "s:order", "o1", "s:care_provider", "x",
       "s:holder", "H", "s:office", "storuman", "s:card_type", "siths-eid", "s:colour", "red");
    /* the holder's data is sealed apart (order.holder), so a missing holder is no error; a
     * missing card type is */
    NO(s, "order.placed", now(), "card_type", "s:order", "o1", "s:care_provider", "x", "s:office",
       "storuman");
    NO(s, "order.placed", now(), "order", "s:order", "o 1", "s:care_provider", "x", "s:holder", "H",
       "s:office", "storuman", "s:card_type", "siths-eid");
    NO(s, "order.placed", now(), "holder", "s:order", "o1", "s:care_provider", "x", "s:holder",
       longtext, "s:office", "storuman", "s:card_type", "siths-eid");
    NO(s, "order.placed", now(), "office", "s:order", "o1", "s:care_provider", "x", "s:holder", "H",
       "u:office", U64(7), "s:card_type", "siths-eid");
    order_to(s, "o1", "storuman", &id_a, "collected");
    NO(s, "card.stored", now(), "locked", "s:order", "o1", "s:locked", "yes");
    NO(s, "appointment.booked", now(), "at_ms", "s:appointment", "ap1", "s:order", "o1", "s:at_ms",
       "tomorrow", "s:place_kind", "office", "s:place", "Office");
    NO(s, "handover.completed", now(), "unknown field", "s:order", "o1", "s:serial",
       serial_of("o1"), "b:id_checked", 1, "b:right_person", 1, "b:pin_envelope", 1,
       "b:photo_taken", 1);

    /* not a map at all, or an empty payload */
    static const uint8_t array[] = { 0x91, 0x01 };
    uint64_t before = log_count(s);
    assert_int_equal(store_domain_write(s, "card.stored", array, sizeof(array), now(), NULL,
                                        g_reason, sizeof(g_reason)),
                     KN_EREFUSED);
    assert_non_null(strstr(g_reason, "map"));
    assert_int_equal(
        store_domain_write(s, "card.stored", array, 0, now(), NULL, g_reason, sizeof(g_reason)),
        KN_EREFUSED);
    assert_non_null(strstr(g_reason, "map"));
    assert_int_equal(log_count(s), before);
    assert_string_equal(state_of(s, "o1"), "collected");
    finish(s);
}

/* An unknown type is refused like any other event the rules refuse. */
static void test_unknown_type_write(void **state)
{
    (void)state;
    struct store *s = base();
    uint64_t before = log_count(s);
    size_t len;
    uint8_t *p = payload(&len, "s:order", "o1", (const char *)NULL);
    as(s, &id_hub);
    int r =
        store_domain_write(s, "card.teleported", p, len, now(), NULL, g_reason, sizeof(g_reason));
    free(p);
    assert_non_null(strstr(g_reason, "unknown"));
    assert_int_equal(log_count(s), before);
    finish(s);
    if (r != KN_EREFUSED)
        fail_msg("an unknown event type: expected KN_EREFUSED, got %s", kn_errname(r));
}

/* Entries that reach a node although no rule allows them are kept and listed invalid. */
static void test_invalid_entries_listed(void **state)
{
    (void)state;
    struct store *s = base();
    struct store_domain_stats st;
    size_t len;
    uint8_t *p;
    struct store_entry e;

    as(s, &id_hub);
    p = payload(&len, "s:order", "o1", (const char *)NULL);
    struct store_draft d = { "card.teleported", now(), NULL, 0, p, len };
    assert_int_equal(store_append(s, &d, &e), 0);
    free(p);
    as(s, &id_u); /* an unbound node orders a card */
    p = payload(&len, "s:card_type", "siths-eid", "s:care_provider", "x", "s:holder", "H",
                "s:office", "storuman", "s:order", "o2", (const char *)NULL);
    struct store_draft d2 = { "order.placed", now(), NULL, 0, p, len };
    assert_int_equal(store_append(s, &d2, NULL), 0);
    free(p);
    assert_int_equal(store_domain_sync(s, false, &st), 0);
    assert_int_equal(st.invalid, 2);
    assert_int_equal(st.conflicts, 0);
    assert_int_equal(st.waiting, 0);
    assert_int_equal(q_int(s, "SELECT status FROM p_applied WHERE type = ?1", "card.teleported"),
                     DOM_INVALID);
    assert_non_null(
        strstr(q_text(s, "SELECT reason FROM p_applied WHERE type = ?1", "card.teleported"),
               "unknown event type"));
    assert_non_null(strstr(
        q_text(s, "SELECT reason FROM p_applied WHERE type = ?1", "order.placed"), "only the hub"));
    assert_int_equal(q_int(s, "SELECT count(*) FROM p_orders", NULL), 0);
    /* the node goes on: later entries build on the listed ones */
    order_to(s, "o3", "storuman", &id_a, "stored");
    finish(s);
}

/* A hand-over names an appointment of its own order, at its own office. */
static void test_handover_appointment_of_other_order(void **state)
{
    (void)state;
    struct store *s = base();
    uint64_t slot = T0 + 7 * DAY;
    as(s, &id_hub);
    admin(s, "umea", "carl");
    order_to(s, "o1", "storuman", &id_a, "stored");
    order_to(s, "o2", "storuman", &id_a, "stored");
    order_to(s, "o3", "umea", &id_b, "stored");
    as(s, &id_a);
    OK(s, "appointment.booked", now(), "s:appointment", "ap2", "s:order", "o2", "u:at_ms", slot,
       "s:place_kind", "office", "s:place", "Office");
    as(s, &id_b);
    OK(s, "appointment.booked", now(), "s:appointment", "ap3", "s:order", "o3", "u:at_ms", slot,
       "s:place_kind", "office", "s:place", "Reception");
    as(s, &id_a);
    /* storuman's node closes umea's appointment through a hand-over of its own order */
    NO(s, "handover.completed", now(), "appointment", "s:order", "o1", "s:serial", serial_of("o1"),
       "b:id_checked", 1, "b:right_person", 1, "b:pin_envelope", 1, "s:appointment", "ap3");
    NO(s, "handover.failed", now(), "appointment", "s:order", "o1", "s:reason", "no-show",
       "s:appointment", "ap3");
    /* another order's appointment at the same office */
    NO(s, "handover.completed", now(), "appointment", "s:order", "o1", "s:serial", serial_of("o1"),
       "b:id_checked", 1, "b:right_person", 1, "b:pin_envelope", 1, "s:appointment", "ap2");
    assert_string_equal(q_text(s, "SELECT state FROM p_appointments WHERE appointment = ?1", "ap3"),
                        "booked");
    assert_string_equal(q_text(s, "SELECT state FROM p_appointments WHERE appointment = ?1", "ap2"),
                        "booked");
    finish(s);
}

/* ============================ 2. determinism: any arrival order ============================ */

struct world {
    struct store *h, *a, *m, *b, *u;
};

static void world_close(struct world *w)
{
    close_store(w->h);
    close_store(w->a);
    close_store(w->m);
    close_store(w->b);
    close_store(w->u);
}

/* Raw entries the rules refuse, appended straight to the log of the node that sends them. */
static void raw_append(struct store *s, const struct store_identity *id, const char *type,
                       const struct store_entry_id *deps, size_t ndeps, ...)
{
    va_list ap;
    size_t len;
    va_start(ap, ndeps);
    uint8_t *p = vpayload(&len, ap);
    va_end(ap);
    as(s, id);
    struct store_draft d = { type, now(), deps, ndeps, p, len };
    assert_int_equal(store_append(s, &d, NULL), 0);
    free(p);
}

/*
 * A realistic few weeks: a hub, storuman's office and mobile nodes, umea's office node, and a
 * node nobody bound; orders through their lives, a failed meeting, returns, revocations,
 * reserve cards, catalogue entries, invoices; concurrent conflicts (two nodes hand over one
 * card, two nodes book one slot, a hand-over against a revocation); entries listed invalid; one
 * entry waiting forever for a parent nobody has. At the end the hub holds everything.
 */
static void build_world(struct world *w)
{
    char o[16], ap[16], e[16];
    uint64_t slot = T0 + 14 * DAY;

    w->h = mem_store();
    w->a = mem_store();
    w->m = mem_store();
    w->b = mem_store();
    w->u = mem_store();

    struct store *h = w->h, *a = w->a, *m = w->m, *b = w->b;
    base_events(h);
    admin(h, "umea", "carl");
    for (int i = 1; i <= 6; i++) {
        snprintf(e, sizeof(e), "c%d", i);
        OK(h, "catalogue.added", now(), "s:entry", e, "s:office", i <= 3 ? "umea" : "storuman",
           "s:person", e, "s:unit", "Hemtjansten");
    }
    /* o01..o10 for storuman, o11..o15 for umea */
    for (int i = 1; i <= 15; i++) {
        snprintf(o, sizeof(o), "o%02d", i);
        OK(h, "order.placed", now(), "s:order", o, "s:care_provider", "kommunen", "s:holder", o,
           "s:office", i <= 10 ? "storuman" : "umea", "s:card_type", "siths-eid");
        OK(h, "card.shipped", now(), "s:order", o, "s:serial", serial_of(o), "s:rek", o);
        OK(h, "pin.sent", now(), "s:order", o);
    }
    xfer(h, a);
    xfer(h, m);
    xfer(h, b);

    as(a, &id_a);
    for (int i = 1; i <= 10; i++) {
        snprintf(o, sizeof(o), "o%02d", i);
        OK(a, "notice.received", now(), "s:order", o);
        OK(a, "card.collected", now(), "s:order", o);
        OK(a, "card.stored", now(), "s:order", o, "b:locked", 1);
    }
    as(b, &id_b);
    for (int i = 11; i <= 15; i++) {
        snprintf(o, sizeof(o), "o%02d", i);
        OK(b, "notice.received", now(), "s:order", o);
        OK(b, "card.collected", now(), "s:order", o);
        OK(b, "card.stored", now(), "s:order", o, "b:locked", 1);
    }
    xfer(a, m);
    xfer(a, h);
    xfer(b, h);

    /* storuman's office node: meetings */
    for (int i = 1; i <= 3; i++) {
        snprintf(o, sizeof(o), "o%02d", i);
        snprintf(ap, sizeof(ap), "ap%02d", i);
        OK(a, "appointment.booked", now(), "s:appointment", ap, "s:order", o, "u:at_ms",
           U64(slot + U64(i) * HOUR), "s:place_kind", "public-place", "s:place", "Cafe");
    }
    OK(a, "handover.completed", slot + HOUR, "s:order", "o01", "s:serial", serial_of("o01"),
       "b:id_checked", 1, "b:right_person", 1, "b:pin_envelope", 1, "s:appointment", "ap01");
    OK(a, "handover.failed", slot + 2 * HOUR, "s:order", "o02", "s:reason", "no-pin-envelope",
       "s:appointment", "ap02");
    OK(a, "appointment.booked", now(), "s:appointment", "ap02b", "s:order", "o02", "u:at_ms",
       U64(slot + DAY), "s:place_kind", "home-delivery", "s:place", "Holder's home");
    OK(a, "appointment.moved", now(), "s:appointment", "ap03", "u:at_ms", U64(slot + 2 * DAY));
    OK(a, "appointment.cancelled", now(), "s:appointment", "ap03");
    HAND_OK(a, "o02", slot + DAY);
    OK(a, "handover.failed", now(), "s:order", "o03", "s:reason", "no-show");
    OK(a, "card.returned", now(), "s:order", "o04", "s:reason", "never fetched");
    OK(a, "reserve.issued", now(), "s:reserve", "r1", "s:office", "storuman", "s:holder", "R1",
       "s:reason", "lost-card", "u:valid_until_ms", U64(g_clock + 60 * DAY), "s:receipt", "k1");
    OK(a, "receipt.archived", now(), "s:reserve", "r1");
    OK(a, "reserve.issued", now(), "s:reserve", "r2", "s:office", "storuman", "s:holder", "R2",
       "s:reason", "new-hire", "u:valid_until_ms", U64(g_clock + 80 * DAY), "s:receipt", "k2");
    OK(a, "catalogue.audited", now(), "s:entry", "c4");
    OK(a, "catalogue.removed", now(), "s:entry", "c5");

    /* apart: the office node and the mobile node both hand over o05, and both book one slot */
    HAND_OK(a, "o05", now());
    as(m, &id_am);
    HAND_OK(m, "o05", now());
    OK(m, "appointment.booked", now(), "s:appointment", "apm", "s:order", "o06", "u:at_ms",
       U64(slot + 3 * DAY), "s:place_kind", "workplace", "s:place", "Clinic");
    OK(a, "appointment.booked", now(), "s:appointment", "apa", "s:order", "o07", "u:at_ms",
       U64(slot + 3 * DAY), "s:place_kind", "office", "s:place", "Office");
    /* apart: the hub revokes o08 (lost) while the office hands it over */
    OK(h, "card.revoked", now(), "s:order", "o08", "s:reason", "lost", "s:police_report", "AC-1");
    HAND_OK(a, "o08", now());

    /* umea */
    for (int i = 11; i <= 12; i++) {
        snprintf(o, sizeof(o), "o%02d", i);
        HAND_OK(b, o, now());
    }
    OK(b, "handover.failed", now(), "s:order", "o13", "s:reason", "wrong-person");
    HAND_OK(b, "o13", now());
    OK(b, "appointment.booked", now(), "s:appointment", "ap14", "s:order", "o14", "u:at_ms",
       U64(slot + 4 * HOUR), "s:place_kind", "office", "s:place", "Reception");
    OK(b, "appointment.cancelled", now(), "s:appointment", "ap14");
    OK(b, "reserve.issued", now(), "s:reserve", "r3", "s:office", "umea", "s:holder", "R3",
       "s:reason", "short-term-employment", "u:valid_until_ms", U64(g_clock + 30 * DAY),
       "s:receipt", "k3");
    OK(b, "catalogue.audited", now(), "s:entry", "c1");
    OK(b, "catalogue.removed", now(), "s:entry", "c2");
    OK(b, "card.returned", now(), "s:order", "o15");

    /* an entry the rules refuse, sent by the office node itself */
    struct store_entry_id none;
    raw_append(a, &id_a, "card.stored", NULL, 0, "s:order", "o09", "b:locked", 0,
               (const char *)NULL);

    xfer(a, h);
    xfer(m, h);
    xfer(b, h);
    /* the hub closes what came back */
    as(h, &id_hub);
    OK(h, "card.destroyed", now(), "s:order", "o04");
    OK(h, "card.revoked", now(), "s:order", "o11", "s:reason", "employment-ended");
    OK(h, "card.destroyed", now(), "s:order", "o11");
    OK(h, "card.destroyed", now(), "s:order", "o15");
    OK(h, "office.updated", now(), "s:office", "storuman", "s:booking", "sms 070-0000000", "s:days",
       "mon,wed,fri");
    OK(h, "invoice.issued", now(), "s:office", "storuman", "s:month", "2026-01", "u:handovers",
       U64(3), "u:extra_meetings", U64(1), "u:amount_ore", U64(175000));
    OK(h, "invoice.issued", now(), "s:office", "umea", "s:month", "2026-01", "u:handovers", U64(3),
       "u:extra_meetings", U64(0), "u:amount_ore", U64(300000));
    xfer(h, a);
    as(a, &id_a);
    OK(a, "reserve.returned", now(), "s:reserve", "r1");
    OK(a, "office.notice", now(), "s:office", "storuman");
    HAND_OK(a, "o09", now());

    /* the node the hub enrols last, as an office node of umea: an unknown type (stored, listed
     * invalid), an entry that waits for a parent nobody holds, and an order it may not place
     * (an office's role may never write order.placed: refused by every node, not stored) */
    as(h, &id_hub);
    bind_node(h, hex_u, "umea", "office");
    raw_append(w->u, &id_u, "card.teleported", NULL, 0, "s:order", "o10", (const char *)NULL);
    memcpy(none.author, id_bm.pk, STORE_KEY_LEN);
    none.seq = 7;
    memset(none.hash, 0x5a, STORE_HASH_LEN);
    raw_append(w->u, &id_u, "card.collected", &none, 1, "s:order", "o10", (const char *)NULL);
    raw_append(w->u, &id_u, "order.placed", NULL, 0, "s:order", "ox", "s:care_provider", "x",
               "s:holder", "H", "s:office", "storuman", "s:card_type", "siths-eid",
               (const char *)NULL);

    xfer(a, h);
    xfer(w->u, h);
}

static uint64_t seed_from_env(void)
{
    const char *e = getenv("KN_LIFECYCLE_SEED");
    if (e && *e)
        return strtoull(e, NULL, 0);
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (uint64_t)t.tv_sec * 1000003u ^ (uint64_t)t.tv_nsec ^ (uint64_t)getpid() << 32;
}

static void test_determinism_property(void **state)
{
    (void)state;
    struct world w;
    struct raws all;
    struct store_domain_stats ref_st, st;
    uint8_t ref[STORE_HASH_LEN], d[STORE_HASH_LEN];

    build_world(&w);
    gather(w.h, &all);
    /* the reference: every entry in log order, applied at once */
    struct store *r = mem_store();
    ingest(r, &all, NULL, all.n);
    assert_int_equal(store_domain_sync(r, false, &ref_st), 0);
    digest(r, ref);
    printf("[ lifecycle ] %zu entries: %zu applied, %zu conflicts, %zu invalid, %zu waiting\n",
           all.n, ref_st.applied, ref_st.conflicts, ref_st.invalid, ref_st.waiting);
    assert_true(all.n >= 140);
    assert_int_equal(ref_st.conflicts, 3); /* o05 twice, the slot twice, o08 */
    assert_int_equal(ref_st.invalid, 2);
    assert_int_equal(ref_st.waiting, 1);
    assert_int_equal(ref_st.applied, all.n - 1);
    /* of the late office node's three entries the order it may not place is in no log */
    assert_int_equal(q_int(r,
                           "SELECT count(*) FROM log WHERE author ="
                           " (SELECT author FROM p_applied WHERE type = ?1)",
                           "card.teleported"),
                     2);
    assert_string_equal(state_of(r, "o08"), "revoked");
    assert_string_equal(state_of(r, "o05"), "handed-over");
    assert_int_equal(q_int(r, "SELECT count(*) FROM p_meetings WHERE order_id = ?1", "o05"), 1);
    assert_string_equal(state_of(r, "o09"), "handed-over");

    /* the hub, which saw everything come in bit by bit, holds the same state */
    assert_int_equal(store_domain_sync(w.h, false, &st), 0);
    digest(w.h, d);
    assert_memory_equal(d, ref, STORE_HASH_LEN);
    assert_int_equal(store_domain_sync(w.h, true, &st), 0);
    digest(w.h, d);
    assert_memory_equal(d, ref, STORE_HASH_LEN);
    assert_int_equal(st.conflicts, ref_st.conflicts);
    assert_int_equal(st.invalid, ref_st.invalid);
    assert_int_equal(st.waiting, ref_st.waiting);
    world_close(&w);

    uint64_t seed = seed_from_env();
    const char *pe = getenv("KN_LIFECYCLE_PERMS");
    size_t perms = pe && *pe ? (size_t)strtoull(pe, NULL, 0) : 1000;
    printf("[ lifecycle ] %zu permutations, seed KN_LIFECYCLE_SEED=0x%016" PRIx64 "\n", perms,
           seed);
    fflush(stdout);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    size_t rebuilds = 0;
    for (size_t p = 0; p < perms; p++) {
        uint64_t rng = seed ^ (0x9e3779b97f4a7c15ull * (p + 1));
        struct store *s = mem_store();
        ingest_random(s, &all, &rng, 20, &st, &rebuilds);
        digest(s, d);
        if (memcmp(d, ref, STORE_HASH_LEN) != 0 || st.conflicts != ref_st.conflicts ||
            st.invalid != ref_st.invalid || st.waiting != ref_st.waiting)
            fail_msg("permutation %zu (KN_LIFECYCLE_SEED=0x%016" PRIx64
                     "): %s; conflicts %zu/%zu invalid %zu/%zu waiting %zu/%zu",
                     p, seed, memcmp(d, ref, STORE_HASH_LEN) ? "digest differs" : "same digest",
                     st.conflicts, ref_st.conflicts, st.invalid, ref_st.invalid, st.waiting,
                     ref_st.waiting);
        close_store(s);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("[ lifecycle ] %zu permutations in %.1f s, %zu syncs rebuilt the projection\n", perms,
           (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9, rebuilds);
    close_store(r);
    raws_free(&all);
}

/*
 * The same entries applied in bounded steps (store_domain_step, as the daemon does) end in the
 * same state as one store_domain_sync; no step does more than its budget, and work is reported
 * as left until it is all done. Then again with the entries arriving in random batches between
 * steps, so that steps meet late entries (rebuilds) half-way through.
 */
static void test_bounded_steps(void **state)
{
    (void)state;
    struct world w;
    struct raws all;
    struct store_domain_stats ref_st, st;
    uint8_t ref[STORE_HASH_LEN], d[STORE_HASH_LEN];

    build_world(&w);
    gather(w.h, &all);
    world_close(&w);
    struct store *r = mem_store();
    ingest(r, &all, NULL, all.n);
    assert_int_equal(store_domain_sync(r, false, &ref_st), 0);
    digest(r, ref);

    const size_t budget = 7;
    struct store *s = mem_store();
    ingest(s, &all, NULL, all.n);
    size_t steps = 0, applied = 0;
    bool more = true;
    while (more) {
        assert_int_equal(store_domain_step(s, budget, &st, &more), 0);
        assert_true(st.applied <= budget);
        applied += st.applied;
        assert_true(++steps < 10 * all.n); /* it ends */
    }
    /* heights for every entry, then the applying: at least twice all.n / budget steps */
    assert_true(steps >= 2 * (all.n - 1) / budget);
    assert_int_equal(applied, ref_st.applied);
    digest(s, d);
    assert_memory_equal(d, ref, STORE_HASH_LEN);
    assert_int_equal(st.conflicts, ref_st.conflicts);
    assert_int_equal(st.invalid, ref_st.invalid);
    assert_int_equal(st.waiting, ref_st.waiting);
    /* nothing is left: one more step does nothing */
    assert_int_equal(store_domain_step(s, budget, &st, &more), 0);
    assert_false(more);
    assert_int_equal(st.applied, 0);
    close_store(s);

    uint64_t seed = seed_from_env(), rng = seed;
    for (int round = 0; round < 50; round++) {
        s = mem_store();
        ingest_random_steps(s, &all, &rng, 15, &st, NULL, 20);
        do
            assert_int_equal(store_domain_step(s, 1 + rnd_below(&rng, 20), &st, &more), 0);
        while (more);
        digest(s, d);
        if (memcmp(d, ref, STORE_HASH_LEN) != 0 || st.conflicts != ref_st.conflicts ||
            st.invalid != ref_st.invalid || st.waiting != ref_st.waiting)
            fail_msg("round %d (KN_LIFECYCLE_SEED=0x%016" PRIx64
                     "): the state applied in steps differs from the reference",
                     round, seed);
        close_store(s);
    }
    close_store(r);
    raws_free(&all);
}

/* ================================ 3. concurrent conflicts ================================ */

/* Into a fresh store in a random order; returns its digest and final stats. */
static void replay(const struct raws *all, uint64_t seed, uint8_t out[STORE_HASH_LEN],
                   struct store_domain_stats *st)
{
    struct store *s = mem_store();
    uint64_t rng = seed;
    ingest_random(s, all, &rng, 3, st, NULL);
    digest(s, out);
    close_store(s);
}

static void test_conflict_two_nodes_one_card(void **state)
{
    (void)state;
    struct store *h = mem_store(), *a = mem_store(), *m = mem_store();
    struct store_domain_stats st, st2;
    uint8_t dh[STORE_HASH_LEN], d[STORE_HASH_LEN];
    struct raws all;

    base_events(h);
    order_to(h, "o1", "storuman", &id_hub, "shipped");
    order_to(h, "o2", "storuman", &id_hub, "shipped");
    xfer(h, a);
    as(a, &id_a);
    OK(a, "notice.received", now(), "s:order", "o1");
    OK(a, "card.collected", now(), "s:order", "o1");
    OK(a, "card.stored", now(), "s:order", "o1", "b:locked", 1);
    xfer(a, m);
    /* apart, each node hands the card over (the holder came twice?) */
    HAND_OK(a, "o1", T0 + 5 * DAY);
    as(m, &id_am);
    HAND_OK(m, "o1", T0 + 5 * DAY + HOUR);
    assert_string_equal(state_of(a, "o1"), "handed-over");
    assert_string_equal(state_of(m, "o1"), "handed-over");

    xfer(a, h);
    xfer(m, h);
    assert_int_equal(store_domain_sync(h, false, &st), 0);
    assert_int_equal(st.conflicts, 1);
    assert_int_equal(st.invalid, 0);
    assert_int_equal(st.waiting, 0);
    assert_int_equal(q_int(h, "SELECT count(*) FROM p_applied WHERE type = ?1 AND status = 0",
                           "handover.completed"),
                     1);
    assert_int_equal(q_int(h, "SELECT count(*) FROM p_applied WHERE type = ?1 AND status = 1",
                           "handover.completed"),
                     1);
    assert_non_null(strstr(q_text(h, "SELECT reason FROM p_applied WHERE type = ?1 AND status = 1",
                                  "handover.completed"),
                           "handed-over"));
    assert_int_equal(q_int(h, "SELECT count(*) FROM p_meetings WHERE order_id = ?1", "o1"), 1);
    assert_string_equal(state_of(h, "o1"), "handed-over");
    digest(h, dh);

    /* the nodes learn of each other and come to the same state */
    xfer(m, a);
    xfer(a, m);
    xfer(h, a);
    xfer(h, m);
    digest(a, d);
    assert_memory_equal(d, dh, STORE_HASH_LEN);
    digest(m, d);
    assert_memory_equal(d, dh, STORE_HASH_LEN);
    assert_int_equal(store_domain_sync(m, false, &st2), 0);
    assert_int_equal(st2.conflicts, 1);

    /* and so does a store that got the entries in other orders */
    gather(h, &all);
    for (uint64_t k = 1; k <= 20; k++) {
        replay(&all, k * 7919, d, &st2);
        assert_memory_equal(d, dh, STORE_HASH_LEN);
        assert_int_equal(st2.conflicts, 1);
    }
    raws_free(&all);
    /* the conflict stays listed; a later entry moves on from the applied state */
    as(h, &id_hub);
    OK(h, "card.revoked", now(), "s:order", "o1", "s:reason", "employment-ended");
    close_store(a);
    close_store(m);
    finish(h);
}

/*
 * The hub revokes a card while the office, not knowing, hands it over; both had seen the card
 * stored. Which comes first is the (height, hash) order: when the revocation does, the
 * hand-over is a conflict; when the hand-over does, the revocation of a handed-over card
 * applies too. Either way every node ends with the card revoked, and in the same state.
 * office_extra: the office records something else first (its hand-over one step higher);
 * hub_extra: the hub writes that many other entries first (its revocation that much higher).
 */
static void handover_vs_revoke(bool office_extra, int hub_extra, bool expect_conflict)
{
    struct store *h = mem_store(), *a = mem_store();
    struct store_domain_stats st, st2;
    struct store_entry rev, hand_e;
    uint8_t dh[STORE_HASH_LEN], d[STORE_HASH_LEN];
    struct raws all;
    char e[16];

    base_events(h);
    order_to(h, "o1", "storuman", &id_hub, "shipped");
    xfer(h, a);
    as(a, &id_a);
    OK(a, "notice.received", now(), "s:order", "o1");
    OK(a, "card.collected", now(), "s:order", "o1");
    OK(a, "card.stored", now(), "s:order", "o1", "b:locked", 1);
    xfer(a, h);
    assert_string_equal(state_of(h, "o1"), "stored");
    if (office_extra)
        OK(a, "catalogue.added", now(), "s:entry", "ca1", "s:office", "storuman", "s:person", "P",
           "s:unit", "U");
    size_t len;
    uint8_t *p = payload(&len, "s:order", "o1", "s:serial", serial_of("o1"), "b:id_checked", 1,
                         "b:right_person", 1, "b:pin_envelope", 1, (const char *)NULL);
    assert_int_equal(store_domain_write(a, "handover.completed", p, len, now(), &hand_e, g_reason,
                                        sizeof(g_reason)),
                     0);
    free(p);
    /* the hub, not having heard of the hand-over */
    as(h, &id_hub);
    for (int i = 0; i < hub_extra; i++) {
        snprintf(e, sizeof(e), "c%d", i);
        OK(h, "catalogue.added", now(), "s:entry", e, "s:office", "umea", "s:person", e, "s:unit",
           "U");
    }
    p = payload(&len, "s:order", "o1", "s:reason", "lost", "s:police_report", "AC-77",
                (const char *)NULL);
    assert_int_equal(
        store_domain_write(h, "card.revoked", p, len, now(), &rev, g_reason, sizeof(g_reason)), 0);
    free(p);
    assert_string_equal(state_of(h, "o1"), "revoked");

    xfer(a, h);
    assert_int_equal(store_domain_sync(h, false, &st), 0);
    assert_string_equal(state_of(h, "o1"), "revoked");
    int64_t hh = q_int(h, "SELECT height FROM p_applied WHERE type = ?1", "handover.completed");
    int64_t rh = q_int(h, "SELECT height FROM p_applied WHERE type = ?1", "card.revoked");
    bool revoke_first = rh < hh || (rh == hh && memcmp(rev.hash, hand_e.hash, STORE_HASH_LEN) < 0);
    assert_int_equal(revoke_first, expect_conflict);
    assert_int_equal(st.conflicts, expect_conflict ? 1 : 0);
    assert_int_equal(q_int(h, "SELECT status FROM p_applied WHERE type = ?1", "handover.completed"),
                     expect_conflict ? DOM_CONFLICT : DOM_APPLIED);
    assert_int_equal(q_int(h, "SELECT status FROM p_applied WHERE type = ?1", "card.revoked"),
                     DOM_APPLIED);
    assert_int_equal(q_int(h, "SELECT count(*) FROM p_meetings WHERE order_id = ?1", "o1"),
                     expect_conflict ? 0 : 1);
    if (expect_conflict)
        assert_non_null(
            strstr(q_text(h, "SELECT reason FROM p_applied WHERE status = 1", NULL), "revoked"));
    digest(h, dh);

    xfer(h, a);
    digest(a, d);
    assert_memory_equal(d, dh, STORE_HASH_LEN);
    assert_string_equal(state_of(a, "o1"), "revoked");
    gather(h, &all);
    for (uint64_t k = 1; k <= 20; k++) {
        replay(&all, k * 104729, d, &st2);
        assert_memory_equal(d, dh, STORE_HASH_LEN);
        assert_int_equal(st2.conflicts, st.conflicts);
    }
    raws_free(&all);
    close_store(a);
    finish(h);
}

/* Two nodes of one office book the same slot while apart: one booking applies, one conflicts. */
static void test_conflict_two_bookings_one_slot(void **state)
{
    (void)state;
    struct store *h = mem_store(), *a = mem_store(), *m = mem_store();
    struct store_domain_stats st;
    uint8_t dh[STORE_HASH_LEN], d[STORE_HASH_LEN];
    uint64_t slot = T0 + 10 * DAY;

    base_events(h);
    order_to(h, "o1", "storuman", &id_a, "stored");
    order_to(h, "o2", "storuman", &id_a, "stored");
    xfer(h, a);
    xfer(h, m);
    as(a, &id_a);
    OK(a, "appointment.booked", now(), "s:appointment", "ap1", "s:order", "o1", "u:at_ms",
       U64(slot), "s:place_kind", "office", "s:place", "Office");
    as(m, &id_am);
    OK(m, "appointment.booked", now(), "s:appointment", "ap2", "s:order", "o2", "u:at_ms",
       U64(slot), "s:place_kind", "public-place", "s:place", "Cafe");
    xfer(a, h);
    xfer(m, h);
    assert_int_equal(store_domain_sync(h, false, &st), 0);
    assert_int_equal(st.conflicts, 1);
    assert_non_null(strstr(q_text(h, "SELECT reason FROM p_applied WHERE type = ?1 AND status = 1",
                                  "appointment.booked"),
                           "already booked"));
    assert_int_equal(q_int(h, "SELECT count(*) FROM p_appointments WHERE office = ?1", "storuman"),
                     1);
    digest(h, dh);
    xfer(h, a);
    xfer(h, m);
    digest(a, d);
    assert_memory_equal(d, dh, STORE_HASH_LEN);
    digest(m, d);
    assert_memory_equal(d, dh, STORE_HASH_LEN);
    close_store(a);
    close_store(m);
    finish(h);
}

static void test_conflict_handover_vs_revoke(void **state)
{
    (void)state;
    /* the revocation sorts first (lower height): the hand-over is a conflict */
    handover_vs_revoke(true, 0, true);
    /* the hub was busy first: the hand-over sorts first, then the revocation applies */
    g_clock = T0;
    handover_vs_revoke(false, 8, false);
}

/* =================================== 4. waiting =================================== */

static void test_waiting(void **state)
{
    (void)state;
    struct store *h = mem_store(), *a = mem_store();
    struct store_domain_stats st;
    struct raws hr, ar, all;
    uint8_t ref[STORE_HASH_LEN], d[STORE_HASH_LEN];

    base_events(h);
    order_to(h, "o1", "storuman", &id_hub, "shipped");
    xfer(h, a);
    as(a, &id_a);
    OK(a, "notice.received", now(), "s:order", "o1");
    OK(a, "card.collected", now(), "s:order", "o1");
    OK(a, "card.stored", now(), "s:order", "o1", "b:locked", 1);
    gather(h, &hr);
    memset(&ar, 0, sizeof(ar));
    assert_int_equal(store_range(a, id_a.pk, 1, 0, gather_entry, &ar), 0);
    assert_int_equal(ar.n, 3);
    xfer(a, h);
    gather(h, &all);

    struct store *r = mem_store();
    ingest(r, &all, NULL, all.n);
    assert_int_equal(store_domain_sync(r, false, &st), 0);
    assert_int_equal(st.waiting, 0);
    digest(r, ref);
    close_store(r);

    /* the office's entries alone: nothing they need is here */
    struct store *s = mem_store();
    ingest(s, &ar, NULL, ar.n);
    assert_int_equal(store_domain_sync(s, false, &st), 0);
    assert_int_equal(st.waiting, 3);
    assert_int_equal(st.applied, 0);
    assert_int_equal(q_int(s, "SELECT count(*) FROM p_applied", NULL), 0);

    /* the hub's, all but the last two (card.shipped, pin.sent): the office's still wait */
    size_t idx[256];
    assert_true(hr.n < 256);
    for (size_t i = 0; i < hr.n; i++)
        idx[i] = i;
    ingest(s, &hr, idx, hr.n - 2);
    assert_int_equal(store_domain_sync(s, false, &st), 0);
    assert_int_equal(st.waiting, 3);
    assert_int_equal(st.applied, hr.n - 2);
    assert_string_equal(state_of(s, "o1"), "ordered");
    assert_int_equal(q_int(s,
                           "SELECT count(*) FROM p_applied WHERE author = (SELECT author FROM"
                           " p_applied WHERE type = 'order.placed')",
                           NULL),
                     (int64_t)(hr.n - 2));

    /* the parents arrive: everything applies, and the state is the reference */
    ingest(s, &hr, idx + hr.n - 2, 2);
    assert_int_equal(store_domain_sync(s, false, &st), 0);
    assert_int_equal(st.waiting, 0);
    assert_int_equal(st.applied, 5);
    assert_false(st.rebuilt);
    assert_string_equal(state_of(s, "o1"), "stored");
    digest(s, d);
    assert_memory_equal(d, ref, STORE_HASH_LEN);

    /* a late entry that belongs early (no parents) makes the node rebuild: the first entries
     * of umea's office node, which the hub enrolled in base_events */
    struct store *u = mem_store();
    raw_append(u, &id_b, "card.teleported", NULL, 0, "s:order", "o1", (const char *)NULL);
    struct store_entry_id missing = { .seq = 3 };
    memcpy(missing.author, id_bm.pk, STORE_KEY_LEN);
    memset(missing.hash, 0xa5, STORE_HASH_LEN);
    raw_append(u, &id_b, "card.collected", &missing, 1, "s:order", "o1", (const char *)NULL);
    struct raws ur;
    gather(u, &ur);
    ingest(s, &ur, NULL, ur.n);
    raws_free(&ur);
    assert_int_equal(store_domain_sync(s, false, &st), 0);
    assert_true(st.rebuilt);
    assert_int_equal(st.waiting, 1); /* its parent is nowhere */
    assert_int_equal(st.invalid, 1);
    xfer(u, h);
    digest(h, ref);
    digest(s, d);
    assert_memory_equal(d, ref, STORE_HASH_LEN);
    assert_string_equal(state_of(s, "o1"), "stored");

    raws_free(&hr);
    raws_free(&ar);
    raws_free(&all);
    close_store(u);
    close_store(a);
    close_store(h);
    finish(s);
}

/*
 * A node that forks its feed (two entries with one seq) is not followed past the fork: from the
 * fork on, none of its entries counts. The state must not depend on whether the fork proof came
 * before or after the forked entries were applied, nor on a rebuild.
 */
static void test_fork_after_apply(void **state)
{
    (void)state;
    struct store *h = mem_store(), *a = mem_store();
    struct store_entry orig2, alt2;
    struct store_ingest_result res;
    struct store_domain_stats st;
    uint8_t dx[STORE_HASH_LEN], dx2[STORE_HASH_LEN], dy[STORE_HASH_LEN];
    struct raws hr, ar;

    base_events(h);
    order_to(h, "o1", "storuman", &id_hub, "shipped");
    xfer(h, a);
    as(a, &id_a);
    OK(a, "notice.received", now(), "s:order", "o1");
    OK(a, "card.collected", now(), "s:order", "o1");
    OK(a, "card.stored", now(), "s:order", "o1", "b:locked", 1);
    gather(h, &hr);
    memset(&ar, 0, sizeof(ar));
    assert_int_equal(store_range(a, id_a.pk, 1, 0, gather_entry, &ar), 0);
    assert_int_equal(ar.n, 3);
    assert_int_equal(store_entry_decode(ar.v[1].hdr, ar.v[1].hlen, &orig2), 0);

    /* the office node signs another second entry: the same step, another time */
    struct store_draft d = { "card.collected", orig2.timestamp_ms + 1,
                             orig2.deps,       orig2.ndeps,
                             ar.v[1].pl,       ar.v[1].plen };
    assert_int_equal(store_entry_sign(&d, 2, orig2.prev_hash, id_a.sk, &alt2), 0);
    struct store_raw alt = { alt2.signed_header, alt2.signed_len, ar.v[1].pl, ar.v[1].plen };

    /* x applies the whole feed, then hears of the fork */
    struct store *x = mem_store();
    ingest(x, &hr, NULL, hr.n);
    ingest(x, &ar, NULL, ar.n);
    assert_int_equal(store_domain_sync(x, false, &st), 0);
    assert_string_equal(state_of(x, "o1"), "stored");
    assert_int_equal(store_ingest(x, &alt, 1, &res, NULL, NULL), 0);
    assert_int_equal(res.forks, 1);
    assert_int_equal(store_domain_sync(x, false, &st), 0);
    digest(x, dx);
    assert_int_equal(store_domain_sync(x, true, &st), 0);
    digest(x, dx2);

    /* y gets the other second entry first; the original comes as the fork proof */
    struct store *y = mem_store();
    ingest(y, &hr, NULL, hr.n);
    ingest(y, &ar, NULL, 1);
    assert_int_equal(store_ingest(y, &alt, 1, &res, NULL, NULL), 0);
    assert_int_equal(res.accepted, 1);
    struct store_raw rest[2] = { as_raw(&ar.v[1]), as_raw(&ar.v[2]) };
    assert_int_equal(store_ingest(y, rest, 2, &res, NULL, NULL), 0);
    assert_int_equal(res.forks, 1);
    assert_int_equal(store_domain_sync(y, false, &st), 0);
    digest(y, dy);
    assert_string_equal(state_of(y, "o1"), "notice");

    raws_free(&hr);
    raws_free(&ar);
    /* after a rebuild x agrees with y: nothing of the feed from the fork on */
    assert_string_equal(state_of(x, "o1"), "notice");
    assert_memory_equal(dx2, dy, STORE_HASH_LEN);
    /* and so must x before the rebuild */
    assert_memory_equal(dx, dx2, STORE_HASH_LEN);
    close_store(x);
    close_store(y);
    close_store(a);
    close_store(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_office_registered, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_office_days_trailing_comma, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_office_updated_closed, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_office_updated_without_days, test_setup,
                                        test_teardown),
        cmocka_unit_test_setup_teardown(test_admins, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_node_bound, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_node_address, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_writers, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_card_life, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_appointments, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_handover_rules, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_handover_failed, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_notice_private, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_notice_organisation, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_revocation, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_destroyed, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_reserve, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_catalogue, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_invoice, test_setup, test_teardown),
        cmocka_unit_test(test_swedish_day),
        cmocka_unit_test_setup_teardown(test_reports_time_rules, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_fields, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_handover_chip, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_unknown_type_write, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_invalid_entries_listed, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_handover_appointment_of_other_order, test_setup,
                                        test_teardown),
        cmocka_unit_test_setup_teardown(test_conflict_two_nodes_one_card, test_setup,
                                        test_teardown),
        cmocka_unit_test_setup_teardown(test_conflict_two_bookings_one_slot, test_setup,
                                        test_teardown),
        cmocka_unit_test_setup_teardown(test_conflict_handover_vs_revoke, test_setup,
                                        test_teardown),
        cmocka_unit_test_setup_teardown(test_waiting, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_fork_after_apply, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_determinism_property, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_bounded_steps, test_setup, test_teardown),
    };
    return cmocka_run_group_tests_name("lifecycle", tests, group_setup, group_teardown);
}
