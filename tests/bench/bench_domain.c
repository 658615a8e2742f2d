/* SPDX-License-Identifier: MIT */
/*
 * bench_domain - how fast the card domain's projection follows the log (store/domain.c), on real
 * database files in WAL mode (a fresh temporary directory, removed at the end):
 *
 *     bench_domain [--offices N] [--orders N] [--tail N] [--direct] [--dir DIR] [--keep]
 *
 *   --offices N  card-issuing offices, each with a node of its own (default 20); even-numbered
 *                ones are organisation offices (two administrators), odd ones private
 *   --orders N   orders per office (default 250: 5,000 orders, some 30,000 entries in all)
 *   --tail N     orders the hub places through store_domain_write after it has seen every
 *                office's entries (default 500; 20 with --direct)
 *   --direct     write the orders and the offices' steps with store_append and the deps
 *                store_domain_write would give them (no projection while writing), so that a
 *                large log (--orders 5000: 600,000 entries) is made in minutes; the projection
 *                is then built by store_domain_sync, and (a) is measured on the tail only
 *   --dir DIR    where to create the temporary directory (default $TMPDIR or /tmp)
 *   --keep       leave the databases there
 *
 * The log is made as the nodes would make it, through store_domain_write with canonical msgpack
 * payloads: the hub registers the offices, adds administrators, binds the office nodes, places
 * and ships every order; each office node ingests the hub's feed and walks its own cards through
 * notice -> collected -> stored -> handed over. Then one more store merges every feed (store_range
 * + store_ingest) and the projection is built, rebuilt, and fed a late batch that belongs in the
 * middle of the order (a rebuild) and one that belongs at the end (incremental).
 *
 * One line per measurement: `name: N entries in X s = Y entries/s (peak RSS Z MB)`. Checks
 * along the way (no conflicts, every card handed over, the merged store's digest equals the
 * hub's) make the exit status 1 when the figures describe a wrong result. Run it from a release
 * build: meson setup build-rel -Dbuildtype=release && meson compile -C build-rel &&
 * build-rel/tests/bench_domain.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <msgpack.h>
#include <sodium.h>

#include "bench.h"
#include "store.h"

#define T0_MS        1767225600000ull /* 2026-01-01T00:00:00Z */
#define MAX_FIELDS   8
#define INGEST_BATCH 5000

struct opts {
    size_t offices, orders, tail;
    bool direct;
    const char *dir;
    bool keep;
};

/* One event's fields, given in byte order of their names (checked): the canonical map. */
enum fkind { F_STR, F_BOOL };
struct field {
    const char *name;
    enum fkind kind;
    const char *s;
};

/* Entries as the bytes that travel, copied out of a store with store_range (owned), or a view
 * of another raws' entries (not owned). */
struct raws {
    size_t n, cap;
    struct store_raw *v;
    bool view;
};

struct node {
    struct store_identity id;
    struct store *s;
    char hex[STORE_ID_HEX_LEN + 1];
    char office[32];
};

static char tmpdir[4096];
static int failures;
static uint64_t clock_ms = T0_MS; /* entry timestamps: one second apart, always increasing */

/* How the next event is written: through the domain (checked and applied at once), or, when
 * direct, appended with these deps for store_domain_sync to apply later. */
static struct {
    bool direct;
    struct store_entry_id deps[2];
    size_t ndeps;
} how;
static struct store_entry_id last; /* the entry written last */
static struct store_entry *scratch;

/* The peak resident set since the last step_begin (VmHWM, reset through clear_refs), or the
 * process's peak when the kernel does not allow the reset. */
static bool hwm_resettable;

static double step_peak_mb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    double kb = -1;
    while (f && fgets(line, sizeof(line), f))
        if (strncmp(line, "VmHWM:", 6) == 0)
            kb = strtod(line + 6, NULL);
    if (f)
        fclose(f);
    return hwm_resettable && kb >= 0 ? kb / 1024.0 : bench_peak_rss_mb();
}

static double overall_peak(void);

static double step_begin(void)
{
    overall_peak(); /* what the step before reached */
    FILE *f = fopen("/proc/self/clear_refs", "w");
    hwm_resettable = f && fputs("5", f) >= 0;
    if (f && fclose(f) != 0)
        hwm_resettable = false;
    return bench_now();
}

/* The process's peak: resetting VmHWM resets getrusage's figure too, so it is kept here. */
static double overall_peak_mb;

