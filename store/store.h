/* SPDX-License-Identifier: MIT */
#ifndef KN_STORE_H
#define KN_STORE_H

/*
 * store - kortnod's signed, append-only log in SQLite.
 *
 * A feed per author key (Ed25519). An entry is a signed compact header plus a payload. The header
 * is the canonical msgpack array
 *
 *     [version, author, seq, prev_hash, timestamp_ms, type, deps, payload_len, payload_hash]
 *
 * followed by a 64-byte Ed25519 signature over the header bytes; together they are the "signed
 * header". An entry's hash (its id) is BLAKE2b-256 of the signed header; prev_hash is the hash of
 * the entry before it in its feed, so one good signature at a feed's tip vouches for the whole
 * chain below it. The byte layout is documented in docs/log-format.md.
 *
 * Memory: allocation failure aborts the process (kn.h); every other failure is a negative code
 * from kn.h.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kn.h"

#define STORE_VERSION        1
#define STORE_SCHEMA_VERSION 9  /* PRAGMA user_version of the database */
#define STORE_KEY_LEN        32 /* Ed25519 public key: the author / node id */
#define STORE_SECRET_LEN     64 /* libsodium Ed25519 secret key (seed and public key) */
#define STORE_HASH_LEN       32 /* BLAKE2b-256 */
#define STORE_SIG_LEN        64
#define STORE_MAX_PAYLOAD    65536
#define STORE_MAX_DEPS       16
#define STORE_MAX_TYPE       64
#define STORE_MAX_HEADER     1600 /* header bytes, signature excluded */
#define STORE_MAX_SIGNED     (STORE_MAX_HEADER + STORE_SIG_LEN)
#define STORE_MAX_DEPTH      32 /* nesting of a payload value */
#define STORE_ID_HEX_LEN     (2 * STORE_KEY_LEN)

/* One causal dependency: the entry (author, seq) whose signed header hashes to hash. */
struct store_entry_id {
    uint8_t author[STORE_KEY_LEN];
    uint64_t seq;
    uint8_t hash[STORE_HASH_LEN];
};

/*
 * A decoded entry header. Filled by store_entry_decode() or store_entry_sign(); owns no heap
 * memory (init/finish are not needed). signed_header holds the exact bytes that were decoded or
 * produced: header then signature.
 */
struct store_entry {
    uint64_t version;
    uint8_t author[STORE_KEY_LEN];
    uint64_t seq;
    bool has_prev; /* false only for seq 1, where prev_hash is msgpack nil */
    uint8_t prev_hash[STORE_HASH_LEN];
    uint64_t timestamp_ms;
    char type[STORE_MAX_TYPE + 1];
    size_t ndeps;
    struct store_entry_id deps[STORE_MAX_DEPS];
    uint64_t payload_len;
    uint8_t payload_hash[STORE_HASH_LEN];

    uint8_t hash[STORE_HASH_LEN]; /* BLAKE2b-256 of signed_header */
    size_t header_len;            /* bytes of the header; the signature follows it */
    size_t signed_len;            /* header_len + STORE_SIG_LEN */
    uint8_t signed_header[STORE_MAX_SIGNED];
};

/* What an entry says before it is signed; the caller owns every pointer. */
struct store_draft {
    const char *type; /* 1..STORE_MAX_TYPE bytes of [a-z0-9._-] */
    uint64_t timestamp_ms;
    const struct store_entry_id *deps;
    size_t ndeps; /* at most STORE_MAX_DEPS */
    const uint8_t *payload;
    size_t payload_len; /* at most STORE_MAX_PAYLOAD; payload must be one canonical value */
};

/* An entry as bytes, the way it travels: a signed header and the payload beside it. */
struct store_raw {
    const uint8_t *signed_header;
    size_t signed_len;
    const uint8_t *payload; /* NULL when absent */
    size_t payload_len;
};

/* ---- Entries: pure functions, no database ---- */

/*
 * store_entry_decode() - decode and check a signed header: canonical msgpack, known version,
 * field types and ranges, size limits, nothing trailing after the signature. Does NOT check the
 * signature (see store_entry_verify_sig) nor anything that needs the feed (seq, prev_hash).
 * Returns 0, or KN_ETRUNC, KN_ETRAIL, KN_ENONCANON, KN_ETYPE, KN_EMALFORMED, KN_EVERSION,
 * KN_ETOOBIG, KN_EFIELD. On failure *out is unspecified. Thread-safe.
 */
