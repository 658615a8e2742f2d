/* SPDX-License-Identifier: MIT */
/*
 * bench_log - how fast the log appends, ingests and verifies, on a real database file in WAL
 * mode (a fresh temporary directory, removed at the end):
 *
 *     bench_log [--entries N] [--tx-entries N] [--full-entries N] [--dir DIR] [--keep]
 *
 *   --entries N       batched appends, the foreign feed to ingest and verify (default 100000)
 *   --tx-entries N    appends of one entry per transaction, synchronous=NORMAL (default 20000)
 *   --full-entries N  the same with synchronous=FULL (default 2000)
 *   --dir DIR         where to create the temporary directory (default $TMPDIR or /tmp)
 *   --keep            leave the databases there
 *
 * One line per measurement: `name: N entries in X s = Y entries/s`, with the process's peak
 * RSS so far (getrusage). Run it from a release build: meson setup build-rel
 * -Dbuildtype=release && meson compile -C build-rel && build-rel/tests/bench_log.
 */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include <msgpack.h>
#include <sodium.h>

#include "bench.h"
#include "store.h"

#define PAYLOAD_MAX 160

struct opts {
    size_t entries, tx_entries, full_entries;
    const char *dir;
    bool keep;
};

/* A feed kept as the bytes that travel: signed headers and payloads in one arena. */
struct feed {
    size_t n;
    uint8_t *arena;
    struct store_raw *raw;
};

static char tmpdir[4096];
static int failures;

static void report(const char *name, size_t n, double secs, double target)
{
    double rate = secs > 0 ? (double)n / secs : 0;
    printf("%s: %zu entries in %.3f s = %.0f entries/s (peak RSS %.1f MB)", name, n, secs, rate,
           bench_peak_rss_mb());
    if (target > 0)
        printf(" [target >= %.0f/s: %s]", target, rate >= target ? "met" : "MISSED");
    printf("\n");
    fflush(stdout);
}

static void die(const char *what, int err)
{
    fprintf(stderr, "bench_log: %s: %s\n", what, kn_strerror(err));
    exit(1);
}

static void check(const char *what, int err)
{
    if (err < 0)
        die(what, err);
}

static int sbuf_write(void *data, const char *buf, size_t len)
{
    return msgpack_sbuffer_write(data, buf, len);
}

/* A canonical payload of about 100 bytes: {"body": text, "i": i, "kind": "bench.note"}. */
static size_t payload_make(uint64_t i, uint8_t out[PAYLOAD_MAX])
{
    static const char body[] = "Temperature in the cold room checked and noted; door closed.";
    msgpack_sbuffer sb;
    msgpack_packer pk;
    size_t n;

    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, sbuf_write);
    msgpack_pack_map(&pk, 3);
    msgpack_pack_str_with_body(&pk, "body", 4);
    msgpack_pack_str_with_body(&pk, body, sizeof(body) - 1);
    msgpack_pack_str_with_body(&pk, "i", 1);
    msgpack_pack_uint64(&pk, i);
    msgpack_pack_str_with_body(&pk, "kind", 4);
    msgpack_pack_str_with_body(&pk, "bench.note", 10);
    n = sb.size;
    if (n > PAYLOAD_MAX)
        abort();
    memcpy(out, sb.data, n);
    msgpack_sbuffer_destroy(&sb);
    return n;
}

static struct store *open_db(const char *name, enum store_sync_mode mode)
{
    char path[4200];
    struct store *s;
    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    check(path, store_open(path, mode, &s));
    return s;
}

static void expect_count(struct store *s, size_t n, const char *what)
{
    uint64_t count;
    check("count", store_count(s, &count));
    if (count != n) {
        fprintf(stderr, "bench_log: %s: %llu entries stored, %zu expected\n", what,
                (unsigned long long)count, n);
        failures++;
    }
}

