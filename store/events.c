/* SPDX-License-Identifier: MIT */
/*
 * The card domain's events: for each type its fields, its writers and its projector. A projector
 * reads the state the entry finds and either moves it (DOM_APPLIED) or says why it cannot
 * (dom_conflict: kept and listed for a person to resolve with a later entry). Projectors read
 * only entries and the projection, never the local clock: the time of an event is its entry's
 * timestamp. docs/events.md is the catalogue.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

#define DAY_MS (86400000ull)

static const char *const office_kinds[] = { "organisation", "private", NULL };
static const char *const node_roles[] = { "office", "mobile", "hub", NULL };
static const char *const place_kinds[] = { "office",        "public-place",       "workplace",
                                           "home-delivery", "administrator-home", NULL };
static const char *const fail_reasons[] = { "no-valid-id", "wrong-person", "no-pin-envelope",
                                            "no-show", NULL };
static const char *const revoke_reasons[] = { "lost", "employment-ended", NULL };
static const char *const reserve_reasons[] = { "lost-card",
                                               "new-hire",
                                               "short-term-employment",
                                               "no-swedish-address",
                                               "coordination-number",
                                               "foreign-person",
                                               NULL };
static const char *const weekdays[] = { "mon", "tue", "wed", "thu", "fri", "sat", "sun" };

#define T(name)                      \
    {                                \
        name, DOM_F_TEXT, true, NULL \
    }
#define T_OPT(name)                   \
    {                                 \
        name, DOM_F_TEXT, false, NULL \
    }
#define ID(name)                   \
    {                              \
        name, DOM_F_ID, true, NULL \
    }
#define ID_OPT(name)                \
    {                               \
        name, DOM_F_ID, false, NULL \
    }
#define U(name)                      \
    {                                \
        name, DOM_F_UINT, true, NULL \
    }
#define B(name)                      \
    {                                \
        name, DOM_F_BOOL, true, NULL \
    }
#define B_OPT(name)                   \
    {                                 \
        name, DOM_F_BOOL, false, NULL \
    }
#define E(name, v)                \
    {                             \
        name, DOM_F_ENUM, true, v \
    }
#define E_OPT(name, v)             \
    {                              \
        name, DOM_F_ENUM, false, v \
    }
#define END                           \
    {                                 \
        NULL, DOM_F_TEXT, false, NULL \
    }

/* A text field into a local buffer of its own name. */
#define TEXT(c, name, buf) dom_text((c), (name), (buf), sizeof(buf))

static int64_t ts(struct dom_ctx *c)
{
    return (int64_t)c->e->timestamp_ms;
}

/* ---- offices ---- */

/* "mon,wed" style: at least two distinct weekdays, each once, in week order. */
static int check_days(struct dom_ctx *c, const char *days)
{
    int last = -1, count = 0;
    const char *p = days;
    while (*p) {
        int found = -1;
        for (int i = 0; i < 7; i++)
            if (strncmp(p, weekdays[i], 3) == 0 && (p[3] == ',' || p[3] == '\0'))
                found = i;
        if (found < 0 || found <= last)
            return dom_invalid(c, "days: weekdays as mon,tue,...,sun, each once, in order");
        last = found;
        count++;
        if (p[3] == ',' && p[4] == '\0')
            return dom_invalid(c, "days: weekdays as mon,tue,...,sun, each once, in order");
        p += p[3] == ',' ? 4 : 3;
    }
    /* Open for hand-over at least two weekdays a week (DOMAIN.md, office rules). */
    int weekdays_open = 0;
    for (const char *q = days; *q; q += q[3] == ',' ? 4 : 3)
        weekdays_open += strncmp(q, "sat", 3) != 0 && strncmp(q, "sun", 3) != 0;
    if (weekdays_open < 2)
        return dom_invalid(c, "an office is open at least two weekdays (mon-fri) a week");
    return count ? 0 : dom_invalid(c, "days is empty");
}

static int office_get(struct dom_ctx *c, const char *office, char kind[16], char status[16])
{
    sqlite3_stmt *st;
    int r = dom_row(c, &st, "SELECT kind, status FROM p_offices WHERE office = ?1", "t", office);
    if (r == 1) {
        snprintf(kind, 16, "%s", (const char *)sqlite3_column_text(st, 0));
        snprintf(status, 16, "%s", (const char *)sqlite3_column_text(st, 1));
        dom_done(st);
    }
    return r;
}

static int office_registered(struct dom_ctx *c)
{
    char office[65], kind[16], name[DOM_MAX_TEXT + 1], town[DOM_MAX_TEXT + 1],
        place[DOM_MAX_TEXT + 1], booking[DOM_MAX_TEXT + 1], days[DOM_MAX_TEXT + 1], k[16], s[16];
    int r;
    TEXT(c, "office", office);
    TEXT(c, "kind", kind);
    TEXT(c, "name", name);
    TEXT(c, "town", town);
    TEXT(c, "place", place);
    TEXT(c, "booking", booking);
    TEXT(c, "days", days);
    if ((r = check_days(c, days)) != 0)
        return r;
    if ((r = office_get(c, office, k, s)) != 0)
        return r < 0 ? r : dom_conflict(c, "office %s is already registered", office);
    return dom_exec(c,
                    "INSERT INTO p_offices(office, kind, name, town, place, booking, days, status,"
                    " registered_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'open', ?8)",
                    "ttttttti", office, kind, name, town, place, booking, days, ts(c));
}

static int office_updated(struct dom_ctx *c)
{
    static const char *const cols[] = { "name", "town", "place", "booking", "days" };
    static const char *const sql[] = {
        "UPDATE p_offices SET name = ?2 WHERE office = ?1",
        "UPDATE p_offices SET town = ?2 WHERE office = ?1",
        "UPDATE p_offices SET place = ?2 WHERE office = ?1",
        "UPDATE p_offices SET booking = ?2 WHERE office = ?1",
        "UPDATE p_offices SET days = ?2 WHERE office = ?1",
    };
    char office[65], k[16], s[16], v[DOM_MAX_TEXT + 1];
    int r;
    TEXT(c, "office", office);
    if ((r = office_get(c, office, k, s)) <= 0)
        return r < 0 ? r : dom_conflict(c, "no office %s is registered", office);
    if (!strcmp(s, "closed"))
        return dom_conflict(c, "office %s is closed", office);
    if (dom_has(c, "days") && (r = check_days(c, TEXT(c, "days", v))) != 0)
        return r;
    r = 0;
    for (size_t i = 0; i < 5 && r == 0; i++)
        if (TEXT(c, cols[i], v))
            r = dom_exec(c, sql[i], "tt", office, v);
    return r;
}

