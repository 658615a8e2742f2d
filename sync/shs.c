/* SPDX-License-Identifier: MIT */
/*
 * Secure Scuttlebutt's secret handshake and box-stream, sans-IO. The byte layout and every key
 * derivation follow the Scuttlebutt protocol guide; docs/protocol.md repeats them. Interop with
 * the npm reference packages is tested in tests/interop/.
 *
 *   client -> server  hello    hmac(netkey, a_pub)[0..32] || a_pub                    64 bytes
 *   server -> client  hello    hmac(netkey, b_pub)[0..32] || b_pub                    64 bytes
 *   client -> server  auth     secretbox(sig_A || A_pub, zero nonce,
 *                              sha256(netkey || ab || aB))                            112 bytes
 *                              sig_A = sign(netkey || B_pub || sha256(ab), A_sk)
 *   server -> client  accept   secretbox(sig_B, zero nonce, sha256(netkey || ab || aB || Ab))
 *                              sig_B = sign(netkey || sig_A || A_pub || sha256(ab), B_sk)  80
 *
 * with ab = a*b, aB = a*curve(B) (= curve(b)*a), Ab = curve(A)*b (= b*curve(A)): lower case
 * ephemeral, upper case long-term keys.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "sync.h"

#define HELLO_LEN  64
#define AUTH_LEN   112
#define ACCEPT_LEN 80

static void init_common(struct sync_shs *h, const uint8_t netkey[SYNC_NETKEY_LEN],
                        const uint8_t pk[STORE_KEY_LEN], const uint8_t sk[STORE_SECRET_LEN])
{
    memset(h, 0, sizeof(*h));
    if (sodium_init() < 0)
        h->state = SYNC_SHS_FAILED;
    memcpy(h->netkey, netkey, SYNC_NETKEY_LEN);
    memcpy(h->pk, pk, STORE_KEY_LEN);
    h->sk = sk;
    crypto_box_keypair(h->eph_pk, h->eph_sk);
}

void sync_shs_init_client(struct sync_shs *h, const uint8_t netkey[static SYNC_NETKEY_LEN],
                          const uint8_t pk[static STORE_KEY_LEN],
                          const uint8_t sk[static STORE_SECRET_LEN],
                          const uint8_t server_pk[static STORE_KEY_LEN])
{
    init_common(h, netkey, pk, sk);
    memcpy(h->remote_pk, server_pk, STORE_KEY_LEN);
    if (h->state != SYNC_SHS_FAILED)
        h->state = SYNC_SHS_CLIENT_HELLO;
}

void sync_shs_init_server(struct sync_shs *h, const uint8_t netkey[static SYNC_NETKEY_LEN],
                          const uint8_t pk[static STORE_KEY_LEN],
                          const uint8_t sk[static STORE_SECRET_LEN])
{
    init_common(h, netkey, pk, sk);
    if (h->state != SYNC_SHS_FAILED)
        h->state = SYNC_SHS_WAIT_HELLO;
}

void sync_shs_finish(struct sync_shs *h)
{
    sodium_memzero(h, sizeof(*h));
}

size_t sync_shs_want(const struct sync_shs *h)
{
    switch (h->state) {
    case SYNC_SHS_SERVER_HELLO:
    case SYNC_SHS_WAIT_HELLO:
        return HELLO_LEN;
    case SYNC_SHS_WAIT_AUTH:
        return AUTH_LEN;
    case SYNC_SHS_CLIENT_ACCEPT:
        return ACCEPT_LEN;
    default:
        return 0;
    }
}

static void hello(const struct sync_shs *h, struct sync_buf *out)
{
    uint8_t mac[crypto_auth_hmacsha512256_BYTES];
    crypto_auth_hmacsha512256(mac, h->eph_pk, 32, h->netkey);
    sync_buf_append(out, mac, 32);
    sync_buf_append(out, h->eph_pk, 32);
}

static int check_hello(struct sync_shs *h, const uint8_t *in)
{
    if (crypto_auth_hmacsha512256_verify(in, in + 32, 32, h->netkey) != 0)
        return KN_EPROTO;
    memcpy(h->remote_eph, in + 32, 32);
    return crypto_scalarmult(h->ab, h->eph_sk, h->remote_eph) == 0 ? 0 : KN_EPROTO;
}

/* sha256 over up to four 32- or 64-byte pieces. */
static void sha256_of(uint8_t out[32], const uint8_t *a, size_t alen, const uint8_t *b, size_t blen,
                      const uint8_t *c, size_t clen, const uint8_t *d, size_t dlen)
{
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, a, alen);
    if (b)
        crypto_hash_sha256_update(&st, b, blen);
    if (c)
        crypto_hash_sha256_update(&st, c, clen);
    if (d)
        crypto_hash_sha256_update(&st, d, dlen);
    crypto_hash_sha256_final(&st, out);
}

