/* SPDX-License-Identifier: MIT */
/* The bundle (export file) format: streaming reads in any chunking, every refusal. */
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "sync.h"

static struct th_feed feed;
static struct sync_buf good;

static int setup(void **state)
{
    (void)state;
    th_feed_make(&feed, 21, 5);
    sync_buf_init(&good);
    sync_bundle_put_header(&good);
    for (size_t i = 0; i < 5; i++) {
        struct store_raw r = th_raw(&feed, i);
        if (i == 2)
            r.payload = NULL; /* an absent payload travels as nil */
        assert_int_equal(sync_bundle_put_entry(&good, &r), 0);
    }
    sync_bundle_put_trailer(&good, 5);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    th_feed_free(&feed);
    sync_buf_finish(&good);
    return 0;
}

/* Feed bytes in chunks of step; return the number of records read, or the error. */
static int read_all(const uint8_t *b, size_t n, size_t step, int *end)
{
    struct sync_bundle_reader r;
    struct store_raw raw;
    int count = 0, rc = -EAGAIN;

    sync_bundle_reader_init(&r);
    for (size_t off = 0; off < n; off += step) {
        size_t len = n - off < step ? n - off : step;
        sync_bundle_reader_feed(&r, b + off, len);
        while ((rc = sync_bundle_reader_next(&r, &raw)) == 1) {
            size_t i = (size_t)count++;
            assert_true(i < feed.n);
            assert_int_equal(raw.signed_len, feed.e[i].signed_len);
            assert_memory_equal(raw.signed_header, feed.e[i].signed_header, raw.signed_len);
            if (i == 2) {
                assert_null(raw.payload);
            } else {
                assert_int_equal(raw.payload_len, feed.plen[i]);
                assert_memory_equal(raw.payload, feed.payload[i], raw.payload_len);
            }
        }
        if (rc != -EAGAIN && rc != 0)
            break;
    }
    *end = sync_bundle_reader_end(&r);
    sync_bundle_reader_finish(&r);
    return rc < 0 && rc != -EAGAIN ? rc : count;
}

static void test_round_trip_any_chunking(void **state)
{
    (void)state;
    for (size_t step = 1; step <= good.len; step += (step < 16 ? 1 : 37)) {
        int end;
        assert_int_equal(read_all(good.data, good.len, step, &end), 5);
        assert_int_equal(end, 0);
    }
}

static void test_truncated(void **state)
{
    (void)state;
    for (size_t n = 0; n < good.len; n++) {
        int end;
        int got = read_all(good.data, n, 7, &end);
        assert_true(got >= 0 && got <= 5);
        assert_int_equal(end, KN_ETRUNC);
    }
}

static void test_trailing(void **state)
{
    (void)state;
    uint8_t *b = malloc(good.len + 1);
    int end;
    memcpy(b, good.data, good.len);
    b[good.len] = 0xc0;
    assert_int_equal(read_all(b, good.len + 1, good.len + 1, &end), KN_ETRAIL);
    assert_int_not_equal(end, 0);
    free(b);
}

static void test_refusals(void **state)
{
    (void)state;
    int end;
    uint8_t *b = malloc(good.len + 8);

    /* another magic, and another version */
    memcpy(b, good.data, good.len);
    b[3] ^= 0x20;
    assert_int_equal(read_all(b, good.len, good.len, &end), KN_EFORMAT);
    memcpy(b, good.data, good.len);
    b[16] = 0x02; /* [fixarray 2, fixstr 14 "kortnod-bundle", version] */
    assert_int_equal(good.data[16], 0x01);
    assert_int_equal(read_all(b, good.len, good.len, &end), KN_EFORMAT);
    /* a trailer that counts wrong */
    memcpy(b, good.data, good.len);
    assert_int_equal(b[good.len - 1], 5);
    b[good.len - 1] = 4;
    assert_int_equal(read_all(b, good.len, good.len, &end), KN_EPROTO);
    /* not a bundle at all */
    assert_int_equal(read_all((const uint8_t *)"hello world", 11, 11, &end), KN_EFORMAT);
    /* after an error the reader stays failed */
    struct sync_bundle_reader r;
    struct store_raw raw;
    sync_bundle_reader_init(&r);
    sync_bundle_reader_feed(&r, (const uint8_t *)"\x93\x01\x02\x03", 4);
    assert_int_equal(sync_bundle_reader_next(&r, &raw), KN_EFORMAT);
    sync_bundle_reader_feed(&r, good.data, good.len);
    assert_int_equal(sync_bundle_reader_next(&r, &raw), KN_EPROTO);
    assert_int_equal(sync_bundle_reader_end(&r), KN_EPROTO);
    sync_bundle_reader_finish(&r);
    free(b);
}

static void test_hostile_lengths(void **state)
{
    (void)state;
    /* a record claiming a 4 GiB header: refused once more bytes than any record are held,
     * never allocated */
    struct sync_buf b;
    sync_buf_init(&b);
    sync_bundle_put_header(&b);
    static const uint8_t rec[] = { 0x92, 0xc6, 0xff, 0xff, 0xff, 0xff };
    sync_buf_append(&b, rec, sizeof(rec));
    uint8_t *zeros = calloc(1, SYNC_MAX_RECORD);
    sync_buf_append(&b, zeros, SYNC_MAX_RECORD);
    int end;
    int r = read_all(b.data, b.len, 4096, &end);
    assert_true(r == KN_ETRUNC || r == KN_ETOOBIG);
    free(zeros);
    sync_buf_finish(&b);
    /* writing refuses records past the bounds */
    struct store_raw big = { feed.e[0].signed_header, STORE_MAX_SIGNED + 1, NULL, 0 };
    sync_buf_init(&b);
    assert_int_equal(sync_bundle_put_entry(&b, &big), KN_EINVAL);
    sync_buf_finish(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_any_chunking),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_trailing),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_hostile_lengths),
    };
    return cmocka_run_group_tests_name("bundle", tests, setup, teardown);
}