static int admin_added(struct dom_ctx *c)
{
    char office[65], admin[65], name[DOM_MAX_TEXT + 1], k[16], s[16];
    sqlite3_stmt *st;
    int r;
    TEXT(c, "office", office);
    TEXT(c, "admin", admin);
    TEXT(c, "name", name);
    if ((r = office_get(c, office, k, s)) <= 0)
        return r < 0 ? r : dom_conflict(c, "no office %s is registered", office);
    if (!strcmp(s, "closed"))
        return dom_conflict(c, "office %s is closed", office);
    if ((r = dom_row(c, &st, "SELECT 1 FROM p_admins WHERE office = ?1 AND admin = ?2", "tt",
                     office, admin)) != 0) {
        if (r == 1)
            dom_done(st);
        return r < 0 ? r : dom_conflict(c, "%s is already an administrator of %s", admin, office);
    }
    return dom_exec(c,
                    "INSERT INTO p_admins(office, admin, name, added_ms) VALUES (?1, ?2, ?3, ?4)",
                    "ttti", office, admin, name, ts(c));
}

static int admin_removed(struct dom_ctx *c)
{
    char office[65], admin[65];
    sqlite3_stmt *st;
    int r;
    TEXT(c, "office", office);
    TEXT(c, "admin", admin);
    if ((r = dom_row(c, &st, "SELECT 1 FROM p_admins WHERE office = ?1 AND admin = ?2", "tt",
                     office, admin)) <= 0)
        return r < 0 ? r : dom_conflict(c, "%s is not an administrator of %s", admin, office);
    dom_done(st);
    return dom_exec(c, "DELETE FROM p_admins WHERE office = ?1 AND admin = ?2", "tt", office,
                    admin);
}

static int node_bound(struct dom_ctx *c)
{
    char node[65], office[65], role[16], k[16], s[16];
    int r;
    TEXT(c, "node", node);
    TEXT(c, "office", office);
    TEXT(c, "role", role);
    /* A hub node (another machine of the hub) works for no office: its office is "hub". */
    if (!strcmp(role, "hub") && strcmp(office, "hub"))
        return dom_invalid(c, "a hub node is enrolled for office hub");
    if (strcmp(role, "hub") && (r = office_get(c, office, k, s)) <= 0)
        return r < 0 ? r : dom_conflict(c, "no office %s is registered", office);
    if (strcmp(role, "hub") && !strcmp(s, "closed"))
        return dom_conflict(c, "office %s is closed", office);
    /* A key's role is fixed by its first enrolment (store/trust.c): the log refuses or stores
     * its entries by that role, and the state must agree. */
    sqlite3_stmt *st;
    if ((r = dom_row(c, &st, "SELECT role FROM p_nodes WHERE node = ?1", "t", node)) < 0)
        return r;
    if (r == 1) {
        bool same = strcmp((const char *)sqlite3_column_text(st, 0), role) == 0;
        dom_done(st);
        if (!same)
            return dom_conflict(c, "node %.8s… is enrolled with another role; enrol a new key",
                                node);
    }
    uint64_t until = dom_uint(c, "valid_until_ms");
    /* An office node works for one office; a mobile one for each it is enrolled for. */
    if (strcmp(role, "mobile") &&
        (r = dom_exec(c, "DELETE FROM p_node_offices WHERE node = ?1", "t", node)) < 0)
        return r;
    if ((r = dom_exec(c, "INSERT OR IGNORE INTO p_node_offices(node, office) VALUES (?1, ?2)", "tt",
                      node, office)) < 0)
        return r;
    return dom_exec(
        c,
        "INSERT INTO p_nodes(node, role, office, valid_until_ms) VALUES (?1, ?2, ?3, ?4)"
        " ON CONFLICT(node) DO UPDATE SET office = excluded.office,"
        " valid_until_ms = excluded.valid_until_ms",
        "ttti", node, role, office, until ? (int64_t)until : (int64_t)0);
}

/* From from_seq on, nothing the key signs is stored (store/trust.c) or applied. */
static int node_revoked(struct dom_ctx *c)
{
    char node[65];
    TEXT(c, "node", node);
    uint64_t from = dom_uint(c, "from_seq");
    if (from == 0 || from > INT64_MAX)
        return dom_invalid(c, "from_seq must be 1 or more");
    return dom_exec(c,
                    "INSERT INTO p_nodes(node, role, office, revoked_from) VALUES (?1, '', '', ?2)"
                    " ON CONFLICT(node) DO UPDATE SET revoked_from ="
                    " min(coalesce(revoked_from, ?2), ?2)",
                    "ti", node, (int64_t)from);
}

static int office_notice(struct dom_ctx *c)
{
    char office[65], k[16], s[16];
    int r;
    TEXT(c, "office", office);
    if ((r = office_get(c, office, k, s)) <= 0)
        return r < 0 ? r : dom_conflict(c, "no office %s is registered", office);
    if (strcmp(s, "open") != 0)
        return dom_conflict(c, "office %s is %s, not open", office, s);
    /* The office keeps handing out cards until its notice period ends (DOMAIN.md). */
    int months = !strcmp(k, "organisation") ? 3 : 1;
    return dom_exec(c,
                    "UPDATE p_offices SET status = 'notice', notice_ms = ?2, notice_ends_ms = ?3"
                    " WHERE office = ?1",
                    "tii", office, ts(c), (int64_t)dom_add_months(c->e->timestamp_ms, months));
}

static int office_closed(struct dom_ctx *c)
{
    char office[65], k[16], s[16];
    int r;
    TEXT(c, "office", office);
    if ((r = office_get(c, office, k, s)) <= 0)
        return r < 0 ? r : dom_conflict(c, "no office %s is registered", office);
    if (!strcmp(s, "closed"))
        return dom_conflict(c, "office %s is already closed", office);
    return dom_exec(c, "UPDATE p_offices SET status = 'closed', closed_ms = ?2 WHERE office = ?1",
                    "ti", office, ts(c));
}

/*
 * Can the office hand over (or book) at time t? Open, or in its notice period; an organisation
 * office needs two administrators.
 */