/* What sig_A signs: netkey || B_pub || sha256(ab). */
static void msg_a(const struct sync_shs *h, const uint8_t server_pk[32], uint8_t out[96])
{
    memcpy(out, h->netkey, 32);
    memcpy(out + 32, server_pk, 32);
    crypto_hash_sha256(out + 64, h->ab, 32);
}

/* What sig_B signs: netkey || sig_A || A_pub || sha256(ab). */
static void msg_b(const struct sync_shs *h, const uint8_t client_pk[32], uint8_t out[160])
{
    memcpy(out, h->netkey, 32);
    memcpy(out + 32, h->sig_a, 64);
    memcpy(out + 96, client_pk, 32);
    crypto_hash_sha256(out + 128, h->ab, 32);
}

static const uint8_t zero_nonce[crypto_secretbox_NONCEBYTES];

static int client_auth(struct sync_shs *h, struct sync_buf *out)
{
    uint8_t curve_b[32], msg[96], key[32], plain[96], box[AUTH_LEN];
    int r = KN_EPROTO;

    if (crypto_sign_ed25519_pk_to_curve25519(curve_b, h->remote_pk) != 0 ||
        crypto_scalarmult(h->aB, h->eph_sk, curve_b) != 0)
        goto out;
    msg_a(h, h->remote_pk, msg);
    crypto_sign_detached(h->sig_a, NULL, msg, sizeof(msg), h->sk);
    memcpy(plain, h->sig_a, 64);
    memcpy(plain + 64, h->pk, 32);
    sha256_of(key, h->netkey, 32, h->ab, 32, h->aB, 32, NULL, 0);
    crypto_secretbox_easy(box, plain, sizeof(plain), zero_nonce, key);
    sync_buf_append(out, box, sizeof(box));
    r = 0;
out:
    sodium_memzero(key, sizeof(key));
    return r;
}

static int server_auth(struct sync_shs *h, const uint8_t *in, struct sync_buf *out)
{
    uint8_t curve_sk[32], curve_a[32], key[32], plain[96], msg[160], sig_b[64], box[ACCEPT_LEN];
    int r = KN_EPROTO;

    if (crypto_sign_ed25519_sk_to_curve25519(curve_sk, h->sk) != 0 ||
        crypto_scalarmult(h->aB, curve_sk, h->remote_eph) != 0)
        goto out;
    sha256_of(key, h->netkey, 32, h->ab, 32, h->aB, 32, NULL, 0);
    if (crypto_secretbox_open_easy(plain, in, AUTH_LEN, zero_nonce, key) != 0)
        goto out;
    memcpy(h->sig_a, plain, 64);
    memcpy(h->remote_pk, plain + 64, 32);
    uint8_t expect[96];
    msg_a(h, h->pk, expect);
    if (crypto_sign_verify_detached(h->sig_a, expect, sizeof(expect), h->remote_pk) != 0)
        goto out;
    if (crypto_sign_ed25519_pk_to_curve25519(curve_a, h->remote_pk) != 0 ||
        crypto_scalarmult(h->Ab, h->eph_sk, curve_a) != 0)
        goto out;
    msg_b(h, h->remote_pk, msg);
    crypto_sign_detached(sig_b, NULL, msg, sizeof(msg), h->sk);
    sha256_of(key, h->netkey, 32, h->ab, 32, h->aB, 32, h->Ab, 32);
    crypto_secretbox_easy(box, sig_b, sizeof(sig_b), zero_nonce, key);
    sync_buf_append(out, box, sizeof(box));
    r = 0;
out:
    sodium_memzero(curve_sk, sizeof(curve_sk));
    sodium_memzero(key, sizeof(key));
    return r;
}

