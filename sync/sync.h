/* SPDX-License-Identifier: MIT */
#ifndef KN_SYNC_H
#define KN_SYNC_H

/*
 * sync - moving the log between nodes, sans-IO: these functions turn entries into bytes and bytes
 * into entries; they never read a file, a socket or a clock. The caller (node/) does the I/O.
 *
 * For now this is the bundle: the file `kortnod export` writes and `kortnod import` reads, so
 * that entries travel by USB stick or e-mail. Its byte layout is in docs/log-format.md:
 *
 *     ["kortnod-bundle", 1]                       bundle header (format version 1)
 *     [signed_header: bin, payload: bin | nil]    one record per entry, zero or more
 *     ["end", count: uint]                        trailer: how many records came before
 *
 * each a canonical msgpack array. The trailer makes a cut-off file detectable.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define SYNC_BUNDLE_MAGIC   "kortnod-bundle"
#define SYNC_BUNDLE_VERSION 1
/* A record's largest possible size: two bin32 headers and the array byte around the bounds. */
#define SYNC_MAX_RECORD (1 + 5 + STORE_MAX_SIGNED + 5 + STORE_MAX_PAYLOAD)

/* A growable byte buffer. init/finish; data is owned by the buffer. */
struct sync_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
};

void sync_buf_init(struct sync_buf *b);
void sync_buf_finish(struct sync_buf *b);
/* sync_buf_consume() - drop the first n bytes. */
void sync_buf_consume(struct sync_buf *b, size_t n);
void sync_buf_append(struct sync_buf *b, const void *data, size_t len);

/* Append the bundle header, one record, or the trailer to b. Record: KN_EINVAL past the bounds. */
void sync_bundle_put_header(struct sync_buf *b);
int sync_bundle_put_entry(struct sync_buf *b, const struct store_raw *e);
void sync_bundle_put_trailer(struct sync_buf *b, uint64_t count);

enum sync_bundle_state {
    SYNC_BUNDLE_HEADER,  /* expecting the bundle header */
    SYNC_BUNDLE_RECORDS, /* expecting a record or the trailer */
    SYNC_BUNDLE_END,     /* trailer read; nothing may follow */
    SYNC_BUNDLE_FAILED,  /* a bad byte was seen; the reader refuses everything after it */
};

/*
 * A streaming bundle reader: feed it bytes as they come (any chunking), take entries out.
 * init/finish; the reader owns a copy of the bytes not yet consumed.
 */
struct sync_bundle_reader {
    enum sync_bundle_state state;
    struct sync_buf in;
    size_t consumed; /* bytes of in already returned, dropped at the next feed */
    uint64_t records;
    uint64_t offset; /* bytes of the bundle consumed, for error messages */
};

void sync_bundle_reader_init(struct sync_bundle_reader *r);
void sync_bundle_reader_finish(struct sync_bundle_reader *r);

/* sync_bundle_reader_feed() - give the reader more bytes (copied). */
void sync_bundle_reader_feed(struct sync_bundle_reader *r, const uint8_t *data, size_t len);

/*
 * sync_bundle_reader_next() - the next entry. Returns 1 with *out pointing into the reader's
 * buffer (valid until the next feed or finish), 0 when the trailer has been read and checked,
 * -EAGAIN when more bytes are needed, or a KN_E code: KN_EFORMAT for a wrong header or version,
 * KN_ETRAIL for bytes after the trailer, KN_EPROTO for a trailer whose count disagrees, the strict
 * reader's code for a malformed record. After an error the reader stays failed.
 */
int sync_bundle_reader_next(struct sync_bundle_reader *r, struct store_raw *out);

/*
 * sync_bundle_reader_end() - the input is over: 0 when the trailer was read, KN_ETRUNC when the
 * bundle was cut off.
 */
int sync_bundle_reader_end(const struct sync_bundle_reader *r);

/* ---- Secret handshake (SHS) and box-stream: Secure Scuttlebutt's, byte for byte ---- */