static int office_active(struct dom_ctx *c, const char *office, int64_t t, char kind[16])
{
    sqlite3_stmt *st;
    char status[16];
    int64_t ends;
    int r = dom_row(c, &st,
                    "SELECT kind, status, coalesce(notice_ends_ms, 0),"
                    " (SELECT count(*) FROM p_admins a WHERE a.office = o.office)"
                    " FROM p_offices o WHERE office = ?1",
                    "t", office);
    if (r <= 0)
        return r < 0 ? r : dom_conflict(c, "no office %s is registered", office);
    snprintf(kind, 16, "%s", (const char *)sqlite3_column_text(st, 0));
    snprintf(status, sizeof(status), "%s", (const char *)sqlite3_column_text(st, 1));
    ends = sqlite3_column_int64(st, 2);
    int admins = sqlite3_column_int(st, 3);
    dom_done(st);
    if (!strcmp(status, "closed"))
        return dom_conflict(c, "office %s is closed", office);
    if (!strcmp(status, "notice") && t > ends)
        return dom_conflict(c, "office %s's notice period has ended", office);
    if (!strcmp(kind, "organisation") && admins < 2)
        return dom_conflict(c, "organisation office %s has %d administrator%s; it needs two",
                            office, admins, admins == 1 ? "" : "s");
    return 0;
}

/* ---- orders and cards ---- */

struct order {
    char state[24];
    char office[65];
    char serial[65];
    char chip[65];
};

static int order_get(struct dom_ctx *c, const char *id, struct order *o)
{
    sqlite3_stmt *st;
    int r = dom_row(c, &st,
                    "SELECT state, office, coalesce(serial, ''), coalesce(chip, '') FROM p_orders"
                    " WHERE order_id = ?1",
                    "t", id);
    if (r <= 0)
        return r < 0 ? r : dom_conflict(c, "no order %s is known", id);
    snprintf(o->state, sizeof(o->state), "%s", (const char *)sqlite3_column_text(st, 0));
    snprintf(o->office, sizeof(o->office), "%s", (const char *)sqlite3_column_text(st, 1));
    snprintf(o->serial, sizeof(o->serial), "%s", (const char *)sqlite3_column_text(st, 2));
    snprintf(o->chip, sizeof(o->chip), "%s", (const char *)sqlite3_column_text(st, 3));
    dom_done(st);
    return 0;
}

/* The order in one of the states (NULL-terminated), or a conflict naming where it is. */
static int order_in(struct dom_ctx *c, const char *id, struct order *o, const char *const *states)
{
    int r = order_get(c, id, o);
    if (r != 0)
        return r;
    for (const char *const *s = states; *s; s++)
        if (!strcmp(o->state, *s))
            return 0;
    return dom_conflict(c, "order %s is %s; %s cannot follow", id, o->state, c->ev->type);
}

static int order_placed(struct dom_ctx *c)
{
    char id[65], provider[DOM_MAX_TEXT + 1], holder[DOM_MAX_TEXT + 1], office[65], type[65], k[16],
        s[16];
    struct order o;
    int r;
    TEXT(c, "order", id);
    TEXT(c, "care_provider", provider);
    if (!TEXT(c, "holder", holder))
        holder[0] = '\0'; /* sealed apart, in order.holder */
    TEXT(c, "office", office);
    TEXT(c, "card_type", type);
    if ((r = order_get(c, id, &o)) != DOM_CONFLICT)
        return r < 0 ? r : dom_conflict(c, "order %s already exists", id);
    if ((r = office_get(c, office, k, s)) <= 0)
        return r < 0 ? r : dom_conflict(c, "no office %s is registered", office);
    if (strcmp(s, "open") != 0)
        return dom_conflict(c, "office %s is %s and takes no new orders", office, s);
    return dom_exec(c,
                    "INSERT INTO p_orders(order_id, care_provider, holder, office, card_type,"
                    " state, placed_ms, failed_meetings) VALUES (?1, ?2, ?3, ?4, ?5, 'ordered',"
                    " ?6, 0)",
                    "ttttti", id, provider, holder, office, type, ts(c));
}

/*
 * The holder's personal data, sealed to the hub and to the order's office (store/seal.c): only
 * that the order has it is state; the data is read from the entry by a node that can open it.
 * It is an entry of its own so that purging it later leaves the order whole.
 */
static int order_holder(struct dom_ctx *c)
{
    char id[65];
    struct order o;
    int r;
    TEXT(c, "order", id);
    if ((r = order_get(c, id, &o)) < 0)
        return r;
    if (r == DOM_CONFLICT)
        return dom_conflict(c, "no order %s is known", id);
    return dom_exec(c, "UPDATE p_orders SET holder = '(sealed)' WHERE order_id = ?1", "t", id);
}

/*
 * Retention: once a card's life has ended (returned, revoked, destroyed), the hub purges the
 * holder's data: the entry it names loses its payload at every node (store/trust.c), its header
 * and every chain stay. The state keeps only that it was purged.
 */
static int payload_purged(struct dom_ctx *c)
{
    static const char *const ended[] = { "returned", "revoked", "destroyed", NULL };
    char id[65];
    struct order o;
    sqlite3_stmt *st;
    int r;
    if (!dom_has(c, "order") == !dom_has(c, "reserve"))
        return dom_invalid(c, "payload.purged names an order or a reserve card");
    if (TEXT(c, "reserve", id)) {
        /* A reserve card's life ends when it is returned. */
        if ((r = dom_row(c, &st,
                         "SELECT returned_ms IS NOT NULL FROM p_reserves WHERE reserve = ?1", "t",
                         id)) <= 0)
            return r < 0 ? r : dom_conflict(c, "no reserve %s is known", id);
        bool returned = sqlite3_column_int(st, 0) != 0;
        dom_done(st);
        if (!returned)
            return dom_conflict(c, "reserve card %s is not returned: its life has not ended", id);
        return dom_exec(c, "UPDATE p_reserves SET holder = '(purged)' WHERE reserve = ?1", "t", id);
    }
    TEXT(c, "order", id);
    if ((r = order_get(c, id, &o)) != 0)
        return r;
    for (const char *const *e = ended; *e; e++)
        if (!strcmp(o.state, *e))
            return dom_exec(c, "UPDATE p_orders SET holder = '(purged)' WHERE order_id = ?1", "t",
                            id);
    return dom_conflict(c, "order %s is %s: its card's life has not ended", id, o.state);
}

