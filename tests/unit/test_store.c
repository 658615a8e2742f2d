/* SPDX-License-Identifier: MIT */
/* The store: append, read, ingest (fast chain verification), forks, verification, schema. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include <sqlite3.h>

#include "helpers.h"

struct rejection {
    size_t index;
    uint64_t seq;
    int err;
};

struct rejections {
    size_t n;
    struct rejection v[256];
};

static void on_reject(void *ud, size_t index, const struct store_entry *e, int err)
{
    struct rejections *r = ud;
    if (r->n < 256)
        r->v[r->n++] = (struct rejection){ index, e ? e->seq : 0, err };
}

static uint64_t tip(struct store *s, const uint8_t *author)
{
    struct store_feed f;
    assert_int_equal(store_feed_get(s, author, &f), 0);
    return f.seq;
}

static void test_append_and_read(void **state)
{
    (void)state;
    char path[64];
    struct store *s = th_store(path);
    struct store_identity id;
    struct store_entry e, got;
    uint8_t p[32];

    th_identity(&id, 1);
    struct store_draft d = { "order.placed", 1000, NULL, 0, p, th_payload(5, p) };
    assert_int_equal(store_append(s, &d, &e), KN_EINVAL); /* no identity yet */
    store_set_identity(s, &id);
    for (int i = 0; i < 3; i++)
        assert_int_equal(store_append(s, &d, &e), 0);
    assert_int_equal(e.seq, 3);
    assert_int_equal(store_get(s, id.pk, 3, &got, NULL, NULL), 0);
    assert_memory_equal(got.hash, e.hash, STORE_HASH_LEN);
    assert_int_equal(store_get(s, id.pk, 4, &got, NULL, NULL), KN_ENOTFOUND);
    assert_int_equal(store_get(s, id.pk, 2, &got, NULL, NULL), 0);
    assert_memory_equal(e.prev_hash, got.hash, STORE_HASH_LEN);
    assert_int_equal(tip(s, id.pk), 3);

    /* several appends in one transaction; a rollback leaves nothing */
    assert_int_equal(store_tx_begin(s), 0);
    assert_int_equal(store_append(s, &d, NULL), 0);
    assert_int_equal(store_append(s, &d, NULL), 0);
    assert_int_equal(store_tx_rollback(s), 0);
    assert_int_equal(tip(s, id.pk), 3);
    assert_int_equal(store_tx_begin(s), 0);
    assert_int_equal(store_tx_begin(s), KN_EINVAL);
    assert_int_equal(store_append(s, &d, NULL), 0);
    assert_int_equal(store_append(s, &d, &e), 0);
    assert_int_equal(store_tx_commit(s), 0);
    assert_int_equal(e.seq, 5);

    uint64_t n;
    assert_int_equal(store_count(s, &n), 0);
    assert_int_equal(n, 5);
    assert_int_equal(store_verify_all(s, STORE_VERIFY_EVERY, NULL, NULL, &n), 0);
    assert_int_equal(n, 5);

    /* what was stored survives closing and reopening */
    store_close(s);
    assert_int_equal(store_open(path, STORE_SYNC_FULL, &s), 0);
    assert_int_equal(tip(s, id.pk), 5);
    store_identity_finish(&id);
    th_store_close(s, path);
}

static int count_cb(void *ud, const struct store_entry *e, const uint8_t *p, size_t len)
{
    uint64_t *expect = ud;
    assert_int_equal(e->seq, *expect);
    assert_non_null(p);
    assert_true(len > 0);
    (*expect)++;
    return 0;
}

static void test_ingest_contiguous(void **state)
{
    (void)state;
    char path[64];
    struct store *s = th_store(path);
    struct th_feed f;
    struct store_raw raw[50];
    struct store_ingest_result res;

    th_feed_make(&f, 2, 50);
    for (size_t i = 0; i < 50; i++)
        raw[i] = th_raw(&f, i);
    assert_int_equal(store_ingest(s, raw, 50, &res, NULL, NULL), 0);
    assert_int_equal(res.accepted, 50);
    assert_int_equal(res.rejected, 0);
    assert_int_equal(tip(s, f.id.pk), 50);

    /* the same batch again: all duplicates, nothing changes */
    assert_int_equal(store_ingest(s, raw, 50, &res, NULL, NULL), 0);
    assert_int_equal(res.accepted, 0);
    assert_int_equal(res.duplicates, 50);

    uint64_t next = 10;
    assert_int_equal(store_range(s, f.id.pk, 10, 20, count_cb, &next), 0);
    assert_int_equal(next, 21);
    th_feed_free(&f);
    th_store_close(s, path);
}