static double overall_peak(void)
{
    double p = step_peak_mb();
    if (p > overall_peak_mb)
        overall_peak_mb = p;
    return overall_peak_mb;
}

static void report(const char *name, size_t n, double secs)
{
    double step = step_peak_mb();
    printf("%s: %zu entries in %.3f s = %.0f entries/s (peak RSS %.1f MB in this step, %.1f MB "
           "in all)\n",
           name, n, secs, secs > 0 ? (double)n / secs : 0, step, overall_peak());
    fflush(stdout);
}

static void die(const char *what, int err)
{
    fprintf(stderr, "bench_domain: %s: %s\n", what, kn_strerror(err));
    exit(1);
}

static void check(const char *what, int err)
{
    if (err < 0)
        die(what, err);
}

static void problem(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void problem(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "bench_domain: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    failures++;
}

static int sbuf_write(void *data, const char *buf, size_t len)
{
    return msgpack_sbuffer_write(data, buf, len);
}

/* Sign and append one event (see how), which the domain must accept; its id into last. */
static void write_event(struct node *n, const char *type, const struct field *f, size_t nf)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    char reason[256];

    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, sbuf_write);
    msgpack_pack_map(&pk, (uint32_t)nf);
    for (size_t i = 0; i < nf; i++) {
        if (i && strcmp(f[i - 1].name, f[i].name) >= 0) {
            fprintf(stderr, "bench_domain: %s: fields not in byte order\n", type);
            abort();
        }
        msgpack_pack_str_with_body(&pk, f[i].name, strlen(f[i].name));
        if (f[i].kind == F_BOOL)
            msgpack_pack_true(&pk);
        else
            msgpack_pack_str_with_body(&pk, f[i].s, strlen(f[i].s));
    }
    clock_ms += 1000;
    int r;
    if (how.direct) {
        struct store_draft d = { type,   clock_ms, how.deps, how.ndeps, (const uint8_t *)sb.data,
                                 sb.size };
        r = store_append(n->s, &d, scratch);
    } else {
        r = store_domain_write(n->s, type, (const uint8_t *)sb.data, sb.size, clock_ms, scratch,
                               reason, sizeof(reason));
    }
    msgpack_sbuffer_destroy(&sb);
    if (r == KN_EREFUSED) {
        fprintf(stderr, "bench_domain: %s refused: %s\n", type, reason);
        exit(1);
    }
    check(type, r);
    memcpy(last.author, scratch->author, STORE_KEY_LEN);
    last.seq = scratch->seq;
    memcpy(last.hash, scratch->hash, STORE_HASH_LEN);
    how.ndeps = 0;
}

/* The next direct write depends on id (what store_domain_write would pick: the last entry that
 * moved the same object, and the last entry applied when that is another node's). */
static void dep(const struct store_entry_id *id)
{
    if (how.ndeps == 1 && memcmp(&how.deps[0], id, sizeof(*id)) == 0)
        return;
    how.deps[how.ndeps++] = *id;
}

/* Direct writes go in transactions of 5000. */
static void tx_tick(struct store *s, size_t *count)
{
    if (!how.direct)
        return;
    if (*count % 5000 == 0) {
        if (*count)
            check("tx_commit", store_tx_commit(s));
        check("tx_begin", store_tx_begin(s));
    }
    ++*count;
}

static void tx_end(struct store *s, size_t count)
{
    if (how.direct && count)
        check("tx_commit", store_tx_commit(s));
}

#define EVENT(n, type, ...)                                       \
    do {                                                          \
        const struct field f_[] = { __VA_ARGS__ };                \
        write_event((n), (type), f_, sizeof(f_) / sizeof(f_[0])); \
    } while (0)
#define S(name, val)         \
    {                        \
        (name), F_STR, (val) \
    }
#define TRUE(name)           \
    {                        \
        (name), F_BOOL, NULL \
    }

static void node_make(struct node *n, const char *db, uint8_t seed_byte, const char *hub_hex)
{
    uint8_t seed[32];
    char path[4200];

    memset(n, 0, sizeof(*n));
    memset(seed, seed_byte, sizeof(seed));
    seed[0] = 0xd0; /* not the seeds bench_log uses */
    n->id.sk = sodium_malloc(STORE_SECRET_LEN);
    if (!n->id.sk)
        abort();
    crypto_sign_seed_keypair(n->id.pk, n->id.sk, seed);
    store_hex(n->id.pk, STORE_KEY_LEN, n->hex);
    snprintf(path, sizeof(path), "%s/%s", tmpdir, db);
    check(path, store_open(path, STORE_SYNC_NORMAL, &n->s));
    store_set_identity(n->s, &n->id);
    check("meta hub", store_meta_set(n->s, "hub", hub_hex ? hub_hex : n->hex));
}

