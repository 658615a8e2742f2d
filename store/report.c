/* SPDX-License-Identifier: MIT */
/*
 * Reports over the card domain's projection. Each is one or more SQL queries whose rows go to
 * the caller as named cells; node/ turns them into a table, JSON or CSV. Amounts are in whole
 * SEK (the rates of DOMAIN.md are whole kronor); months are Swedish time (dom_month).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define DAY_MS 86400000ll

/* SQL function kn_add_months(ms, n): the calendar arithmetic the projectors use. */
static void add_months_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    if (sqlite3_value_type(argv[0]) == SQLITE_NULL) {
        sqlite3_result_null(ctx);
        return;
    }
    int64_t ms = sqlite3_value_int64(argv[0]);
    int months = sqlite3_value_int(argv[1]);
    sqlite3_result_int64(ctx, ms < 0 ? ms : (int64_t)dom_add_months((uint64_t)ms, months));
}

/* SQL function kn_day(ms): the day "YYYY-MM-DD" of ms in Swedish time. */
static void day_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    char day[11];
    if (sqlite3_value_type(argv[0]) != SQLITE_INTEGER || sqlite3_value_int64(argv[0]) < 0) {
        sqlite3_result_null(ctx);
        return;
    }
    dom_day((uint64_t)sqlite3_value_int64(argv[0]), day);
    sqlite3_result_text(ctx, day, -1, SQLITE_TRANSIENT);
}

/* ?1 = office or NULL, ?2 = now (ms). The ageing columns: days since the oldest card now in
 * transit was shipped, since the oldest notice came, since the oldest card in storage was
 * collected (or stored), NULL when there is none. The inner query reads only the index
 * p_orders_stage (office, state and the stages' times). */
