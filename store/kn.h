/* SPDX-License-Identifier: MIT */
#ifndef KN_H
#define KN_H

#include <errno.h>
#include <stddef.h>

/*
 * kn.h - what every kortnod module shares: the error list and the memory policy.
 *
 * Memory policy: kortnod is a daemon with small, bounded allocations. Running out of memory is
 * not a condition it can serve through, so allocation goes through kn_xmalloc() and friends,
 * which print a message and abort() on failure; callers never check for NULL. Sizes that come
 * from the network or a file are checked against a MAX_ bound before they reach an allocator.
 */

/*
 * kortnod's one error list. Every function that can fail returns 0 or a negative code: either
 * one of these, or a negated errno value (libuv style, so a uv status can be passed on as is).
 * Incomplete input is not an error but -EAGAIN (KN_EAGAIN): the caller keeps the bytes and
 * feeds more.
 */
#define KN_ERRORS(X)                                                                          \
    X(NOMEM, "out of memory")                                                                 \
    X(INVAL, "invalid argument")                                                              \
    X(IO, "input/output error")                                                               \
    X(NOTFOUND, "not found")                                                                  \
    X(EXISTS, "already exists")                                                               \
    X(TRUNC, "truncated: the input ends inside a value")                                      \
    X(TRAIL, "trailing bytes after the value")                                                \
    X(NONCANON, "non-canonical encoding: an integer or length is not in its shortest form")   \
    X(TYPE, "wrong type for a field")                                                         \
    X(MALFORMED, "malformed msgpack: reserved or unsupported byte")                           \
    X(DEPTH, "nesting too deep")                                                              \
    X(KEYORDER, "map keys not in canonical order or repeated")                                \
    X(VERSION, "unknown entry version")                                                       \
    X(TOOBIG, "entry too large")                                                              \
    X(FIELD, "field value out of range")                                                      \
    X(SEQ, "wrong seq: the entry does not follow the feed's last entry")                      \
    X(PREV, "wrong prev_hash: the entry does not link to the previous entry")                 \
    X(SIG, "bad signature")                                                                   \
    X(PAYLOAD, "payload does not match payload_hash")                                         \
    X(NOPAYLOAD, "payload missing")                                                           \
    X(AFTERBAD, "refused: an earlier entry of this feed in the batch was refused")            \
    X(FORKED, "feed is forked: nothing more of it is applied")                                \
    X(DB, "database error")                                                                   \
    X(SCHEMA, "database schema is newer than this program")                                   \
    X(CORRUPT, "database file is damaged: stop the daemon and run 'kortnod recover', which "  \
               "keeps the file aside and fetches the log back from the peers")                \
    X(FULL, "the database is full (disk full or size limit): nothing was written")            \
    X(KEYPERM, "key file is readable by group or others (must be mode 0600)")                 \
    X(KEYFILE, "key file is malformed")                                                       \
    X(CRYPTO, "cryptographic library failure")                                                \
    X(JSON, "invalid JSON")                                                                   \
    X(FORMAT, "not a kortnod export file, or an unsupported version of one")                  \
    X(PROTO, "protocol error")                                                                \
    X(NOTINIT, "no kortnod node in this data directory (run 'kortnod init')")                 \
    X(PCSC, "PC/SC (smart card service) failure")                                             \
    X(NOREADER, "no card reader found")                                                       \
    X(NOPCSCD, "the smart card service (pcscd) is not running")                               \
    X(NOCARD, "no card in the reader")                                                        \
    X(CARDGONE, "the card or its reader was removed during the read")                         \
    X(CARDERR, "the card refused a command (an error status word)")                           \
    X(BADCARD, "the card's data is malformed: not a readable PKCS#15 card or certificate")    \
    X(REFUSED, "refused by the rules of the card's life")                                     \
    X(NOHUB, "this node does not know its hub (kortnod init --hub NODEID)")                   \
    X(REVOKED, "refused: the hub revoked the author's key from this seq on")                  \
    X(UNAUTHORISED, "refused: the author's role may not write this event type")               \
    X(HELDFULL, "refused: too many entries held from a key the hub has not enrolled")         \
    X(SEALED, "sealed: this node cannot read it (it is for the hub and the order's office)")  \
    X(BEHIND, "a peer holds this node's own feed further than its database does (a restored " \
              "backup or a copied disk?): run 'kortnod recover' before writing")

enum kn_error {
    KN_EAGAIN = -EAGAIN,
    KN_ERROR_BASE_ = -2000, /* codes count up from here; negated errno values stay above -1000 */
#define KN_ERROR_ENUM_(name, msg) KN_E##name,
    KN_ERRORS(KN_ERROR_ENUM_)
#undef KN_ERROR_ENUM_
        KN_ERROR_END_
};

/*
 * kn_strerror() - a message for a code from this list or a negated errno value.
 * Returns a static string; never NULL. Thread-safe.
 */
const char *kn_strerror(int err);

/*
 * kn_errname() - the symbolic name of a code ("KN_ESIG", "ENOENT"...), for logs and tests.
 * Returns a static string; never NULL. Thread-safe.
 */
const char *kn_errname(int err);

/* kn_xmalloc() and friends - allocate or abort. Free with free(). */
void *kn_xmalloc(size_t size);
void *kn_xcalloc(size_t n, size_t size);
void *kn_xrealloc(void *p, size_t size);
char *kn_xstrdup(const char *s);

#endif
