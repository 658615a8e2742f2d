/* SPDX-License-Identifier: MIT */
/*
 * The replication messages' reader (sync_msg_next, sync/session.c): clock, entries, synced and
 * forks, as they come out of a box-stream. The first input byte says how to split the rest into
 * feeds (the reader must give the same messages however the bytes arrive); every message read is
 * checked against its bounds, written again with sync_msg_put_* and read back to the same
 * message: what the reader accepts, the writer can say, and nothing else.
 */
#include <string.h>

#include "fuzz.h"
#include "sync.h"

static bool same_raw(const struct store_raw *a, const struct store_raw *b)
{
    return a->signed_len == b->signed_len && a->payload_len == b->payload_len &&
           (a->payload == NULL) == (b->payload == NULL) &&
           !memcmp(a->signed_header, b->signed_header, a->signed_len) &&
           (!a->payload || !memcmp(a->payload, b->payload, a->payload_len));
}

/* Write m again, read it back, compare. */
static void round_trip(const struct sync_msg *m)
{
    struct sync_buf out;
    struct sync_msg_reader rd;
    struct sync_msg back;
    sync_buf_init(&out);
    switch (m->type) {
    case SYNC_MSG_CLOCK:
        sync_msg_put_clock(&out, m->clock, m->count);
        break;
    case SYNC_MSG_ENTRIES:
        FUZZ_CHECK(sync_msg_put_entries(&out, m->entries, m->count) == 0);
        break;
    case SYNC_MSG_FORKS:
        FUZZ_CHECK(sync_msg_put_forks(&out, m->entries, m->count) == 0);
        break;
    case SYNC_MSG_SYNCED:
        sync_msg_put_synced(&out);
        break;
    }
    sync_msg_reader_init(&rd);
    sync_msg_reader_feed(&rd, out.data, out.len);
    FUZZ_CHECK(sync_msg_next(&rd, &back) == 1);
    FUZZ_CHECK(back.type == m->type && back.count == m->count);
    for (size_t i = 0; i < m->count; i++) {
        if (m->type == SYNC_MSG_CLOCK)
            FUZZ_CHECK(!memcmp(&back.clock[i], &m->clock[i], sizeof(m->clock[i])));
        else
            FUZZ_CHECK(same_raw(&back.entries[i], &m->entries[i]));
    }
    FUZZ_CHECK(sync_msg_next(&rd, &back) == -EAGAIN);
    sync_msg_reader_finish(&rd);
    sync_buf_finish(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sync_msg_reader rd;
    struct sync_msg m;
    if (size == 0)
        return 0;
    size_t step = (size_t)data[0] + 1, at = 1;
    int r = -EAGAIN;
    sync_msg_reader_init(&rd);
    while (at < size && r == -EAGAIN) {
        size_t n = size - at < step ? size - at : step;
        sync_msg_reader_feed(&rd, data + at, n);
        at += n;
        while ((r = sync_msg_next(&rd, &m)) == 1) {
            FUZZ_CHECK(m.type >= SYNC_MSG_CLOCK && m.type <= SYNC_MSG_FORKS);
            if (m.type == SYNC_MSG_CLOCK)
                FUZZ_CHECK(m.count <= SYNC_MAX_FEEDS);
            if (m.type == SYNC_MSG_ENTRIES || m.type == SYNC_MSG_FORKS) {
                FUZZ_CHECK(m.count <= SYNC_MAX_BATCH);
                for (size_t i = 0; i < m.count; i++) {
                    FUZZ_CHECK(m.entries[i].signed_len <= STORE_MAX_SIGNED);
                    FUZZ_CHECK(m.entries[i].payload_len <= STORE_MAX_PAYLOAD);
                    FUZZ_CHECK(m.type != SYNC_MSG_FORKS || m.entries[i].payload);
                }
            }
            if (m.type == SYNC_MSG_SYNCED)
                FUZZ_CHECK(m.count == 0);
            round_trip(&m);
        }
        /* a malformed message fails the reader for good */
        if (r < 0 && r != -EAGAIN)
            FUZZ_CHECK(sync_msg_next(&rd, &m) < 0 && sync_msg_next(&rd, &m) != -EAGAIN);
    }
    sync_msg_reader_finish(&rd);
    return 0;
}