static int client_accept(struct sync_shs *h, const uint8_t *in)
{
    uint8_t curve_sk[32], key[32], sig_b[64], msg[160];
    int r = KN_EPROTO;

    if (crypto_sign_ed25519_sk_to_curve25519(curve_sk, h->sk) != 0 ||
        crypto_scalarmult(h->Ab, curve_sk, h->remote_eph) != 0)
        goto out;
    sha256_of(key, h->netkey, 32, h->ab, 32, h->aB, 32, h->Ab, 32);
    if (crypto_secretbox_open_easy(sig_b, in, ACCEPT_LEN, zero_nonce, key) != 0)
        goto out;
    msg_b(h, h->pk, msg);
    if (crypto_sign_verify_detached(sig_b, msg, sizeof(msg), h->remote_pk) != 0)
        goto out;
    r = 0;
out:
    sodium_memzero(curve_sk, sizeof(curve_sk));
    sodium_memzero(key, sizeof(key));
    return r;
}

int sync_shs_step(struct sync_shs *h, const uint8_t *in, size_t inlen, size_t *used,
                  struct sync_buf *out)
{
    size_t want = sync_shs_want(h);
    int r = 0;

    *used = 0;
    if (h->state == SYNC_SHS_FAILED)
        return KN_EPROTO;
    if (h->state == SYNC_SHS_DONE)
        return 1;
    if (h->state == SYNC_SHS_CLIENT_HELLO) {
        hello(h, out);
        h->state = SYNC_SHS_SERVER_HELLO;
        return 0;
    }
    if (inlen < want)
        return -EAGAIN;
    *used = want;
    switch (h->state) {
    case SYNC_SHS_WAIT_HELLO:
        if ((r = check_hello(h, in)) == 0) {
            hello(h, out);
            h->state = SYNC_SHS_WAIT_AUTH;
        }
        break;
    case SYNC_SHS_SERVER_HELLO:
        if ((r = check_hello(h, in)) == 0 && (r = client_auth(h, out)) == 0)
            h->state = SYNC_SHS_CLIENT_ACCEPT;
        break;
    case SYNC_SHS_WAIT_AUTH:
        if ((r = server_auth(h, in, out)) == 0) {
            h->state = SYNC_SHS_DONE;
            return 1;
        }
        break;
    case SYNC_SHS_CLIENT_ACCEPT:
        if ((r = client_accept(h, in)) == 0) {
            h->state = SYNC_SHS_DONE;
            return 1;
        }
        break;
    default:
        r = KN_EPROTO;
    }
    if (r < 0)
        h->state = SYNC_SHS_FAILED;
    return r;
}

void sync_shs_boxes(const struct sync_shs *h, struct sync_box *send, struct sync_box *recv)
{
    uint8_t inner[32], secret[32], mac[crypto_auth_hmacsha512256_BYTES];
    sha256_of(inner, h->netkey, 32, h->ab, 32, h->aB, 32, h->Ab, 32);
    crypto_hash_sha256(secret, inner, 32);
    /* Each direction: key = sha256(secret || receiver's long-term key), first nonce =
     * hmac(netkey, receiver's ephemeral key)[0..24]. */
    sha256_of(send->key, secret, 32, h->remote_pk, 32, NULL, 0, NULL, 0);
    crypto_auth_hmacsha512256(mac, h->remote_eph, 32, h->netkey);
    memcpy(send->nonce, mac, 24);
    sha256_of(recv->key, secret, 32, h->pk, 32, NULL, 0, NULL, 0);
    crypto_auth_hmacsha512256(mac, h->eph_pk, 32, h->netkey);
    memcpy(recv->nonce, mac, 24);
    sodium_memzero(inner, sizeof(inner));
    sodium_memzero(secret, sizeof(secret));
}