static void node_free(struct node *n)
{
    store_close(n->s);
    store_identity_finish(&n->id);
}

static struct store *store_make(const char *db, const char *hub_hex)
{
    char path[4200];
    struct store *s;
    snprintf(path, sizeof(path), "%s/%s", tmpdir, db);
    check(path, store_open(path, STORE_SYNC_NORMAL, &s));
    check("meta hub", store_meta_set(s, "hub", hub_hex));
    return s;
}

/* ---- moving entries between stores ---- */

static int raws_add(void *ud, const struct store_entry *e, const uint8_t *payload, size_t len)
{
    struct raws *r = ud;
    if (r->n == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 1024;
        r->v = realloc(r->v, r->cap * sizeof(*r->v));
        if (!r->v)
            abort();
    }
    uint8_t *buf = malloc(e->signed_len + len + 1);
    if (!buf)
        abort();
    memcpy(buf, e->signed_header, e->signed_len);
    if (len)
        memcpy(buf + e->signed_len, payload, len);
    r->v[r->n++] =
        (struct store_raw){ buf, e->signed_len, payload ? buf + e->signed_len : NULL, len };
    return 0;
}

/* Entries from..to (0: the tip) of author's feed in s, appended to r. */
static void raws_take(struct raws *r, struct store *s, const uint8_t *author, uint64_t from,
                      uint64_t to)
{
    check("store_range", store_range(s, author, from, to, raws_add, r));
}

/* r's entries from..from+n-1 appended to view, which does not own them. */
static void raws_view(struct raws *view, const struct raws *r, size_t from, size_t n)
{
    view->view = true;
    if (view->n + n > view->cap) {
        view->cap = view->n + n;
        view->v = realloc(view->v, view->cap * sizeof(*view->v));
        if (!view->v)
            abort();
    }
    memcpy(view->v + view->n, r->v + from, n * sizeof(*r->v));
    view->n += n;
}

static void raws_free(struct raws *r)
{
    for (size_t i = 0; !r->view && i < r->n; i++)
        free((void *)r->v[i].signed_header);
    free(r->v);
    memset(r, 0, sizeof(*r));
}

/* Store r's entries in s, INGEST_BATCH per call; every one must be new. */
static void ingest_all(struct store *s, const struct raws *r, const char *what)
{
    struct store_ingest_result res;
    size_t accepted = 0;
    for (size_t i = 0; i < r->n; i += INGEST_BATCH) {
        size_t k = r->n - i < INGEST_BATCH ? r->n - i : INGEST_BATCH;
        check("store_ingest", store_ingest(s, &r->v[i], k, &res, NULL, NULL));
        accepted += res.accepted;
    }
    if (accepted != r->n)
        problem("%s: %zu of %zu entries accepted", what, accepted, r->n);
}

static uint64_t feed_seq(struct store *s, const uint8_t *author)
{
    struct store_feed f;
    check("store_feed_get", store_feed_get(s, author, &f));
    return f.seq;
}

/* ---- checking the projection ---- */

static void sync_checked(struct store *s, bool rebuild, const char *what,
                         struct store_domain_stats *st)
{
    check(what, store_domain_sync(s, rebuild, st));
    if (st->conflicts || st->invalid || st->waiting)
        problem("%s: %zu conflicts, %zu invalid, %zu waiting (want none)", what, st->conflicts,
                st->invalid, st->waiting);
}

struct stock {
    size_t offices, handed_over, ordered, other;
};

static int stock_row(void *ud, size_t ncols, const char *const *names,
                     const struct store_cell *cells)
{
    struct stock *st = ud;
    if (!cells)
        return 0; /* the column names */
    st->offices++;
    for (size_t i = 0; i < ncols; i++) {
        if (cells[i].type != STORE_CELL_INT || strstr(names[i], "_days"))
            continue; /* the ageing columns are days, not cards */
        if (!strcmp(names[i], "handed_over"))
            st->handed_over += (size_t)cells[i].i;
        else if (!strcmp(names[i], "ordered"))
            st->ordered += (size_t)cells[i].i;
        else
            st->other += (size_t)cells[i].i;
    }
    return 0;
}