int store_entry_decode(const uint8_t *signed_header, size_t len, struct store_entry *out);

/* store_entry_verify_sig() - 0 when the signature is the author's over the header, else KN_ESIG. */
int store_entry_verify_sig(const struct store_entry *e);

/*
 * store_entry_check_payload() - 0 when payload has the length and BLAKE2b-256 the header names and
 * is one canonical msgpack value (store_payload_check); KN_EPAYLOAD or the check's code otherwise.
 */
int store_entry_check_payload(const struct store_entry *e, const uint8_t *payload, size_t len);

/*
 * store_entry_sign() - build and sign the header for draft as entry seq of the feed of the key
 * pair sk, linking to prev (NULL for seq 1). Fills *out as store_entry_decode() would.
 * Returns 0, KN_EINVAL for a draft that breaks a limit (type, deps, payload size), or the code
 * of store_payload_check for a non-canonical payload. Thread-safe.
 */
int store_entry_sign(const struct store_draft *draft, uint64_t seq,
                     const uint8_t prev[STORE_HASH_LEN], const uint8_t sk[static STORE_SECRET_LEN],
                     struct store_entry *out);

/*
 * store_payload_check() - 0 when buf holds exactly one canonical msgpack value: shortest integer
 * and length forms, no floats or extension types, map keys strings in strictly ascending byte
 * order, valid UTF-8 strings, nesting at most STORE_MAX_DEPTH. Every count is bounded by the
 * bytes left, so a hostile length cannot make a decoder allocate. Returns 0 or a KN_E code.
 */
int store_payload_check(const uint8_t *buf, size_t len);

/* store_hex() - lower-case hex of n bytes into out, which has room for 2n + 1 chars. */
void store_hex(const uint8_t *bytes, size_t n, char *out);

/* store_unhex() - parse exactly 2n hex chars into out; 0 or KN_EINVAL. */
int store_unhex(const char *hex, uint8_t *out, size_t n);

/* ---- Strict msgpack reading (also used by sync/ for its messages) ---- */

/*
 * A strict, allocation-free msgpack reader for data from other nodes. msgpack-c's unpacker is
 * not used on untrusted bytes: it accepts non-shortest forms (so it cannot enforce one byte
 * sequence per value) and allocates what an array's length claims before reading it. Writing is
 * left to msgpack-c's packer, which always emits the shortest form.
 */
struct store_mp {
    const uint8_t *p;
    const uint8_t *end;
};

/*
 * Each reader consumes one value of its type at m->p and advances past it, or returns a KN_E code
 * (KN_ETRUNC at the end of the bytes, KN_ETYPE for another type, KN_ENONCANON for a longer form
 * than needed) and leaves m unspecified. bytes point into the caller's buffer. store_mp_array()
 * bounds the count by the bytes left.
 */
int store_mp_array(struct store_mp *m, uint32_t *count);
int store_mp_uint(struct store_mp *m, uint64_t *v);
int store_mp_bin(struct store_mp *m, const uint8_t **bytes, uint32_t *len);
int store_mp_str(struct store_mp *m, const uint8_t **bytes, uint32_t *len);
/* 1 and consumes it when the next value is nil, 0 when it is something else, KN_ETRUNC at end. */
int store_mp_nil(struct store_mp *m);
/* Skip one value, checking it is canonical (see store_payload_check). */
int store_mp_skip(struct store_mp *m, int depth);

/* ---- Identity: the node's key pair on disk ---- */

struct store_identity {
    uint8_t pk[STORE_KEY_LEN];
    uint8_t *sk; /* STORE_SECRET_LEN bytes in sodium_malloc'd, locked memory */
};

/*
 * store_identity_create() - generate a key pair and write it to path with mode 0600 (the file
 * must not exist). Returns 0, -EEXIST, or a negated errno. On success *id owns a secret key:
 * release it with store_identity_finish().
 */
int store_identity_create(const char *path, struct store_identity *id);

/*
 * store_identity_load() - read a key file. Refuses (KN_EKEYPERM) a file that group or others
 * may read or write, KN_EKEYFILE for a malformed one, a negated errno when it cannot be read.
 * On success release *id with store_identity_finish().
 */
int store_identity_load(const char *path, struct store_identity *id);

/* store_identity_finish() - wipe and free the secret key; safe on a zeroed or finished id. */
void store_identity_finish(struct store_identity *id);

/* ---- The store ---- */

