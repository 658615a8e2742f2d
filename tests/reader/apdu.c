// SPDX-License-Identifier: MIT
//
// apdu: a tiny PC/SC client for the reader tests (tests/reader/selftest.sh).
//
//   apdu [--reader NAME] [--wait present|absent] [--timeout MS] [HEX...]
//
// Connects to the card in the reader NAME (default: the first reader pcscd lists), shared, T=0
// or T=1, prints its ATR as "atr HEX", then sends each command APDU given in hex and prints each
// response in hex, one a line. With --wait present it first waits (SCardGetStatusChange, at most
// --timeout ms, default 10000) until the reader holds a card; with --wait absent it waits until
// the reader is empty and then, when no APDU is given, exits without connecting. Every wait
// prints "waited N ms" to standard error.
//
// Exit status: 0 done; 1 a transmit or another PC/SC call failed; 2 no pcscd, no reader, or no
// card in the reader; 3 the wait timed out; 64 bad usage.

#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <PCSC/winscard.h>

#define MAX_APDU 65544

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

// parse_hex - hex digits, with spaces or colons allowed between bytes; -1 when not whole bytes.
static long parse_hex(const char *s, uint8_t *out, size_t max)
{
    size_t n = 0;
    while (*s) {
        if (*s == ' ' || *s == ':') {
            s++;
            continue;
        }
        int hi = hexval((unsigned char)s[0]);
        int lo = hi < 0 ? -1 : hexval((unsigned char)s[1]);
        if (hi < 0 || lo < 0 || n == max)
            return -1;
        out[n++] = (uint8_t)(hi << 4 | lo);
        s += 2;
    }
    return (long)n;
}

