/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "fuzz.h"
#include "sync.h"

/* Enough for any seed's feeds, few enough that one input stays fast. */
#define MAX_RECORDS 256

struct rejects {
    size_t n, batch;
};

static void on_reject(void *ud, size_t index, const struct store_entry *e, int err)
{
    struct rejects *rj = ud;
    FUZZ_CHECK(index < rj->batch);
    FUZZ_CHECK(err > KN_ERROR_BASE_ && err < KN_ERROR_END_);
    FUZZ_CHECK(e == NULL || e->signed_len <= STORE_MAX_SIGNED);
    rj->n++;
}

static void on_problem(void *ud, const uint8_t author[STORE_KEY_LEN], uint64_t seq, int err)
{
    char hex[STORE_ID_HEX_LEN + 1];
    store_hex(author, STORE_KEY_LEN, hex);
    fprintf(stderr, "verify: feed %s seq %llu: %s\n", hex, (unsigned long long)seq,
            kn_errname(err));
    (void)ud;
}

/* Everything stored, read back as travelling bytes. */
struct held {
    struct sync_buf bytes;
    size_t n;
    struct store_raw raw[MAX_RECORDS];
    size_t off[MAX_RECORDS];
    struct store *s;
};

static int held_entry(void *ud, const struct store_entry *e, const uint8_t *payload,
                      size_t payload_len)
{
    struct held *h = ud;
    FUZZ_CHECK(h->n < MAX_RECORDS && payload != NULL && payload_len == e->payload_len);
    h->off[h->n] = h->bytes.len;
    sync_buf_append(&h->bytes, e->signed_header, e->signed_len);
    sync_buf_append(&h->bytes, payload, payload_len);
    h->raw[h->n].signed_len = e->signed_len;
    h->raw[h->n].payload_len = payload_len;
    h->n++;
    return 0;
}

static int held_feed(void *ud, const struct store_feed *f)
{
    struct held *h = ud;
    return store_range(h->s, f->author, 1, 0, held_entry, h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct store_raw recs[MAX_RECORDS];
    struct sync_bundle_reader rd;
    struct store_ingest_result res;
    struct store *s = NULL;
    struct held h = { 0 };
    uint64_t count, checked, accepted = 0;
    size_t n = 0, batch;

    if (size < 1)
        return 0;
    /* The first byte is the batch size; 0 puts every record in one batch. */
    batch = data[0];
    data++, size--;

    sync_bundle_reader_init(&rd);
    sync_bundle_reader_feed(&rd, data, size);
    while (n < MAX_RECORDS && sync_bundle_reader_next(&rd, &recs[n]) == 1)
        n++;
    if (n == 0)
        goto out; /* nothing to ingest: spare the store's set-up */
    if (batch == 0)
        batch = n;

    FUZZ_CHECK(store_open(":memory:", STORE_SYNC_NORMAL, &s) == 0);
    for (size_t i = 0; i < n; i += batch) {
        size_t k = n - i < batch ? n - i : batch;
        struct rejects rj = { 0, k };
        FUZZ_CHECK(store_ingest(s, &recs[i], k, &res, on_reject, &rj) == 0);
        FUZZ_CHECK(res.accepted + res.duplicates + res.rejected + res.forks == k);
        FUZZ_CHECK(rj.n == res.rejected);
        accepted += res.accepted;
    }
    FUZZ_CHECK(store_count(s, &count) == 0 && count == accepted);

    /* Ingest never stores what a full check would refuse. */
    FUZZ_CHECK(store_verify_all(s, STORE_VERIFY_CHAIN, on_problem, NULL, &checked) == 0);
    FUZZ_CHECK(checked == count);
    FUZZ_CHECK(store_verify_all(s, STORE_VERIFY_EVERY, on_problem, NULL, &checked) == 0);

    /* What is held comes back as duplicates (or as refusals, for a forked feed). */
    sync_buf_init(&h.bytes);
    h.s = s;
    FUZZ_CHECK(store_clock(s, held_feed, &h) == 0);
    FUZZ_CHECK(h.n == count);
    for (size_t i = 0; i < h.n; i++) {
        h.raw[i].signed_header = h.bytes.data + h.off[i];
        h.raw[i].payload = h.bytes.data + h.off[i] + h.raw[i].signed_len;
    }
    if (h.n > 0) {
        FUZZ_CHECK(store_ingest(s, h.raw, h.n, &res, NULL, NULL) == 0);
        FUZZ_CHECK(res.accepted == 0 && res.forks == 0);
        FUZZ_CHECK(res.duplicates + res.rejected == h.n);
        FUZZ_CHECK(store_count(s, &count) == 0 && count == accepted);
    }

    sync_buf_finish(&h.bytes);
    store_close(s);
out:
    sync_bundle_reader_finish(&rd);
    return 0;
}
