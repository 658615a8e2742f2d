/* SPDX-License-Identifier: MIT */
/* The secret handshake and box-stream, both ends in one process: scripted byte exchanges. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "helpers.h"
#include "sync.h"

static uint8_t netkey[32], other_net[32];
static struct store_identity client_id, server_id, stranger_id;

static int setup(void **state)
{
    (void)state;
    th_identity(&client_id, 31);
    th_identity(&server_id, 32);
    th_identity(&stranger_id, 33);
    memset(netkey, 0x5a, sizeof(netkey));
    memset(other_net, 0x5b, sizeof(other_net));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    store_identity_finish(&client_id);
    store_identity_finish(&server_id);
    store_identity_finish(&stranger_id);
    return 0;
}

/*
 * Run a handshake, passing each side's output to the other in pieces of chunk bytes. Returns
 * 1 when both completed, or the first error. *sent_after_fail counts bytes the server wrote
 * after a failure (must be none).
 */
static int run(struct sync_shs *c, struct sync_shs *s, size_t chunk)
{
    struct sync_buf to_s, to_c;
    int rc = 0, rs = 0;
    sync_buf_init(&to_s);
    sync_buf_init(&to_c);
    for (int round = 0; round < 20 && !(rc == 1 && rs == 1); round++) {
        size_t used, n;
        if (rc != 1) {
            n = to_c.len < chunk ? to_c.len : chunk;
            rc = sync_shs_step(c, to_c.data, n, &used, &to_s);
            if (rc == -EAGAIN && n < to_c.len)
                rc = sync_shs_step(c, to_c.data, to_c.len, &used, &to_s);
            if (rc < 0 && rc != -EAGAIN)
                break;
            sync_buf_consume(&to_c, used);
        }
        if (rs != 1) {
            size_t before = to_c.len;
            rs = sync_shs_step(s, to_s.data, to_s.len, &used, &to_c);
            if (rs < 0 && rs != -EAGAIN) {
                assert_int_equal(to_c.len, before); /* a stranger gets nothing back */
                break;
            }
            sync_buf_consume(&to_s, used);
        }
    }
    sync_buf_finish(&to_s);
    sync_buf_finish(&to_c);
    if (rc < 0 && rc != -EAGAIN)
        return rc;
    if (rs < 0 && rs != -EAGAIN)
        return rs;
    return rc == 1 && rs == 1 ? 1 : 0;
}

static void pair(struct sync_shs *c, struct sync_shs *s)
{
    sync_shs_init_client(c, netkey, client_id.pk, client_id.sk, server_id.pk);
    sync_shs_init_server(s, netkey, server_id.pk, server_id.sk);
}

static void test_handshake_sizes(void **state)
{
    (void)state;
    struct sync_shs c, s;
    struct sync_buf out;
    size_t used;
    pair(&c, &s);
    sync_buf_init(&out);
    assert_int_equal(sync_shs_step(&c, NULL, 0, &used, &out), 0);
    assert_int_equal(out.len, 64);
    assert_int_equal(sync_shs_want(&s), 64);
    struct sync_buf back;
    sync_buf_init(&back);
    assert_int_equal(sync_shs_step(&s, out.data, 63, &used, &back), -EAGAIN);
    assert_int_equal(sync_shs_step(&s, out.data, 64, &used, &back), 0);
    assert_int_equal(used, 64);
    assert_int_equal(back.len, 64);
    out.len = 0;
    assert_int_equal(sync_shs_step(&c, back.data, 64, &used, &out), 0);
    assert_int_equal(out.len, 112);
    back.len = 0;
    assert_int_equal(sync_shs_step(&s, out.data, 112, &used, &back), 1);
    assert_int_equal(back.len, 80);
    out.len = 0;
    assert_int_equal(sync_shs_step(&c, back.data, 80, &used, &out), 1);
    assert_int_equal(out.len, 0);
    assert_memory_equal(s.remote_pk, client_id.pk, 32);
    sync_buf_finish(&out);
    sync_buf_finish(&back);
    sync_shs_finish(&c);
    sync_shs_finish(&s);
}

