/* SPDX-License-Identifier: MIT */
/*
 * Where peers are and how they were last reached: the addresses nodes announce in the log
 * (node.address, projected into p_addresses by events.c) and this node's local record of its
 * links (table links), which `kortnod status` shows per peer and per path.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

bool store_hostport_valid(const char *s)
{
    unsigned a, b, c, d, port;
    char tail;
    if (!s || strlen(s) > 21 ||
        sscanf(s, "%3u.%3u.%3u.%3u:%5u%c", &a, &b, &c, &d, &port, &tail) != 5)
        return false;
    /* Digits only: sscanf would also take signs and spaces. */
    for (const char *p = s; *p; p++)
        if (!(*p >= '0' && *p <= '9') && *p != '.' && *p != ':')
            return false;
    return a < 256 && b < 256 && c < 256 && d < 256 && port >= 1 && port <= 65535;
}

int store_addresses(struct store *s, const uint8_t self[STORE_KEY_LEN],
                    int (*cb)(void *data, const struct store_address *a), void *data)
{
    sqlite3_stmt *st;
    char me[STORE_ID_HEX_LEN + 1];
    int r = store__db_err(sqlite3_prepare_v2(
        s->db,
        "WITH mine(office) AS (SELECT office FROM p_nodes WHERE node = ?1"
        "  UNION SELECT office FROM p_node_offices WHERE node = ?1)"
        " SELECT a.node, a.addr, a.seq, a.at_ms, coalesce(n.role, ''),"
        "  EXISTS(SELECT 1 FROM mine WHERE mine.office != '' AND (mine.office = n.office"
        "   OR mine.office IN (SELECT office FROM p_node_offices o WHERE o.node = a.node)))"
        " FROM p_addresses a LEFT JOIN p_nodes n ON n.node = a.node"
        " WHERE n.revoked_from IS NULL ORDER BY a.node",
        -1, &st, NULL));
    if (r < 0)
        return r;
    store_hex(self, STORE_KEY_LEN, me);
    sqlite3_bind_text(st, 1, me, -1, SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct store_address a = { .seq = (uint64_t)sqlite3_column_int64(st, 2),
                                   .at_ms = (uint64_t)sqlite3_column_int64(st, 3) };
        const char *node = (const char *)sqlite3_column_text(st, 0);
        if (!node || store_unhex(node, a.node, STORE_KEY_LEN) < 0)
            continue;
        snprintf(a.addr, sizeof(a.addr), "%s", (const char *)sqlite3_column_text(st, 1));
        snprintf(a.role, sizeof(a.role), "%s", (const char *)sqlite3_column_text(st, 4));
        a.near = sqlite3_column_int(st, 5) != 0;
        if (cb(data, &a))
            break;
    }
    r = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : store__db_err(rc);
    sqlite3_finalize(st);
    return r;
}

int store_link_note(struct store *s, const struct store_link *l)
{
    sqlite3_stmt *st;
    int r = store__db_err(sqlite3_prepare_v2(
        s->db,
        "INSERT INTO links(node, path, addr, last_ok_ms, last_try_ms, entries_in, entries_out,"
        " clock, dead_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
        " ON CONFLICT(node, path) DO UPDATE SET"
        " addr = CASE WHEN ?3 != '' THEN ?3 ELSE addr END,"
        " last_ok_ms = max(last_ok_ms, ?4), last_try_ms = max(last_try_ms, ?5),"
        " entries_in = entries_in + ?6, entries_out = entries_out + ?7,"
        " clock = coalesce(?8, clock),"
        " dead_ms = CASE WHEN ?9 != 0 THEN ?9 WHEN ?4 != 0 THEN 0 ELSE dead_ms END",
        -1, &st, NULL));
    if (r < 0)
        return r;
    sqlite3_bind_blob(st, 1, l->node, STORE_KEY_LEN, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, l->path, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, l->addr, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, (int64_t)l->last_ok_ms);
    sqlite3_bind_int64(st, 5, (int64_t)l->last_try_ms);
    sqlite3_bind_int64(st, 6, (int64_t)l->entries_in);
    sqlite3_bind_int64(st, 7, (int64_t)l->entries_out);
    if (l->clock)
        sqlite3_bind_text(st, 8, l->clock, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 8);
    sqlite3_bind_int64(st, 9, (int64_t)l->dead_ms);
    r = store__db_err(sqlite3_step(st));
    sqlite3_finalize(st);
    return r;
}

int store_links(struct store *s, int (*cb)(void *data, const struct store_link *l), void *data)
{
    sqlite3_stmt *st;
    int r = store__db_err(
        sqlite3_prepare_v2(s->db,
                           "SELECT node, path, addr, last_ok_ms, last_try_ms, entries_in,"
                           " entries_out, dead_ms, clock FROM links ORDER BY node, path",
                           -1, &st, NULL));
    if (r < 0)
        return r;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct store_link l = { 0 };
        if (sqlite3_column_bytes(st, 0) != STORE_KEY_LEN)
            continue;
        memcpy(l.node, sqlite3_column_blob(st, 0), STORE_KEY_LEN);
        snprintf(l.path, sizeof(l.path), "%s", (const char *)sqlite3_column_text(st, 1));
        snprintf(l.addr, sizeof(l.addr), "%s", (const char *)sqlite3_column_text(st, 2));
        l.last_ok_ms = (uint64_t)sqlite3_column_int64(st, 3);
        l.last_try_ms = (uint64_t)sqlite3_column_int64(st, 4);
        l.entries_in = (uint64_t)sqlite3_column_int64(st, 5);
        l.entries_out = (uint64_t)sqlite3_column_int64(st, 6);
        l.dead_ms = (uint64_t)sqlite3_column_int64(st, 7);
        l.clock = (char *)sqlite3_column_text(st, 8);
        if (cb(data, &l))
            break;
    }
    r = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : store__db_err(rc);
    sqlite3_finalize(st);
    return r;
}