struct store;

enum store_sync_mode {
    STORE_SYNC_NORMAL, /* WAL, synchronous=NORMAL: survives a killed process */
    STORE_SYNC_FULL,   /* WAL, synchronous=FULL: also survives a power cut */
};

/*
 * store_open() - open (creating when absent) the database at path, in WAL mode, and migrate its
 * schema to the current version. A database whose PRAGMA user_version is newer than this program
 * is refused (KN_ESCHEMA). Returns 0 and *out, to be closed with store_close(), or a KN_E code.
 * A store is used by one thread at a time.
 * The environment variable KORTNOD_DB_MAX_PAGES (a number of pages, for tests and operations)
 * keeps the database from growing beyond that size, as a full disk would: a write that needs
 * more fails with KN_EFULL, and its transaction writes nothing. A value that is not a positive
 * number is refused (KN_EINVAL).
 */
int store_open(const char *path, enum store_sync_mode mode, struct store **out);

/* store_close() - close the database; accepts NULL. Forgets (does not free) the identity. */
void store_close(struct store *s);

/*
 * store_set_identity() - the key pair store_append() signs with. The store borrows id, which
 * must outlive it (or the next call).
 */
void store_set_identity(struct store *s, const struct store_identity *id);

/* store_meta_set()/store_meta_get() - small settings (role, name). get copies at most size-1
 * bytes and a NUL into out; KN_ENOTFOUND when unset. */
int store_meta_set(struct store *s, const char *key, const char *value);
int store_meta_get(struct store *s, const char *key, char *out, size_t size);

/*
 * store_tx_begin()/store_tx_commit()/store_tx_rollback() - group several appends into one
 * transaction (store_append opens its own when none is open). Not nestable.
 */
int store_tx_begin(struct store *s);
int store_tx_commit(struct store *s);
int store_tx_rollback(struct store *s);

/*
 * store_append() - sign draft as the next entry of our own feed and store it: seq and prev_hash
 * are taken from the feed's tip inside one transaction. Refuses with KN_EFORKED when our feed is
 * marked forked, KN_EINVAL without an identity, and what every other node would refuse: KN_EREVOKED
 * when the hub revoked this key from that seq on, KN_EUNAUTHORISED for a card-domain event type
 * this node's role may not write (store/trust.c). On success fills *out (may be NULL).
 */
int store_append(struct store *s, const struct store_draft *draft, struct store_entry *out);

/*
 * store_own_seen() - a peer showed this node's own feed up to seq. When that is beyond the
 * database's own tip (a restored backup, a copied disk), it is remembered, and store_append()
 * refuses with KN_EBEHIND until the own feed is fetched back up to it (entries of the own feed
 * arriving from peers are stored as any other). Returns 1 while the own feed is behind what a
 * peer showed, 0 when it is not, or a KN_E code; *tip (may be NULL) is the own tip.
 */
int store_own_seen(struct store *s, uint64_t seq, uint64_t *tip);

/* Why store_ingest() refused an entry; index is its position in the batch. */
typedef void (*store_reject_cb)(void *ud, size_t index, const struct store_entry *e, int err);

struct store_ingest_result {
    size_t accepted;   /* new entries stored */
    size_t duplicates; /* already held, byte for byte */
    size_t rejected;   /* refused: reported through the callback */
    size_t forks;      /* fork proofs recorded */
    size_t held;       /* kept aside: the author is not enrolled by the hub (yet) */
    size_t refused;    /* valid, but refused by trust (revoked key, role): reported through the
                        * callback; not a sign of a bad peer, which may not know yet */
    size_t released;   /* held entries stored because their enrolment arrived (in accepted) */
};

/*
 * store_ingest() - verify and store a batch of foreign entries in one transaction. Entries may
 * come in any order and from many feeds; they are taken per feed in seq order. A contiguous run
 * of a feed is checked with hash links and only its last signature (fast chain verification),
 * falling back to every signature when that fails, so the verdict equals checking each one. A bad
 * entry is refused with everything after it in its feed; the rest of the batch is kept. An entry
 * with a seq we hold under another hash and a good signature is stored as a fork proof and the
 * feed is marked forked (nothing later of it is stored). reject_cb (may be NULL) hears of each
 * refused entry (e is NULL when it could not be decoded). Returns 0 (even when entries were
 * refused) with *res filled, or a KN_EDB-class code when the transaction failed (nothing stored).
 */
