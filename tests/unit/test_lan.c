/* SPDX-License-Identifier: MIT */
/*
 * LAN announcements (node/lan.c). Without arguments: the packet codec, every refusal. With
 * "sockets": struct lan on real sockets of one loop (loopback broadcast; multicast when the
 * machine has a route for it), exiting 77 when no loopback-broadcast socket can be made here.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <setjmp.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>
#include <uv.h>

#include "kn.h"
#include "lan.h"

#define BOX_OFF (LAN_MAGIC_LEN + LAN_NONCE_LEN)

static uint8_t netkey[32], other_netkey[32], key[32], other_key[32];
static struct lan_announce ann;

static int setup(void **state)
{
    (void)state;
    assert_true(sodium_init() >= 0);
    for (int i = 0; i < 32; i++) {
        netkey[i] = (uint8_t)(i + 1);
        other_netkey[i] = (uint8_t)(0xa0 + i);
        ann.node[i] = (uint8_t)(0x40 + i);
    }
    lan_key(netkey, key);
    lan_key(other_netkey, other_key);
    ann.role = 1;
    ann.port = 7117;
    ann.time_ms = 0x0102030405060708ull;
    return 0;
}

/* Decode an exact-size heap copy, so that ASan sees any read past its end. */
static int decode_copy(const uint8_t *k, const uint8_t *buf, size_t len, struct lan_announce *a,
                       const char **why)
{
    uint8_t *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    if (len)
        memcpy(copy, buf, len);
    int r = lan_decode(k, copy, len, a, why);
    free(copy);
    return r;
}

/* A packet of the given plaintext bytes, sealed by hand as docs/protocol.md says. */
static void seal_plain(const uint8_t *plain, uint8_t out[LAN_PACKET_LEN])
{
    memcpy(out, "KNL1", 4);
    randombytes_buf(out + 4, LAN_NONCE_LEN);
    assert_int_equal(crypto_secretbox_easy(out + BOX_OFF, plain, LAN_PLAIN_LEN, out + 4, key), 0);
}

static void plain_of(const struct lan_announce *a, uint8_t p[LAN_PLAIN_LEN])
{
    p[0] = 1;
    p[1] = (uint8_t)a->role;
    p[2] = (uint8_t)(a->port >> 8);
    p[3] = (uint8_t)a->port;
    memcpy(p + 4, a->node, 32);
    for (int i = 0; i < 8; i++)
        p[36 + i] = (uint8_t)(a->time_ms >> (56 - 8 * i));
}

static void test_key(void **state)
{
    (void)state;
    /* BLAKE2b-256("kortnod lan v1", key = 01 02 .. 20), computed with Python's hashlib. */
    static const char want[] = "d21b6077f115ddce681e7e89d558f692a147f63e49d1651efbe06754b6548aa4";
    char hex[65];
    sodium_bin2hex(hex, sizeof(hex), key, 32);
    assert_string_equal(hex, want);
}

static void test_round_trip(void **state)
{
    (void)state;
    static const int roles[] = { 0, 1, 2 };
    static const uint16_t ports[] = { 1, 7117, 0x8000, 65535 };
    static const uint64_t times[] = { 0, 1, 1700000000123ull, UINT64_MAX };
    uint8_t pkt[LAN_PACKET_LEN], pkt2[LAN_PACKET_LEN];
    const char *why = "unset";

    for (size_t r = 0; r < 3; r++)
        for (size_t p = 0; p < 4; p++)
            for (size_t t = 0; t < 4; t++) {
                struct lan_announce a = ann, b;
                a.role = roles[r];
                a.port = ports[p];
                a.time_ms = times[t];
                a.node[r + p + t] ^= 0xff;
                lan_encode(key, &a, pkt);
                memset(&b, 0xaa, sizeof(b));
                assert_int_equal(decode_copy(key, pkt, sizeof(pkt), &b, &why), 0);
                assert_string_equal(why, "");
                assert_memory_equal(b.node, a.node, 32);
                assert_int_equal(b.role, a.role);
                assert_int_equal(b.port, a.port);
                assert_true(b.time_ms == a.time_ms);
            }

    /* The layout, read back by hand. */
    lan_encode(key, &ann, pkt);
    assert_memory_equal(pkt, "KNL1", 4);
    uint8_t plain[LAN_PLAIN_LEN], want[LAN_PLAIN_LEN];
    assert_int_equal(
        crypto_secretbox_open_easy(plain, pkt + BOX_OFF, LAN_PACKET_LEN - BOX_OFF, pkt + 4, key),
        0);
    plain_of(&ann, want);
    assert_memory_equal(plain, want, LAN_PLAIN_LEN);
    assert_int_equal(plain[2], 7117 >> 8);
    assert_int_equal(plain[36], 0x01);
    assert_int_equal(plain[43], 0x08);

    /* A fresh nonce each time; the same bytes for the same nonce. */
    lan_encode(key, &ann, pkt2);
    assert_memory_not_equal(pkt + 4, pkt2 + 4, LAN_NONCE_LEN);
    lan_encode_nonce(key, &ann, pkt + 4, pkt2);
    assert_memory_equal(pkt, pkt2, LAN_PACKET_LEN);

    /* A packet sealed by hand is read. */
    seal_plain(want, pkt);
    struct lan_announce b;
    assert_int_equal(decode_copy(key, pkt, sizeof(pkt), &b, NULL), 0);
    assert_memory_equal(b.node, ann.node, 32);
}