static void test_ingest_any_order_many_feeds(void **state)
{
    (void)state;
    char path[64];
    struct store *s = th_store(path);
    struct th_feed a, b;
    struct store_raw raw[60];
    struct store_ingest_result res;

    th_feed_make(&a, 3, 30);
    th_feed_make(&b, 4, 30);
    for (size_t i = 0; i < 30; i++) {
        raw[2 * i] = th_raw(&a, 29 - i); /* newest first */
        raw[2 * i + 1] = th_raw(&b, (i * 7) % 30);
    }
    assert_int_equal(store_ingest(s, raw, 60, &res, NULL, NULL), 0);
    assert_int_equal(res.accepted, 60);
    assert_int_equal(tip(s, a.id.pk), 30);
    assert_int_equal(tip(s, b.id.pk), 30);
    assert_int_equal(store_verify_all(s, STORE_VERIFY_EVERY, NULL, NULL, NULL), 0);
    th_feed_free(&a);
    th_feed_free(&b);
    th_store_close(s, path);
}

static void test_ingest_gap(void **state)
{
    (void)state;
    char path[64];
    struct store *s = th_store(path);
    struct th_feed f;
    struct store_raw raw[10];
    struct store_ingest_result res;
    struct rejections rej = { 0 };
    size_t n = 0;

    th_feed_make(&f, 5, 10);
    for (size_t i = 0; i < 10; i++)
        if (i != 4)
            raw[n++] = th_raw(&f, i);
    assert_int_equal(store_ingest(s, raw, n, &res, on_reject, &rej), 0);
    assert_int_equal(res.accepted, 4);
    assert_int_equal(res.rejected, 5);
    assert_int_equal(rej.v[0].seq, 6);
    assert_int_equal(rej.v[0].err, KN_ESEQ);
    for (size_t i = 1; i < rej.n; i++)
        assert_int_equal(rej.v[i].err, KN_EAFTERBAD);
    /* what was missing arrives: the rest follows */
    for (size_t i = 4; i < 10; i++)
        raw[i - 4] = th_raw(&f, i);
    assert_int_equal(store_ingest(s, raw, 6, &res, NULL, NULL), 0);
    assert_int_equal(res.accepted, 6);
    assert_int_equal(tip(s, f.id.pk), 10);
    th_feed_free(&f);
    th_store_close(s, path);
}

/* A bad entry is refused with the rest of its feed; other feeds in the batch are kept. */
static void test_ingest_bad_payload_keeps_other_feeds(void **state)
{
    (void)state;
    char path[64];
    struct store *s = th_store(path);
    struct th_feed a, b;
    struct store_raw raw[20];
    struct store_ingest_result res;
    struct rejections rej = { 0 };
    uint8_t bad[32];

    th_feed_make(&a, 6, 10);
    th_feed_make(&b, 8, 10);
    for (size_t i = 0; i < 10; i++) {
        raw[i] = th_raw(&a, i);
        raw[10 + i] = th_raw(&b, i);
    }
    memcpy(bad, a.payload[3], a.plen[3]);
    bad[a.plen[3] - 1] ^= 1;
    raw[3].payload = bad;
    raw[5].payload = NULL; /* also missing, but it already follows a refused entry */
    assert_int_equal(store_ingest(s, raw, 20, &res, on_reject, &rej), 0);
    assert_int_equal(tip(s, a.id.pk), 3);
    assert_int_equal(tip(s, b.id.pk), 10);
    assert_int_equal(res.accepted, 13);
    assert_int_equal(res.rejected, 7);
    assert_int_equal(rej.v[0].index, 3);
    assert_int_equal(rej.v[0].err, KN_EPAYLOAD);

    /* a missing payload */
    raw[3] = th_raw(&a, 3);
    raw[3].payload = NULL;
    rej.n = 0;
    assert_int_equal(store_ingest(s, &raw[3], 1, &res, on_reject, &rej), 0);
    assert_int_equal(rej.v[0].err, KN_ENOPAYLOAD);
    /* an undecodable record is refused alone */
    uint8_t junk[] = { 0x99, 0x01 };
    struct store_raw j = { junk, sizeof(junk), junk, 1 };
    rej.n = 0;
    assert_int_equal(store_ingest(s, &j, 1, &res, on_reject, &rej), 0);
    assert_int_equal(res.rejected, 1);
    assert_int_equal(rej.v[0].err, KN_ETRUNC);
    th_feed_free(&a);
    th_feed_free(&b);
    th_store_close(s, path);
}