int store_ingest(struct store *s, const struct store_raw *batch, size_t n,
                 struct store_ingest_result *res, store_reject_cb reject_cb, void *ud);

/*
 * store_get() - the entry (author, seq). payload_cb (may be NULL) receives the payload bytes,
 * valid only during the call (len 0 and buf NULL when the payload is absent). Returns 0 or
 * KN_ENOTFOUND.
 */
typedef void (*store_payload_cb)(void *ud, const uint8_t *buf, size_t len);
int store_get(struct store *s, const uint8_t author[static STORE_KEY_LEN], uint64_t seq,
              struct store_entry *out, store_payload_cb payload_cb, void *ud);

/*
 * store_range() - call cb for each entry of author's feed with from <= seq <= to (to 0: to the
 * tip), in seq order. e and payload are valid during the call only. cb returns 0 to go on, or a
 * nonzero value that stops the walk and is returned.
 */
typedef int (*store_entry_cb)(void *ud, const struct store_entry *e, const uint8_t *payload,
                              size_t payload_len);
int store_range(struct store *s, const uint8_t author[static STORE_KEY_LEN], uint64_t from,
                uint64_t to, store_entry_cb cb, void *ud);

/* One feed as the clock sees it. */
struct store_feed {
    uint8_t author[STORE_KEY_LEN];
    uint64_t seq; /* latest seq held, 0 when none */
    uint8_t tip_hash[STORE_HASH_LEN];
    bool forked;
};

/*
 * store_clock() - call cb for every feed held, ordered by author bytes. cb returns 0 to go on.
 * Returns 0, cb's nonzero value, or a KN_E code.
 */
typedef int (*store_feed_cb)(void *ud, const struct store_feed *f);
int store_clock(struct store *s, store_feed_cb cb, void *ud);

/* store_feed_get() - one feed's state; seq 0 when nothing of it is held. */
int store_feed_get(struct store *s, const uint8_t author[static STORE_KEY_LEN],
                   struct store_feed *out);

/* A problem store_verify_all() found; author/seq name the first bad entry of a feed. */
typedef void (*store_problem_cb)(void *ud, const uint8_t author[STORE_KEY_LEN], uint64_t seq,
                                 int err);

enum store_verify_mode {
    STORE_VERIFY_CHAIN, /* hash links, payload hashes, one signature per feed (and on breaks) */
    STORE_VERIFY_EVERY, /* a signature check for every entry */
};

/*
 * store_verify_all() - re-check every stored entry from its bytes: canonical decoding, the key
 * columns against the header, seq without gaps, hash links, payload hashes and signatures. Names
 * the first bad entry of each broken feed through cb. Returns the number of broken feeds (0: all
 * good) or a negative KN_E code when the database could not be read. *checked (may be NULL)
 * receives the number of entries examined.
 */
int store_verify_all(struct store *s, enum store_verify_mode mode, store_problem_cb cb, void *ud,
                     uint64_t *checked);

/*
 * store_check_file() - SQLite's PRAGMA quick_check over the whole database file: its pages,
 * b-trees and records (not the entries' hashes and signatures: store_verify_all). Returns 0 when
 * the file is whole, KN_ECORRUPT when it is damaged, another KN_E code when it could not be
 * read; on an error, why (size bytes, may be NULL) receives the first problem SQLite names.
 */
int store_check_file(struct store *s, char *why, size_t size);

/* A recorded fork proof. */
struct store_fork {
    uint8_t author[STORE_KEY_LEN];
    uint64_t seq;
};
typedef int (*store_fork_cb)(void *ud, const struct store_fork *f);
int store_forks(struct store *s, store_fork_cb cb, void *ud);

/*
 * store_fork_proofs() - every fork proof held: the signed header of the entry held at the fork's
 * seq, and the other one (a second entry at that seq, or one at the next seq that links to
 * another entry). Valid during the call.
 */
typedef int (*store_fork_proof_cb)(void *ud, const uint8_t *held, size_t held_len,
                                   const uint8_t *other, size_t other_len);
int store_fork_proofs(struct store *s, store_fork_proof_cb cb, void *ud);

/*
 * store_fork_add() - a fork proof from a peer: both signed by one author, and proving that it
 * signed two entries at one seq. The feed is then marked forked: its entries from that seq on
 * are neither stored, offered nor applied. 1 when the proof is new, 0 when known (or about a
 * key the hub has not enrolled, which is not kept), KN_EFIELD
 * when the two do not prove a fork, KN_ESIG for a bad signature, or a decoding error.
 */