int store__report_functions(struct store *s)
{
    int rc = sqlite3_create_function(s->db, "kn_add_months", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC,
                                     NULL, add_months_fn, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_create_function(s->db, "kn_day", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL,
                                     day_fn, NULL, NULL);
    return store__db_err(rc);
}

static const char sql_stock[] =
    "SELECT o.office AS office, o.kind AS kind, o.status AS status,"
    " coalesce(sum(g.n) FILTER (WHERE g.state = 'ordered'), 0) AS ordered,"
    " coalesce(sum(g.n) FILTER (WHERE g.state = 'shipped'), 0) AS in_transit,"
    " coalesce(sum(g.n) FILTER (WHERE g.state = 'notice'), 0) AS notice_waiting,"
    " coalesce(sum(g.n) FILTER (WHERE g.state IN ('collected', 'stored')), 0) AS locked_storage,"
    " coalesce(sum(g.n) FILTER (WHERE g.state = 'handed-over'), 0) AS handed_over,"
    " (?2 - min(g.since) FILTER (WHERE g.state = 'shipped')) / 86400000 AS oldest_in_transit_days,"
    " (?2 - min(g.since) FILTER (WHERE g.state = 'notice')) / 86400000 AS oldest_notice_days,"
    " (?2 - min(g.since) FILTER (WHERE g.state IN ('collected', 'stored'))) / 86400000"
    "  AS oldest_locked_days"
    " FROM p_offices o LEFT JOIN (SELECT office, state, count(*) AS n,"
    "  min(coalesce(stored_ms, collected_ms, notice_ms, shipped_ms)) AS since FROM p_orders"
    "  WHERE ?1 IS NULL OR office = ?1 GROUP BY office, state) g ON g.office = o.office"
    " WHERE ?1 IS NULL OR o.office = ?1 GROUP BY o.office ORDER BY o.office";

static const char sql_orders[] =
    "SELECT order_id AS order_id, office, care_provider, card_type, state,"
    " coalesce(serial, '') AS serial, failed_meetings, coalesce(closed_reason, '') AS reason,"
    " handed_over_ms"
    " FROM p_orders WHERE (?1 IS NULL OR state = ?1) AND (?2 IS NULL OR office = ?2)"
    " AND (?3 IS NULL OR instr(lower(order_id), lower(?3)) OR instr(lower(serial), lower(?3))"
    "  OR instr(lower(care_provider), lower(?3)))"
    " ORDER BY order_id LIMIT ?4";

/* ?1 = now (ms), ?2 = office or NULL: hand-overs per day (Swedish time) over the 13 weeks
 * before now, for the hub's chart of hand-overs per week. */
static const char sql_handovers[] =
    "SELECT kn_day(handed_over_ms) AS day, count(*) AS handovers FROM p_orders"
    " WHERE handed_over_ms >= ?1 - 91 * 86400000 AND (?2 IS NULL OR office = ?2)"
    " GROUP BY 1 ORDER BY 1";

static const char sql_conflicts[] =
    "SELECT lower(hex(author)) AS author, seq, type,"
    " CASE status WHEN 1 THEN 'conflict' ELSE 'invalid' END AS status, reason"
    " FROM p_applied WHERE status != 0 ORDER BY height, hash";

/* ?1 = now (ms). Thresholds: DOMAIN.md says delivery takes 2-4 weeks; a card stored 30 days
 * without a hand-over is worth a call to the holder; audits are due every three months. */
static const char sql_alerts[] =
    "SELECT 'not-received' AS alert, office, order_id AS subject,"
    " 'shipped ' || ((?1 - shipped_ms) / 86400000) || ' days ago, no notice received' AS detail"
    " FROM p_orders WHERE state = 'shipped' AND shipped_ms < ?1 - 28 * 86400000"
    " UNION ALL SELECT 'stored-long', office, order_id,"
    " 'in storage ' || ((?1 - coalesce(stored_ms, collected_ms)) / 86400000) || ' days'"
    " FROM p_orders WHERE state IN ('collected', 'stored')"
    " AND coalesce(stored_ms, collected_ms) < ?1 - 30 * 86400000"
    " UNION ALL SELECT 'reserve-overdue', office, reserve,"
    " 'valid until ' || strftime('%Y-%m-%d', valid_until_ms / 1000, 'unixepoch') || ', not "
    "returned'"
    " FROM p_reserves WHERE returned_ms IS NULL AND valid_until_ms < ?1"
    " UNION ALL SELECT 'audit-overdue', office, entry,"
    " 'last audit ' || strftime('%Y-%m-%d', audited_ms / 1000, 'unixepoch')"
    " FROM p_catalogue WHERE removed_ms IS NULL AND kn_add_months(audited_ms, 3) < ?1"
    " AND valid_until_ms >= ?1"
    " UNION ALL SELECT 'catalogue-lapsed', office, entry,"
    " 'not confirmed since ' || strftime('%Y-%m-%d', audited_ms / 1000, 'unixepoch')"
    " || '; deregister or add again'"
    " FROM p_catalogue WHERE removed_ms IS NULL AND valid_until_ms < ?1"
    " UNION ALL SELECT 'receipt-not-archived', office, reserve,"
    " 'receipt ' || receipt || ' of ' || strftime('%Y-%m-%d', issued_ms / 1000, 'unixepoch')"
    " || ' not archived'"
    " FROM p_reserves WHERE receipt_archived_ms IS NULL AND issued_ms < ?1 - 7 * 86400000"
    " UNION ALL SELECT 'too-few-administrators', o.office, o.office,"
    " (SELECT count(*) FROM p_admins a WHERE a.office = o.office) || ' administrator(s); an"
    " organisation office needs two'"
    " FROM p_offices o WHERE o.kind = 'organisation' AND o.status != 'closed'"
    " AND (SELECT count(*) FROM p_admins a WHERE a.office = o.office) < 2"
    " UNION ALL SELECT 'notice-holding-cards', o.office, o.office,"
    " o.status || ' (notice ends ' || coalesce(strftime('%Y-%m-%d', o.notice_ends_ms / 1000,"
    " 'unixepoch'), '?') || '), ' || count(*) || ' card(s) not handed over'"
    " FROM p_offices o JOIN p_orders p ON p.office = o.office"
    " WHERE o.status IN ('notice', 'closed')"
    " AND p.state IN ('shipped', 'notice', 'collected', 'stored') GROUP BY o.office"
    " UNION ALL SELECT 'fork', coalesce((SELECT n.office FROM p_nodes n"
    "  WHERE n.node = lower(hex(f.author))), ''), lower(hex(f.author)),"
    " 'signed two entries at seq ' || min(f.seq) || ' (a copied disk or a written-to backup?):"
    " applied up to seq ' || (min(f.seq) - 1) || '; enrol a new key for the office'"
    " FROM forks f GROUP BY f.author"
    " UNION ALL SELECT 'revoked-key-wrote', t.office, lower(hex(t.node)),"
    " 'revoked from seq ' || t.revoked_from || ', yet entries up to seq ' || t.tip ||"
    " ' reached this node before the revocation: kept, not applied, not passed on'"
    " FROM (SELECT node, office, revoked_from,"
    "  (SELECT max(seq) FROM log l WHERE l.author = node) AS tip FROM t_nodes"
    "  WHERE revoked_from IS NOT NULL) t WHERE t.tip >= t.revoked_from"
    " ORDER BY 1, 2, 3";

/*
 * ?1 = month, ?2 = office or NULL. Private administrators: 500 SEK gross per card handed out,
 * 250 SEK per extra meeting after a failed one. Organisation offices: 800 SEK + 25 % VAT per
 * card. The issued column is what the hub's invoice.issued entry said, for comparison.
 */
static const char sql_invoice_offices[] =
    "SELECT o.office AS office, o.kind AS kind,"
    " count(m.n) FILTER (WHERE m.result = 'completed') AS handovers,"
    " CASE o.kind WHEN 'private' THEN count(m.n) FILTER (WHERE m.extra = 1) ELSE 0 END"
    "  AS extra_meetings,"
    " CASE o.kind WHEN 'private' THEN 500 * count(m.n) FILTER (WHERE m.result = 'completed')"
    "  + 250 * count(m.n) FILTER (WHERE m.extra = 1)"
    "  ELSE 800 * count(m.n) FILTER (WHERE m.result = 'completed') END AS amount_sek,"
    " CASE o.kind WHEN 'private' THEN 0"
    "  ELSE 200 * count(m.n) FILTER (WHERE m.result = 'completed') END AS vat_sek,"
    " (SELECT i.amount_ore / 100 FROM p_invoices i WHERE i.office = o.office AND i.month = ?1)"
    "  AS issued_sek"
    " FROM p_offices o LEFT JOIN p_meetings m ON m.office = o.office AND m.month = ?1"
    " WHERE ?2 IS NULL OR o.office = ?2 GROUP BY o.office ORDER BY o.office";

static const char sql_invoice_providers[] =
    "SELECT p.care_provider AS care_provider, count(*) AS cards, 800 * count(*) AS amount_sek,"
    " 200 * count(*) AS vat_sek, 1000 * count(*) AS total_sek"
    " FROM p_meetings m JOIN p_orders p ON p.order_id = m.order_id"
    " WHERE m.result = 'completed' AND m.month = ?1 AND (?2 IS NULL OR m.office = ?2)"
    " GROUP BY p.care_provider ORDER BY p.care_provider";

static const char sql_directory[] =
    "SELECT name, town, place, booking, days, kind, office FROM p_offices o"
    " WHERE (status = 'open' OR (status = 'notice' AND notice_ends_ms >= ?1))"
    " AND (kind = 'private' OR (SELECT count(*) FROM p_admins a WHERE a.office = o.office) >= 2)"
    " ORDER BY town, name";

/* Every office the node knows, listed or not, for the hub's list of offices. */
static const char sql_offices[] =
    "SELECT office, name, town, kind, status, days, booking,"
    " (SELECT count(*) FROM p_admins a WHERE a.office = o.office) AS admins, notice_ends_ms"
    " FROM p_offices o WHERE ?1 IS NULL OR office = ?1 ORDER BY town, name, office";

static const char sql_appointments[] =
    "SELECT appointment, order_id AS \"order\", office, at_ms, place_kind, place, state"
    " FROM p_appointments WHERE ?1 IS NULL OR office = ?1 ORDER BY at_ms, appointment";

int store_report(struct store *s, enum store_report which, const struct store_report_args *a,
                 store_row_cb cb, void *ud)
{
    static const char *const sql[] = {
        [STORE_REPORT_STOCK] = sql_stock,
        [STORE_REPORT_ORDERS] = sql_orders,
        [STORE_REPORT_CONFLICTS] = sql_conflicts,
        [STORE_REPORT_ALERTS] = sql_alerts,
        [STORE_REPORT_INVOICE_OFFICES] = sql_invoice_offices,
        [STORE_REPORT_INVOICE_PROVIDERS] = sql_invoice_providers,
        [STORE_REPORT_DIRECTORY] = sql_directory,
        [STORE_REPORT_APPOINTMENTS] = sql_appointments,
        [STORE_REPORT_OFFICES] = sql_offices,
        [STORE_REPORT_HANDOVERS] = sql_handovers,
    };
    sqlite3_stmt *st = NULL;
    const char *names[16];
    struct store_cell cells[16];
    int rc, r;

    if ((unsigned)which >= sizeof(sql) / sizeof(sql[0]))
        return KN_EINVAL;
    r = store__db_err(sqlite3_prepare_v2(s->db, sql[which], -1, &st, NULL));
    if (r < 0)
        goto out;
    switch (which) {
    case STORE_REPORT_STOCK:
        sqlite3_bind_int64(st, 2, a ? (int64_t)a->now_ms : 0);
        /* fall through */
    case STORE_REPORT_APPOINTMENTS:
    case STORE_REPORT_OFFICES:
        if (a && a->office)
            sqlite3_bind_text(st, 1, a->office, -1, SQLITE_STATIC);
        break;
    case STORE_REPORT_ORDERS:
        if (a && a->state)
            sqlite3_bind_text(st, 1, a->state, -1, SQLITE_STATIC);
        if (a && a->office)
            sqlite3_bind_text(st, 2, a->office, -1, SQLITE_STATIC);
        if (a && a->match)
            sqlite3_bind_text(st, 3, a->match, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, a && a->limit ? (int64_t)a->limit : -1);
        break;
    case STORE_REPORT_HANDOVERS:
        sqlite3_bind_int64(st, 1, a ? (int64_t)a->now_ms : 0);
        if (a && a->office)
            sqlite3_bind_text(st, 2, a->office, -1, SQLITE_STATIC);
        break;
    case STORE_REPORT_ALERTS:
    case STORE_REPORT_DIRECTORY:
        sqlite3_bind_int64(st, 1, a ? (int64_t)a->now_ms : 0);
        break;
    case STORE_REPORT_INVOICE_OFFICES:
    case STORE_REPORT_INVOICE_PROVIDERS:
        if (!a || !a->month) {
            r = KN_EINVAL;
            goto out;
        }
        sqlite3_bind_text(st, 1, a->month, -1, SQLITE_STATIC);
        if (a->office)
            sqlite3_bind_text(st, 2, a->office, -1, SQLITE_STATIC);
        break;
    default:
        break;
    }
    size_t ncols = (size_t)sqlite3_column_count(st);
    if (ncols > 16)
        ncols = 16;
    for (size_t i = 0; i < ncols; i++)
        names[i] = sqlite3_column_name(st, (int)i);
    if ((r = cb(ud, ncols, names, NULL)) != 0)
        goto out;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        for (size_t i = 0; i < ncols; i++) {
            int t = sqlite3_column_type(st, (int)i);
            cells[i].type = t == SQLITE_NULL      ? STORE_CELL_NULL
                            : t == SQLITE_INTEGER ? STORE_CELL_INT
                                                  : STORE_CELL_TEXT;
            cells[i].i = sqlite3_column_int64(st, (int)i);
            cells[i].text = (const char *)sqlite3_column_text(st, (int)i);
        }
        if ((r = cb(ud, ncols, names, cells)) != 0)
            goto out;
    }
    r = rc == SQLITE_DONE ? 0 : store__db_err(rc);
out:
    sqlite3_finalize(st);
    return r;
}

