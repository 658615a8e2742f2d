/* SPDX-License-Identifier: MIT */
/*
 * LAN announcements (lan.h): the packet codec, and one UDP socket and one timer on the daemon's
 * loop that send this node's announcement and hand the valid ones of others to the caller.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "kn.h"
#include "lan.h"

#define LOOPBACK_BROADCAST "127.255.255.255"
#define FIRST_REPEAT_MS    1000 /* the second announcement, so that a new node is found fast */

/* The plaintext's layout. */
#define P_VERSION 0
#define P_ROLE    1
#define P_PORT    2
#define P_NODE    4
#define P_TIME    36

#define BOX_OFF (LAN_MAGIC_LEN + LAN_NONCE_LEN)

_Static_assert(BOX_OFF + crypto_secretbox_MACBYTES + LAN_PLAIN_LEN == LAN_PACKET_LEN,
               "the packet is magic, nonce, MAC and plaintext");
_Static_assert(P_TIME + 8 == LAN_PLAIN_LEN, "the plaintext ends with the clock");
_Static_assert(LAN_NONCE_LEN == crypto_secretbox_NONCEBYTES, "secretbox nonce");

struct lan {
    uv_udp_t udp;
    uv_timer_t timer;
    int open_handles; /* freed when the last one's close callback has run */
    uint8_t *key;     /* 32 bytes, sodium_malloc'd */
    struct lan_announce self;
    struct sockaddr_in to;
    lan_found_fn found;
    void *data;
    struct lan_stats stats;
    /* One byte more than a packet, so that a longer datagram is seen as such. */
    uint8_t rbuf[LAN_PACKET_LEN + 1];
};

struct lan_send {
    uv_udp_send_t req;
    uint8_t pkt[LAN_PACKET_LEN];
};

void lan_key(const uint8_t netkey[32], uint8_t key[32])
{
    static const char label[] = "kortnod lan v1";
    crypto_generichash(key, 32, (const uint8_t *)label, sizeof(label) - 1, netkey, 32);
}

void lan_encode_nonce(const uint8_t key[32], const struct lan_announce *a,
                      const uint8_t nonce[LAN_NONCE_LEN], uint8_t out[LAN_PACKET_LEN])
{
    uint8_t p[LAN_PLAIN_LEN];
    p[P_VERSION] = LAN_VERSION;
    p[P_ROLE] = (uint8_t)a->role;
    p[P_PORT] = (uint8_t)(a->port >> 8);
    p[P_PORT + 1] = (uint8_t)a->port;
    memcpy(p + P_NODE, a->node, 32);
    for (int i = 0; i < 8; i++)
        p[P_TIME + i] = (uint8_t)(a->time_ms >> (56 - 8 * i));
    memcpy(out, LAN_MAGIC, LAN_MAGIC_LEN);
    memcpy(out + LAN_MAGIC_LEN, nonce, LAN_NONCE_LEN);
    crypto_secretbox_easy(out + BOX_OFF, p, sizeof(p), nonce, key);
}

void lan_encode(const uint8_t key[32], const struct lan_announce *a, uint8_t out[LAN_PACKET_LEN])
{
    uint8_t nonce[LAN_NONCE_LEN];
    randombytes_buf(nonce, sizeof(nonce));
    lan_encode_nonce(key, a, nonce, out);
}

int lan_decode(const uint8_t key[32], const uint8_t *buf, size_t len, struct lan_announce *a,
               const char **why)
{
    uint8_t p[LAN_PLAIN_LEN];
    const char *reason = "";
    uint16_t port;
    int r = 0;

    if (len != LAN_PACKET_LEN) {
        reason = len < LAN_PACKET_LEN ? "too short" : "too long";
        r = len < LAN_PACKET_LEN ? KN_ETRUNC : KN_ETRAIL;
        goto out;
    }
    if (memcmp(buf, LAN_MAGIC, LAN_MAGIC_LEN) != 0) {
        reason = "not a kortnod announcement (bad magic)";
        r = KN_EFORMAT;
        goto out;
    }
    if (crypto_secretbox_open_easy(p, buf + BOX_OFF, LAN_PACKET_LEN - BOX_OFF, buf + LAN_MAGIC_LEN,
                                   key) != 0) {
        reason = "does not authenticate (another network, or altered)";
        r = KN_ECRYPTO;
        goto out;
    }
    if (p[P_VERSION] != LAN_VERSION) {
        reason = "unknown version";
        r = KN_EVERSION;
        goto out;
    }
    if (p[P_ROLE] > LAN_ROLE_MAX) {
        reason = "unknown role";
        r = KN_EFIELD;
        goto out;
    }
    port = (uint16_t)(p[P_PORT] << 8 | p[P_PORT + 1]);
    if (port == 0) {
        reason = "port 0";
        r = KN_EPROTO;
        goto out;
    }
    a->role = p[P_ROLE];
    a->port = port;
    memcpy(a->node, p + P_NODE, 32);
    a->time_ms = 0;
    for (int i = 0; i < 8; i++)
        a->time_ms = a->time_ms << 8 | p[P_TIME + i];
out:
    sodium_memzero(p, sizeof(p));
    if (why)
        *why = reason;
    return r;
}