/* The reserve card holder's personal data, sealed as an order's is (order_holder). */
static int reserve_holder(struct dom_ctx *c)
{
    char id[65];
    sqlite3_stmt *st;
    int r;
    TEXT(c, "reserve", id);
    if ((r = dom_row(c, &st, "SELECT 1 FROM p_reserves WHERE reserve = ?1", "t", id)) < 0)
        return r;
    if (r == 0)
        return dom_conflict(c, "no reserve %s is known", id);
    dom_done(st);
    return dom_exec(c, "UPDATE p_reserves SET holder = '(sealed)' WHERE reserve = ?1", "t", id);
}

/* The chip serial as the reader gives it (reader/reader.h): 16 upper-case hex digits. */
static bool chip_serial(const char *s)
{
    return strlen(s) == 16 && strspn(s, "0123456789ABCDEF") == 16;
}

static int card_shipped(struct dom_ctx *c)
{
    static const char *const from[] = { "ordered", NULL };
    char id[65], serial[65], rek[65], chip[65];
    struct order o;
    int r;
    TEXT(c, "order", id);
    TEXT(c, "serial", serial);
    TEXT(c, "rek", rek);
    bool has_chip = TEXT(c, "chip", chip) != NULL;
    if (has_chip && !chip_serial(chip))
        return dom_invalid(c, "chip must be the 16 hex digits (0-9, A-F) the card's CPLC gives");
    char k[16], s[16];
    if ((r = order_in(c, id, &o, from)) != 0)
        return r;
    if ((r = office_get(c, o.office, k, s)) < 0)
        return r;
    if (!strcmp(s, "closed"))
        return dom_conflict(c, "office %s is closed; the card cannot be sent there", o.office);
    if (has_chip) {
        /* One chip is one card: shipped once. */
        sqlite3_stmt *st;
        if ((r = dom_row(c, &st, "SELECT order_id FROM p_orders WHERE chip = ?1", "t", chip)) < 0)
            return r;
        if (r == 1) {
            char other[65];
            snprintf(other, sizeof(other), "%s", (const char *)sqlite3_column_text(st, 0));
            dom_done(st);
            return dom_conflict(c, "chip %s was shipped already, for order %s", chip, other);
        }
    }
    return dom_exec(c,
                    "UPDATE p_orders SET state = 'shipped', serial = ?2, rek = ?3, shipped_ms = ?4,"
                    " chip = ?5 WHERE order_id = ?1",
                    "tttit", id, serial, rek, ts(c), has_chip ? chip : NULL);
}

static int pin_sent(struct dom_ctx *c)
{
    static const char *const from[] = {
        "ordered", "shipped", "notice", "collected", "stored", NULL
    };
    char id[65];
    struct order o;
    sqlite3_stmt *st;
    int r;
    TEXT(c, "order", id);
    if ((r = order_in(c, id, &o, from)) != 0)
        return r;
    if ((r = dom_row(c, &st,
                     "SELECT 1 FROM p_orders WHERE order_id = ?1 AND pin_sent_ms IS NOT NULL", "t",
                     id)) != 0) {
        if (r == 1)
            dom_done(st);
        return r < 0 ? r : dom_conflict(c, "the PIN letter of order %s was already sent", id);
    }
    return dom_exec(c, "UPDATE p_orders SET pin_sent_ms = ?2 WHERE order_id = ?1", "ti", id, ts(c));
}

/* A step at the office that moves the card from one state to the next and stamps a time. */
static int office_step(struct dom_ctx *c, const char *from, const char *to, const char *sql)
{
    const char *const states[] = { from, NULL };
    char id[65];
    struct order o;
    int r;
    TEXT(c, "order", id);
    if ((r = order_in(c, id, &o, states)) != 0)
        return r;
    return dom_exec(c, sql, "tti", id, to, ts(c));
}

static int notice_received(struct dom_ctx *c)
{
    return office_step(c, "shipped", "notice",
                       "UPDATE p_orders SET state = ?2, notice_ms = ?3 WHERE order_id = ?1");
}

static int card_collected(struct dom_ctx *c)
{
    return office_step(c, "notice", "collected",
                       "UPDATE p_orders SET state = ?2, collected_ms = ?3 WHERE order_id = ?1");
}

static int card_stored(struct dom_ctx *c)
{
    /* Cards are kept locked until handed over (DOMAIN.md, office rules). */
    if (!dom_bool(c, "locked"))
        return dom_invalid(c, "a card is stored locked: locked must be true");
    return office_step(c, "collected", "stored",
                       "UPDATE p_orders SET state = ?2, stored_ms = ?3 WHERE order_id = ?1");
}

static int check_place(struct dom_ctx *c, const char *kind)
{
    /* The administrator's own home is not an allowed hand-over place; home delivery is. */
    if (kind && !strcmp(kind, "administrator-home"))
        return dom_invalid(c, "the administrator's home is not an allowed hand-over place "
                              "(home delivery to the holder is)");
    return 0;
}

static int slot_free(struct dom_ctx *c, const char *office, int64_t at, const char *self)
{
    sqlite3_stmt *st;
    int r = dom_row(c, &st,
                    "SELECT appointment FROM p_appointments WHERE office = ?1 AND at_ms = ?2"
                    " AND state = 'booked' AND appointment != ?3",
                    "tit", office, at, self);
    if (r == 1) {
        char other[65];
        snprintf(other, sizeof(other), "%s", (const char *)sqlite3_column_text(st, 0));
        dom_done(st);
        return dom_conflict(c, "the slot is already booked by appointment %s", other);
    }
    return r;
}

static int appointment_booked(struct dom_ctx *c)
{
    /* The card is stored locked until it is handed over (DOMAIN.md, steps 6-8). */
    static const char *const from[] = { "stored", NULL };
    char id[65], order[65], kind[24], place[DOM_MAX_TEXT + 1], okind[16];
    struct order o;
    sqlite3_stmt *st;
    int64_t at = (int64_t)dom_uint(c, "at_ms");
    int r;
    TEXT(c, "appointment", id);
    TEXT(c, "order", order);
    TEXT(c, "place_kind", kind);
    TEXT(c, "place", place);
    /* The office must still hand out cards when the meeting takes place. */
    if ((r = check_place(c, kind)) != 0 || (r = order_in(c, order, &o, from)) != 0 ||
        (r = office_active(c, o.office, at > ts(c) ? at : ts(c), okind)) != 0)
        return r;
    if ((r = dom_row(c, &st, "SELECT 1 FROM p_appointments WHERE appointment = ?1", "t", id)) !=
        0) {
        if (r == 1)
            dom_done(st);
        return r < 0 ? r : dom_conflict(c, "appointment %s already exists", id);
    }
    if ((r = slot_free(c, o.office, at, id)) != 0)
        return r;
    return dom_exec(c,
                    "INSERT INTO p_appointments(appointment, order_id, office, at_ms, place_kind,"
                    " place, state) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'booked')",
                    "tttitt", id, order, o.office, at, kind, place);
}