/* The card of an order, found by the order or by the chip it was shipped with. */
static int card_find(struct store *s, const char *order, const char *chip, struct store_card *out)
{
    sqlite3_stmt *st = NULL;
    memset(out, 0, sizeof(*out));
    int r = store__db_err(sqlite3_prepare_v2(
        s->db,
        "SELECT order_id, office, state, coalesce(serial, ''), coalesce(chip, '') FROM p_orders"
        " WHERE (?1 IS NOT NULL AND order_id = ?1) OR (?1 IS NULL AND chip = ?2)"
        " ORDER BY placed_ms DESC LIMIT 1",
        -1, &st, NULL));
    if (r < 0)
        return r;
    if (order)
        sqlite3_bind_text(st, 1, order, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, chip ? chip : "", -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        char *const dst[] = { out->order, out->office, out->state, out->serial, out->chip };
        const size_t size[] = { sizeof(out->order), sizeof(out->office), sizeof(out->state),
                                sizeof(out->serial), sizeof(out->chip) };
        for (int i = 0; i < 5; i++)
            snprintf(dst[i], size[i], "%s", (const char *)sqlite3_column_text(st, i));
        r = 0;
    } else {
        r = rc == SQLITE_DONE ? KN_ENOTFOUND : store__db_err(rc);
    }
    sqlite3_finalize(st);
    return r;
}

int store_card_get(struct store *s, const char *order, struct store_card *out)
{
    return card_find(s, order, NULL, out);
}

int store_card_by_chip(struct store *s, const char *chip, struct store_card *out)
{
    return card_find(s, NULL, chip, out);
}