/*
 * The verdict of fast chain verification equals checking every signature: a forged signature in
 * the middle of a run refuses exactly that entry and what follows, in one batch or one by one.
 */
static void test_forged_signature_mid_run(void **state)
{
    (void)state;
    const size_t N = 20, K = 11; /* seq K + 1 is forged */
    struct th_feed f;
    struct store_raw raw[20];
    uint8_t forged[STORE_MAX_SIGNED];

    th_feed_make(&f, 9, N);
    for (size_t i = 0; i < N; i++)
        raw[i] = th_raw(&f, i);
    memcpy(forged, f.e[K].signed_header, f.e[K].signed_len);
    forged[f.e[K].signed_len - 10] ^= 0x40;
    raw[K].signed_header = forged;

    for (int mode = 0; mode < 2; mode++) {
        char path[64];
        struct store *s = th_store(path);
        struct store_ingest_result res;
        struct rejections rej = { 0 };
        if (mode == 0) {
            assert_int_equal(store_ingest(s, raw, N, &res, on_reject, &rej), 0);
        } else {
            for (size_t i = 0; i < N; i++)
                assert_int_equal(store_ingest(s, &raw[i], 1, &res, on_reject, &rej), 0);
        }
        assert_int_equal(tip(s, f.id.pk), K);
        assert_true(rej.n >= 1);
        assert_int_equal(rej.v[0].seq, K + 1);
        assert_int_equal(rej.v[0].err, KN_ESIG);
        assert_int_equal(rej.n, N - K);
        assert_int_equal(store_verify_all(s, STORE_VERIFY_EVERY, NULL, NULL, NULL), 0);
        th_store_close(s, path);
    }
    th_feed_free(&f);
}

/* What a checker of every entry would accept: the longest good prefix of the feed. */
static size_t reference_prefix(const struct store_raw *raw, size_t n, const uint8_t *author)
{
    uint8_t prev[STORE_HASH_LEN];
    size_t good = 0;
    for (size_t seq = 1;; seq++) {
        size_t i;
        struct store_entry e;
        for (i = 0; i < n; i++) {
            if (store_entry_decode(raw[i].signed_header, raw[i].signed_len, &e) == 0 &&
                e.seq == seq && memcmp(e.author, author, STORE_KEY_LEN) == 0)
                break;
        }
        if (i == n || store_entry_verify_sig(&e) != 0 || !raw[i].payload ||
            store_entry_check_payload(&e, raw[i].payload, raw[i].payload_len) != 0 ||
            (seq > 1 && memcmp(e.prev_hash, prev, STORE_HASH_LEN) != 0))
            return good;
        memcpy(prev, e.hash, STORE_HASH_LEN);
        good = seq;
    }
}

