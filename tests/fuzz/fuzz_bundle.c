/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "fuzz.h"
#include "sync.h"

/* The records a reader gave out, copied: its pointers only live until the next feed. */
struct records {
    struct sync_buf bytes; /* signed header then payload, record after record */
    struct store_raw *r;   /* pointers are offsets into bytes until records_fix() */
    bool *has_payload;
    size_t n, cap;
};

static void records_add(struct records *rs, const struct store_raw *raw)
{
    if (rs->n == rs->cap) {
        rs->cap = rs->cap ? 2 * rs->cap : 16;
        rs->r = kn_xrealloc(rs->r, rs->cap * sizeof(*rs->r));
        rs->has_payload = kn_xrealloc(rs->has_payload, rs->cap * sizeof(*rs->has_payload));
    }
    struct store_raw *c = &rs->r[rs->n];
    c->signed_header = (const uint8_t *)(uintptr_t)rs->bytes.len;
    c->signed_len = raw->signed_len;
    sync_buf_append(&rs->bytes, raw->signed_header, raw->signed_len);
    c->payload = (const uint8_t *)(uintptr_t)rs->bytes.len;
    c->payload_len = raw->payload_len;
    rs->has_payload[rs->n] = raw->payload != NULL;
    if (raw->payload)
        sync_buf_append(&rs->bytes, raw->payload, raw->payload_len);
    else
        FUZZ_CHECK(raw->payload_len == 0);
    rs->n++;
}

/* Turn the offsets into pointers once no more bytes will be appended. */
static void records_fix(struct records *rs)
{
    if (!rs->bytes.data)
        sync_buf_append(&rs->bytes, "", 1); /* empty records still need a base address */
    for (size_t i = 0; i < rs->n; i++) {
        rs->r[i].signed_header = rs->bytes.data + (uintptr_t)rs->r[i].signed_header;
        rs->r[i].payload = rs->has_payload[i] ? rs->bytes.data + (uintptr_t)rs->r[i].payload : NULL;
    }
}

static void records_free(struct records *rs)
{
    sync_buf_finish(&rs->bytes);
    free(rs->r);
    free(rs->has_payload);
}

static bool raw_equal(const struct store_raw *a, const struct store_raw *b)
{
    if (a->signed_len != b->signed_len || (a->payload == NULL) != (b->payload == NULL) ||
        a->payload_len != b->payload_len)
        return false;
    if (a->signed_len && memcmp(a->signed_header, b->signed_header, a->signed_len) != 0)
        return false;
    return !a->payload || !a->payload_len || memcmp(a->payload, b->payload, a->payload_len) == 0;
}

/*
 * Read data with feeds of chunk bytes (0: all at once), taking every record out after each
 * feed. Returns what sync_bundle_reader_end() says at the end of the input.
 */
static int read_all(const uint8_t *data, size_t size, size_t chunk, struct records *rs)
{
    struct sync_bundle_reader rd;
    struct store_raw raw;
    size_t off = 0;
    int r, last = -EAGAIN;

    sync_bundle_reader_init(&rd);
    if (chunk == 0)
        chunk = size ? size : 1;
    do {
        size_t n = size - off < chunk ? size - off : chunk;
        sync_bundle_reader_feed(&rd, data + off, n);
        off += n;
        while ((r = sync_bundle_reader_next(&rd, &raw)) == 1) {
            FUZZ_CHECK(raw.signed_len <= STORE_MAX_SIGNED);
            FUZZ_CHECK(raw.payload_len <= STORE_MAX_PAYLOAD);
            FUZZ_CHECK(raw.signed_header != NULL);
            records_add(rs, &raw);
        }
        FUZZ_CHECK(r == 0 || r == -EAGAIN || (r > KN_ERROR_BASE_ && r < KN_ERROR_END_));
        last = r;
        /* A failed reader stays failed, whatever comes next. */
        if (r != 0 && r != -EAGAIN)
            FUZZ_CHECK(sync_bundle_reader_next(&rd, &raw) == KN_EPROTO);
    } while (off < size);

    r = sync_bundle_reader_end(&rd);
    FUZZ_CHECK(r == 0 || r == KN_ETRUNC || r == KN_EPROTO);
    FUZZ_CHECK(r != 0 || last == 0);
    FUZZ_CHECK(rd.records == rs->n);
    sync_bundle_reader_finish(&rd);
    records_fix(rs);
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct records chunked = { 0 }, whole = { 0 }, again = { 0 };
    struct sync_buf out;

    if (size < 1)
        return 0;
    /* The first byte picks the feed size: 1..255 bytes, or the whole input at once for 0xff. */
    size_t chunk = data[0] == 0xff ? 0 : (size_t)data[0] + 1;
    data++, size--;
    /*
     * At most about 256 feeds: every feed memmoves all the bytes the reader holds onto
     * themselves (sync_buf_consume with nothing consumed), which glibc skips but ASan checks
     * byte by byte, so a large input in tiny pieces would take time quadratic in its size.
     */
    if (chunk && chunk < size / 256)
        chunk = size / 256;

    int end_chunked = read_all(data, size, chunk, &chunked);
    int end_whole = read_all(data, size, 0, &whole);

    /* How the bytes were cut must not change what comes out. */
    FUZZ_CHECK((end_chunked == 0) == (end_whole == 0));
    FUZZ_CHECK(chunked.n == whole.n);
    for (size_t i = 0; i < whole.n; i++)
        FUZZ_CHECK(raw_equal(&chunked.r[i], &whole.r[i]));

    /* Write the records again and read them back. */
    sync_buf_init(&out);
    sync_bundle_put_header(&out);
    for (size_t i = 0; i < whole.n; i++)
        FUZZ_CHECK(sync_bundle_put_entry(&out, &whole.r[i]) == 0);
    sync_bundle_put_trailer(&out, whole.n);
    FUZZ_CHECK(read_all(out.data, out.len, 7, &again) == 0);
    FUZZ_CHECK(again.n == whole.n);
    for (size_t i = 0; i < whole.n; i++)
        FUZZ_CHECK(raw_equal(&again.r[i], &whole.r[i]));
    /* The reader takes only shortest forms, so a bundle it accepts is the one we write. */
    if (end_whole == 0)
        FUZZ_CHECK(out.len == size && memcmp(out.data, data, size) == 0);

    sync_buf_finish(&out);
    records_free(&chunked);
    records_free(&whole);
    records_free(&again);
    return 0;
}