int store_fork_add(struct store *s, const uint8_t *held, size_t held_len, const uint8_t *other,
                   size_t other_len);

/* store_data_version() - changes whenever another connection (process) has written the database
 * (SQLite PRAGMA data_version), and when this one has. */
int store_data_version(struct store *s, uint64_t *out);

/* store_count() - number of entries held. */
int store_count(struct store *s, uint64_t *out);

/* ---- Trust: which keys the hub enrolled (store/trust.c) ---- */

/* What the hub's feed says of one key, and what is held of it. */
struct store_trust {
    uint8_t node[STORE_KEY_LEN];
    char role[16];           /* office, mobile; "" when only held or only revoked */
    char office[65];         /* the office it is enrolled for */
    uint64_t valid_until_ms; /* 0: no end */
    uint64_t revoked_from;   /* 0: not revoked; else entries from this seq on are refused */
    uint64_t bound_seq;      /* the hub's entry that enrolled it last (0: none) */
    uint64_t held;           /* entries kept aside until an enrolment arrives */
};

/* store_trust_node() - 0 and *out, or KN_ENOTFOUND when the hub's feed names no such key. */
int store_trust_node(struct store *s, const uint8_t node[STORE_KEY_LEN], struct store_trust *out);

/*
 * store_purge_of() - for an entry whose payload the hub purged, cb gets the hub's payload.purged
 * entry that purged it (valid during the call), so that a sender can pass it on ahead of the
 * entry and the receiver takes the entry without its payload. cb's nonzero result is returned;
 * KN_ENOTFOUND when the payload was not purged (or the purge entry is not held).
 */
typedef int (*store_raw_cb)(void *ud, const struct store_raw *raw);
int store_purge_of(struct store *s, const uint8_t author[STORE_KEY_LEN], uint64_t seq,
                   store_raw_cb cb, void *ud);

/* store_trust_list() - every key the hub's feed names, and every key entries are held of. */
typedef int (*store_trust_cb)(void *ud, const struct store_trust *t);
int store_trust_list(struct store *s, store_trust_cb cb, void *ud);

/* ---- Sealed personal data (store/seal.c) ---- */

#define STORE_OFFICE_KEY_LEN 80 /* an office's key seed sealed to one node */

/*
 * store_office_key_for() - at the hub: the office's key, sealed to node (the node.bound field
 * office_key), so that the node can read what is sealed to its office. KN_EINVAL elsewhere.
 */
int store_office_key_for(struct store *s, const char *office, const uint8_t node[STORE_KEY_LEN],
                         uint8_t out[STORE_OFFICE_KEY_LEN]);

/*
 * store_seal() - msg sealed to the hub and to office: at the hub, or at a node enrolled for that
 * office with an office key. *out (free it) holds both boxes. KN_ENOTFOUND when this node has no
 * key of that office.
 */
int store_seal(struct store *s, const char *office, const uint8_t *msg, size_t len, uint8_t **out,
               size_t *outlen);

/*
 * store_unseal() - open what store_seal made for office: with the hub's key at the hub, with the
 * office's key at its nodes. *out (free it) is NUL-terminated. KN_ESEALED when this node cannot.
 */
int store_unseal(struct store *s, const char *office, const uint8_t *sealed, size_t len,
                 uint8_t **out, size_t *outlen);

/*
 * store_holder_personal() - the holder's personal data (a JSON object: name, pnr, phone, email)
 * of an order or a reserve card (kind "order" or "reserve"), opened from its applied
 * order.holder / reserve.holder entry. KN_ENOTFOUND when it has none, KN_ESEALED when this node
 * cannot read it. *out (free it) is NUL-terminated.
 */
int store_holder_personal(struct store *s, const char *kind, const char *id, uint8_t **out,
                          size_t *outlen);

/*
 * store_holder_entries() - the applied order.holder (kind "order") or reserve.holder (kind
 * "reserve") entries of id that still have their payload (what a purge must name), in order. cb
 * returns nonzero to stop (and that is returned).
 */
typedef int (*store_entry_id_cb)(void *ud, const uint8_t author[STORE_KEY_LEN], uint64_t seq);
int store_holder_entries(struct store *s, const char *kind, const char *id, store_entry_id_cb cb,
                         void *ud);

/* ---- The card domain: events applied to queryable state (store/domain.c, events.c) ---- */