static int appointment_get(struct dom_ctx *c, const char *id, char office[65])
{
    sqlite3_stmt *st;
    int r = dom_row(c, &st,
                    "SELECT office FROM p_appointments WHERE appointment = ?1 AND state = 'booked'",
                    "t", id);
    if (r <= 0)
        return r < 0 ? r : dom_conflict(c, "appointment %s is not booked", id);
    snprintf(office, 65, "%s", (const char *)sqlite3_column_text(st, 0));
    dom_done(st);
    return 0;
}

static int appointment_moved(struct dom_ctx *c)
{
    char id[65], office[65], kind[24], place[DOM_MAX_TEXT + 1], okind[16];
    int64_t at = (int64_t)dom_uint(c, "at_ms");
    int r;
    TEXT(c, "appointment", id);
    if ((r = appointment_get(c, id, office)) != 0 ||
        (r = check_place(c, TEXT(c, "place_kind", kind))) != 0 ||
        (r = office_active(c, office, at > ts(c) ? at : ts(c), okind)) != 0 ||
        (r = slot_free(c, office, at, id)) != 0)
        return r;
    if ((r = dom_exec(c, "UPDATE p_appointments SET at_ms = ?2 WHERE appointment = ?1", "ti", id,
                      at)) < 0)
        return r;
    if (dom_has(c, "place_kind") &&
        (r = dom_exec(c, "UPDATE p_appointments SET place_kind = ?2 WHERE appointment = ?1", "tt",
                      id, kind)) < 0)
        return r;
    if (TEXT(c, "place", place))
        r = dom_exec(c, "UPDATE p_appointments SET place = ?2 WHERE appointment = ?1", "tt", id,
                     place);
    return r;
}

static int appointment_cancelled(struct dom_ctx *c)
{
    char id[65], office[65];
    int r;
    TEXT(c, "appointment", id);
    if ((r = appointment_get(c, id, office)) != 0)
        return r;
    return dom_exec(c, "UPDATE p_appointments SET state = 'cancelled' WHERE appointment = ?1", "t",
                    id);
}

/* Record a meeting; it is an extra one when an earlier meeting for the order failed for a
 * reason that pays the private administrator for the next (DOMAIN.md: 250 SEK). */