/* ---- box-stream ---- */

/* The nonce counts as one big-endian number. */
static void nonce_next(uint8_t nonce[24])
{
    for (int i = 23; i >= 0; i--)
        if (++nonce[i] != 0)
            break;
}

void sync_box_seal(struct sync_box *b, const uint8_t *msg, size_t len, struct sync_buf *out)
{
    uint8_t header_plain[18], header[SYNC_BOX_HEADER], body_nonce[24];
    uint8_t *body = kn_xmalloc(SYNC_BOX_MAX_BODY);

    while (len > 0) {
        size_t n = len < SYNC_BOX_MAX_BODY ? len : SYNC_BOX_MAX_BODY;
        memcpy(body_nonce, b->nonce, 24);
        nonce_next(body_nonce);
        /* The body under nonce + 1, its tag into the header, the header under nonce. */
        crypto_secretbox_detached(body, header_plain + 2, msg, n, body_nonce, b->key);
        header_plain[0] = (uint8_t)(n >> 8);
        header_plain[1] = (uint8_t)n;
        crypto_secretbox_easy(header, header_plain, sizeof(header_plain), b->nonce, b->key);
        sync_buf_append(out, header, sizeof(header));
        sync_buf_append(out, body, n);
        nonce_next(b->nonce);
        nonce_next(b->nonce);
        msg += n;
        len -= n;
    }
    free(body);
}

void sync_box_goodbye(struct sync_box *b, struct sync_buf *out)
{
    static const uint8_t zeros[18];
    uint8_t header[SYNC_BOX_HEADER];
    crypto_secretbox_easy(header, zeros, sizeof(zeros), b->nonce, b->key);
    sync_buf_append(out, header, sizeof(header));
    nonce_next(b->nonce);
    nonce_next(b->nonce);
}

int sync_box_open(struct sync_box *b, const uint8_t *in, size_t inlen, size_t *used,
                  struct sync_buf *plain)
{
    static const uint8_t zeros[18];
    uint8_t header[18], body_nonce[24];

    *used = 0;
    while (inlen - *used >= SYNC_BOX_HEADER) {
        const uint8_t *p = in + *used;
        if (crypto_secretbox_open_easy(header, p, SYNC_BOX_HEADER, b->nonce, b->key) != 0)
            return KN_EPROTO;
        if (sodium_memcmp(header, zeros, sizeof(zeros)) == 0) {
            *used += SYNC_BOX_HEADER;
            nonce_next(b->nonce);
            nonce_next(b->nonce);
            return 1;
        }
        size_t n = (size_t)header[0] << 8 | header[1];
        if (n == 0 || n > SYNC_BOX_MAX_BODY)
            return KN_EPROTO;
        if (inlen - *used - SYNC_BOX_HEADER < n)
            return 0; /* the header is read again with the body: nothing changed yet */
        memcpy(body_nonce, b->nonce, 24);
        nonce_next(body_nonce);
        size_t at = plain->len;
        sync_buf_append(plain, p + SYNC_BOX_HEADER, n);
        if (crypto_secretbox_open_detached(plain->data + at, plain->data + at, header + 2, n,
                                           body_nonce, b->key) != 0) {
            plain->len = at;
            return KN_EPROTO;
        }
        *used += SYNC_BOX_HEADER + n;
        nonce_next(b->nonce);
        nonce_next(b->nonce);
    }
    return 0;
}