static uint64_t wall_ms(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void on_sent(uv_udp_send_t *req, int status)
{
    struct lan *l = req->handle->data;
    if (status == 0)
        l->stats.sent++;
    else if (status != UV_ECANCELED) /* ECANCELED: lan_stop() closed the socket */
        l->stats.send_errors++;
    free(req);
}

static void announce(struct lan *l)
{
    struct lan_send *s = kn_xmalloc(sizeof(*s));
    struct lan_announce a = l->self;
    a.time_ms = wall_ms();
    lan_encode(l->key, &a, s->pkt);
    uv_buf_t b = uv_buf_init((char *)s->pkt, LAN_PACKET_LEN);
    if (uv_udp_send(&s->req, &l->udp, &b, 1, (const struct sockaddr *)&l->to, on_sent) < 0) {
        l->stats.send_errors++;
        free(s);
    }
}

static void on_timer(uv_timer_t *t)
{
    announce(t->data);
}

void lan_announce_now(struct lan *l)
{
    if (l)
        announce(l);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct lan *l = h->data;
    (void)suggested;
    *buf = uv_buf_init((char *)l->rbuf, sizeof(l->rbuf));
}

static void on_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *addr,
                    unsigned flags)
{
    struct lan *l = h->data;
    struct lan_announce a;
    char ip[INET_ADDRSTRLEN];

    /* A read error on an unconnected UDP socket concerns no datagram: nothing to count. */
    if (nread < 0 || !addr)
        return;
    l->stats.received++;
    if ((flags & UV_UDP_PARTIAL) || addr->sa_family != AF_INET ||
        lan_decode(l->key, (const uint8_t *)buf->base, (size_t)nread, &a, NULL) < 0) {
        l->stats.ignored++;
        return;
    }
    if (memcmp(a.node, l->self.node, sizeof(a.node)) == 0)
        return; /* our own, looped back */
    if (uv_ip4_name((const struct sockaddr_in *)addr, ip, sizeof(ip)) != 0)
        snprintf(ip, sizeof(ip), "?");
    l->found(l->data, &a, ip);
}

static void on_closed(uv_handle_t *h)
{
    struct lan *l = h->data;
    if (--l->open_handles > 0)
        return;
    sodium_free(l->key);
    free(l);
}

static bool announce_valid(const struct lan_announce *a)
{
    return a && a->role >= 0 && a->role <= LAN_ROLE_MAX && a->port != 0;
}

