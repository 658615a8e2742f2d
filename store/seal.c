/* SPDX-License-Identifier: MIT */
/*
 * Sealed personal data: a holder's name, personal identity number, phone and e-mail travel in
 * every node's log, but only the hub and the nodes of the order's office can read them.
 *
 * Each office has a key pair (X25519). Its 32-byte seed is derived by the hub from the hub's own
 * secret key and the office id, so the hub keeps no extra secret and can always derive it
 * again. When the hub enrols a node for an office, the node.bound entry carries the seed sealed
 * to that node's key (office_key: crypto_box_seal to the node's Ed25519 key converted to
 * X25519). Personal data is sealed twice, to the hub's key and to the office's public key, with
 * crypto_box_seal (anonymous sender, X25519 + XSalsa20-Poly1305).
 *
 * Why an office key rather than sealing to each node of the office: a node enrolled later for
 * the office reads the office's earlier orders at once (its enrolment carries the seed), with
 * no re-sealing of old entries and no hub online; an entry stays the same size however many
 * nodes an office has. The cost: every node ever enrolled for the office can read every order
 * of it, and revoking a node does not take back what it could read. Derivation from the hub's
 * key means a stolen hub key reveals every office's data — as it would anyway (the hub reads all).
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "internal.h"

#define SEAL_LABEL "kortnod office key v1"

static int curve_pk(const uint8_t ed_pk[STORE_KEY_LEN], uint8_t out[crypto_box_PUBLICKEYBYTES])
{
    return crypto_sign_ed25519_pk_to_curve25519(out, ed_pk) == 0 ? 0 : KN_ECRYPTO;
}

static bool is_hub(struct store *s)
{
    uint8_t hub[STORE_KEY_LEN];
    return s->id && store__hub(s, hub) && memcmp(hub, s->id->pk, STORE_KEY_LEN) == 0;
}

/* At the hub: the office's seed, from the hub's secret key and the office id. */
static int hub_office_seed(struct store *s, const char *office, uint8_t seed[32])
{
    crypto_generichash_state h;
    if (!is_hub(s) || !s->id->sk)
        return KN_EINVAL;
    /* The Ed25519 secret key's first 32 bytes are its seed. */
    crypto_generichash_init(&h, s->id->sk, 32, 32);
    crypto_generichash_update(&h, (const uint8_t *)SEAL_LABEL, sizeof(SEAL_LABEL));
    crypto_generichash_update(&h, (const uint8_t *)office, strlen(office));
    crypto_generichash_final(&h, seed, 32);
    return 0;
}

/* Elsewhere: the seed the hub sealed to this node in its enrolment for office. */
static int node_office_seed(struct store *s, const char *office, uint8_t seed[32])
{
    sqlite3_stmt *st;
    uint8_t pk[crypto_box_PUBLICKEYBYTES], sk[crypto_box_SECRETKEYBYTES];
    int r;
    if (!s->id || !s->id->sk)
        return KN_EINVAL;
    r = store__db_err(sqlite3_prepare_v2(
        s->db,
        "SELECT k.office_key FROM t_node_keys k JOIN t_nodes t ON t.node = k.node"
        " WHERE k.node = ?1 AND k.office = ?2 AND t.revoked_from IS NULL",
        -1, &st, NULL));
    if (r < 0)
        return r;
    sqlite3_bind_blob(st, 1, s->id->pk, STORE_KEY_LEN, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, office, -1, SQLITE_STATIC);
    r = KN_ENOTFOUND;
    if (sqlite3_step(st) == SQLITE_ROW &&
        sqlite3_column_bytes(st, 0) == 32 + crypto_box_SEALBYTES &&
        crypto_sign_ed25519_pk_to_curve25519(pk, s->id->pk) == 0 &&
        crypto_sign_ed25519_sk_to_curve25519(sk, s->id->sk) == 0 &&
        crypto_box_seal_open(seed, sqlite3_column_blob(st, 0), 32 + crypto_box_SEALBYTES, pk, sk) ==
            0)
        r = 0;
    sodium_memzero(sk, sizeof(sk));
    sqlite3_finalize(st);
    return r;
}