static void test_wrong_key(void **state)
{
    (void)state;
    uint8_t pkt[LAN_PACKET_LEN];
    struct lan_announce b, untouched;
    const char *why = NULL;

    lan_encode(key, &ann, pkt);
    memset(&b, 0xaa, sizeof(b));
    memcpy(&untouched, &b, sizeof(b));
    assert_int_equal(decode_copy(other_key, pkt, sizeof(pkt), &b, &why), KN_ECRYPTO);
    assert_non_null(why);
    assert_true(why[0] != '\0');
    assert_memory_equal(&b, &untouched, sizeof(b));
    /* The network key itself is not the packet key. */
    assert_int_equal(decode_copy(netkey, pkt, sizeof(pkt), &b, NULL), KN_ECRYPTO);
}

static void test_bit_flips(void **state)
{
    (void)state;
    uint8_t pkt[LAN_PACKET_LEN], bad[LAN_PACKET_LEN];
    struct lan_announce b;

    lan_encode(key, &ann, pkt);
    for (size_t bit = 0; bit < LAN_PACKET_LEN * 8; bit++) {
        const char *why = NULL;
        memcpy(bad, pkt, sizeof(pkt));
        bad[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        int r = decode_copy(key, bad, sizeof(bad), &b, &why);
        assert_int_equal(r, bit < LAN_MAGIC_LEN * 8 ? KN_EFORMAT : KN_ECRYPTO);
        assert_true(why && why[0]);
    }
}

static void test_lengths(void **state)
{
    (void)state;
    uint8_t pkt[LAN_PACKET_LEN + 1500];
    struct lan_announce b;
    const char *why;

    lan_encode(key, &ann, pkt);
    memset(pkt + LAN_PACKET_LEN, 0, sizeof(pkt) - LAN_PACKET_LEN);
    for (size_t n = 0; n < LAN_PACKET_LEN; n++) {
        why = NULL;
        assert_int_equal(decode_copy(key, pkt, n, &b, &why), KN_ETRUNC);
        assert_true(why && why[0]);
    }
    assert_int_equal(decode_copy(key, pkt, LAN_PACKET_LEN, &b, NULL), 0);
    for (size_t n = LAN_PACKET_LEN + 1; n <= sizeof(pkt); n += (n < 200 ? 1 : 97)) {
        why = NULL;
        assert_int_equal(decode_copy(key, pkt, n, &b, &why), KN_ETRAIL);
        assert_true(why && why[0]);
    }
    assert_int_equal(lan_decode(key, NULL, 0, &b, NULL), KN_ETRUNC);
}

static void test_fields_refused(void **state)
{
    (void)state;
    static const struct {
        size_t off;
        uint8_t value;
        int want;
    } cases[] = {
        { 0, 2, KN_EVERSION }, { 0, 0, KN_EVERSION },  { 0, 0xff, KN_EVERSION },
        { 1, 3, KN_EFIELD },   { 1, 0xff, KN_EFIELD },
    };
    uint8_t plain[LAN_PLAIN_LEN], pkt[LAN_PACKET_LEN];
    struct lan_announce b, untouched;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *why = NULL;
        plain_of(&ann, plain);
        plain[cases[i].off] = cases[i].value;
        seal_plain(plain, pkt);
        memset(&b, 0x55, sizeof(b));
        memcpy(&untouched, &b, sizeof(b));
        assert_int_equal(decode_copy(key, pkt, sizeof(pkt), &b, &why), cases[i].want);
        assert_true(why && why[0]);
        assert_memory_equal(&b, &untouched, sizeof(b));
    }
    /* Port 0, through both the encoder and a plaintext made by hand. */
    struct lan_announce a = ann;
    a.port = 0;
    lan_encode(key, &a, pkt);
    assert_int_equal(decode_copy(key, pkt, sizeof(pkt), &b, NULL), KN_EPROTO);
    plain_of(&ann, plain);
    plain[2] = plain[3] = 0;
    seal_plain(plain, pkt);
    assert_int_equal(decode_copy(key, pkt, sizeof(pkt), &b, NULL), KN_EPROTO);
    /* Port 256 and port 1: either byte alone makes it valid. */
    plain[2] = 1;
    seal_plain(plain, pkt);
    assert_int_equal(decode_copy(key, pkt, sizeof(pkt), &b, NULL), 0);
    assert_int_equal(b.port, 256);
    plain[2] = 0;
    plain[3] = 1;
    seal_plain(plain, pkt);
    assert_int_equal(decode_copy(key, pkt, sizeof(pkt), &b, NULL), 0);
    assert_int_equal(b.port, 1);
}

