/* SPDX-License-Identifier: MIT */
/* Replication messages: written, read back in any chunking, and every refusal. */
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "sync.h"

static struct th_feed feed;

static int setup(void **state)
{
    (void)state;
    th_feed_make(&feed, 41, 6);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    th_feed_free(&feed);
    return 0;
}

static void sample(struct sync_buf *b)
{
    struct sync_clock_item clock[3];
    struct store_raw raw[6];
    memset(clock, 0, sizeof(clock));
    memset(clock[1].tip, 0xab, STORE_HASH_LEN);
    clock[1].has_tip = true; /* one item with the tip hash, two without (older nodes) */
    for (int i = 0; i < 3; i++) {
        memset(clock[i].author, 0x10 * (i + 1), STORE_KEY_LEN);
        clock[i].seq = (uint64_t)i * 1000;
    }
    for (size_t i = 0; i < 6; i++)
        raw[i] = th_raw(&feed, i);
    raw[4].payload = NULL;
    sync_msg_put_clock(b, clock, 3);
    assert_int_equal(sync_msg_put_entries(b, raw, 6), 0);
    sync_msg_put_synced(b);
}

/* Read everything in b fed step bytes at a time; check the sample came back. */
static int read_back(const uint8_t *data, size_t len, size_t step)
{
    struct sync_msg_reader r;
    struct sync_msg m;
    int got = 0, rc = -EAGAIN;
    sync_msg_reader_init(&r);
    for (size_t off = 0; off < len; off += step) {
        sync_msg_reader_feed(&r, data + off, len - off < step ? len - off : step);
        while ((rc = sync_msg_next(&r, &m)) == 1) {
            switch (got++) {
            case 0:
                assert_int_equal(m.type, SYNC_MSG_CLOCK);
                assert_int_equal(m.count, 3);
                assert_int_equal(m.clock[2].seq, 2000);
                assert_int_equal(m.clock[1].author[0], 0x20);
                assert_true(m.clock[1].has_tip && m.clock[1].tip[31] == 0xab);
                assert_false(m.clock[0].has_tip || m.clock[2].has_tip);
                break;
            case 1:
                assert_int_equal(m.type, SYNC_MSG_ENTRIES);
                assert_int_equal(m.count, 6);
                for (size_t i = 0; i < 6; i++) {
                    assert_int_equal(m.entries[i].signed_len, feed.e[i].signed_len);
                    assert_memory_equal(m.entries[i].signed_header, feed.e[i].signed_header,
                                        feed.e[i].signed_len);
                }
                assert_null(m.entries[4].payload);
                assert_memory_equal(m.entries[5].payload, feed.payload[5], feed.plen[5]);
                break;
            case 2:
                assert_int_equal(m.type, SYNC_MSG_SYNCED);
                break;
            default:
                fail();
            }
        }
        if (rc != -EAGAIN)
            break;
    }
    sync_msg_reader_finish(&r);
    return rc == -EAGAIN ? got : rc;
}

static void test_round_trip(void **state)
{
    (void)state;
    struct sync_buf b;
    sync_buf_init(&b);
    sample(&b);
    for (size_t step = 1; step <= b.len; step += step < 20 ? 1 : 97)
        assert_int_equal(read_back(b.data, b.len, step), 3);
    /* every prefix is incomplete, never an error */
    for (size_t n = 0; n < b.len; n++) {
        int got = read_back(b.data, n, 4096);
        assert_true(got >= 0 && got < 3);
    }
    sync_buf_finish(&b);
}

static int one(const char *hex)
{
    uint8_t buf[2048];
    size_t n = strlen(hex) / 2;
    struct sync_msg_reader r;
    struct sync_msg m;
    assert_int_equal(store_unhex(hex, buf, n), 0);
    sync_msg_reader_init(&r);
    sync_msg_reader_feed(&r, buf, n);
    int rc = sync_msg_next(&r, &m);
    if (rc < 0 && rc != -EAGAIN)
        assert_int_equal(sync_msg_next(&r, &m), KN_EPROTO); /* stays failed */
    sync_msg_reader_finish(&r);
    return rc;
}

static void test_refusals(void **state)
{
    (void)state;
    assert_int_equal(one("91a673796e636564"), 1);              /* ["synced"] */
    assert_int_equal(one("91a3666f6f"), KN_EPROTO);            /* ["foo"] */
    assert_int_equal(one("92a673796e63656401"), KN_EPROTO);    /* ["synced", 1] */
    assert_int_equal(one("0102"), KN_ETYPE);                   /* not an array */
    assert_int_equal(one("91d906737963656564"), KN_ENONCANON); /* str8 for a short name */
    /* a clock whose authors are out of order */
    char hex[512] = "92a5636c6f636b92";
    for (int i = 1; i >= 0; i--) {
        strcat(hex, "92c420");
        for (int k = 0; k < 32; k++)
            strcat(hex, i ? "22" : "11");
        strcat(hex, "01");
    }
    assert_int_equal(one(hex), KN_EKEYORDER);
    /* an entries message claiming more than a batch may hold */
    static char big[2 * 1024 + 64];
    strcpy(big, "92a7656e7472696573dc0201");
    for (int i = 0; i < 600; i++)
        strcat(big, "c0");
    assert_int_equal(one(big), KN_ETOOBIG);
    /* a huge claimed length: refused once more than a message's bytes are held */
    struct sync_msg_reader r;
    struct sync_msg m;
    uint8_t *junk = calloc(1, SYNC_MAX_MESSAGE + 16);
    memcpy(junk,
           "\x92\xa7"
           "entries"
           "\x91\x92\xc6\xff\xff\xff\xff",
           16);
    sync_msg_reader_init(&r);
    sync_msg_reader_feed(&r, junk, 16);
    assert_int_equal(sync_msg_next(&r, &m), -EAGAIN);
    sync_msg_reader_feed(&r, junk + 16, SYNC_MAX_MESSAGE);
    assert_true(sync_msg_next(&r, &m) < 0);
    sync_msg_reader_finish(&r);
    free(junk);
    /* writing refuses a batch over the limit */
    struct sync_buf b;
    sync_buf_init(&b);
    struct store_raw *many = calloc(SYNC_MAX_BATCH + 1, sizeof(*many));
    assert_int_equal(sync_msg_put_entries(&b, many, SYNC_MAX_BATCH + 1), KN_EINVAL);
    free(many);
    sync_buf_finish(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests_name("session", tests, setup, teardown);
}