static int meeting(struct dom_ctx *c, const char *order, const char *office, const char *kind,
                   const char *result, const char *reason)
{
    sqlite3_stmt *st;
    int64_t n = 0, extra = 0;
    char month[8];
    /* The meeting right after one that failed for the holder's reasons is the extra one;
     * a no-show is not a meeting held. */
    int r = dom_row(c, &st,
                    "SELECT n, result = 'failed' AND reason IN"
                    " ('no-valid-id', 'wrong-person', 'no-pin-envelope')"
                    " FROM p_meetings WHERE order_id = ?1 ORDER BY n DESC LIMIT 1",
                    "t", order);
    if (r < 0)
        return r;
    if (r == 1) {
        n = sqlite3_column_int64(st, 0);
        extra = sqlite3_column_int64(st, 1) != 0 && strcmp(reason, "no-show") != 0;
        dom_done(st);
    }
    dom_month(c->e->timestamp_ms, month);
    return dom_exec(c,
                    "INSERT INTO p_meetings(order_id, n, office, office_kind, at_ms, month, result,"
                    " reason, extra) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                    "tittittti", order, n + 1, office, kind, ts(c), month, result, reason, extra);
}

static int handover(struct dom_ctx *c, bool completed)
{
    static const char *const from[] = { "stored", NULL };
    char id[65], serial[65], reason[24], appointment[65], okind[16], chip[65];
    struct order o;
    int r;
    TEXT(c, "order", id);
    /* The trained routine: valid ID checked, the right person, the PIN envelope present. */
    if (completed && (!dom_bool(c, "id_checked") || !dom_bool(c, "right_person") ||
                      !dom_bool(c, "pin_envelope")))
        return dom_invalid(c, "a hand-over needs id_checked, right_person and pin_envelope "
                              "all true; otherwise record handover.failed");
    if ((r = order_in(c, id, &o, from)) != 0 || (r = office_active(c, o.office, ts(c), okind)) != 0)
        return r;
    if (completed) {
        TEXT(c, "serial", serial);
        if (strcmp(serial, o.serial) != 0)
            return dom_conflict(c, "card serial %s is not the card shipped for order %s (%s)",
                                serial, id, o.serial);
        /* What a reader read from the chip must be the chip that was shipped. */
        if (TEXT(c, "chip", chip) && (!chip_serial(chip) || (o.chip[0] && strcmp(chip, o.chip))))
            return chip_serial(chip)
                       ? dom_conflict(c,
                                      "the card read (chip %s) is not the card shipped for "
                                      "order %s (chip %s)",
                                      chip, id, o.chip)
                       : dom_invalid(c, "chip must be the 16 hex digits the card's CPLC gives");
    }
    if (TEXT(c, "appointment", appointment)) {
        sqlite3_stmt *st;
        if ((r = dom_row(c, &st,
                         "SELECT 1 FROM p_appointments WHERE appointment = ?1 AND order_id = ?2"
                         " AND state = 'booked'",
                         "tt", appointment, id)) <= 0)
            return r < 0 ? r
                         : dom_conflict(c, "appointment %s is not a booked meeting for order %s",
                                        appointment, id);
        dom_done(st);
        if ((r = dom_exec(c, "UPDATE p_appointments SET state = ?2 WHERE appointment = ?1", "tt",
                          appointment, completed ? "done" : "failed")) < 0)
            return r;
    }
    if ((r = meeting(c, id, o.office, okind, completed ? "completed" : "failed",
                     completed ? "" : TEXT(c, "reason", reason))) < 0)
        return r;
    if (!completed)
        return dom_exec(
            c, "UPDATE p_orders SET failed_meetings = failed_meetings + 1 WHERE order_id = ?1", "t",
            id);
    return dom_exec(c,
                    "UPDATE p_orders SET state = 'handed-over', handed_over_ms = ?2,"
                    " read_by_reader = ?3 WHERE order_id = ?1",
                    "tii", id, ts(c), (int64_t)dom_bool(c, "read_by_reader"));
}

static int handover_completed(struct dom_ctx *c)
{
    return handover(c, true);
}

static int handover_failed(struct dom_ctx *c)
{
    return handover(c, false);
}

static int close_order(struct dom_ctx *c, const char *const *from, const char *to)
{
    char id[65], reason[DOM_MAX_TEXT + 1], police[DOM_MAX_TEXT + 1];
    struct order o;
    int r;
    TEXT(c, "order", id);
    if ((r = order_in(c, id, &o, from)) != 0)
        return r;
    return dom_exec(c,
                    "UPDATE p_orders SET state = ?2, closed_ms = ?3,"
                    " closed_reason = coalesce(?4, closed_reason),"
                    " police_report = coalesce(?5, police_report) WHERE order_id = ?1",
                    "ttitt", id, to, ts(c), TEXT(c, "reason", reason),
                    TEXT(c, "police_report", police));
}

static int card_returned(struct dom_ctx *c)
{
    static const char *const from[] = { "shipped", "notice", "collected", "stored", NULL };
    return close_order(c, from, "returned");
}

static int card_revoked(struct dom_ctx *c)
{
    static const char *const from[] = { "ordered", "shipped",     "notice",   "collected",
                                        "stored",  "handed-over", "returned", NULL };
    char reason[24];
    /* A lost card is reported to the police; the revocation carries the report's reference. */
    if (!strcmp(TEXT(c, "reason", reason), "lost") && !dom_has(c, "police_report"))
        return dom_invalid(c, "a lost card's revocation needs police_report");
    return close_order(c, from, "revoked");
}

static int card_destroyed(struct dom_ctx *c)
{
    static const char *const from[] = { "returned", "revoked", NULL };
    return close_order(c, from, "destroyed");
}

/* ---- reserve cards ---- */

static int reserve_get(struct dom_ctx *c, const char *id, int64_t *returned)
{
    sqlite3_stmt *st;
    int r = dom_row(c, &st, "SELECT coalesce(returned_ms, 0) FROM p_reserves WHERE reserve = ?1",
                    "t", id);
    if (r <= 0)
        return r < 0 ? r : dom_conflict(c, "no reserve card %s is known", id);
    *returned = sqlite3_column_int64(st, 0);
    dom_done(st);
    return 0;
}

static int reserve_issued(struct dom_ctx *c)
{
    char id[65], office[65], holder[DOM_MAX_TEXT + 1], reason[32], receipt[65], kind[16];
    uint64_t until = dom_uint(c, "valid_until_ms");
    int64_t returned = 0;
    int r;
    TEXT(c, "reserve", id);
    TEXT(c, "office", office);
    if (!TEXT(c, "holder", holder))
        holder[0] = '\0'; /* sealed apart, in reserve.holder */
    TEXT(c, "reason", reason);
    TEXT(c, "receipt", receipt);
    /* Reserve cards are valid at most three months (DOMAIN.md, seed 004). */
    if (until <= c->e->timestamp_ms || until > dom_add_months(c->e->timestamp_ms, 3))
        return dom_invalid(c, "a reserve card is valid at most three months from its issue");
    if ((r = reserve_get(c, id, &returned)) != DOM_CONFLICT)
        return r < 0 ? r : dom_conflict(c, "reserve card %s already exists", id);
    if ((r = office_active(c, office, ts(c), kind)) != 0)
        return r;
    return dom_exec(c,
                    "INSERT INTO p_reserves(reserve, office, holder, reason, issued_ms,"
                    " valid_until_ms, receipt) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    "ttttiit", id, office, holder, reason, ts(c), (int64_t)until, receipt);
}

static int reserve_returned(struct dom_ctx *c)
{
    char id[65];
    int64_t returned = 0;
    int r;
    TEXT(c, "reserve", id);
    if ((r = reserve_get(c, id, &returned)) != 0)
        return r;
    if (returned)
        return dom_conflict(c, "reserve card %s was already returned", id);
    return dom_exec(c, "UPDATE p_reserves SET returned_ms = ?2 WHERE reserve = ?1", "ti", id,
                    ts(c));
}

static int receipt_archived(struct dom_ctx *c)
{
    char id[65];
    int64_t returned = 0;
    sqlite3_stmt *st;
    int r;
    TEXT(c, "reserve", id);
    if ((r = reserve_get(c, id, &returned)) != 0)
        return r;
    if ((r = dom_row(
             c, &st,
             "SELECT 1 FROM p_reserves WHERE reserve = ?1 AND receipt_archived_ms IS NOT NULL", "t",
             id)) != 0) {
        if (r == 1)
            dom_done(st);
        return r < 0 ? r : dom_conflict(c, "the receipt of %s is already archived", id);
    }
    return dom_exec(c, "UPDATE p_reserves SET receipt_archived_ms = ?2 WHERE reserve = ?1", "ti",
                    id, ts(c));
}

/* ---- catalogue entries ---- */

static int catalogue_get(struct dom_ctx *c, const char *id)
{
    sqlite3_stmt *st;
    int r = dom_row(c, &st, "SELECT removed_ms FROM p_catalogue WHERE entry = ?1", "t", id);
    if (r <= 0)
        return r < 0 ? r : dom_conflict(c, "no catalogue entry %s is known", id);
    bool removed = sqlite3_column_type(st, 0) != SQLITE_NULL;
    dom_done(st);
    return removed ? dom_conflict(c, "catalogue entry %s was removed", id) : 0;
}

static int catalogue_added(struct dom_ctx *c)
{
    char id[65], office[65], person[DOM_MAX_TEXT + 1], unit[DOM_MAX_TEXT + 1], k[16], s[16];
    sqlite3_stmt *st;
    int r;
    TEXT(c, "entry", id);
    TEXT(c, "office", office);
    TEXT(c, "person", person);
    TEXT(c, "unit", unit);
    if ((r = dom_row(c, &st, "SELECT 1 FROM p_catalogue WHERE entry = ?1", "t", id)) != 0) {
        if (r == 1)
            dom_done(st);
        return r < 0 ? r : dom_conflict(c, "catalogue entry %s already exists", id);
    }
    if ((r = office_get(c, office, k, s)) <= 0)
        return r < 0 ? r : dom_conflict(c, "no office %s is registered", office);
    /* An entry is valid one year; the quarterly audit keeps it alive (seed 004). */
    return dom_exec(c,
                    "INSERT INTO p_catalogue(entry, office, person, unit, added_ms, audited_ms,"
                    " valid_until_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6)",
                    "ttttii", id, office, person, unit, ts(c),
                    (int64_t)dom_add_months(c->e->timestamp_ms, 12));
}

static int catalogue_audited(struct dom_ctx *c)
{
    char id[65];
    int r;
    sqlite3_stmt *st;
    TEXT(c, "entry", id);
    if ((r = catalogue_get(c, id)) != 0)
        return r;
    /* An entry not confirmed for a year has lapsed: it is added again, not audited. */
    if ((r = dom_row(c, &st, "SELECT 1 FROM p_catalogue WHERE entry = ?1 AND valid_until_ms < ?2",
                     "ti", id, ts(c))) != 0) {
        if (r == 1)
            dom_done(st);
        return r < 0 ? r : dom_conflict(c, "catalogue entry %s has lapsed (valid one year)", id);
    }
    return dom_exec(c,
                    "UPDATE p_catalogue SET audited_ms = ?2, valid_until_ms = ?3 WHERE entry = ?1",
                    "tii", id, ts(c), (int64_t)dom_add_months(c->e->timestamp_ms, 12));
}

static int catalogue_removed(struct dom_ctx *c)
{
    char id[65];
    int r;
    TEXT(c, "entry", id);
    if ((r = catalogue_get(c, id)) != 0)
        return r;
    return dom_exec(c, "UPDATE p_catalogue SET removed_ms = ?2 WHERE entry = ?1", "ti", id, ts(c));
}

/* ---- money ---- */

static int invoice_issued(struct dom_ctx *c)
{
    char office[65], month[8], k[16], s[16];
    sqlite3_stmt *st;
    int r;
    TEXT(c, "office", office);
    TEXT(c, "month", month);
    if ((r = office_get(c, office, k, s)) <= 0)
        return r < 0 ? r : dom_conflict(c, "no office %s is registered", office);
    if ((r = dom_row(c, &st, "SELECT 1 FROM p_invoices WHERE office = ?1 AND month = ?2", "tt",
                     office, month)) != 0) {
        if (r == 1)
            dom_done(st);
        return r < 0 ? r
                     : dom_conflict(c, "the invoice basis of %s for %s was already issued", office,
                                    month);
    }
    return dom_exec(c,
                    "INSERT INTO p_invoices(office, month, handovers, extra_meetings, amount_ore,"
                    " issued_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    "ttiiii", office, month, (int64_t)dom_uint(c, "handovers"),
                    (int64_t)dom_uint(c, "extra_meetings"), (int64_t)dom_uint(c, "amount_ore"),
                    ts(c));
}

/*
 * A node says where its peers can dial it (HOST:PORT), or that they no longer can (no addr). Only
 * about itself: the newest of its feed is what is kept.
 */
static int node_address(struct dom_ctx *c)
{
    char node[65], self[65], addr[DOM_MAX_TEXT + 1] = "";
    TEXT(c, "node", node);
    store_hex(c->e->author, STORE_KEY_LEN, self);
    if (strcmp(node, self) != 0)
        return dom_invalid(c, "a node announces only its own address");
    if (dom_text(c, "addr", addr, sizeof(addr)) && addr[0] && !store_hostport_valid(addr))
        return dom_invalid(c, "addr %s is not HOST:PORT with an IPv4 address", addr);
    return dom_exec(c,
                    "INSERT INTO p_addresses(node, addr, seq, at_ms) VALUES (?1, ?2, ?3, ?4)"
                    " ON CONFLICT(node) DO UPDATE SET addr = ?2, seq = ?3, at_ms = ?4"
                    " WHERE seq < ?3",
                    "ttii", node, addr, (int64_t)c->e->seq, ts(c));
}

/* ---- the catalogue of event types ---- */

#define HUB    DOM_W_HUB
#define OFFICE (DOM_W_OFFICE | DOM_W_MOBILE)

static const struct dom_field f_office_registered[] = { ID("office"), E("kind", office_kinds),
                                                        T("name"),    T("town"),
                                                        T("place"),   T("booking"),
                                                        T("days"),    END };
static const struct dom_field f_office_updated[] = {
    ID("office"), T_OPT("name"), T_OPT("town"), T_OPT("place"), T_OPT("booking"), T_OPT("days"), END
};
static const struct dom_field f_office[] = { ID("office"), END };
static const struct dom_field f_admin_added[] = { ID("office"), ID("admin"), T("name"), END };
static const struct dom_field f_admin_removed[] = { ID("office"), ID("admin"), END };
static const struct dom_field f_node_bound[] = { { "node", DOM_F_NODE, true, NULL },
                                                 ID("office"),
                                                 E("role", node_roles),
                                                 { "valid_until_ms", DOM_F_UINT, false, NULL },
                                                 { "office_key", DOM_F_BIN, false, NULL },
                                                 END };
static const struct dom_field f_payload_purged[] = {
    ID_OPT("order"), ID_OPT("reserve"), { "author", DOM_F_NODE, true, NULL }, U("seq"), END
};
static const struct dom_field f_reserve_holder[] = { ID("reserve"),
                                                     { "sealed", DOM_F_BIN, true, NULL },
                                                     END };
static const struct dom_field f_order_holder[] = { ID("order"),
                                                   { "sealed", DOM_F_BIN, true, NULL },
                                                   END };
static const struct dom_field f_node_revoked[] = { { "node", DOM_F_NODE, true, NULL },
                                                   U("from_seq"),
                                                   END };
static const struct dom_field f_order_placed[] = { ID("order"),     ID("care_provider"),
                                                   T_OPT("holder"), ID("office"),
                                                   ID("card_type"), END };
static const struct dom_field f_card_shipped[] = { ID("order"), ID("serial"), ID("rek"),
                                                   ID_OPT("chip"), END };
static const struct dom_field f_order[] = { ID("order"), END };
static const struct dom_field f_card_stored[] = { ID("order"), B("locked"), END };
static const struct dom_field f_appointment_booked[] = {
    ID("appointment"), ID("order"), U("at_ms"), E("place_kind", place_kinds), T("place"), END
};
static const struct dom_field f_appointment_moved[] = { ID("appointment"), U("at_ms"),
                                                        E_OPT("place_kind", place_kinds),
                                                        T_OPT("place"), END };
static const struct dom_field f_appointment[] = { ID("appointment"), END };
static const struct dom_field f_handover_completed[] = { ID("order"),
                                                         ID("serial"),
                                                         B("id_checked"),
                                                         B("right_person"),
                                                         B("pin_envelope"),
                                                         B_OPT("read_by_reader"),
                                                         ID_OPT("appointment"),
                                                         ID_OPT("chip"),
                                                         T_OPT("atr"),
                                                         B_OPT("hsa_id_checked"),
                                                         END };
static const struct dom_field f_handover_failed[] = { ID("order"), E("reason", fail_reasons),
                                                      ID_OPT("appointment"), END };
static const struct dom_field f_card_returned[] = { ID("order"), T_OPT("reason"), END };
static const struct dom_field f_card_revoked[] = { ID("order"), E("reason", revoke_reasons),
                                                   T_OPT("police_report"), END };
static const struct dom_field f_reserve_issued[] = {
    ID("reserve"), ID("office"), T_OPT("holder"), E("reason", reserve_reasons), U("valid_until_ms"),
    ID("receipt"), END
};
static const struct dom_field f_reserve[] = { ID("reserve"), END };
static const struct dom_field f_catalogue_added[] = { ID("entry"), ID("office"), T("person"),
                                                      T("unit"), END };
static const struct dom_field f_entry[] = { ID("entry"), END };
static const struct dom_field f_node_address[] = { { "node", DOM_F_NODE, true, NULL },
                                                   T_OPT("addr"),
                                                   END };
static const struct dom_field f_invoice_issued[] = {
    ID("office"),    { "month", DOM_F_MONTH, true, NULL },
    U("handovers"),  U("extra_meetings"),
    U("amount_ore"), END
};

const struct dom_event store__dom_events[] = {
    { "office.registered", HUB, "office", "office", f_office_registered, office_registered },
    { "office.updated", HUB, "office", "office", f_office_updated, office_updated },
    { "admin.added", HUB, "office", "office", f_admin_added, admin_added },
    { "admin.removed", HUB, "office", "office", f_admin_removed, admin_removed },
    { "node.bound", HUB, "node", "node", f_node_bound, node_bound },
    { "node.revoked", HUB, "node", "node", f_node_revoked, node_revoked },
    { "office.notice", HUB | DOM_W_OFFICE, "office", "office", f_office, office_notice },
    { "office.closed", HUB, "office", "office", f_office, office_closed },
    { "order.placed", HUB, "order", "order", f_order_placed, order_placed },
    { "order.holder", HUB, "order", "order", f_order_holder, order_holder },
    { "payload.purged", HUB, "order", "order", f_payload_purged, payload_purged },
    { "card.shipped", HUB, "order", "order", f_card_shipped, card_shipped },
    { "pin.sent", HUB, "order", "order", f_order, pin_sent },
    { "notice.received", OFFICE, "order", "order", f_order, notice_received },
    { "card.collected", OFFICE, "order", "order", f_order, card_collected },
    { "card.stored", OFFICE, "order", "order", f_card_stored, card_stored },
    { "appointment.booked", OFFICE, "order", "order", f_appointment_booked, appointment_booked },
    { "appointment.moved", OFFICE, "appointment", "appointment", f_appointment_moved,
      appointment_moved },
    { "appointment.cancelled", OFFICE, "appointment", "appointment", f_appointment,
      appointment_cancelled },
    { "handover.completed", OFFICE, "order", "order", f_handover_completed, handover_completed },
    { "handover.failed", OFFICE, "order", "order", f_handover_failed, handover_failed },
    { "card.returned", OFFICE, "order", "order", f_card_returned, card_returned },
    { "card.revoked", HUB, "order", "order", f_card_revoked, card_revoked },
    { "card.destroyed", HUB | OFFICE, "order", "order", f_order, card_destroyed },
    { "reserve.issued", OFFICE, "reserve", "reserve", f_reserve_issued, reserve_issued },
    { "reserve.holder", OFFICE, "reserve", "reserve", f_reserve_holder, reserve_holder },
    { "reserve.returned", OFFICE, "reserve", "reserve", f_reserve, reserve_returned },
    { "receipt.archived", OFFICE, "reserve", "reserve", f_reserve, receipt_archived },
    { "catalogue.added", HUB | OFFICE, "entry", "entry", f_catalogue_added, catalogue_added },
    { "catalogue.audited", HUB | OFFICE, "entry", "entry", f_entry, catalogue_audited },
    { "catalogue.removed", HUB | OFFICE, "entry", "entry", f_entry, catalogue_removed },
    { "invoice.issued", HUB, "office", "office", f_invoice_issued, invoice_issued },
    { "node.address", HUB | OFFICE, NULL, NULL, f_node_address, node_address },
    { NULL, 0, NULL, NULL, NULL, NULL },
};

const struct dom_event *store__dom_event(const char *type)
{
    for (const struct dom_event *ev = store__dom_events; ev->type; ev++)
        if (!strcmp(ev->type, type))
            return ev;
    return NULL;
}

enum store_field_kind store_domain_field_kind(const char *type, const char *field)
{
    const struct dom_event *ev = store__dom_event(type);
    for (const struct dom_field *f = ev ? ev->fields : NULL; f && f->name; f++)
        if (!strcmp(f->name, field))
            return f->kind == DOM_F_UINT   ? STORE_FIELD_UINT
                   : f->kind == DOM_F_BOOL ? STORE_FIELD_BOOL
                   : f->kind == DOM_F_BIN  ? STORE_FIELD_BIN
                                           : STORE_FIELD_TEXT;
    return STORE_FIELD_NONE;
}

const char *const *store_domain_field_values(const char *type, const char *field)
{
    const struct dom_event *ev = store__dom_event(type);
    for (const struct dom_field *f = ev ? ev->fields : NULL; f && f->name; f++)
        if (!strcmp(f->name, field))
            return f->kind == DOM_F_ENUM ? f->values : NULL;
    return NULL;
}

size_t store_domain_type_fields(const char *type, const char **names, bool *required, size_t max)
{
    const struct dom_event *ev = store__dom_event(type);
    size_t n = 0;
    for (const struct dom_field *f = ev ? ev->fields : NULL; f && f->name && n < max; f++) {
        names[n] = f->name;
        required[n++] = f->required;
    }
    return n;
}