/* ---- real sockets ---- */

static int port;

struct node_state {
    const char *name;
    struct lan *l;
    struct lan_announce self;
    int found[3]; /* announcements seen from node 0, 1, 2 */
    struct lan_announce last[3];
    int found_self, found_unknown;
    char ip[16]; /* the last sender's */
};

static struct node_state nodes[3];
static const char *expect_ip = "127.0.0.1"; /* NULL: any (multicast comes from an interface's) */

static void on_found(void *data, const struct lan_announce *a, const char *ip)
{
    struct node_state *n = data;
    if (expect_ip)
        assert_string_equal(ip, expect_ip);
    else
        assert_true(ip[0] >= '1' && ip[0] <= '9');
    snprintf(n->ip, sizeof(n->ip), "%s", ip);
    for (int i = 0; i < 3; i++) {
        if (memcmp(a->node, nodes[i].self.node, 32) == 0) {
            if (&nodes[i] == n)
                n->found_self++;
            n->found[i]++;
            n->last[i] = *a;
            return;
        }
    }
    n->found_unknown++;
}

static void node_init(struct node_state *n, const char *name, uint8_t id, int role,
                      uint16_t tcp_port)
{
    memset(n, 0, sizeof(*n));
    n->name = name;
    memset(n->self.node, id, 32);
    n->self.role = role;
    n->self.port = tcp_port;
}

static int start(uv_loop_t *loop, enum lan_mode mode, int udp_port, struct node_state *n,
                 const uint8_t *nk, uint64_t period_ms, char *why, size_t why_size)
{
    return lan_start(loop, mode, NULL, udp_port, nk, &n->self, period_ms, on_found, n, &n->l, why,
                     why_size);
}

struct waiter {
    bool (*done)(void);
    uint64_t deadline;
    bool met;
};

static void on_poll(uv_timer_t *t)
{
    struct waiter *w = t->data;
    if (w->done()) {
        w->met = true;
        uv_stop(t->loop);
    } else if (uv_now(t->loop) >= w->deadline) {
        uv_stop(t->loop);
    }
}

/* Run loop until done() or ms have passed; returns whether done() was met, and the time taken. */
static bool run_until(uv_loop_t *loop, bool (*done)(void), uint64_t ms, uint64_t *took)
{
    uv_timer_t t;
    struct waiter w = { done, 0, false };
    uv_update_time(loop);
    uint64_t t0 = uv_now(loop);
    w.deadline = t0 + ms;
    uv_timer_init(loop, &t);
    t.data = &w;
    uv_timer_start(&t, on_poll, 10, 10);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    if (took)
        *took = uv_now(loop) - t0;
    return w.met;
}