/* Bind and configure the socket for mode; the address to send to into l->to. */
static int lan_open(struct lan *l, enum lan_mode mode, const char *iface, int port, char *why,
                    size_t why_size)
{
    struct sockaddr_in addr;
    /* Bound to the group's address (not 0.0.0.0): only datagrams sent to the group arrive, never
     * one sent to this host's own address and the port. */
    const char *what, *bind_ip = mode == LAN_LOOPBACK ? LOOPBACK_BROADCAST : LAN_GROUP;
    int r;

    if (mode == LAN_MULTICAST && iface && strcmp(iface, "0.0.0.0") == 0)
        iface = NULL;
    if ((r = uv_ip4_addr(bind_ip, port, &addr)) < 0 ||
        (r = uv_ip4_addr(mode == LAN_LOOPBACK ? LOOPBACK_BROADCAST : LAN_GROUP, port, &l->to)) <
            0) {
        what = "address";
        goto out;
    }
    what = "bind";
    if ((r = uv_udp_bind(&l->udp, (const struct sockaddr *)&addr, UV_UDP_REUSEADDR)) < 0)
        goto out;
    /*
     * Loopback: Linux lets a socket bind 127.255.255.255 because its local routing table has
     * "broadcast 127.255.255.255 dev lo" (made with 127.0.0.1/8; see ip route show table local).
     * A datagram sent there is a broadcast, given to every socket bound to that address or to
     * 0.0.0.0 on the port, with SO_REUSEADDR all of them, one process or many. Unicast to
     * 127.0.0.1:port does not reach it. The source address is 127.0.0.1, not the bound one.
     */
    if (mode == LAN_LOOPBACK) {
        what = "broadcast";
        r = uv_udp_set_broadcast(&l->udp, 1);
        goto out;
    }
    what = "join " LAN_GROUP;
    if ((r = uv_udp_set_membership(&l->udp, LAN_GROUP, iface, UV_JOIN_GROUP)) < 0)
        goto out;
    what = "multicast interface";
    if (iface && (r = uv_udp_set_multicast_interface(&l->udp, iface)) < 0)
        goto out;
    what = "multicast TTL";
    if ((r = uv_udp_set_multicast_ttl(&l->udp, 1)) < 0)
        goto out;
    what = "multicast loop";
    r = uv_udp_set_multicast_loop(&l->udp, 1);
out:
    if (r < 0)
        snprintf(why, why_size, "%s (%s:%d%s%s): %s", what, bind_ip, port, iface ? ", iface " : "",
                 iface ? iface : "", uv_strerror(r));
    return r;
}

int lan_start(uv_loop_t *loop, enum lan_mode mode, const char *iface, int port,
              const uint8_t netkey[32], const struct lan_announce *self, uint64_t period_ms,
              lan_found_fn found, void *data, struct lan **out, char *why, size_t why_size)
{
    struct sockaddr_in tmp;
    struct lan *l = NULL;
    int r = 0;

    *out = NULL;
    if (why_size > 0)
        why[0] = '\0';
    if (!loop || !netkey || !found || port <= 0 || port > 65535 || period_ms == 0 ||
        !announce_valid(self) || (mode != LAN_MULTICAST && mode != LAN_LOOPBACK) ||
        (mode == LAN_MULTICAST && iface && uv_ip4_addr(iface, port, &tmp) < 0)) {
        snprintf(why, why_size, "invalid argument (port, period, mode, interface or announcement)");
        return KN_EINVAL;
    }
    if (sodium_init() < 0) {
        snprintf(why, why_size, "libsodium failed to start");
        return KN_ECRYPTO;
    }
    l = kn_xcalloc(1, sizeof(*l));
    if (!(l->key = sodium_malloc(32)))
        abort(); /* the memory policy, kn.h */
    /* Locking can fail under a low RLIMIT_MEMLOCK; the key is still guarded, so go on. */
    (void)sodium_mlock(l->key, 32);
    lan_key(netkey, l->key);
    l->self = *self;
    l->found = found;
    l->data = data;
    uv_timer_init(loop, &l->timer);
    l->timer.data = l;
    l->open_handles = 1;
    if ((r = uv_udp_init(loop, &l->udp)) < 0) {
        snprintf(why, why_size, "UDP socket: %s", uv_strerror(r));
        goto out;
    }
    l->udp.data = l;
    l->open_handles = 2;
    if ((r = lan_open(l, mode, iface, port, why, why_size)) < 0)
        goto out;
    if ((r = uv_udp_recv_start(&l->udp, on_alloc, on_recv)) < 0) {
        snprintf(why, why_size, "receive: %s", uv_strerror(r));
        goto out;
    }
    announce(l);
    uv_timer_start(&l->timer, on_timer, period_ms < FIRST_REPEAT_MS ? period_ms : FIRST_REPEAT_MS,
                   period_ms);
out:
    if (r < 0) {
        sodium_memzero(l->key, 32);
        uv_close((uv_handle_t *)&l->timer, on_closed);
        if (l->open_handles == 2)
            uv_close((uv_handle_t *)&l->udp, on_closed);
        return r;
    }
    *out = l;
    return 0;
}

void lan_update(struct lan *l, const struct lan_announce *self)
{
    if (announce_valid(self))
        l->self = *self;
}

void lan_get_stats(const struct lan *l, struct lan_stats *st)
{
    *st = l->stats;
}

void lan_stop(struct lan *l)
{
    if (!l)
        return;
    sodium_memzero(l->key, 32);
    uv_close((uv_handle_t *)&l->timer, on_closed);
    uv_close((uv_handle_t *)&l->udp, on_closed);
}
