/* SPDX-License-Identifier: MIT */
#ifndef KN_READER_INTERNAL_H
#define KN_READER_INTERNAL_H

#include <PCSC/winscard.h>

#include "reader.h"

/* A PC/SC return value as a KN_E code (0 for success). */
int reader__pcsc_err(LONG rv);

/*
 * reader__identify_in() - connects to the card in reader through ctx, reads its ATR into id and
 * identifies it (reader_identify) inside a PC/SC transaction, and disconnects. Returns 0 or a KN_E
 * code with why filled in.
 */
int reader__identify_in(SCARDCONTEXT ctx, const char *reader, struct reader_identity *id, char *why,
                        size_t why_size);

/* The multi-string of reader names from SCardListReaders into out. Returns 0 or a KN_E code. */
int reader__list(SCARDCONTEXT ctx, struct reader_list *out);

int64_t reader__now_ms(void);

#endif