/* Random damage to random feeds: batch ingest, one-by-one ingest and the reference agree. */
static void test_fast_equals_full_random(void **state)
{
    (void)state;
    const size_t N = 16;
    struct th_feed f;
    uint64_t rng = 0x9e3779b97f4a7c15ull;
    th_feed_make(&f, 10, N);

    for (int round = 0; round < 150; round++) {
        struct store_raw raw[16];
        uint8_t hdr[16][STORE_MAX_SIGNED], pay[16][32];
        for (size_t i = 0; i < N; i++) {
            memcpy(hdr[i], f.e[i].signed_header, f.e[i].signed_len);
            memcpy(pay[i], f.payload[i], f.plen[i]);
            raw[i] = th_raw(&f, i);
            raw[i].signed_header = hdr[i];
            raw[i].payload = pay[i];
        }
        int damages = 1 + (int)((rng >> 7) % 3);
        for (int d = 0; d < damages; d++) {
            rng = rng * 6364136223846793005ull + 1442695040888963407ull;
            size_t i = (size_t)(rng >> 33) % N;
            switch ((rng >> 20) % 4) {
            case 0: /* a signature bit */
                hdr[i][f.e[i].signed_len - 1 - (rng >> 40) % 64] ^= 1;
                break;
            case 1: /* a header bit (timestamp bytes: still decodes) */
                hdr[i][39 + (rng >> 40) % 8] ^= 0x10;
                break;
            case 2: /* a payload bit */
                pay[i][(rng >> 40) % f.plen[i]] ^= 0x02;
                break;
            case 3: /* a lost entry */
                raw[i].signed_len = 3;
                break;
            }
        }
        size_t want = reference_prefix(raw, N, f.id.pk);
        for (int mode = 0; mode < 2; mode++) {
            char path[64];
            struct store *s = th_store(path);
            struct store_ingest_result res;
            if (mode == 0) {
                assert_int_equal(store_ingest(s, raw, N, &res, NULL, NULL), 0);
            } else {
                for (size_t i = 0; i < N; i++)
                    assert_int_equal(store_ingest(s, &raw[i], 1, &res, NULL, NULL), 0);
            }
            if (tip(s, f.id.pk) != want)
                fail_msg("round %d mode %d: stored up to %llu, reference %zu", round, mode,
                         (unsigned long long)tip(s, f.id.pk), want);
            assert_int_equal(store_verify_all(s, STORE_VERIFY_EVERY, NULL, NULL, NULL), 0);
            th_store_close(s, path);
        }
    }
    th_feed_free(&f);
}

static int fork_cb(void *ud, const struct store_fork *fk)
{
    uint64_t *seq = ud;
    *seq = fk->seq;
    return 0;
}

static void test_fork(void **state)
{
    (void)state;
    char path[64];
    struct store *s = th_store(path);
    struct th_feed f;
    struct store_raw raw[5];
    struct store_ingest_result res;
    struct rejections rej = { 0 };
    struct store_entry alt;
    uint8_t p[32];
    size_t plen = th_payload(999, p);

    th_feed_make(&f, 11, 5);
    for (size_t i = 0; i < 3; i++)
        raw[i] = th_raw(&f, i);
    assert_int_equal(store_ingest(s, raw, 3, &res, NULL, NULL), 0);

    /* the author signs another seq 2: equivocation */
    struct store_draft d = { "other.entry", 5, NULL, 0, p, plen };
    assert_int_equal(store_entry_sign(&d, 2, f.e[0].hash, f.id.sk, &alt), 0);
    struct store_raw r2 = { alt.signed_header, alt.signed_len, p, plen };

    /* a forged one (bad signature) is not proof of anything */
    struct store_entry forged = alt;
    forged.signed_header[forged.signed_len - 1] ^= 1;
    struct store_raw rf = { forged.signed_header, forged.signed_len, p, plen };
    assert_int_equal(store_ingest(s, &rf, 1, &res, on_reject, &rej), 0);
    assert_int_equal(res.forks, 0);
    assert_int_equal(rej.v[0].err, KN_ESIG);

    struct store_raw batch[3] = { r2, th_raw(&f, 3), th_raw(&f, 4) };
    rej.n = 0;
    assert_int_equal(store_ingest(s, batch, 3, &res, on_reject, &rej), 0);
    assert_int_equal(res.forks, 1);
    assert_int_equal(res.accepted, 0);
    assert_int_equal(rej.n, 2);
    assert_int_equal(rej.v[0].err, KN_EFORKED);

    struct store_feed feed;
    assert_int_equal(store_feed_get(s, f.id.pk, &feed), 0);
    assert_true(feed.forked);
    assert_int_equal(feed.seq, 3);
    uint64_t fork_seq = 0;
    assert_int_equal(store_forks(s, fork_cb, &fork_seq), 0);
    assert_int_equal(fork_seq, 2);

    /* nothing later of a forked feed is stored; and its owner may not append to it */
    rej.n = 0;
    assert_int_equal(store_ingest(s, &batch[1], 1, &res, on_reject, &rej), 0);
    assert_int_equal(rej.v[0].err, KN_EFORKED);
    store_set_identity(s, &f.id);
    struct store_draft more = { "t", 1, NULL, 0, p, plen };
    assert_int_equal(store_append(s, &more, NULL), KN_EFORKED);
    th_feed_free(&f);
    th_store_close(s, path);
}