static struct lan_stats stats_of(int i)
{
    struct lan_stats st;
    lan_get_stats(nodes[i].l, &st);
    return st;
}

static bool found_each_other(void)
{
    return nodes[0].found[1] > 0 && nodes[1].found[0] > 0 && stats_of(0).ignored > 0 &&
           stats_of(1).ignored > 0 && stats_of(2).ignored > 0;
}

static bool saw_update(void)
{
    return nodes[0].found[1] > 0 && nodes[0].last[1].port == 9999 && nodes[0].last[1].role == 2;
}

static void test_loopback(void **state)
{
    (void)state;
    uv_loop_t loop;
    char why[256];
    uint64_t took;

    assert_int_equal(uv_loop_init(&loop), 0);
    node_init(&nodes[0], "a", 0x0a, 0, 7001);
    node_init(&nodes[1], "b", 0x0b, 1, 7002);
    node_init(&nodes[2], "c (another network)", 0x0c, 2, 7003);
    /*
     * a's first announcement goes out before b listens: b finds a through the one 1 s after the
     * start, as a's period is long. b announces often, so that its update is seen soon.
     */
    assert_int_equal(start(&loop, LAN_LOOPBACK, port, &nodes[0], netkey, 60000, why, sizeof(why)),
                     0);
    assert_int_equal(start(&loop, LAN_LOOPBACK, port, &nodes[1], netkey, 100, why, sizeof(why)), 0);
    assert_int_equal(
        start(&loop, LAN_LOOPBACK, port, &nodes[2], other_netkey, 60000, why, sizeof(why)), 0);

    assert_true(run_until(&loop, found_each_other, 3000, &took));
    print_message("loopback: found each other in %llu ms\n", (unsigned long long)took);
    assert_true(took < 3000);
    assert_int_equal(nodes[0].last[1].role, 1);
    assert_int_equal(nodes[0].last[1].port, 7002);
    assert_int_equal(nodes[1].last[0].role, 0);
    assert_int_equal(nodes[1].last[0].port, 7001);
    uint64_t now = (uint64_t)time(NULL) * 1000;
    assert_true(nodes[0].last[1].time_ms + 60000 > now && nodes[0].last[1].time_ms < now + 60000);

    /* New content reaches the others with the next announcements. */
    struct lan_announce upd = nodes[1].self;
    upd.port = 9999;
    upd.role = 2;
    lan_update(nodes[1].l, &upd);
    assert_true(run_until(&loop, saw_update, 3000, NULL));

    for (int i = 0; i < 3; i++) {
        struct lan_stats st = stats_of(i);
        print_message("%s: sent %llu received %llu ignored %llu send errors %llu\n", nodes[i].name,
                      (unsigned long long)st.sent, (unsigned long long)st.received,
                      (unsigned long long)st.ignored, (unsigned long long)st.send_errors);
        assert_true(st.sent >= 1);
        assert_int_equal(st.send_errors, 0);
        assert_int_equal(nodes[i].found_self, 0);
        assert_int_equal(nodes[i].found_unknown, 0);
    }
    /* The stranger finds no one, and no one finds it. */
    assert_int_equal(nodes[2].found[0] + nodes[2].found[1], 0);
    assert_int_equal(nodes[0].found[2] + nodes[1].found[2], 0);

    for (int i = 0; i < 3; i++)
        lan_stop(nodes[i].l);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* Stopping from inside found(), and a datagram that is not an announcement. */
static void on_found_stop(void *data, const struct lan_announce *a, const char *ip)
{
    struct node_state *n = data;
    (void)a;
    (void)ip;
    n->found[0]++;
    lan_stop(n->l);
}

static bool a_stopped_b_ignored(void)
{
    return nodes[0].found[0] > 0 && stats_of(1).ignored > 0;
}

static void test_stop_in_callback(void **state)
{
    (void)state;
    uv_loop_t loop;
    char why[256];
    struct node_state *a = &nodes[0], *b = &nodes[1];

    assert_int_equal(uv_loop_init(&loop), 0);
    node_init(a, "a", 0x1a, 0, 7001);
    node_init(b, "b", 0x1b, 1, 7002);
    assert_int_equal(lan_start(&loop, LAN_LOOPBACK, NULL, port, netkey, &a->self, 100,
                               on_found_stop, a, &a->l, why, sizeof(why)),
                     0);
    assert_int_equal(start(&loop, LAN_LOOPBACK, port, b, netkey, 100, why, sizeof(why)), 0);
    /* Garbage from a plain socket: counted, ignored, not answered. */
    uv_udp_t raw;
    struct sockaddr_in from, to;
    assert_int_equal(uv_udp_init(&loop, &raw), 0);
    assert_int_equal(uv_ip4_addr("127.0.0.1", 0, &from), 0);
    assert_int_equal(uv_ip4_addr("127.255.255.255", port, &to), 0);
    assert_int_equal(uv_udp_bind(&raw, (const struct sockaddr *)&from, 0), 0);
    assert_int_equal(uv_udp_set_broadcast(&raw, 1), 0);
    uv_buf_t junk = uv_buf_init((char *)"KNL1 not really", 15);
    assert_int_equal(uv_udp_try_send(&raw, &junk, 1, (const struct sockaddr *)&to), 15);

    /* a stops itself on the first announcement it gets; b runs on. */
    assert_true(run_until(&loop, a_stopped_b_ignored, 3000, NULL));
    assert_int_equal(a->found[0], 1);
    struct lan_stats st = stats_of(1);
    assert_true(st.ignored >= 1);
    lan_stop(b->l);
    uv_close((uv_handle_t *)&raw, NULL);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    uv_loop_t loop;
    char why[256];
    struct lan *l = (struct lan *)&l;
    struct lan_announce a = ann;

    assert_int_equal(uv_loop_init(&loop), 0);
    assert_int_equal(lan_start(&loop, LAN_LOOPBACK, NULL, 0, netkey, &a, 100, on_found, NULL, &l,
                               why, sizeof(why)),
                     KN_EINVAL);
    assert_null(l);
    assert_true(why[0]);
    assert_int_equal(lan_start(&loop, LAN_LOOPBACK, NULL, port, netkey, &a, 0, on_found, NULL, &l,
                               why, sizeof(why)),
                     KN_EINVAL);
    assert_int_equal(lan_start(&loop, LAN_MULTICAST, "not-an-address", port, netkey, &a, 100,
                               on_found, NULL, &l, why, sizeof(why)),
                     KN_EINVAL);
    a.role = 3;
    assert_int_equal(lan_start(&loop, LAN_LOOPBACK, NULL, port, netkey, &a, 100, on_found, NULL, &l,
                               why, sizeof(why)),
                     KN_EINVAL);
    a = ann;
    a.port = 0;
    assert_int_equal(lan_start(&loop, LAN_LOOPBACK, NULL, port, netkey, &a, 100, on_found, NULL, &l,
                               why, sizeof(why)),
                     KN_EINVAL);
    /* A bind that fails: an address this machine does not have (TEST-NET-3). */
    a = ann;
    int r = lan_start(&loop, LAN_MULTICAST, "203.0.113.77", port, netkey, &a, 100, on_found, NULL,
                      &l, why, sizeof(why));
    assert_true(r < 0);
    assert_null(l);
    print_message("multicast on a foreign interface: %s\n", why);
    lan_stop(NULL);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static bool found_pair(void)
{
    return nodes[0].found[1] > 0 && nodes[1].found[0] > 0;
}

/* Multicast between two nodes of this machine (multicast loop on): skipped without a route. */
static void test_multicast(void **state)
{
    (void)state;
    uv_loop_t loop;
    char why[256];

    assert_int_equal(uv_loop_init(&loop), 0);
    expect_ip = NULL;
    node_init(&nodes[0], "a", 0x2a, 0, 7001);
    node_init(&nodes[1], "b", 0x2b, 1, 7002);
    int r = start(&loop, LAN_MULTICAST, port + 1, &nodes[0], netkey, 200, why, sizeof(why));
    if (r == 0 &&
        (r = start(&loop, LAN_MULTICAST, port + 1, &nodes[1], netkey, 200, why, sizeof(why))) < 0)
        lan_stop(nodes[0].l);
    if (r < 0) {
        uv_run(&loop, UV_RUN_DEFAULT);
        assert_int_equal(uv_loop_close(&loop), 0);
        print_message("multicast: cannot start here (%s): skipped\n", why);
        skip();
    }
    uint64_t took;
    bool met = run_until(&loop, found_pair, 3000, &took);
    if (met)
        print_message("multicast: found each other in %llu ms (from %s)\n",
                      (unsigned long long)took, nodes[0].ip);
    struct lan_stats st = stats_of(0);
    lan_stop(nodes[0].l);
    lan_stop(nodes[1].l);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&loop), 0);
    if (!met && st.sent == 0) {
        print_message("multicast: every send failed (%llu errors, no route?): skipped\n",
                      (unsigned long long)st.send_errors);
        skip();
    }
    assert_true(met);
}