struct store_domain_stats {
    size_t applied;   /* entries processed by this call */
    size_t conflicts; /* entries held in conflict, in all */
    size_t invalid;   /* entries refused as invalid, in all */
    size_t waiting;   /* entries whose parents are not all held */
    bool rebuilt;     /* the projection was rebuilt from the log */
};

/*
 * store_domain_sync() - apply every held entry not yet applied, in the deterministic order
 * (docs/events.md), rebuilding the projection from the log when an entry belongs before what was
 * applied (or when rebuild is true). Needs the hub's id in meta "hub" (KN_ENOHUB). Returns 0 or
 * a KN_E code; *stats (may be NULL) says what happened.
 */
int store_domain_sync(struct store *s, bool rebuild, struct store_domain_stats *stats);

/*
 * store_domain_step() - the same work in a bounded piece: at most about budget entries given a
 * place in the order or applied, in one transaction (or in the caller's). *more (may be NULL) is
 * set when work is left; call again. For an event loop that must not stall on a large catch-up.
 */
int store_domain_step(struct store *s, size_t budget, struct store_domain_stats *stats, bool *more);

/*
 * store_domain_write() - sign and append an event of this node, applied at once, or nothing at
 * all: an event the rules refuse (wrong fields, a writer that may not, a state it cannot follow)
 * returns KN_EREFUSED with the reason in reason (size rsize; may be NULL). Its deps are the last
 * entry that moved the same object and the last entry applied. *out (may be NULL) is the entry.
 * Inside the caller's transaction (store_tx_begin) it joins it, so that several events are
 * written together or not at all; a refusal then undoes only this one.
 */
int store_domain_write(struct store *s, const char *type, const uint8_t *payload, size_t len,
                       uint64_t timestamp_ms, struct store_entry *out, char *reason, size_t rsize);

/* store_month() - "YYYY-MM" of ms in Swedish time (CET/CEST), as invoices count months. */
void store_month(uint64_t ms, char out[8]);

/* store_domain_digest() - BLAKE2b-256 over the projected state, table by table, row by row. */
int store_domain_digest(struct store *s, uint8_t out[STORE_HASH_LEN]);

/* The kind of a field of an event type, for user interfaces that build payloads. */
enum store_field_kind {
    STORE_FIELD_NONE, /* no such type or field */
    STORE_FIELD_TEXT, /* a string (ids, names, enum values, months) */
    STORE_FIELD_UINT, /* a non-negative integer (times in ms since 1970, amounts) */
    STORE_FIELD_BOOL,
    STORE_FIELD_BIN, /* bytes (sealed data, keys): made by the program, not typed */
};
enum store_field_kind store_domain_field_kind(const char *type, const char *field);
/* store_domain_field_values() - the values an enumerated field takes (NULL-terminated), or NULL. */
const char *const *store_domain_field_values(const char *type, const char *field);

/*
 * store_domain_type_fields() - the field names of type, required first marked by *required.
 * Returns the number of fields written into names (at most max), 0 for an unknown type.
 */
size_t store_domain_type_fields(const char *type, const char **names, bool *required, size_t max);

enum store_report {
    STORE_REPORT_STOCK,             /* per office: cards in each stage */
    STORE_REPORT_ORDERS,            /* orders, by state and office */
    STORE_REPORT_CONFLICTS,         /* entries kept but not applied, and why */
    STORE_REPORT_ALERTS,            /* what needs a person's attention at now_ms */
    STORE_REPORT_INVOICE_OFFICES,   /* per office: what the issuer pays for month */
    STORE_REPORT_INVOICE_PROVIDERS, /* per care provider: what it is billed for month */
    STORE_REPORT_DIRECTORY,         /* the public list of open offices */
    STORE_REPORT_APPOINTMENTS,      /* meetings with holders, by time (office: only its own) */
    STORE_REPORT_OFFICES,           /* every office, listed or not, with its administrators */
    STORE_REPORT_HANDOVERS,         /* hand-overs per day over the 13 weeks before now_ms */
};

struct store_report_args {
    const char *state;  /* ORDERS: only this state (NULL: all) */
    const char *match;  /* ORDERS: only those whose id, serial or care provider contains it */
    uint32_t limit;     /* ORDERS: at most this many rows (0: all) */
    const char *office; /* STOCK, ORDERS, INVOICE_*, APPOINTMENTS, OFFICES, HANDOVERS: only it */
    const char *month;  /* INVOICE_*: YYYY-MM, required */
    uint64_t now_ms;    /* STOCK, ALERTS, DIRECTORY, HANDOVERS: the time to judge ages by */
};