static int raw_exec(const char *path, const char *sql)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    sqlite3_close(db);
    return rc;
}

static void test_append_only(void **state)
{
    (void)state;
    char path[64];
    struct store *s = th_store(path);
    struct th_feed f;
    struct store_raw raw[3];
    struct store_ingest_result res;

    th_feed_make(&f, 12, 3);
    for (size_t i = 0; i < 3; i++)
        raw[i] = th_raw(&f, i);
    assert_int_equal(store_ingest(s, raw, 3, &res, NULL, NULL), 0);
    store_close(s);
    assert_int_not_equal(raw_exec(path, "UPDATE log SET seq = 9 WHERE seq = 1"), SQLITE_OK);
    assert_int_not_equal(raw_exec(path, "DELETE FROM log"), SQLITE_OK);
    assert_int_equal(store_open(path, STORE_SYNC_NORMAL, &s), 0);
    assert_int_equal(tip(s, f.id.pk), 3);
    th_feed_free(&f);
    th_store_close(s, path);
}

static void test_schema_versions(void **state)
{
    (void)state;
    char path[64];
    struct store *s = th_store(path);
    store_close(s);
    /* reopening migrates nothing and keeps the version */
    assert_int_equal(store_open(path, STORE_SYNC_NORMAL, &s), 0);
    store_close(s);
    sqlite3 *db;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), STORE_SCHEMA_VERSION);
    sqlite3_finalize(st);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    sqlite3_close(db);
    /* a version 8 database gets version 9's index of orders by stage in place of v8's */
    assert_int_equal(raw_exec(path, "DROP INDEX p_orders_stage;"
                                    "CREATE INDEX p_orders_office ON p_orders(office, state);"
                                    "PRAGMA user_version = 8"),
                     SQLITE_OK);
    assert_int_equal(store_open(path, STORE_SYNC_NORMAL, &s), 0);
    store_close(s);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT group_concat(name, ' ') FROM sqlite_schema WHERE"
                                        " type = 'index' AND tbl_name = 'p_orders'"
                                        " AND sql IS NOT NULL AND name != 'p_orders_chip'",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "p_orders_stage");
    sqlite3_finalize(st);
    sqlite3_close(db);
    /* a database from a newer program is refused */
    char newer[64];
    snprintf(newer, sizeof(newer), "PRAGMA user_version = %d", STORE_SCHEMA_VERSION + 1);
    assert_int_equal(raw_exec(path, newer), SQLITE_OK);
    assert_int_equal(store_open(path, STORE_SYNC_NORMAL, &s), KN_ESCHEMA);
    /* so is a file that is not a database */
    char junk[80];
    snprintf(junk, sizeof(junk), "%s-junk", path);
    FILE *fp = fopen(junk, "w");
    assert_non_null(fp);
    for (int i = 0; i < 512; i++)
        fputs("not a database ", fp);
    fclose(fp);
    assert_int_equal(store_open(junk, STORE_SYNC_NORMAL, &s), KN_ECORRUPT);
    unlink(junk);
    th_store_close(NULL, path);
}

struct problems {
    size_t n;
    uint64_t seq[8];
    int err[8];
};

static void on_problem(void *ud, const uint8_t author[STORE_KEY_LEN], uint64_t seq, int err)
{
    struct problems *p = ud;
    (void)author;
    if (p->n < 8) {
        p->seq[p->n] = seq;
        p->err[p->n++] = err;
    }
}