/* 1. Appends of our own entries, batch entries per transaction. */
static void bench_append(const char *name, const char *db, enum store_sync_mode mode, size_t n,
                         size_t batch, double target)
{
    struct store_identity id;
    struct store *s = open_db(db, mode);
    uint8_t payload[PAYLOAD_MAX];
    struct store_draft d = { "bench.note", 1700000000000ull, NULL, 0, payload, 0 };
    double t0;

    bench_identity(&id, 0x01);
    store_set_identity(s, &id);
    t0 = bench_now();
    for (size_t i = 0; i < n; i += batch) {
        size_t k = n - i < batch ? n - i : batch;
        if (batch > 1)
            check("tx_begin", store_tx_begin(s));
        for (size_t j = 0; j < k; j++) {
            d.payload_len = payload_make(i + j + 1, payload);
            d.timestamp_ms++;
            check("append", store_append(s, &d, NULL));
        }
        if (batch > 1)
            check("tx_commit", store_tx_commit(s));
    }
    report(name, n, bench_now() - t0, target);
    expect_count(s, n, name);
    store_close(s);
    store_identity_finish(&id);
}

/* A contiguous feed of another identity, signed in advance and kept as raw bytes. */
static void feed_make(struct feed *f, size_t n)
{
    struct store_identity id;
    struct store_entry *e = malloc(sizeof(*e));
    uint8_t payload[PAYLOAD_MAX], prev[STORE_HASH_LEN];
    size_t off = 0, cap = n * 320 + 4096;
    double t0 = bench_now();

    bench_identity(&id, 0x02);
    f->n = n;
    f->arena = malloc(cap);
    f->raw = malloc((n ? n : 1) * sizeof(*f->raw));
    if (!e || !f->arena || !f->raw)
        abort();
    for (size_t i = 0; i < n; i++) {
        size_t plen = payload_make(i + 1, payload);
        struct store_draft d = { "bench.note", 1700000000000ull + i, NULL, 0, payload, plen };
        check("sign", store_entry_sign(&d, i + 1, i ? prev : NULL, id.sk, e));
        memcpy(prev, e->hash, STORE_HASH_LEN);
        if (cap - off < e->signed_len + plen)
            abort();
        memcpy(f->arena + off, e->signed_header, e->signed_len);
        memcpy(f->arena + off + e->signed_len, payload, plen);
        f->raw[i].signed_header = f->arena + off;
        f->raw[i].signed_len = e->signed_len;
        f->raw[i].payload = f->arena + off + e->signed_len;
        f->raw[i].payload_len = plen;
        off += e->signed_len + plen;
    }
    report("sign foreign feed (store_entry_sign, setup, no database)", n, bench_now() - t0, 0);
    printf("  (foreign feed: %zu entries, %.1f MB of signed headers and payloads, ~%zu bytes "
           "per entry)\n",
           n, (double)off / 1e6, n ? off / n : 0);
    free(e);
    store_identity_finish(&id);
}

static void feed_free(struct feed *f)
{
    free(f->arena);
    free(f->raw);
}

/* 3. Ingest of the foreign feed in batches of batch records. */
static void bench_ingest(const char *name, const char *db, const struct feed *f, size_t batch,
                         size_t tx, double target)
{
    struct store *s = open_db(db, STORE_SYNC_NORMAL);
    struct store_ingest_result res;
    size_t accepted = 0;
    double t0 = bench_now();

    for (size_t i = 0; i < f->n; i += tx) {
        size_t end = f->n - i < tx ? f->n : i + tx;
        if (batch < tx)
            check("tx_begin", store_tx_begin(s));
        for (size_t j = i; j < end; j += batch) {
            size_t k = end - j < batch ? end - j : batch;
            check("ingest", store_ingest(s, &f->raw[j], k, &res, NULL, NULL));
            accepted += res.accepted;
        }
        if (batch < tx)
            check("tx_commit", store_tx_commit(s));
    }
    report(name, f->n, bench_now() - t0, target);
    if (accepted != f->n) {
        fprintf(stderr, "bench_log: %s: %zu of %zu accepted\n", name, accepted, f->n);
        failures++;
    }
    expect_count(s, f->n, name);
    store_close(s);
}

/* 3c. What a signature check per entry costs by itself: decode and verify, no database. */
static void bench_verify_sig(const struct feed *f)
{
    struct store_entry *e = malloc(sizeof(*e));
    double t0 = bench_now();
    if (!e)
        abort();
    for (size_t i = 0; i < f->n; i++) {
        check("decode", store_entry_decode(f->raw[i].signed_header, f->raw[i].signed_len, e));
        check("verify_sig", store_entry_verify_sig(e));
    }
    report("decode + verify_sig per entry (no database)", f->n, bench_now() - t0, 0);
    t0 = bench_now();
    for (size_t i = 0; i < f->n; i++)
        check("decode", store_entry_decode(f->raw[i].signed_header, f->raw[i].signed_len, e));
    report("decode alone (no database)", f->n, bench_now() - t0, 0);
    free(e);
}

