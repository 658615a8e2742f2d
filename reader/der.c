/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "kn.h"
#include "store.h"
#include "der.h"

void der_init(struct der *d, const uint8_t *buf, size_t n)
{
    d->p = buf;
    d->n = n;
}

/* The header at buf[0..n): the tag and the value's length; *hdr gets the header's size. */
static int header(const uint8_t *buf, size_t n, size_t *hdr, size_t *len)
{
    if (n < 2)
        return KN_EAGAIN;
    /* Tag numbers 31 and up need more tag bytes; nothing on a PKCS#15 card uses them. */
    if ((buf[0] & 0x1f) == 0x1f || buf[0] == 0)
        return KN_EBADCARD;
    uint8_t b = buf[1];
    if (b < 0x80) {
        *hdr = 2;
        *len = b;
        return 0;
    }
    size_t k = b & 0x7f;
    if (k == 0 || k > 2) /* indefinite, or longer than DER_MAX_LEN could need */
        return k == 0 ? KN_EBADCARD : KN_ETOOBIG;
    if (n < 2 + k)
        return KN_EAGAIN;
    size_t v = k == 1 ? buf[2] : ((size_t)buf[2] << 8) | buf[3];
    /* Shortest form only: a long form for a short length, or a leading zero byte. */
    if (v < 0x80 || (k == 2 && v < 0x100))
        return KN_EBADCARD;
    if (v > DER_MAX_LEN)
        return KN_ETOOBIG;
    *hdr = 2 + k;
    *len = v;
    return 0;
}

long der_header(const uint8_t *buf, size_t n)
{
    size_t hdr, len;
    int r = header(buf, n, &hdr, &len);
    return r < 0 ? r : (long)(hdr + len);
}

int der_next(struct der *d, struct der_tlv *out)
{
    size_t hdr, len;
    if (d->n == 0)
        return 0;
    int r = header(d->p, d->n, &hdr, &len);
    if (r < 0 || len > d->n - hdr)
        return KN_EBADCARD;
    out->tag = d->p[0];
    out->v = d->p + hdr;
    out->len = len;
    out->raw = d->p;
    out->raw_len = hdr + len;
    d->p += hdr + len;
    d->n -= hdr + len;
    return 1;
}

int der_enter(struct der *d, uint8_t tag, struct der *inner)
{
    struct der_tlv t;
    if (der_next(d, &t) != 1 || t.tag != tag)
        return KN_EBADCARD;
    der_init(inner, t.v, t.len);
    return 0;
}

static int check(const uint8_t *buf, size_t n, int depth)
{
    struct der d;
    struct der_tlv t;
    int r;
    if (depth > DER_MAX_DEPTH)
        return KN_EBADCARD;
    der_init(&d, buf, n);
    while ((r = der_next(&d, &t)) == 1)
        if ((t.tag & DER_CONSTRUCTED) && (r = check(t.v, t.len, depth + 1)) < 0)
            return r;
    return r;
}

int der_check(const uint8_t *buf, size_t n)
{
    struct der d;
    struct der_tlv t;
    der_init(&d, buf, n);
    if (der_next(&d, &t) != 1 || d.n != 0)
        return KN_EBADCARD;
    return check(buf, n, 0);
}

static int printable(const struct der_tlv *t)
{
    if ((t->tag != DER_PRINTABLE && t->tag != DER_UTF8) || t->len == 0 || t->len > 64)
        return 0;
    for (size_t i = 0; i < t->len; i++)
        if (t->v[i] < 0x20 || t->v[i] > 0x7e)
            return 0;
    return 1;
}

/* Name ::= SEQUENCE OF RelativeDistinguishedName (SET OF AttributeTypeAndValue). */
static int name_serial(struct der name, char *out, size_t out_size)
{
    static const uint8_t oid_serial[] = { 0x55, 0x04, 0x05 }; /* 2.5.4.5 */
    struct der rdn, atv;
    struct der_tlv oid, val;
    int found = 0;
    while (name.n) {
        if (der_enter(&name, DER_SET, &rdn) < 0)
            return KN_EBADCARD;
        while (rdn.n) {
            if (der_enter(&rdn, DER_SEQUENCE, &atv) < 0 || der_next(&atv, &oid) != 1 ||
                oid.tag != DER_OID || der_next(&atv, &val) != 1 || atv.n != 0)
                return KN_EBADCARD;
            if (oid.len != sizeof(oid_serial) || memcmp(oid.v, oid_serial, oid.len) != 0)
                continue;
            if (!printable(&val) || val.len >= out_size)
                return KN_EBADCARD;
            if (found && (strlen(out) != val.len || memcmp(out, val.v, val.len) != 0))
                return KN_EBADCARD;
            memcpy(out, val.v, val.len);
            out[val.len] = '\0';
            found = 1;
        }
    }
    return found ? 0 : KN_ENOTFOUND;
}

int der_cert_subject_serial(const uint8_t *cert, size_t n, char *out, size_t out_size,
                            char serial_hex[static 41])
{
    struct der d, c, tbs, name;
    struct der_tlv t, serial;
    if (out_size == 0 || der_check(cert, n) < 0)
        return KN_EBADCARD;
    out[0] = '\0';
    serial_hex[0] = '\0';
    der_init(&d, cert, n);
    /* Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue } */
    if (der_enter(&d, DER_SEQUENCE, &c) < 0 || der_enter(&c, DER_SEQUENCE, &tbs) < 0 ||
        der_next(&c, &t) != 1 || t.tag != DER_SEQUENCE || der_next(&c, &t) != 1 ||
        t.tag != DER_BIT_STRING || c.n != 0)
        return KN_EBADCARD;
    /* TBSCertificate: [0] version (optional), serialNumber, signature, issuer, validity, subject */
    if (der_next(&tbs, &t) != 1)
        return KN_EBADCARD;
    if (t.tag == 0xa0 && der_next(&tbs, &t) != 1)
        return KN_EBADCARD;
    serial = t;
    if (serial.tag != DER_INTEGER || serial.len == 0 || serial.len > 21)
        return KN_EBADCARD;
    for (int i = 0; i < 3; i++) /* signature, issuer, validity */
        if (der_next(&tbs, &t) != 1 || t.tag != DER_SEQUENCE)
            return KN_EBADCARD;
    if (der_enter(&tbs, DER_SEQUENCE, &name) < 0)
        return KN_EBADCARD;
    /* A positive INTEGER may carry one leading zero byte; 20 bytes of serial at most (RFC 5280). */
    const uint8_t *s = serial.v;
    size_t sn = serial.len;
    if (sn > 1 && s[0] == 0) {
        s++;
        sn--;
    }
    if (sn > 20)
        return KN_EBADCARD;
    store_hex(s, sn, serial_hex);
    return name_serial(name, out, out_size);
}