static int office_seed(struct store *s, const char *office, uint8_t seed[32])
{
    return is_hub(s) ? hub_office_seed(s, office, seed) : node_office_seed(s, office, seed);
}

int store_office_key_for(struct store *s, const char *office, const uint8_t node[STORE_KEY_LEN],
                         uint8_t out[STORE_OFFICE_KEY_LEN])
{
    uint8_t seed[32], pk[crypto_box_PUBLICKEYBYTES];
    int r = hub_office_seed(s, office, seed);
    if (r == 0 && (r = curve_pk(node, pk)) == 0 && crypto_box_seal(out, seed, 32, pk) != 0)
        r = KN_ECRYPTO;
    sodium_memzero(seed, sizeof(seed));
    return r;
}

int store_seal(struct store *s, const char *office, const uint8_t *msg, size_t len, uint8_t **out,
               size_t *outlen)
{
    uint8_t hub[STORE_KEY_LEN], seed[32], hub_pk[crypto_box_PUBLICKEYBYTES],
        office_pk[crypto_box_PUBLICKEYBYTES], office_sk[crypto_box_SECRETKEYBYTES];
    int r;

    *out = NULL;
    if (!store__hub(s, hub))
        return KN_ENOHUB;
    if (len > (DOM_MAX_BIN - 2 * crypto_box_SEALBYTES) / 2)
        return KN_ETOOBIG;
    if ((r = office_seed(s, office, seed)) < 0)
        return r;
    crypto_box_seed_keypair(office_pk, office_sk, seed);
    sodium_memzero(seed, sizeof(seed));
    sodium_memzero(office_sk, sizeof(office_sk));
    if ((r = curve_pk(hub, hub_pk)) < 0)
        return r;
    /* The box to the hub, then the box to the office: two halves of one length. */
    size_t box = len + crypto_box_SEALBYTES;
    uint8_t *b = kn_xmalloc(2 * box);
    if (crypto_box_seal(b, msg, len, hub_pk) != 0 ||
        crypto_box_seal(b + box, msg, len, office_pk) != 0) {
        free(b);
        return KN_ECRYPTO;
    }
    *out = b;
    *outlen = 2 * box;
    return 0;
}

int store_unseal(struct store *s, const char *office, const uint8_t *sealed, size_t len,
                 uint8_t **out, size_t *outlen)
{
    uint8_t pk[crypto_box_PUBLICKEYBYTES], sk[crypto_box_SECRETKEYBYTES], seed[32];
    const uint8_t *half;
    int r;

    *out = NULL;
    if (len % 2 || len / 2 < crypto_box_SEALBYTES)
        return KN_EFIELD;
    size_t box = len / 2, plen = box - crypto_box_SEALBYTES;
    if (is_hub(s)) {
        half = sealed; /* the hub's own box */
        if (crypto_sign_ed25519_pk_to_curve25519(pk, s->id->pk) != 0 ||
            crypto_sign_ed25519_sk_to_curve25519(sk, s->id->sk) != 0)
            return KN_ECRYPTO;
    } else {
        half = sealed + box;
        if ((r = node_office_seed(s, office, seed)) < 0)
            return r == KN_ENOTFOUND ? KN_ESEALED : r;
        crypto_box_seed_keypair(pk, sk, seed);
        sodium_memzero(seed, sizeof(seed));
    }
    uint8_t *m = kn_xmalloc(plen + 1);
    r = crypto_box_seal_open(m, half, box, pk, sk) == 0 ? 0 : KN_ESEALED;
    sodium_memzero(sk, sizeof(sk));
    if (r < 0) {
        free(m);
        return r;
    }
    m[plen] = '\0';
    *out = m;
    *outlen = plen;
    return 0;
}

/* The id field (kind "order" or "reserve") of a *.holder payload, and its sealed bytes. */
static bool holder_fields(const uint8_t *p, size_t len, const char *kind, const uint8_t **id,
                          uint32_t *idlen, const uint8_t **sealed, uint32_t *slen)
{
    struct store_mp m = { p, p + len };
    const uint8_t *k;
    uint32_t klen;
    if (len == 0 || p[0] != 0x82)
        return false;
    m.p++;
    /* canonical key order: "order" and "reserve" both sort before "sealed" */
    return store_mp_str(&m, &k, &klen) == 0 && klen == strlen(kind) && !memcmp(k, kind, klen) &&
           store_mp_str(&m, id, idlen) == 0 && store_mp_str(&m, &k, &klen) == 0 && klen == 6 &&
           !memcmp(k, "sealed", 6) && store_mp_bin(&m, sealed, slen) == 0;
}

