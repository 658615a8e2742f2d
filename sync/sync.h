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

#endif