/* Every office's cards handed over, ordered the late orders only, nothing in between. */
static void expect_stock(struct store *s, const struct opts *o, size_t ordered, const char *what)
{
    struct stock st = { 0 };
    struct store_report_args a = { 0 };
    check("report stock", store_report(s, STORE_REPORT_STOCK, &a, stock_row, &st));
    size_t want = o->offices * o->orders;
    if (st.offices != o->offices || st.handed_over != want || st.ordered != ordered ||
        st.other != 0)
        problem("%s: stock says %zu offices, %zu handed over, %zu ordered, %zu elsewhere; "
                "want %zu, %zu, %zu, 0",
                what, st.offices, st.handed_over, st.ordered, st.other, o->offices, want, ordered);
}

static void digest_hex(struct store *s, char out[2 * STORE_HASH_LEN + 1], double *secs)
{
    uint8_t d[STORE_HASH_LEN];
    double t0 = step_begin();
    check("store_domain_digest", store_domain_digest(s, d));
    *secs = bench_now() - t0;
    store_hex(d, STORE_HASH_LEN, out);
}

/* ---- the scenario ---- */

static void office_id(size_t i, char out[32])
{
    snprintf(out, 32, "office-%02u", (unsigned)(i % 100));
}

static void order_id(size_t office, size_t k, char out[32])
{
    snprintf(out, 32, "o%02u-%06u", (unsigned)(office % 100), (unsigned)(k % 1000000));
}

static void serial_of(const char *order, char out[40])
{
    snprintf(out, 40, "SN-%s", order);
}

/* The hub places orders first..first+count-1 of every office, and ships them when shipped is
 * not NULL (shipped[office * orders + k] receives the id of card.shipped). Returns the number
 * of entries written. */
static size_t hub_orders(struct node *hub, const struct opts *o, size_t first, size_t count,
                         struct store_entry_id *shipped)
{
    static const char *const providers[] = { "region-norrbotten", "region-vasterbotten",
                                             "region-jamtland", "arjeplogs-kommun" };
    char oid[32], office[32], serial[40], rek[48];
    size_t n = 0, tx = 0;
    for (size_t k = first; k < first + count; k++) {
        for (size_t i = 0; i < o->offices; i++) {
            office_id(i, office);
            order_id(i, k, oid);
            tx_tick(hub->s, &tx);
            EVENT(hub, "order.placed", S("card_type", "siths-e"),
                  S("care_provider", providers[(i + k) % 4]), S("holder", "N.N."),
                  S("office", office), S("order", oid));
            n++;
            if (!shipped)
                continue;
            serial_of(oid, serial);
            snprintf(rek, sizeof(rek), "RR%02u%06uSE", (unsigned)(i % 100),
                     (unsigned)(k % 1000000));
            dep(&last); /* the order.placed: the entry that last moved the order */
            tx_tick(hub->s, &tx);
            EVENT(hub, "card.shipped", S("order", oid), S("rek", rek), S("serial", serial));
            shipped[i * o->orders + k] = last;
            n++;
        }
    }
    tx_end(hub->s, tx);
    return n;
}

static size_t hub_setup(struct node *hub, struct node *offices, const struct opts *o)
{
    size_t n = 0;
    for (size_t i = 0; i < o->offices; i++) {
        char admin[48];
        bool org = i % 2 == 0;
        EVENT(hub, "office.registered", S("booking", "0961-100 00"), S("days", "mon,wed,fri"),
              S("kind", org ? "organisation" : "private"), S("name", "Kortombud"),
              S("office", offices[i].office), S("place", "Storgatan 1"), S("town", "Norrbotten"));
        n++;
        for (int a = 0; org && a < 2; a++) {
            snprintf(admin, sizeof(admin), "adm-%02zu-%d", i, a);
            EVENT(hub, "admin.added", S("admin", admin), S("name", "Administrator"),
                  S("office", offices[i].office));
            n++;
        }
        EVENT(hub, "node.bound", S("node", offices[i].hex), S("office", offices[i].office),
              S("role", "office"));
        n++;
    }
    return n;
}

/* An office node walks each of its cards from shipped to handed over. Direct writes depend on
 * the card's shipment (and the first also on the hub's tip: what the office had applied last),
 * then each on the step before. */