/* 4. store_verify_all over what the ingest stored. */
static void bench_verify_all(const char *db, size_t n)
{
    static const struct {
        enum store_verify_mode mode;
        const char *name;
    } modes[] = {
        { STORE_VERIFY_CHAIN, "verify_all CHAIN (links, payload hashes, tip signature)" },
        { STORE_VERIFY_EVERY, "verify_all EVERY (links, payload hashes, every signature)" },
    };
    struct store *s = open_db(db, STORE_SYNC_NORMAL);

    for (size_t i = 0; i < 2; i++) {
        uint64_t checked = 0;
        double t0 = bench_now();
        int r = store_verify_all(s, modes[i].mode, NULL, NULL, &checked);
        double t = bench_now() - t0;
        check("verify_all", r);
        report(modes[i].name, (size_t)checked, t, 0);
        if (r != 0 || checked != n) {
            fprintf(stderr, "bench_log: verify_all: %d broken feeds, %llu checked\n", r,
                    (unsigned long long)checked);
            failures++;
        }
    }
    store_close(s);
}

static size_t parse_count(const char *s)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end != '\0' || v == 0) {
        fprintf(stderr, "bench_log: not a positive count: %s\n", s);
        exit(2);
    }
    return (size_t)v;
}

int main(int argc, char **argv)
{
    struct opts o = { 100000, 20000, 2000, NULL, false };
    struct feed f;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--entries") == 0 && i + 1 < argc) {
            o.entries = parse_count(argv[++i]);
        } else if (strcmp(argv[i], "--tx-entries") == 0 && i + 1 < argc) {
            o.tx_entries = parse_count(argv[++i]);
        } else if (strcmp(argv[i], "--full-entries") == 0 && i + 1 < argc) {
            o.full_entries = parse_count(argv[++i]);
        } else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc) {
            o.dir = argv[++i];
        } else if (strcmp(argv[i], "--keep") == 0) {
            o.keep = true;
        } else {
            fprintf(stderr,
                    "usage: %s [--entries N] [--tx-entries N] [--full-entries N] "
                    "[--dir DIR] [--keep]\n",
                    argv[0]);
            return 2;
        }
    }
    if (sodium_init() < 0)
        die("sodium_init", KN_ECRYPTO);
    if (!o.dir)
        o.dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(tmpdir, sizeof(tmpdir), "%s/kn-bench-XXXXXX", o.dir);
    if (!mkdtemp(tmpdir)) {
        fprintf(stderr, "bench_log: mkdtemp %s: %s\n", tmpdir, strerror(errno));
        return 1;
    }
    printf("bench_log: databases in %s (%s), WAL mode\n", tmpdir, bench_fs_name(tmpdir));

    /* 1 */
    bench_append("append, 1000 per transaction (NORMAL)", "append.db", STORE_SYNC_NORMAL, o.entries,
                 1000, 30000);
    /* 2 */
    bench_append("append, 1 per transaction (NORMAL: survives a killed process, not a power cut)",
                 "tx-normal.db", STORE_SYNC_NORMAL, o.tx_entries, 1, 10000);
    bench_append("append, 1 per transaction (FULL: fsync per commit, survives a power cut)",
                 "tx-full.db", STORE_SYNC_FULL, o.full_entries, 1, 0);
    /* 3 */
    feed_make(&f, o.entries);
    bench_ingest("ingest, batches of 5000 (fast chain verification: 1 signature per batch)",
                 "ingest.db", &f, 5000, 5000, 100000);
    bench_ingest("ingest, batches of 1 in transactions of 5000 (1 signature per entry)",
                 "ingest-1.db", &f, 1, 5000, 0);
    bench_verify_sig(&f);
    /* 4 */
    bench_verify_all("ingest.db", f.n);
    feed_free(&f);

    if (o.keep)
        printf("bench_log: databases kept in %s\n", tmpdir);
    else
        bench_remove_dir(tmpdir);
    return failures ? 1 : 0;
}