static void test_box_both_ways(void **state)
{
    (void)state;
    struct sync_shs c, s;
    struct sync_box c_send, c_recv, s_send, s_recv;
    struct sync_buf wire, plain;
    size_t used;
    uint8_t *msg = malloc(10000);
    for (int i = 0; i < 10000; i++)
        msg[i] = (uint8_t)(i % 251);

    pair(&c, &s);
    assert_int_equal(run(&c, &s, 1000), 1);
    sync_shs_boxes(&c, &c_send, &c_recv);
    sync_shs_boxes(&s, &s_send, &s_recv);
    sync_buf_init(&wire);
    sync_buf_init(&plain);

    /* client to server: 10000 bytes become three frames; fed one byte at a time */
    sync_box_seal(&c_send, msg, 10000, &wire);
    assert_int_equal(wire.len, 10000 + 3 * SYNC_BOX_HEADER);
    sync_box_goodbye(&c_send, &wire);
    size_t off = 0;
    int r = 0;
    for (size_t end = 1; end <= wire.len && r == 0; end++) {
        r = sync_box_open(&s_recv, wire.data + off, end - off, &used, &plain);
        off += used;
    }
    assert_int_equal(r, 1);
    assert_int_equal(off, wire.len);
    assert_int_equal(plain.len, 10000);
    assert_memory_equal(plain.data, msg, 10000);

    /* server to client */
    wire.len = plain.len = 0;
    sync_box_seal(&s_send, (const uint8_t *)"hello", 5, &wire);
    assert_int_equal(sync_box_open(&c_recv, wire.data, wire.len, &used, &plain), 0);
    assert_int_equal(used, wire.len);
    assert_memory_equal(plain.data, "hello", 5);

    /* a frame replayed, or sent to the wrong direction, does not open */
    assert_int_equal(sync_box_open(&c_recv, wire.data, wire.len, &used, &plain), KN_EPROTO);
    wire.len = plain.len = 0;
    sync_box_seal(&s_send, (const uint8_t *)"x", 1, &wire);
    assert_int_equal(sync_box_open(&s_recv, wire.data, wire.len, &used, &plain), KN_EPROTO);

    free(msg);
    sync_buf_finish(&wire);
    sync_buf_finish(&plain);
    sync_shs_finish(&c);
    sync_shs_finish(&s);
}

static void test_flipped_bytes(void **state)
{
    (void)state;
    struct sync_shs c, s;
    struct sync_box send, recv, s_send, s_recv;
    struct sync_buf wire, plain;
    size_t used;

    pair(&c, &s);
    assert_int_equal(run(&c, &s, 64), 1);
    sync_shs_boxes(&c, &send, &recv);
    sync_shs_boxes(&s, &s_send, &s_recv);
    sync_buf_init(&wire);
    sync_buf_init(&plain);
    sync_box_seal(&send, (const uint8_t *)"0123456789", 10, &wire);
    for (size_t i = 0; i < wire.len; i++) {
        struct sync_box r = s_recv;
        wire.data[i] ^= 1;
        plain.len = 0;
        assert_int_equal(sync_box_open(&r, wire.data, wire.len, &used, &plain), KN_EPROTO);
        assert_int_equal(plain.len, 0);
        wire.data[i] ^= 1;
    }
    assert_int_equal(sync_box_open(&s_recv, wire.data, wire.len, &used, &plain), 0);
    assert_int_equal(plain.len, 10);
    sync_buf_finish(&wire);
    sync_buf_finish(&plain);
}

static void test_strangers(void **state)
{
    (void)state;
    struct sync_shs c, s;

    /* another network key: the server answers nothing */
    sync_shs_init_client(&c, other_net, client_id.pk, client_id.sk, server_id.pk);
    sync_shs_init_server(&s, netkey, server_id.pk, server_id.sk);
    assert_int_equal(run(&c, &s, 1000), KN_EPROTO);
    assert_int_equal(s.state, SYNC_SHS_FAILED);
    /* the client dials someone it did not mean: the server cannot open the auth */
    sync_shs_init_client(&c, netkey, client_id.pk, client_id.sk, stranger_id.pk);
    sync_shs_init_server(&s, netkey, server_id.pk, server_id.sk);
    assert_int_equal(run(&c, &s, 1000), KN_EPROTO);
    /* a server pretending to be another: the client refuses its accept */
    sync_shs_init_client(&c, netkey, client_id.pk, client_id.sk, server_id.pk);
    sync_shs_init_server(&s, netkey, stranger_id.pk, stranger_id.sk);
    assert_int_equal(run(&c, &s, 1000), KN_EPROTO);
    sync_shs_finish(&c);
    sync_shs_finish(&s);
}

static void test_garbage(void **state)
{
    (void)state;
    struct sync_shs s;
    struct sync_buf out;
    uint8_t junk[112];
    size_t used;
    sync_buf_init(&out);
    randombytes_buf(junk, sizeof(junk));
    sync_shs_init_server(&s, netkey, server_id.pk, server_id.sk);
    assert_int_equal(sync_shs_step(&s, junk, 64, &used, &out), KN_EPROTO);
    assert_int_equal(out.len, 0);
    /* and stays failed */
    assert_int_equal(sync_shs_step(&s, junk, 64, &used, &out), KN_EPROTO);
    assert_int_equal(out.len, 0);
    sync_buf_finish(&out);
    sync_shs_finish(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handshake_sizes), cmocka_unit_test(test_box_both_ways),
        cmocka_unit_test(test_flipped_bytes),   cmocka_unit_test(test_strangers),
        cmocka_unit_test(test_garbage),
    };
    return cmocka_run_group_tests_name("shs", tests, setup, teardown);
}