/* Each applied order.holder / reserve.holder entry of id that still has its payload, in order. */
typedef int (*holder_cb)(void *ud, const uint8_t *author, uint64_t seq, const uint8_t *sealed,
                         uint32_t slen);

static int each_holder(struct store *s, const char *kind, const char *id, holder_cb cb, void *ud)
{
    sqlite3_stmt *st;
    if (strcmp(kind, "order") && strcmp(kind, "reserve"))
        return KN_EINVAL;
    int rc, r = store__db_err(
                sqlite3_prepare_v2(s->db,
                                   "SELECT a.author, a.seq, p.body FROM p_applied a"
                                   " JOIN payloads p ON p.author = a.author AND p.seq = a.seq"
                                   " WHERE a.type = ?1 AND a.status = 0 ORDER BY a.height, a.hash",
                                   -1, &st, NULL));
    if (r < 0)
        return r;
    sqlite3_bind_text(st, 1, !strcmp(kind, "reserve") ? "reserve.holder" : "order.holder", -1,
                      SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const uint8_t *o, *sealed;
        uint32_t olen, slen;
        if (sqlite3_column_bytes(st, 0) != STORE_KEY_LEN ||
            !holder_fields(sqlite3_column_blob(st, 2), (size_t)sqlite3_column_bytes(st, 2), kind,
                           &o, &olen, &sealed, &slen) ||
            olen != strlen(id) || memcmp(o, id, olen) != 0)
            continue;
        if ((r = cb(ud, sqlite3_column_blob(st, 0), (uint64_t)sqlite3_column_int64(st, 1), sealed,
                    slen)) != 0)
            break;
    }
    if (r == 0 && rc != SQLITE_ROW && rc != SQLITE_DONE)
        r = store__db_err(rc);
    sqlite3_finalize(st);
    return r;
}

struct latest {
    uint8_t *sealed;
    size_t len;
};

static int keep_latest(void *ud, const uint8_t *author, uint64_t seq, const uint8_t *sealed,
                       uint32_t slen)
{
    struct latest *l = ud;
    (void)author;
    (void)seq;
    free(l->sealed);
    l->sealed = kn_xmalloc(slen ? slen : 1);
    memcpy(l->sealed, sealed, slen);
    l->len = slen;
    return 0;
}

int store_holder_personal(struct store *s, const char *kind, const char *id, uint8_t **out,
                          size_t *outlen)
{
    struct latest l = { 0 };
    sqlite3_stmt *st;
    *out = NULL;
    int r = each_holder(s, kind, id, keep_latest, &l);
    if (r == 0 && !l.sealed)
        r = KN_ENOTFOUND;
    if (r == 0)
        r = store__db_err(sqlite3_prepare_v2(
            s->db,
            !strcmp(kind, "reserve") ? "SELECT office FROM p_reserves WHERE reserve = ?1"
                                     : "SELECT office FROM p_orders WHERE order_id = ?1",
            -1, &st, NULL));
    if (r == 0) {
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        const char *office =
            sqlite3_step(st) == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : NULL;
        r = store_unseal(s, office ? office : "", l.sealed, l.len, out, outlen);
        sqlite3_finalize(st);
    }
    free(l.sealed);
    return r;
}

struct holder_ids {
    store_entry_id_cb cb;
    void *ud;
};

static int pass_id(void *ud, const uint8_t *author, uint64_t seq, const uint8_t *sealed,
                   uint32_t slen)
{
    struct holder_ids *h = ud;
    (void)sealed;
    (void)slen;
    return h->cb(h->ud, author, seq);
}

int store_holder_entries(struct store *s, const char *kind, const char *id, store_entry_id_cb cb,
                         void *ud)
{
    struct holder_ids h = { cb, ud };
    return each_holder(s, kind, id, pass_id, &h);
}