struct probe {
    uv_udp_t udp;
    uv_timer_t timer;
    bool got;
};

static void probe_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    static char b[64];
    (void)h;
    (void)suggested;
    *buf = uv_buf_init(b, sizeof(b));
}

static void probe_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *addr,
                       unsigned flags)
{
    (void)flags;
    if (addr && nread == 5 && memcmp(buf->base, "probe", 5) == 0) {
        ((struct probe *)h->data)->got = true;
        uv_stop(h->loop);
    }
}

static void probe_timeout(uv_timer_t *t)
{
    uv_stop(t->loop);
}

/*
 * Does this machine deliver broadcasts on lo (lo up, with its 127.255.255.255 broadcast route)?
 * Asked with a plain libuv socket, not with lan.c, so that a bug in lan.c fails the tests instead
 * of skipping them. Picks the port. Returns 0, or prints why and returns -1.
 */
static int probe(void)
{
    uv_loop_t loop;
    struct probe p = { .got = false };
    struct sockaddr_in addr;
    const char *what = "bind 127.255.255.255";
    int r = 0;

    assert_int_equal(uv_loop_init(&loop), 0);
    assert_int_equal(uv_udp_init(&loop, &p.udp), 0);
    p.udp.data = &p;
    uv_timer_init(&loop, &p.timer);
    for (int i = 0; i < 10; i++) {
        port = 40000 + (getpid() + i * 997) % 20000;
        assert_int_equal(uv_ip4_addr("127.255.255.255", port, &addr), 0);
        r = uv_udp_bind(&p.udp, (const struct sockaddr *)&addr, UV_UDP_REUSEADDR);
        if (r != UV_EADDRINUSE)
            break;
    }
    if (r == 0) {
        what = "broadcast on";
        r = uv_udp_set_broadcast(&p.udp, 1);
    }
    if (r == 0) {
        what = "receive";
        r = uv_udp_recv_start(&p.udp, probe_alloc, probe_recv);
    }
    if (r == 0) {
        what = "send to 127.255.255.255";
        uv_buf_t b = uv_buf_init((char *)"probe", 5);
        r = uv_udp_try_send(&p.udp, &b, 1, (const struct sockaddr *)&addr);
        r = r < 0 ? r : 0;
    }
    if (r == 0) {
        uv_timer_start(&p.timer, probe_timeout, 1000, 0);
        uv_run(&loop, UV_RUN_DEFAULT);
        what = "receive what was sent to 127.255.255.255 within 1 s";
        r = p.got ? 0 : UV_ETIMEDOUT;
    }
    uv_close((uv_handle_t *)&p.udp, NULL);
    uv_close((uv_handle_t *)&p.timer, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    if (r < 0)
        fprintf(stderr,
                "test_lan sockets: broadcast on lo does not work here (%s, port %d: %s): "
                "skipped\n",
                what, port, uv_strerror(r));
    return r < 0 ? -1 : 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "sockets") == 0) {
        const struct CMUnitTest sockets[] = {
            cmocka_unit_test(test_loopback),
            cmocka_unit_test(test_stop_in_callback),
            cmocka_unit_test(test_bad_arguments),
            cmocka_unit_test(test_multicast),
        };
        if (setup(NULL) != 0 || probe() < 0)
            return 77;
        return cmocka_run_group_tests_name("lan sockets", sockets, NULL, NULL);
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key),       cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_wrong_key), cmocka_unit_test(test_bit_flips),
        cmocka_unit_test(test_lengths),   cmocka_unit_test(test_fields_refused),
    };
    return cmocka_run_group_tests_name("lan", tests, setup, NULL);
}