static void print_hex(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        printf("%02X", p[i]);
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int usage(void)
{
    fputs("usage: apdu [--reader NAME] [--wait present|absent] [--timeout MS] [HEX...]\n", stderr);
    return 64;
}

static bool no_card(LONG rv)
{
    return rv == SCARD_E_NO_SMARTCARD || rv == SCARD_W_REMOVED_CARD ||
           rv == SCARD_W_UNRESPONSIVE_CARD || rv == SCARD_W_UNPOWERED_CARD;
}

// wait_for - wait until the reader holds a card (present) or is empty; 0, 2 or 3 (exit codes).
static int wait_for(SCARDCONTEXT ctx, const char *reader, bool present, long timeout_ms)
{
    long long t0 = now_ms(), deadline = t0 + timeout_ms;
    SCARD_READERSTATE rs = { 0 };
    rs.szReader = reader;
    rs.dwCurrentState = SCARD_STATE_UNAWARE;
    for (;;) {
        long long left = deadline - now_ms();
        LONG rv = SCardGetStatusChange(ctx, left > 0 ? (DWORD)left : 0, &rs, 1);
        if (rv == SCARD_E_TIMEOUT) {
            fprintf(stderr, "apdu: no card %s in '%s' within %ld ms\n", present ? "came" : "left",
                    reader, timeout_ms);
            return 3;
        }
        if (rv != SCARD_S_SUCCESS) {
            fprintf(stderr, "apdu: SCardGetStatusChange: %s\n", pcsc_stringify_error(rv));
            return rv == SCARD_E_UNKNOWN_READER ? 2 : 1;
        }
        DWORD st = rs.dwEventState;
        if (present ? (st & SCARD_STATE_PRESENT) != 0 : (st & SCARD_STATE_EMPTY) != 0) {
            fprintf(stderr, "waited %lld ms\n", now_ms() - t0);
            return 0;
        }
        rs.dwCurrentState = st & ~(DWORD)SCARD_STATE_CHANGED;
    }
}

int main(int argc, char **argv)
{
    const char *reader = NULL, *wait = NULL;
    long timeout_ms = 10000;
    int first_apdu = argc;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--reader") && i + 1 < argc) {
            reader = argv[++i];
        } else if (!strcmp(argv[i], "--wait") && i + 1 < argc) {
            wait = argv[++i];
            if (strcmp(wait, "present") && strcmp(wait, "absent"))
                return usage();
        } else if (!strcmp(argv[i], "--timeout") && i + 1 < argc) {
            char *end;
            timeout_ms = strtol(argv[++i], &end, 10);
            if (*end || timeout_ms < 0)
                return usage();
        } else if (argv[i][0] == '-') {
            return usage();
        } else {
            first_apdu = i;
            break;
        }
    }

    SCARDCONTEXT ctx;
    LONG rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx);
    if (rv != SCARD_S_SUCCESS) {
        fprintf(stderr, "apdu: no pcscd: SCardEstablishContext: %s\n", pcsc_stringify_error(rv));
        return 2;
    }
    int rc = 0;
    char *list = NULL;
    SCARDHANDLE card = 0;
    uint8_t *cmd = malloc(MAX_APDU), *rsp = malloc(MAX_APDU);
    if (!cmd || !rsp) {
        fputs("apdu: out of memory\n", stderr);
        rc = 1;
        goto out;
    }

    if (!reader) {
        DWORD len = 0;
        rv = SCardListReaders(ctx, NULL, NULL, &len);
        if (rv == SCARD_S_SUCCESS && (list = malloc(len)) != NULL)
            rv = SCardListReaders(ctx, NULL, list, &len);
        if (rv != SCARD_S_SUCCESS || !list || !*list) {
            fprintf(stderr, "apdu: no reader: SCardListReaders: %s\n",
                    list ? pcsc_stringify_error(rv) : "out of memory");
            rc = 2;
            goto out;
        }
        reader = list;
    }

    if (wait) {
        rc = wait_for(ctx, reader, !strcmp(wait, "present"), timeout_ms);
        if (rc || (first_apdu == argc && !strcmp(wait, "absent")))
            goto out;
    }

    DWORD proto = 0;
    rv = SCardConnect(ctx, reader, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &card,
                      &proto);
    if (rv != SCARD_S_SUCCESS) {
        fprintf(stderr, "apdu: no card in '%s': SCardConnect: %s\n", reader,
                pcsc_stringify_error(rv));
        rc = no_card(rv) || rv == SCARD_E_UNKNOWN_READER ? 2 : 1;
        card = 0;
        goto out;
    }

    uint8_t atr[MAX_ATR_SIZE];
    DWORD atr_len = sizeof atr, state, name_len = 0;
    rv = SCardStatus(card, NULL, &name_len, &state, &proto, atr, &atr_len);
    if (rv != SCARD_S_SUCCESS) {
        fprintf(stderr, "apdu: SCardStatus: %s\n", pcsc_stringify_error(rv));
        rc = no_card(rv) ? 2 : 1;
        goto out;
    }
    printf("atr ");
    print_hex(atr, atr_len);
    printf("\n");
    fflush(stdout);

    const SCARD_IO_REQUEST *pci = proto == SCARD_PROTOCOL_T0 ? SCARD_PCI_T0 : SCARD_PCI_T1;
    for (int i = first_apdu; i < argc; i++) {
        long n = parse_hex(argv[i], cmd, MAX_APDU);
        if (n < 4) {
            fprintf(stderr, "apdu: '%s' is not a command APDU in hex\n", argv[i]);
            rc = 64;
            goto out;
        }
        DWORD rlen = MAX_APDU;
        rv = SCardTransmit(card, pci, cmd, (DWORD)n, NULL, rsp, &rlen);
        if (rv != SCARD_S_SUCCESS) {
            fprintf(stderr, "apdu: SCardTransmit %s: %s\n", argv[i], pcsc_stringify_error(rv));
            rc = no_card(rv) ? 2 : 1;
            goto out;
        }
        print_hex(rsp, rlen);
        printf("\n");
        fflush(stdout);
    }

out:
    if (card)
        SCardDisconnect(card, SCARD_LEAVE_CARD);
    SCardReleaseContext(ctx);
    free(list);
    free(cmd);
    free(rsp);
    return rc;
}
