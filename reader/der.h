/* SPDX-License-Identifier: MIT */
#ifndef KN_DER_H
#define KN_DER_H

/*
 * der - a small, strict reader of DER (ITU-T X.690 distinguished encoding), enough for the
 * PKCS#15 directory files and X.509 certificates on a card. It reads, never allocates, and
 * rejects what DER forbids or what a card never needs: multi-byte tags, the indefinite length,
 * lengths not in their shortest form, lengths beyond DER_MAX_LEN, nesting deeper than
 * DER_MAX_DEPTH, and a value that runs past its container.
 */

#include <stddef.h>
#include <stdint.h>

#define DER_MAX_LEN   16384 /* no file on a card that kortnod reads is larger */
#define DER_MAX_DEPTH 24

#define DER_INTEGER     0x02
#define DER_BIT_STRING  0x03
#define DER_OCTET       0x04
#define DER_OID         0x06
#define DER_UTF8        0x0c
#define DER_PRINTABLE   0x13
#define DER_IA5         0x16
#define DER_SEQUENCE    0x30
#define DER_SET         0x31
#define DER_CONSTRUCTED 0x20

/* A cursor over bytes that hold zero or more whole TLVs. Points into the caller's buffer. */
struct der {
    const uint8_t *p;
    size_t n;
};

/* One element: its tag byte, the value, and the element's whole encoding. */
struct der_tlv {
    uint8_t tag;
    const uint8_t *v;
    size_t len;
    const uint8_t *raw;
    size_t raw_len;
};

/*
 * der_init() - a cursor over buf[0..n). buf is borrowed and must outlive the cursor.
 */
void der_init(struct der *d, const uint8_t *buf, size_t n);

/*
 * der_header() - the length of the whole element that starts at buf[0..n) from its header alone,
 * for reading a file whose size is known only from its first bytes. Returns the total (header
 * plus value, which may exceed n), KN_EAGAIN when the header itself is cut short, KN_ETOOBIG
 * beyond DER_MAX_LEN, or KN_EBADCARD when the header is not DER.
 */
long der_header(const uint8_t *buf, size_t n);

/*
 * der_next() - reads the next element into *out and moves past it. Returns 1, 0 at the end of
 * the cursor, or KN_EBADCARD when the bytes are not a DER element that fits in what is left.
 */
int der_next(struct der *d, struct der_tlv *out);

/*
 * der_enter() - reads the next element, which must carry tag, and sets *inner to its value.
 * Returns 0, or KN_EBADCARD (end of input, other tag, or malformed).
 */
int der_enter(struct der *d, uint8_t tag, struct der *inner);

/*
 * der_check() - whether buf[0..n) is exactly one element whose constructed parts all consist of
 * whole elements, down to DER_MAX_DEPTH. Returns 0 or KN_EBADCARD.
 */
int der_check(const uint8_t *buf, size_t n);

/*
 * der_cert_subject_serial() - the subject's serialNumber attribute (OID 2.5.4.5; the HSA-id on a
 * SITHS card) of the X.509 certificate cert[0..n), as a NUL-terminated string of at most out_size
 * - 1 printable characters, and the certificate's own serial number as lower-case hex into
 * serial_hex (41 bytes: up to 20 bytes of serial). The certificate must be exactly one well-formed
 * element with the X.509 shape (tbsCertificate, signatureAlgorithm, signatureValue). Returns 0,
 * KN_ENOTFOUND when the subject has no serialNumber, or KN_EBADCARD for anything malformed: bad
 * DER, a value that is not a PrintableString/UTF8String of 1..64 printable ASCII characters, or
 * two different serialNumber attributes.
 */
int der_cert_subject_serial(const uint8_t *cert, size_t n, char *out, size_t out_size,
                            char serial_hex[static 41]);

#endif