static size_t office_walk(struct node *n, size_t i, const struct opts *o,
                          const struct store_entry_id *shipped,
                          const struct store_entry_id *hub_tip)
{
    char oid[32], serial[40];
    size_t count = 0, tx = 0;
    for (size_t k = 0; k < o->orders; k++) {
        order_id(i, k, oid);
        serial_of(oid, serial);
        if (how.direct) {
            dep(&shipped[i * o->orders + k]);
            if (k == 0)
                dep(hub_tip);
        }
        tx_tick(n->s, &tx);
        EVENT(n, "notice.received", S("order", oid));
        dep(&last);
        tx_tick(n->s, &tx);
        EVENT(n, "card.collected", S("order", oid));
        dep(&last);
        tx_tick(n->s, &tx);
        EVENT(n, "card.stored", TRUE("locked"), S("order", oid));
        dep(&last);
        tx_tick(n->s, &tx);
        EVENT(n, "handover.completed", TRUE("id_checked"), S("order", oid), TRUE("pin_envelope"),
              TRUE("right_person"), S("serial", serial));
        count += 4;
    }
    tx_end(n->s, tx);
    return count;
}

static size_t parse_count(const char *s, bool zero_ok)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end != '\0' || *s == '\0' || (v == 0 && !zero_ok) || v > 100000) {
        fprintf(stderr, "bench_domain: not a count: %s\n", s);
        exit(2);
    }
    return (size_t)v;
}