#define SYNC_NETKEY_LEN   32
#define SYNC_BOX_MAX_BODY 4096
#define SYNC_BOX_HEADER   34 /* secretbox(body length (2, BE) + body tag (16)) */

enum sync_shs_state {
    SYNC_SHS_CLIENT_HELLO,  /* client: to send its hello */
    SYNC_SHS_SERVER_HELLO,  /* client: waiting for the server's hello (64 bytes) */
    SYNC_SHS_CLIENT_ACCEPT, /* client: waiting for the server's accept (80 bytes) */
    SYNC_SHS_WAIT_HELLO,    /* server: waiting for the client's hello (64 bytes) */
    SYNC_SHS_WAIT_AUTH,     /* server: waiting for the client's authenticate (112 bytes) */
    SYNC_SHS_DONE,
    SYNC_SHS_FAILED,
};

/* One direction of a box-stream: its key and the next nonce. */
struct sync_box {
    uint8_t key[32];
    uint8_t nonce[24];
};

/*
 * A handshake in progress, caller-owned (init/finish). The long-term secret key is borrowed and
 * must outlive the handshake; ephemeral keys and shared secrets are wiped by finish.
 */
struct sync_shs {
    enum sync_shs_state state;
    uint8_t netkey[SYNC_NETKEY_LEN];
    uint8_t pk[STORE_KEY_LEN];
    const uint8_t *sk; /* STORE_SECRET_LEN, borrowed */
    uint8_t remote_pk[STORE_KEY_LEN];
    uint8_t eph_pk[32], eph_sk[32], remote_eph[32];
    uint8_t ab[32], aB[32], Ab[32];
    uint8_t sig_a[64]; /* the client's signature, which the server's accept signs over */
};

/* sync_shs_init_client()/..._server() - start a handshake; the client knows the server's key. */
void sync_shs_init_client(struct sync_shs *h, const uint8_t netkey[static SYNC_NETKEY_LEN],
                          const uint8_t pk[static STORE_KEY_LEN],
                          const uint8_t sk[static STORE_SECRET_LEN],
                          const uint8_t server_pk[static STORE_KEY_LEN]);
void sync_shs_init_server(struct sync_shs *h, const uint8_t netkey[static SYNC_NETKEY_LEN],
                          const uint8_t pk[static STORE_KEY_LEN],
                          const uint8_t sk[static STORE_SECRET_LEN]);
void sync_shs_finish(struct sync_shs *h);

/* sync_shs_want() - bytes the next message from the peer has (0 when none is awaited). */
size_t sync_shs_want(const struct sync_shs *h);

/*
 * sync_shs_step() - advance: consumes one whole message from in when one is awaited and present
 * (*used says how many bytes), appends what to send to out. Returns 0 while the handshake goes
 * on (-EAGAIN when more input is needed first), 1 when it is complete, or KN_EPROTO when the
 * peer is not on this network or not who it must be (the state becomes FAILED; nothing more
 * is sent: a stranger learns nothing).
 */
int sync_shs_step(struct sync_shs *h, const uint8_t *in, size_t inlen, size_t *used,
                  struct sync_buf *out);

/* sync_shs_boxes() - after completion: the box-stream keys for sending and receiving. */
void sync_shs_boxes(const struct sync_shs *h, struct sync_box *send, struct sync_box *recv);

/* sync_box_seal() - append msg as box-stream frames (bodies of at most 4096 bytes) to out. */
void sync_box_seal(struct sync_box *b, const uint8_t *msg, size_t len, struct sync_buf *out);
/* sync_box_goodbye() - append the authenticated end of the stream. */
void sync_box_goodbye(struct sync_box *b, struct sync_buf *out);

/*
 * sync_box_open() - decrypt frames from in: consumes whole frames only (*used), appending their
 * bodies to plain. Returns 0 when more input is needed, 1 when the goodbye arrived (nothing may
 * follow), or KN_EPROTO for a frame that does not authenticate (forged, replayed, reordered or
 * from another key) or a length over 4096.
 */
