/* SPDX-License-Identifier: MIT */
#ifndef KN_LAN_H
#define KN_LAN_H

/*
 * lan - nodes announce themselves on the local network: a small UDP datagram every few seconds,
 * encrypted and authenticated with a key derived from the network key, so that packets of
 * strangers (or of another network) are ignored. The encoding is pure (lan_key, lan_encode,
 * lan_decode: no I/O, fuzzed); struct lan owns the socket and the timer on a libuv loop.
 * Byte layout: docs/protocol.md, "LAN announcements".
 *
 *   "KNL1" (4) | nonce (24) | crypto_secretbox_easy(plaintext, 44 bytes) (16 + 44)
 *   plaintext: version 1 (1) | role (1) | TCP port, big-endian (2) | node id (32) |
 *              wall clock in ms since 1970, big-endian (8)
 */

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#define LAN_DEFAULT_PORT 7118
#define LAN_GROUP        "239.192.71.17" /* organisation-local multicast, TTL 1 */
#define LAN_PACKET_LEN   88
#define LAN_MAGIC        "KNL1"
#define LAN_MAGIC_LEN    4
#define LAN_NONCE_LEN    24
#define LAN_PLAIN_LEN    44
#define LAN_VERSION      1
#define LAN_ROLE_MAX     2 /* roles: 0 hub, 1 office, 2 mobile */

struct lan_announce {
    uint8_t node[32]; /* the node id: its Ed25519 public key */
    int role;         /* 0 hub, 1 office, 2 mobile */
    uint16_t port;    /* the TCP port it listens on for sync; never 0 */
    uint64_t time_ms; /* the sender's wall clock, ms since 1970: informational only */
};

/*
 * lan_key() - the announcements' key: BLAKE2b-256 (crypto_generichash) of "kortnod lan v1"
 * keyed with the network key. The caller wipes key (sodium_memzero) when done with it.
 * Pure; thread-safe.
 */
void lan_key(const uint8_t netkey[32], uint8_t key[32]);

/*
 * lan_encode() - a->... as one packet of LAN_PACKET_LEN bytes into out, with a fresh random
 * nonce. a->role (0..LAN_ROLE_MAX) and a->port (non-zero) must be valid: lan_decode() refuses
 * them otherwise. Needs sodium_init() done. No I/O; thread-safe.
 */
void lan_encode(const uint8_t key[32], const struct lan_announce *a, uint8_t out[LAN_PACKET_LEN]);

/*
 * lan_encode_nonce() - lan_encode() with the nonce given, for seeds and tests that need the same
 * bytes every time. A nonce must never be used twice with one key: everything else calls
 * lan_encode(). Pure; thread-safe.
 */
void lan_encode_nonce(const uint8_t key[32], const struct lan_announce *a,
                      const uint8_t nonce[LAN_NONCE_LEN], uint8_t out[LAN_PACKET_LEN]);

/*
 * lan_decode() - read the packet buf[0..len). Returns 0 and fills *a, or a negative code and
 * leaves *a untouched:
 *     KN_ETRUNC    shorter than LAN_PACKET_LEN
 *     KN_ETRAIL    longer than LAN_PACKET_LEN
 *     KN_EFORMAT   not "KNL1"
 *     KN_ECRYPTO   does not authenticate: another network's, or altered
 *     KN_EVERSION  version is not 1
 *     KN_EFIELD    role above LAN_ROLE_MAX
 *     KN_EPROTO    port 0
 * and then, when why is not NULL, *why a short static reason for debug logs (on success "").
 * Never reads outside buf[0..len). Pure; thread-safe.
 */
int lan_decode(const uint8_t key[32], const uint8_t *buf, size_t len, struct lan_announce *a,
               const char **why);

enum lan_mode {
    LAN_MULTICAST, /* LAN_GROUP on one interface, TTL 1: the offices' local network */
    LAN_LOOPBACK,  /* 127.255.255.255 on lo: nodes on one machine (tests, a node on 127.0.0.1) */
};

/*
 * lan_found_fn - a valid announcement of another node arrived. a and ip (the sender's IPv4
 * address, dotted) belong to the caller and live only for the call. The callback may call
 * lan_update() and lan_get_stats(), and lan_stop() as its last use of the struct lan.
 */
typedef void (*lan_found_fn)(void *data, const struct lan_announce *a, const char *ip);

struct lan; /* opaque */

struct lan_stats {
    uint64_t sent;        /* announcements sent */
    uint64_t received;    /* datagrams received: valid or not, the node's own looped back too */
    uint64_t ignored;     /* of those, refused by lan_decode() (or cut off by the socket) */
    uint64_t send_errors; /* sends that failed (no route, ENETUNREACH...): never fatal */
};

/*
 * lan_start() - open the UDP socket on loop and announce self every period_ms, also at once and
 * again 1 s after the start, so that a new node is found fast. Each announcement carries the
 * wall clock at sending (self->time_ms is not used).
 *
 * LAN_MULTICAST: binds LAN_GROUP:port with SO_REUSEADDR (only the group's datagrams arrive), joins
 * LAN_GROUP on the interface whose IPv4 address is iface (NULL or "0.0.0.0": the kernel chooses)
 * and sends from it when given, TTL 1, multicast loop on; sends to LAN_GROUP:port. LAN_LOOPBACK:
 * binds 127.255.255.255:port with SO_REUSEADDR and sends to it with broadcast on: every such socket
 * of the machine gets every announcement, and nothing sent to another address (iface is not used).
 * Linux accepts the bind because its local routing table holds a broadcast route for
 * 127.255.255.255 on lo (made with 127.0.0.1/8).
 *
 * Every datagram received is decoded with the key derived from netkey; found(data, ...) is called
 * for each valid one whose node is not self->node. Invalid ones are counted (lan_get_stats) and
 * otherwise ignored; nothing is ever sent in reply. netkey is not kept (only the derived key,
 * wiped by lan_stop), self is copied.
 *
 * Returns 0 and *out, to be stopped with lan_stop(); or KN_EINVAL (a bad port, period, mode,
 * iface or self) or a negative libuv code, with *out NULL and a reason in why (why_size bytes).
 * On failure handles may already have been closed: run the loop once more before closing it.
 * Not thread-safe: the loop's thread only.
 */
int lan_start(uv_loop_t *loop, enum lan_mode mode, const char *iface, int port,
              const uint8_t netkey[32], const struct lan_announce *self, uint64_t period_ms,
              lan_found_fn found, void *data, struct lan **out, char *why, size_t why_size);

/*
 * lan_update() - self (copied) is what the next announcements carry; one with a role or port
 * lan_start() would refuse is ignored. The loop's thread only.
 */
void lan_update(struct lan *l, const struct lan_announce *self);

/*
 * lan_announce_now() - one announcement now, beside the periodic ones: a node that hears a new
 * node answers at once (to the group, never to the sender), so the newcomer finds it in about a
 * round trip instead of at the next period. Accepts NULL. The loop's thread only.
 */
void lan_announce_now(struct lan *l);

/* lan_get_stats() - the counters so far into *st. The loop's thread only. */
void lan_get_stats(const struct lan *l, struct lan_stats *st);

/*
 * lan_stop() - stop announcing and listening: wipes the key and closes the handles; the memory
 * is freed in their close callbacks, so the loop must run once more (uv_run) before
 * uv_loop_close(). found() is not called any more. Accepts NULL. The loop's thread only.
 */
void lan_stop(struct lan *l);

#endif