int main(int argc, char **argv)
{
    struct opts o = { 20, 250, SIZE_MAX, false, NULL, false };
    struct store_domain_stats st;
    char hub_digest[2 * STORE_HASH_LEN + 1], merged_digest[2 * STORE_HASH_LEN + 1];
    double t0, t, dt;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--offices") == 0 && i + 1 < argc) {
            o.offices = parse_count(argv[++i], false);
        } else if (strcmp(argv[i], "--orders") == 0 && i + 1 < argc) {
            o.orders = parse_count(argv[++i], false);
        } else if (strcmp(argv[i], "--tail") == 0 && i + 1 < argc) {
            o.tail = parse_count(argv[++i], true);
        } else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc) {
            o.dir = argv[++i];
        } else if (strcmp(argv[i], "--direct") == 0) {
            o.direct = true;
        } else if (strcmp(argv[i], "--keep") == 0) {
            o.keep = true;
        } else {
            fprintf(stderr,
                    "usage: %s [--offices N] [--orders N] [--tail N] [--direct] [--dir DIR] "
                    "[--keep]\n",
                    argv[0]);
            return 2;
        }
    }
    if (o.tail == SIZE_MAX)
        o.tail = o.direct ? 20 : 500;
    if (o.offices > 99) {
        fprintf(stderr, "bench_domain: at most 99 offices\n");
        return 2;
    }
    if (sodium_init() < 0)
        die("sodium_init", KN_ECRYPTO);
    if (!o.dir)
        o.dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(tmpdir, sizeof(tmpdir), "%s/kn-bench-domain-XXXXXX", o.dir);
    if (!mkdtemp(tmpdir)) {
        fprintf(stderr, "bench_domain: mkdtemp %s: %s\n", tmpdir, strerror(errno));
        return 1;
    }
    printf("bench_domain: %zu offices x %zu orders (+%zu late orders)%s, databases in %s\n",
           o.offices, o.orders, o.tail, o.direct ? ", direct writes" : "", tmpdir);
    scratch = malloc(sizeof(*scratch));
    struct store_entry_id *shipped = calloc(o.offices * o.orders, sizeof(*shipped));
    if (!scratch || !shipped)
        abort();

    struct node hub, *offices = calloc(o.offices, sizeof(*offices));
    if (!offices)
        abort();
    node_make(&hub, "hub.db", 0x01, NULL);
    for (size_t i = 0; i < o.offices; i++) {
        char db[32];
        snprintf(db, sizeof(db), "office-%02zu.db", i);
        node_make(&offices[i], db, (uint8_t)(0x10 + i), hub.hex);
        office_id(i, offices[i].office);
    }

    /* (a) The hub writes: every store_domain_write applies its entry on the incremental path. */
    size_t nsetup = hub_setup(&hub, offices, &o);
    size_t half = o.orders / 2;
    how.direct = o.direct;
    t0 = step_begin();
    size_t nw1 = hub_orders(&hub, &o, 0, half, shipped);
    dt = bench_now() - t0;
    t0 = bench_now();
    size_t nw2 = hub_orders(&hub, &o, half, o.orders - half, shipped);
    t = bench_now() - t0;
    report(o.direct ? "hub store_append (direct, in transactions of 5000), order.placed + "
                      "card.shipped"
                    : "(a) hub store_domain_write (incremental apply), order.placed + card.shipped",
           nw1 + nw2, dt + t);
    printf("    first half %.0f entries/s, second half %.0f entries/s (the log grows from %zu to "
           "%zu entries)\n",
           dt > 0 ? (double)nw1 / dt : 0, t > 0 ? (double)nw2 / t : 0, nsetup + nw1,
           nsetup + nw1 + nw2);
    uint64_t hub_seq = feed_seq(hub.s, hub.id.pk);
    struct store_entry_id hub_tip = last;

    /* Each office takes the hub's feed, then walks its own cards. */
    struct raws hubfeed = { 0 };
    raws_take(&hubfeed, hub.s, hub.id.pk, 1, 0);
    size_t nwalk = 0;
    double tsync = 0, twalk = 0;
    step_begin(); /* the next two lines report the peak over every office */
    for (size_t i = 0; i < o.offices; i++) {
        t0 = bench_now();
        if (!o.direct) { /* direct writes need no projection: the offices skip this */
            ingest_all(offices[i].s, &hubfeed, "office ingests the hub's feed");
            sync_checked(offices[i].s, false, "office sync of the hub's feed", &st);
        }
        tsync += bench_now() - t0;
        t0 = bench_now();
        nwalk += office_walk(&offices[i], i, &o, shipped, &hub_tip);
        twalk += bench_now() - t0;
    }
    if (!o.direct)
        report("office ingest + store_domain_sync of the hub's feed (from an empty projection)",
               hubfeed.n * o.offices, tsync);
    report(o.direct ? "office store_append (direct): notice, collected, stored, handed over"
                    : "(a') office store_domain_write: notice, collected, stored, handed over",
           nwalk, twalk);

    /* The offices' feeds: office 0's in two halves, so that its second half can come late. */
    struct raws offs = { 0 }, late = { 0 }, all_offices = { 0 };
    uint64_t seq0 = feed_seq(offices[0].s, offices[0].id.pk);
    for (size_t i = 0; i < o.offices; i++)
        raws_take(&all_offices, offices[i].s, offices[i].id.pk, 1, 0);
    raws_view(&offs, &all_offices, 0, seq0 / 2);
    raws_view(&offs, &all_offices, seq0, all_offices.n - seq0);

    /* The hub hears from every office (incremental: all of it sorts after the hub's own). */
    t0 = step_begin();
    ingest_all(hub.s, &all_offices, "hub ingests the offices' feeds");
    dt = bench_now() - t0;
    report("hub store_ingest of every office's entries (no projection)", all_offices.n, dt);

    /* The merged store: the hub's feed without the tail, every office's (office 0 only half).
     * Then only the late half is kept in memory. */
    struct store *m = store_make("merged.db", hub.hex);
    t0 = step_begin();
    ingest_all(m, &hubfeed, "merged: the hub's feed");
    ingest_all(m, &offs, "merged: the offices' feeds");
    t = bench_now() - t0;
    size_t nmerged = hubfeed.n + offs.n;
    report("merge: store_ingest of the hub's and the offices' feeds (no projection)", nmerged, t);
    raws_take(&late, offices[0].s, offices[0].id.pk, seq0 / 2 + 1, 0);
    raws_free(&offs);
    raws_free(&all_offices);
    raws_free(&hubfeed);

    t0 = step_begin();
    sync_checked(hub.s, false, "hub sync of the offices' entries", &st);
    t = bench_now() - t0;
    report(o.direct ? "hub store_domain_sync of the offices' entries and its own direct writes"
                    : "hub store_domain_sync of the offices' entries (incremental)",
           st.applied, t);
    if (st.rebuilt)
        problem("the hub rebuilt for entries that all sort after its own");
    /* ... and places more orders, which sort after everything: the late tail, written through
     * the domain however the rest was, on top of a log that holds everything. */
    how.direct = false;
    t0 = step_begin();
    size_t ntail =
        o.tail ? hub_orders(&hub, &o, o.orders, (o.tail + o.offices - 1) / o.offices, NULL) : 0;
    t = bench_now() - t0;
    if (ntail) {
        uint64_t held;
        check("count", store_count(hub.s, &held));
        char name[160];
        snprintf(name, sizeof(name),
                 "(a) hub store_domain_write (incremental apply), order.placed, %llu entries held",
                 (unsigned long long)held);
        report(name, ntail, t);
    }
    struct raws tail = { 0 };
    raws_take(&tail, hub.s, hub.id.pk, hub_seq + 1, 0);

    t0 = step_begin();
    sync_checked(m, false, "merged: first sync", &st);
    t = bench_now() - t0;
    report("store_domain_sync of the merged store, empty projection", st.applied, t);
    if (st.applied != nmerged)
        problem("merged: %zu entries applied, %zu held", st.applied, nmerged);

    /* (b) Full rebuild. */
    t0 = step_begin();
    sync_checked(m, true, "merged: rebuild", &st);
    t = bench_now() - t0;
    report("(b) store_domain_sync rebuild=true of the merged store", st.applied, t);
    if (st.applied != nmerged)
        problem("rebuild: %zu entries applied, %zu held", st.applied, nmerged);
    digest_hex(m, merged_digest, &t);
    report("store_domain_digest of the merged store (entries projected)", nmerged, t);

    /* (c) A late batch that belongs in the middle of the order: office 0's second half. */
    t0 = step_begin();
    ingest_all(m, &late, "merged: the late batch");
    dt = bench_now() - t0;
    sync_checked(m, false, "merged: the late batch", &st);
    t = bench_now() - t0;
    report("(c) ingest + store_domain_sync of a batch out of order (rebuild)", late.n, t);
    printf("    of which ingest %.3f s; the rebuild applied %zu entries%s\n", dt, st.applied,
           st.rebuilt ? "" : " -- BUT DID NOT REBUILD");
    if (!st.rebuilt)
        problem("a batch that sorts before the last applied entry did not rebuild");
    nmerged += late.n;
    if (st.applied != nmerged)
        problem("late batch: %zu entries applied, %zu held", st.applied, nmerged);

    /* (c') A late batch that sorts after everything: the incremental path. */
    if (tail.n) {
        t0 = step_begin();
        ingest_all(m, &tail, "merged: the tail");
        sync_checked(m, false, "merged: the tail", &st);
        t = bench_now() - t0;
        report("(c') ingest + store_domain_sync of a batch in order (incremental)", tail.n, t);
        if (st.rebuilt || st.applied != tail.n)
            problem("the in-order tail: %zu applied, rebuilt %d (want %zu, 0)", st.applied,
                    (int)st.rebuilt, tail.n);
        nmerged += tail.n;
    }

    /* Every node that holds the same entries has the same state. */
    expect_stock(m, &o, ntail, "merged");
    digest_hex(m, merged_digest, &t);
    report("store_domain_digest of the merged store", nmerged, t);
    sync_checked(hub.s, false, "hub", &st);
    digest_hex(hub.s, hub_digest, &t);
    if (strcmp(hub_digest, merged_digest) != 0)
        problem("the merged store's digest %s differs from the hub's %s", merged_digest,
                hub_digest);
    uint64_t count;
    check("count", store_count(m, &count));
    printf("bench_domain: %llu entries (hub %zu setup + %zu orders/shipments + %zu late orders, "
           "offices %zu); digest %.16s... %s\n",
           (unsigned long long)count, nsetup, nw1 + nw2, ntail, nwalk, merged_digest,
           failures ? "CHECKS FAILED" : "equal at the hub and the merged store");
    if (count != nmerged)
        problem("merged store holds %llu entries, %zu expected", (unsigned long long)count,
                nmerged);
    printf("bench_domain: peak RSS %.1f MB\n", overall_peak());

    raws_free(&hubfeed);
    raws_free(&offs);
    raws_free(&late);
    raws_free(&all_offices);
    raws_free(&tail);
    store_close(m);
    for (size_t i = 0; i < o.offices; i++)
        node_free(&offices[i]);
    free(offices);
    free(shipped);
    free(scratch);
    node_free(&hub);
    if (o.keep)
        printf("bench_domain: databases kept in %s\n", tmpdir);
    else
        bench_remove_dir(tmpdir);
    return failures ? 1 : 0;
}