int sync_box_open(struct sync_box *b, const uint8_t *in, size_t inlen, size_t *used,
                  struct sync_buf *plain);

/* ---- Replication messages (sync/session.c), carried in the box-stream ----
 *
 * The plaintext of a box-stream is a sequence of canonical msgpack arrays, split across frames
 * any way the sender likes (docs/protocol.md):
 *
 *     ["clock", [[author: bin 32, seq: uint], ...]]     the feeds I hold, by author, and their tips
 *     ["entries", [[signed_header: bin, payload: bin | nil], ...]]   at most 512 per message
 *     ["synced"]                                        I have sent all you lacked by your clock
 *     ["forks", [[held: bin, other: bin], ...]]        proofs that authors signed two entries
 *                                                       at one seq, at most 512 per message
 *
 * Each side sends its clock first; then what the other lacks, oldest first per feed (the hub's
 * feed first), then "synced"; then, in live mode, entries as they are appended.
 */

#define SYNC_MAX_MESSAGE (4u << 20) /* bytes of one message */
#define SYNC_MAX_BATCH   512        /* entries in one "entries" message */
#define SYNC_MAX_FEEDS   100000     /* feeds in one clock */

/*
 * One feed of a clock: the latest seq held and, from nodes that send it, the hash of the entry
 * at that seq. Two nodes holding one seq of a feed with different hashes hold two branches of a
 * fork; without the hash, branches of one length would never meet.
 */
struct sync_clock_item {
    uint8_t author[STORE_KEY_LEN];
    uint64_t seq;
    bool has_tip;
    uint8_t tip[STORE_HASH_LEN];
};

enum sync_msg_type { SYNC_MSG_CLOCK = 1, SYNC_MSG_ENTRIES, SYNC_MSG_SYNCED, SYNC_MSG_FORKS };

/* A message read: it points into the reader, valid until the next sync_msg_next or feed. */
struct sync_msg {
    enum sync_msg_type type;
    size_t count;
    struct sync_clock_item *clock; /* CLOCK: count items (owned by the reader) */
    struct store_raw *entries;     /* ENTRIES: count entries (owned by the reader); FORKS: count
                                    * proofs, the held signed header in signed_header and the
                                    * other in payload */
};

void sync_msg_put_clock(struct sync_buf *out, const struct sync_clock_item *items, size_t n);
/* sync_msg_put_entries() - KN_EINVAL when n > SYNC_MAX_BATCH or an entry breaks its bounds. */
int sync_msg_put_entries(struct sync_buf *out, const struct store_raw *entries, size_t n);
void sync_msg_put_synced(struct sync_buf *out);
/* sync_msg_put_forks() - proofs[i].signed_header is the held entry's signed header,
 * proofs[i].payload the other's. KN_EINVAL when n > SYNC_MAX_BATCH or a header is too long. */
int sync_msg_put_forks(struct sync_buf *out, const struct store_raw *proofs, size_t n);

/* A streaming message reader (init/finish), fed the plaintext of a box-stream. */
struct sync_msg_reader {
    struct sync_buf in;
    size_t consumed;
    bool failed;
    struct sync_clock_item *clock;
    size_t clock_cap;
    struct store_raw *entries;
};

void sync_msg_reader_init(struct sync_msg_reader *r);
void sync_msg_reader_finish(struct sync_msg_reader *r);
void sync_msg_reader_feed(struct sync_msg_reader *r, const uint8_t *data, size_t len);

/*
 * sync_msg_next() - the next message: 1 with *m filled, -EAGAIN when more bytes are needed, or
 * a KN_E code for a malformed, non-canonical, unknown or oversized message (the reader then
 * stays failed: the connection is to be closed).
 */
int sync_msg_next(struct sync_msg_reader *r, struct sync_msg *m);

#endif