enum store_cell_type { STORE_CELL_NULL, STORE_CELL_INT, STORE_CELL_TEXT };
struct store_cell {
    enum store_cell_type type;
    int64_t i;        /* STORE_CELL_INT */
    const char *text; /* the value as text (NULL for NULL) */
};

/*
 * store_report() - run a report: cb is called once with cells NULL to announce the columns, then
 * for each row with ncols named cells, valid during the call; it returns 0 to go on. Reports read
 * the projection as it is: call store_domain_sync first. Returns 0, cb's nonzero value, KN_EINVAL
 * (unknown report, INVOICE without month), or a KN_E code. No personal data (holders' names)
 * appears in any report.
 */
typedef int (*store_row_cb)(void *ud, size_t ncols, const char *const *names,
                            const struct store_cell *cells);
int store_report(struct store *s, enum store_report which, const struct store_report_args *a,
                 store_row_cb cb, void *ud);

/* A card as the projection knows it: its order, office, state and what it was shipped with. */
struct store_card {
    char order[65];
    char office[65];
    char state[24];
    char serial[65]; /* empty before it was shipped */
    char chip[65];   /* the chip serial recorded at shipment (CPLC), or empty */
};

/*
 * store_card_get() - the card of order. store_card_by_chip() - the card shipped with chip (the
 * latest order if a chip was ever recorded twice). Read the projection as it is. Returns 0,
 * KN_ENOTFOUND, or a database error.
 */
int store_card_get(struct store *s, const char *order, struct store_card *out);
int store_card_by_chip(struct store *s, const char *chip, struct store_card *out);

/*
 * store_hostport_valid() - s is IPV4:PORT (dotted quad, port 1..65535), as node.address carries
 * and the daemon dials.
 */
bool store_hostport_valid(const char *s);

/* A node's address as its latest node.address says (store_addresses). */
struct store_address {
    uint8_t node[STORE_KEY_LEN];
    char addr[64]; /* empty: the node withdrew its address */
    uint64_t seq, at_ms;
    char role[16]; /* as the hub enrolled it; empty for the hub itself or an unknown key */
    bool near;     /* bound to an office that self is also bound to */
};

/*
 * store_addresses() - every announced address of a node not revoked, by node, with what it is
 * to self (the node asking); cb returns non-zero to stop.
 */
int store_addresses(struct store *s, const uint8_t self[STORE_KEY_LEN],
                    int (*cb)(void *data, const struct store_address *a), void *data);

/*
 * This node's own record of each peer and the path it reached it by: "tcp" (a configured or
 * announced address), "lan" (found on the local network) or "bundle" (a file carried by hand).
 * Local: never in the log, never sent.
 */
struct store_link {
    uint8_t node[STORE_KEY_LEN];
    char path[8];
    char addr[128];       /* where it was last reached ("" for a bundle) */
    uint64_t last_ok_ms;  /* last time both sides were caught up, or a bundle of it imported */
    uint64_t last_try_ms; /* last attempt, successful or not */
    uint64_t entries_in, entries_out;
    uint64_t dead_ms; /* the address was given up at this time (0: not) */
    char *clock;      /* JSON {author: seq} the peer held at last_ok_ms, or NULL */
};

/*
 * store_link_note() - merge what l says into the record of (l->node, l->path): addr when not
 * empty, the later of the times, entries added to the counts, clock when not NULL, dead_ms when
 * not 0 (a success clears it). Its own small transaction (outside any other).
 */
int store_link_note(struct store *s, const struct store_link *l);

/* store_links() - every record, by node and path; l->clock is valid during cb only. */
int store_links(struct store *s, int (*cb)(void *data, const struct store_link *l), void *data);

/*
 * store_last_error() - SQLite's message for the last failed database call, for the user.
 * Valid until the next call on s; never NULL.
 */
const char *store_last_error(struct store *s);

/*
 * store_test_interrupt() - for the deterministic simulator (tests/sim/): after about 16 * steps
 * more SQLite virtual machine steps every statement fails (SQLITE_INTERRUPT), as a process killed
 * at that point would stop, wherever it falls: inside a transaction or not. steps 0 removes it.
 */
void store_test_interrupt(struct store *s, uint64_t steps);

#endif