/* Flip one byte of a stored column with raw SQL; verify must name that entry. */
static void tamper_case(const char *sql, uint64_t want_seq, int want_err)
{
    char path[64];
    struct store *s = th_store(path);
    struct th_feed f;
    struct store_raw raw[6];
    struct store_ingest_result res;

    th_feed_make(&f, 13, 6);
    for (size_t i = 0; i < 6; i++)
        raw[i] = th_raw(&f, i);
    assert_int_equal(store_ingest(s, raw, 6, &res, NULL, NULL), 0);
    store_close(s);
    assert_int_equal(raw_exec(path, "DROP TRIGGER log_no_update"), SQLITE_OK);
    if (raw_exec(path, sql) != SQLITE_OK)
        fail_msg("tamper SQL failed: %s", sql);
    assert_int_equal(store_open(path, STORE_SYNC_NORMAL, &s), 0);
    for (int mode = 0; mode < 2; mode++) {
        struct problems p = { 0 };
        int r = store_verify_all(s, mode ? STORE_VERIFY_EVERY : STORE_VERIFY_CHAIN, on_problem, &p,
                                 NULL);
        assert_int_equal(r, 1);
        assert_int_equal(p.n, 1);
        if (p.seq[0] != want_seq || (want_err && p.err[0] != want_err))
            fail_msg("%s (mode %d): named seq %llu (%s), want %llu", sql, mode,
                     (unsigned long long)p.seq[0], kn_errname(p.err[0]),
                     (unsigned long long)want_seq);
    }
    th_feed_free(&f);
    th_store_close(s, path);
}

static void test_verify_names_tampered_entry(void **state)
{
    (void)state;
    /* a byte of seq 3's timestamp */
    tamper_case("UPDATE log SET header = substr(header, 1, 40) || x'ff' || substr(header, 42) "
                "WHERE seq = 3",
                3, KN_ESIG);
    /* a byte of seq 2's signature */
    tamper_case("UPDATE log SET header = substr(header, 1, 140) || x'00' || substr(header, 142) "
                "WHERE seq = 2",
                2, KN_ESIG);
    /* the tip's signature: only the tip check can see it */
    tamper_case("UPDATE log SET header = substr(header, 1, 150) || x'00' || substr(header, 152) "
                "WHERE seq = 6",
                6, KN_ESIG);
    /* the first entry's payload hash */
    tamper_case("UPDATE log SET header = substr(header, 1, 70) || x'00' || substr(header, 72) "
                "WHERE seq = 1",
                1, KN_ESIG);
    /* a payload byte */
    tamper_case("UPDATE payloads SET body = x'81a169' || x'7e' WHERE seq = 4", 4, KN_EPAYLOAD);
    /* a payload removed */
    tamper_case("DELETE FROM payloads WHERE seq = 5", 5, KN_ENOPAYLOAD);
    /* a seq column changed: a gap */
    tamper_case("DROP TRIGGER log_no_delete; DELETE FROM log WHERE seq = 4", 5, KN_ESEQ);
    /* one entry's header copied over another's */
    tamper_case("UPDATE log SET header = (SELECT header FROM log WHERE seq = 2) WHERE seq = 3", 3,
                KN_ESEQ);
}

static void test_own_feed_links(void **state)
{
    (void)state;
    char path[64];
    struct store *s = th_store(path);
    struct store_identity id;
    struct store_entry e1, e2;
    uint8_t p[32];

    /* what another node appended travels and links in the receiver */
    th_identity(&id, 14);
    store_set_identity(s, &id);
    struct store_draft d = { "t", 1, NULL, 0, p, th_payload(1, p) };
    assert_int_equal(store_append(s, &d, &e1), 0);
    struct store_entry_id dep = { { 0 }, 1, { 0 } };
    memcpy(dep.author, e1.author, STORE_KEY_LEN);
    memcpy(dep.hash, e1.hash, STORE_HASH_LEN);
    struct store_draft d2 = { "t", 2, &dep, 1, p, d.payload_len };
    assert_int_equal(store_append(s, &d2, &e2), 0);
    assert_int_equal(e2.ndeps, 1);
    assert_memory_equal(e2.prev_hash, e1.hash, STORE_HASH_LEN);
    store_identity_finish(&id);
    th_store_close(s, path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_and_read),
        cmocka_unit_test(test_ingest_contiguous),
        cmocka_unit_test(test_ingest_any_order_many_feeds),
        cmocka_unit_test(test_ingest_gap),
        cmocka_unit_test(test_ingest_bad_payload_keeps_other_feeds),
        cmocka_unit_test(test_forged_signature_mid_run),
        cmocka_unit_test(test_fast_equals_full_random),
        cmocka_unit_test(test_fork),
        cmocka_unit_test(test_append_only),
        cmocka_unit_test(test_schema_versions),
        cmocka_unit_test(test_verify_names_tampered_entry),
        cmocka_unit_test(test_own_feed_links),
    };
    return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
