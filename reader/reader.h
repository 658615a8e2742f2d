/* SPDX-License-Identifier: MIT */
#ifndef KN_READER_H
#define KN_READER_H

/*
 * reader - the PC/SC card reader at the hand-over table, through pcsc-lite.
 *
 * Three layers:
 *  - identification (card.c): what a card says about itself, from command APDUs sent through a
 *    transmit function. Pure: no PC/SC call, so unit tests and fuzzers drive it with scripted
 *    answers (struct reader_impl is that seam).
 *  - PC/SC (pcsc.c): listing readers and reading the card in one reader now, blocking; for the
 *    command line.
 *  - watching (watch.c): a thread of its own waits in SCardGetStatusChange on every reader and on
 *    "\\?PnP?\Notification", identifies inserted cards, and posts events to a libuv loop through a
 *    uv_async_t; the loop never blocks on the reader. Stopped with SCardCancel.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "kn.h"

#define READER_MAX_READERS 16
#define READER_MAX_NAME    128
#define READER_MAX_ATR     33
#define READER_MAX_HSA_ID  64

struct reader_list {
    size_t count;
    char names[READER_MAX_READERS][READER_MAX_NAME];
};

/*
 * reader_list_get() - the names of the readers pcscd currently has. Blocks for at most as long as
 * pcscd takes to answer. Returns 0 (count may be 0), KN_ENOPCSCD when the service is not running,
 * or KN_EPCSC for another PC/SC failure. Thread-safe.
 */
int reader_list_get(struct reader_list *out);

/*
 * What a card in a reader says about itself. Every string is NUL-terminated; an empty string
 * means the card did not have it.
 *  - atr: the answer to reset, upper-case hex.
 *  - chip: the chip serial from the card's CPLC (GET DATA 9F7F): IC fabricator, IC type and IC
 *    serial number, 16 upper-case hex digits. The issuer records it when it ships the card.
 *  - hsa_id: the subject serialNumber of the first certificate in the card's PKCS#15 certificate
 *    directory (on a SITHS card the holder's HSA-id, e.g. SE2321000016-ABCD).
 *  - cert_serial: that certificate's serial number, lower-case hex.
 */
struct reader_identity {
    char atr[2 * READER_MAX_ATR + 1];
    char chip[17];
    char hsa_id[READER_MAX_HSA_ID + 1];
    char cert_serial[41];
};

/*
 * A way to talk to one card: transmit sends the command APDU cmd[0..cmd_len) and writes the
 * response (data and the two status bytes) into rsp, at most *rsp_len bytes, setting *rsp_len.
 * Returns 0, KN_ECARDGONE when the card or reader went away, or another KN_E code.
 */
struct reader_impl {
    int (*transmit)(void *ctx, const uint8_t *cmd, size_t cmd_len, uint8_t *rsp, size_t *rsp_len);
    void *ctx;
};

#define READER_MAX_RSP 258 /* 256 data bytes and SW1 SW2 */

/*
 * reader_identify() - reads the chip serial (CPLC) and the holder's HSA-id (PKCS#15: EF.DIR,
 * the application DF, ODF, CDF, the certificate) from the card behind impl into id (atr is left
 * as it is: the caller knows it). A card without CPLC leaves chip empty; a card without a PKCS#15
 * application or certificate leaves hsa_id empty. why gets a sentence for the user on failure.
 * Returns 0; KN_ECARDGONE when the card was pulled; KN_ECARDERR when it answered an error to a
 * command it must know; KN_EBADCARD for a malformed or truncated answer, directory or
 * certificate. Nothing it reads is kept; not thread-safe for one impl.
 */
int reader_identify(const struct reader_impl *impl, struct reader_identity *id, char *why,
                    size_t why_size);

/* reader_hex() - bytes b[0..n) as upper-case hex and a NUL into out (2n + 1 bytes): how the
 * reader shows an ATR and a chip serial. */
void reader_hex(const uint8_t *b, size_t n, char *out);

/*
 * reader_parse_cplc() - the chip serial (16 hex digits and a NUL) from a GET DATA 9F7F answer's
 * data (tag 9F7F, length 42, the CPLC). Returns 0 or KN_EBADCARD.
 */
int reader_parse_cplc(const uint8_t *data, size_t n, char chip[static 17]);

/*
 * reader_read() - connects to the card in reader (NULL: the first reader holding a card), fills
 * *id (with the ATR) and reader_out (the reader's name), and disconnects. Blocks for as long as
 * the card takes. Returns 0, KN_ENOPCSCD, KN_ENOREADER (no such reader, or none), KN_ENOCARD, or
 * what reader_identify returns; why says what happened. Thread-safe.
 */
int reader_read(const char *reader, struct reader_identity *id, char reader_out[READER_MAX_NAME],
                char *why, size_t why_size);

enum reader_event_kind {
    READER_EV_SERVICE_UP,   /* pcscd answers (again) */
    READER_EV_SERVICE_DOWN, /* pcscd is not running or stopped; retried every half second */
    READER_EV_ADDED,        /* a reader appeared */
    READER_EV_REMOVED,      /* a reader went away (unplugged, or pcscd stopped) */
    READER_EV_INSERTED,     /* a card was inserted and identified: id holds what it said */
    READER_EV_CARD_REMOVED, /* the card was taken out */
    READER_EV_READ_ERROR,   /* a card is in but could not be identified: error, detail */
};

/* The name of an event kind for the log and `reader watch`: "card-inserted" and so on. */
const char *reader_event_name(enum reader_event_kind kind);

struct reader_event {
    enum reader_event_kind kind;
    char reader[READER_MAX_NAME];
    struct reader_identity id; /* INSERTED */
    int error;                 /* READ_ERROR, SERVICE_DOWN: a KN_E code */
    char detail[160];          /* READ_ERROR, SERVICE_DOWN: a sentence for the user */
    int64_t seen_ms;           /* wall clock when the thread saw the change (insertion) */
    int64_t at_ms;             /* wall clock when the event was ready (identification done) */
};

struct reader_watch;

/* Called on the loop's thread for every event, in the order they happened. ev is valid only
 * during the call. */
typedef void (*reader_event_cb)(struct reader_watch *w, const struct reader_event *ev, void *data);

/*
 * reader_watch_start() - starts the watching thread, posting to loop. The first events describe
 * what is there already (service, readers, cards). Returns 0 and *out (owned by the caller until
 * reader_watch_stop), or KN_ENOMEM / a libuv error. Call from the loop's thread.
 */
int reader_watch_start(uv_loop_t *loop, reader_event_cb cb, void *data, struct reader_watch **out);

/*
 * reader_watch_stop() - stops the thread (SCardCancel wakes it; a card that is being read is
 * given up to two and a half seconds to answer) and closes the loop handle; the watch is freed in
 * the handle's close callback, so run the loop after this. No event is delivered after it returns.
 * Accepts NULL. Call from the loop's thread.
 */
void reader_watch_stop(struct reader_watch *w);

#endif
