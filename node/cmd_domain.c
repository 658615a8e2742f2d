/* SPDX-License-Identifier: MIT */
/*
 * The card domain on the command line: one command per step an administrator or the hub takes,
 * `state digest`, and the reports.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <msgpack.h>
#include <sodium.h>

#include "node.h"

/* Command words to event types. Options are the event's fields, '_' written '-'. */
static const struct {
    const char *cmd, *sub, *type, *help;
} steps[] = {
    { "office", "register", "office.registered", "hub: a new card-issuing office" },
    { "office", "update", "office.updated", "hub: change an office's details" },
    { "office", "admin-add", "admin.added", "hub: an ID administrator joins an office" },
    { "office", "admin-remove", "admin.removed", "hub: an administrator leaves" },
    { "office", "bind-node", "node.bound", "hub: a node works for an office" },
    { "office", "notice", "office.notice", "the office gives notice (1 or 3 months)" },
    { "office", "close", "office.closed", "hub: the office is closed" },
    { "order", "place", "order.placed", "hub: a care provider orders a card" },
    { "card", "ship", "card.shipped", "hub: the card leaves as a registered letter" },
    { "card", "pin-sent", "pin.sent", "hub: the PIN letter is sent to the holder" },
    { "card", "notice", "notice.received", "office: the postal notice arrived" },
    { "card", "collect", "card.collected", "office: collected at the postal agent" },
    { "card", "store", "card.stored", "office: stored locked (--locked)" },
    { "card", "return", "card.returned", "office: sent back to the issuer" },
    { "card", "revoke", "card.revoked", "hub: revoked (lost, or employment ended)" },
    { "card", "destroy", "card.destroyed", "the card is destroyed" },
    { "appointment", "book", "appointment.booked", "office: a meeting with the holder" },
    { "appointment", "move", "appointment.moved", "office: another time or place" },
    { "appointment", "cancel", "appointment.cancelled", "office: the meeting is off" },
    { "handover", "complete", "handover.completed", "office: the card is handed over" },
    { "handover", "fail", "handover.failed", "office: the meeting failed (--reason)" },
    { "reserve", "issue", "reserve.issued", "office: a reserve card (at most 3 months)" },
    { "reserve", "return", "reserve.returned", "office: the reserve card came back" },
    { "reserve", "archive-receipt", "receipt.archived", "office: the signed receipt is filed" },
    { "catalogue", "add", "catalogue.added", "a catalogue (HSA) entry, valid a year" },
    { "catalogue", "audit", "catalogue.audited", "the quarterly audit confirmed" },
    { "catalogue", "remove", "catalogue.removed", "the person is deregistered" },
    { "invoice", "issue", "invoice.issued", "hub: the invoice basis of an office's month" },
};
#define NSTEPS (sizeof(steps) / sizeof(steps[0]))

/* Fields of handover.completed that only --from-reader sets, from what the card says. */
static bool reader_field(const char *name)
{
    return !strcmp(name, "read_by_reader") || !strcmp(name, "chip") || !strcmp(name, "atr") ||
           !strcmp(name, "hsa_id_checked");
}

/* An option (--read-by-reader) naming one of those fields. */
static bool reader_option(const char *opt)
{
    char f[40];
    if (strncmp(opt, "--", 2) != 0 || strlen(opt) >= sizeof(f) + 2)
        return false;
    snprintf(f, sizeof(f), "%s", opt + 2);
    for (char *p = f; *p; p++)
        *p = *p == '-' ? '_' : *p;
    return reader_field(f);
}

void node_domain_usage(FILE *out)
{
    const char *last = "";
    fprintf(out, "Steps of a card's life (options are the event's fields; * required):\n");
    for (size_t i = 0; i < NSTEPS; i++) {
        const char *names[24];
        bool req[24];
        size_t n = store_domain_type_fields(steps[i].type, names, req, 24);
        if (strcmp(last, steps[i].cmd) != 0)
            last = steps[i].cmd;
        fprintf(out, "  %s %s", steps[i].cmd, steps[i].sub);
        for (size_t k = 0; k < n; k++) {
            char opt[64];
            snprintf(opt, sizeof(opt), "%s", names[k]);
            for (char *p = opt; *p; p++)
                if (*p == '_')
                    *p = '-';
            enum store_field_kind kind = store_domain_field_kind(steps[i].type, names[k]);
            if (kind == STORE_FIELD_BIN)
                continue; /* made by the program (sealed data, keys), never typed */
            if (!strcmp(steps[i].type, "handover.completed") && reader_field(names[k]))
                continue;
            if ((!strcmp(steps[i].type, "order.placed") ||
                 !strcmp(steps[i].type, "reserve.issued")) &&
                !strcmp(names[k], "holder")) {
                fprintf(out,
                        " --holder X --pnr X --phone X --email X --hsa-id X | --holder-file FILE|-"
                        " (sealed)");
                continue;
            }
            fprintf(out, " --%s%s%s", opt, kind == STORE_FIELD_BOOL ? "" : " X", req[k] ? "*" : "");
        }
        if (!strcmp(steps[i].type, "handover.completed"))
            fprintf(out, " [--from-reader [READER]]");
        fprintf(out, "\n      %s [%s]\n", steps[i].help, steps[i].type);
    }
}

/* n digits at s as a number, or -1. */
static int digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* A time: milliseconds, YYYY-MM-DD, or YYYY-MM-DDTHH:MM[:SS][Z], all UTC. */
int node_parse_limit(const char *s, uint32_t *out)
{
    char *end;
    if (!*s || *s < '0' || *s > '9')
        return KN_EINVAL;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (*end || errno || v < 1 || v > NODE_REPORT_LIMIT_MAX)
        return KN_EINVAL;
    *out = (uint32_t)v;
    return 0;
}

int node_parse_time(const char *s, uint64_t *out)
{
    size_t len = strlen(s);
    int y, mo, d, h = 0, mi = 0, sec = 0;
    char *end;

    if (len > 0 && len <= 19 && strspn(s, "0123456789") == len) {
        *out = strtoull(s, &end, 10);
        return 0;
    }
    if (len > 0 && s[len - 1] == 'Z')
        len--;
    if ((len != 10 && len != 16 && len != 19) || s[4] != '-' || s[7] != '-')
        return -1;
    y = digits(s, 4), mo = digits(s + 5, 2), d = digits(s + 8, 2);
    if (len >= 16) {
        if (s[10] != 'T' || s[13] != ':')
            return -1;
        h = digits(s + 11, 2), mi = digits(s + 14, 2);
    }
    if (len == 19) {
        if (s[16] != ':')
            return -1;
        sec = digits(s + 17, 2);
    }
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 ||
        sec < 0 || sec > 59)
        return -1;
    struct tm tm = { .tm_year = y - 1900,
                     .tm_mon = mo - 1,
                     .tm_mday = d,
                     .tm_hour = h,
                     .tm_min = mi,
                     .tm_sec = sec };
    time_t t = timegm(&tm);
    /* timegm moves 31 February to March: such a date does not exist. */
    if (t < 0 || tm.tm_mday != d || tm.tm_mon != mo - 1)
        return -1;
    *out = (uint64_t)t * 1000;
    return 0;
}

/* Required flags not given are false: the projectors say which must be true. */
static void default_flags(const char *type, json_t *body)
{
    const char *names[24];
    bool req[24];
    size_t nf = store_domain_type_fields(type, names, req, 24);
    for (size_t k = 0; k < nf; k++)
        if (store_domain_field_kind(type, names[k]) == STORE_FIELD_BOOL && req[k] &&
            !json_object_get(body, names[k]))
            json_object_set_new(body, names[k], json_false());
}

/* The reports, by name: `kortnod report NAME` and the web interface's /api/report/NAME. */
static const struct {
    const char *name;
    enum store_report kind;
} reports[] = {
    { "stock", STORE_REPORT_STOCK },
    { "orders", STORE_REPORT_ORDERS },
    { "conflicts", STORE_REPORT_CONFLICTS },
    { "alerts", STORE_REPORT_ALERTS },
    { "invoice", STORE_REPORT_INVOICE_OFFICES },
    { "directory", STORE_REPORT_DIRECTORY },
    { "appointments", STORE_REPORT_APPOINTMENTS },
    { "offices", STORE_REPORT_OFFICES },
    { "handovers", STORE_REPORT_HANDOVERS },
};
#define NREPORTS    (sizeof(reports) / sizeof(reports[0]))
#define REP_INVOICE 4

/* The index of report name in reports[], or NREPORTS. */
static size_t report_index(const char *name)
{
    size_t w = 0;
    while (w < NREPORTS && strcmp(name, reports[w].name) != 0)
        w++;
    return w;
}

static int open_domain_node(const char *dir, struct node **n)
{
    int r = node_open(dir, n);
    if (r < 0) {
        fprintf(stderr, "kortnod: %s: %s\n", dir, kn_strerror(r));
        return 1;
    }
    return 0;
}

/*
 * The holder's personal data of `order place`, sealed to the hub and the order's office in an
 * order.holder entry written with the order (store/seal.c): nothing of it is in clear in any
 * node's log. Options --holder (name), --pnr, --phone, --email.
 */
static const char *const personal_opts[][2] = {
    { "--holder", "name" }, { "--pnr", "pnr" },       { "--phone", "phone" },
    { "--email", "email" }, { "--hsa-id", "hsa_id" }, /* the holder's HSA-id, checked against the
                                                         card at hand-over */
};
#define NPERSONAL (sizeof(personal_opts) / sizeof(personal_opts[0]))

static int write_holder(struct node *n, const char *kind, json_t *body, json_t *personal,
                        char *reason, size_t rsize)
{
    const char *order = json_string_value(json_object_get(body, kind));
    const char *office = json_string_value(json_object_get(body, "office"));
    char *text = json_dumps(personal, JSON_COMPACT | JSON_SORT_KEYS);
    uint8_t *sealed = NULL, *payload;
    size_t slen, len;
    int r = store_seal(n->store, office ? office : "", (const uint8_t *)text, strlen(text), &sealed,
                       &slen);
    sodium_memzero(text, strlen(text));
    free(text);
    if (r < 0) {
        snprintf(reason, rsize, "sealing the holder's data: %s", kn_strerror(r));
        return KN_EREFUSED;
    }
    /* {"order": ..., "sealed": bin}: msgpack-c writes the shortest forms; keys in order. */
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2);
    msgpack_pack_str_with_body(&pk, kind, strlen(kind));
    msgpack_pack_str_with_body(&pk, order ? order : "", order ? strlen(order) : 0);
    msgpack_pack_str_with_body(&pk, "sealed", 6);
    msgpack_pack_bin_with_body(&pk, sealed, slen);
    payload = (uint8_t *)sb.data;
    len = sb.size;
    r = store_domain_write(n->store, !strcmp(kind, "order") ? "order.holder" : "reserve.holder",
                           payload, len, node_now_ms(), NULL, reason, rsize);
    free(sealed);
    msgpack_sbuffer_destroy(&sb);
    return r;
}

static int cmd_step(const char *dir, size_t which, int argc, char **argv)
{
    const char *type = steps[which].type;
    json_t *body = json_object();
    json_t *personal = NULL;
    struct node *n = NULL;
    uint8_t *payload = NULL;
    size_t len;
    char err[256], reason[256];
    int rc = 2;
    bool from_reader = false;
    const char *reader = NULL;
    bool handover = !strcmp(type, "handover.completed");

    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        char field[64];
        if (handover && !strcmp(a, "--from-reader")) {
            from_reader = true;
            if (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0)
                reader = argv[++i];
            continue;
        }
        if (handover && reader_option(a)) {
            fprintf(stderr, "kortnod: %s is set by --from-reader from what the card says\n", a);
            goto out;
        }
        if ((!strcmp(type, "order.placed") || !strcmp(type, "reserve.issued")) &&
            !strcmp(a, "--holder-file")) {
            /* The holder's data as a JSON object {name, pnr, phone, email} from a file or, with
             * "-", from standard input: it then appears in no process list or shell history. */
            if (i + 1 >= argc) {
                fprintf(stderr, "kortnod: option %s needs a file (- for standard input)\n", a);
                goto out;
            }
            const char *path = argv[++i];
            json_error_t jerr;
            json_t *j =
                !strcmp(path, "-") ? json_loadf(stdin, 0, &jerr) : json_load_file(path, 0, &jerr);
            const char *k;
            json_t *v;
            bool good = j && json_is_object(j);
            json_object_foreach (good ? j : NULL, k, v) {
                if (!json_is_string(v) ||
                    (strcmp(k, "name") && strcmp(k, "pnr") && strcmp(k, "phone") &&
                     strcmp(k, "email") && strcmp(k, "hsa_id")))
                    good = false;
            }
            if (!good) {
                /* never echo the contents: they are personal data */
                fprintf(stderr,
                        "kortnod: %s: not a JSON object of strings name, pnr, phone, email, "
                        "hsa_id\n",
                        !strcmp(path, "-") ? "standard input" : path);
                json_decref(j);
                goto out;
            }
            if (!personal)
                personal = json_object();
            json_object_update(personal, j);
            json_decref(j);
            continue;
        }
        if (!strcmp(type, "order.placed") || !strcmp(type, "reserve.issued")) {
            size_t k = 0;
            while (k < NPERSONAL && strcmp(a, personal_opts[k][0]))
                k++;
            /* the HSA-id is checked against the card of an order; a reserve card has none */
            if (k < NPERSONAL && !strcmp(type, "reserve.issued") && !strcmp(a, "--hsa-id"))
                k = NPERSONAL;
            if (k < NPERSONAL) {
                if (i + 1 >= argc) {
                    fprintf(stderr, "kortnod: option %s needs a value\n", a);
                    goto out;
                }
                if (!personal)
                    personal = json_object();
                json_object_set_new(personal, personal_opts[k][1], json_string(argv[++i]));
                continue;
            }
        }
        if (strncmp(a, "--", 2) != 0 || strlen(a) > 60) {
            fprintf(stderr, "kortnod: %s %s: unexpected argument '%s'\n", steps[which].cmd,
                    steps[which].sub, a);
            goto out;
        }
        snprintf(field, sizeof(field), "%s", a + 2);
        for (char *p = field; *p; p++)
            if (*p == '-')
                *p = '_';
        enum store_field_kind kind = store_domain_field_kind(type, field);
        if (kind == STORE_FIELD_NONE || kind == STORE_FIELD_BIN) {
            fprintf(stderr, "kortnod: %s %s has no option %s (see kortnod help steps)\n",
                    steps[which].cmd, steps[which].sub, a);
            goto out;
        }
        if (kind == STORE_FIELD_BOOL) {
            json_object_set_new(body, field, json_true());
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "kortnod: option %s needs a value\n", a);
            goto out;
        }
        const char *v = argv[++i];
        if (kind == STORE_FIELD_UINT) {
            uint64_t u;
            if (node_parse_time(v, &u) < 0 || u > INT64_MAX) {
                fprintf(stderr,
                        "kortnod: %s wants a number, a date YYYY-MM-DD or a time "
                        "YYYY-MM-DDTHH:MMZ, not '%s'\n",
                        a, v);
                goto out;
            }
            json_object_set_new(body, field, json_integer((json_int_t)u));
        } else {
            json_object_set_new(body, field, json_string(v));
        }
    }
    default_flags(type, body);
    if (from_reader) {
        /* The card is read and checked against the order before anything is written. */
        rc = 1;
        if (open_domain_node(dir, &n) || node_reader_handover(n, body, reader) < 0)
            goto out;
    }
    char *text = json_dumps(body, JSON_COMPACT);
    int r = node_payload_from_json(text, &payload, &len, err, sizeof(err));
    free(text);
    if (r < 0) {
        fprintf(stderr, "kortnod: %s\n", err);
        goto out;
    }
    rc = 1;
    if (!n && open_domain_node(dir, &n))
        goto out;
    struct store_entry e;
    bool together = personal != NULL;
    if (together && (r = store_tx_begin(n->store)) < 0) {
        fprintf(stderr, "kortnod: %s %s: %s\n", steps[which].cmd, steps[which].sub, kn_strerror(r));
        goto out;
    }
    r = store_domain_write(n->store, type, payload, len, node_now_ms(), &e, reason, sizeof(reason));
    if (together && r == 0)
        r = write_holder(n, !strcmp(type, "order.placed") ? "order" : "reserve", body, personal,
                         reason, sizeof(reason));
    if (together && r == 0)
        r = store_tx_commit(n->store);
    else if (together)
        store_tx_rollback(n->store);
    if (r == KN_EREFUSED) {
        fprintf(stderr, "kortnod: refused: %s\n", reason);
        goto out;
    }
    if (r < 0) {
        fprintf(stderr, "kortnod: %s %s: %s\n", steps[which].cmd, steps[which].sub, kn_strerror(r));
        goto out;
    }
    printf("%s recorded (seq %llu)\n", type, (unsigned long long)e.seq);
    if (together)
        printf("the holder's data: sealed to the hub and the office (%s)\n",
               !strcmp(type, "order.placed") ? "order.holder" : "reserve.holder");
    rc = 0;
out:
    if (personal) {
        /* no copy of personal data outlives the command in this process's memory */
        const char *k;
        json_t *v;
        json_object_foreach (personal, k, v) {
            const char *t = json_string_value(v);
            if (t)
                sodium_memzero((void *)t, strlen(t));
        }
        json_decref(personal);
    }
    json_decref(body);
    free(payload);
    node_close(n);
    return rc;
}

/* ---- reports ---- */

enum fmt { FMT_TEXT, FMT_JSON, FMT_CSV };

struct table {
    enum fmt fmt;
    json_t *cols; /* the column names, in order */
    json_t *rows; /* every format collects first, so columns can be aligned */
    const char *names[16];
    size_t ncols;
};

static int collect_row(void *ud, size_t ncols, const char *const *names,
                       const struct store_cell *cells)
{
    struct table *t = ud;
    if (!cells) {
        for (size_t i = 0; i < ncols; i++)
            json_array_append_new(t->cols, json_string(names[i]));
        return 0;
    }
    json_t *row = json_object();
    t->ncols = ncols;
    for (size_t i = 0; i < ncols; i++) {
        t->names[i] = names[i];
        json_object_set_new(row, names[i],
                            cells[i].type == STORE_CELL_NULL  ? json_null()
                            : cells[i].type == STORE_CELL_INT ? json_integer(cells[i].i)
                                                              : json_string(cells[i].text));
    }
    json_array_append_new(t->rows, row);
    return 0;
}

/* A cell as text: a time (a column named *_ms) in UTC, ISO 8601; JSON keeps milliseconds. */
static char *cell_text(json_t *v, const char *name)
{
    size_t n = strlen(name);
    if (json_is_string(v))
        return kn_xstrdup(json_string_value(v));
    if (json_is_null(v) || !v)
        return kn_xstrdup("");
    if (json_is_integer(v) && json_integer_value(v) >= 0 && n > 3 && !strcmp(name + n - 3, "_ms")) {
        char t[32];
        node_format_time((uint64_t)json_integer_value(v), t);
        return kn_xstrdup(t);
    }
    return json_dumps(v, JSON_ENCODE_ANY);
}

/* Characters, not bytes, so that å, ä and ö line up. */
static size_t text_width(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xc0) != 0x80;
    return n;
}

static void print_padded(FILE *out, const char *s, size_t width)
{
    size_t w = 0;
    for (const char *p = s; *p; p++) {
        bool start = ((unsigned char)*p & 0xc0) != 0x80;
        if (start && w == width)
            break;
        w += start;
        fputc(*p, out);
    }
    for (; w < width; w++)
        fputc(' ', out);
}

static void print_csv_field(FILE *out, const char *s)
{
    if (strpbrk(s, ",\"\n")) {
        fputc('"', out);
        for (; *s; s++) {
            if (*s == '"')
                fputc('"', out);
            fputc(*s, out);
        }
        fputc('"', out);
    } else {
        fputs(s, out);
    }
}

/* Column names of a query need to outlive it: the json keys hold them. */
static void print_table(FILE *out, json_t *cols, json_t *rows, enum fmt fmt, const char *title)
{
    size_t nrows = json_array_size(rows), ncols = 0;
    const char *names[16];

    if (fmt == FMT_JSON)
        return;
    if (nrows == 0 && fmt == FMT_TEXT) {
        fprintf(out, "%s\n  (none)\n", title);
        return;
    }
    for (size_t c = 0; c < json_array_size(cols) && ncols < 16; c++)
        names[ncols++] = json_string_value(json_array_get(cols, c));
    if (fmt == FMT_CSV) {
        for (size_t c = 0; c < ncols; c++) {
            if (c)
                fputc(',', out);
            print_csv_field(out, names[c]);
        }
        fputc('\n', out);
        for (size_t r = 0; r < nrows; r++) {
            for (size_t c = 0; c < ncols; c++) {
                char *s = cell_text(json_object_get(json_array_get(rows, r), names[c]), names[c]);
                if (c)
                    fputc(',', out);
                print_csv_field(out, s);
                free(s);
            }
            fputc('\n', out);
        }
        return;
    }
    size_t width[16];
    for (size_t c = 0; c < ncols; c++) {
        width[c] = strlen(names[c]);
        for (size_t r = 0; r < nrows; r++) {
            char *s = cell_text(json_object_get(json_array_get(rows, r), names[c]), names[c]);
            size_t w = text_width(s);
            if (w > width[c])
                width[c] = w > 64 ? 64 : w;
            free(s);
        }
    }
    fprintf(out, "%s\n", title);
    for (size_t c = 0; c < ncols; c++) {
        fputs(c ? "  " : "", out);
        print_padded(out, names[c], c + 1 < ncols ? width[c] : text_width(names[c]));
    }
    fputc('\n', out);
    for (size_t r = 0; r < nrows; r++) {
        for (size_t c = 0; c < ncols; c++) {
            char *s = cell_text(json_object_get(json_array_get(rows, r), names[c]), names[c]);
            fputs(c ? "  " : "", out);
            print_padded(out, s, c + 1 < ncols ? width[c] : text_width(s));
            free(s);
        }
        fputc('\n', out);
    }
}

static int run_report(struct node *n, enum store_report which, const struct store_report_args *a,
                      json_t **cols, json_t **rows)
{
    struct table t = { .cols = json_array(), .rows = json_array() };
    int r = store_report(n->store, which, a, collect_row, &t);
    if (r < 0) {
        json_decref(t.cols);
        json_decref(t.rows);
        return r;
    }
    *cols = t.cols;
    *rows = t.rows;
    return 0;
}

int node_report_text(struct node *n, enum store_report which, const struct store_report_args *a,
                     const char *title, FILE *out)
{
    json_t *cols, *rows;
    int r = run_report(n, which, a, &cols, &rows);
    if (r == 0) {
        print_table(out, cols, rows, FMT_TEXT, title);
        json_decref(cols);
        json_decref(rows);
    }
    return r;
}

static int cmd_report(const char *dir, int argc, char **argv)
{
    struct store_report_args a = { 0 };
    enum fmt fmt = FMT_TEXT;
    const char *what = argc > 1 ? argv[1] : "";
    struct node *n = NULL;
    int rc = 2, r;
    size_t w = report_index(what);

    if (w == NREPORTS) {
        fprintf(stderr, "kortnod: report takes stock, orders, conflicts, alerts, invoice, "
                        "appointments, offices, handovers or directory\n");
        return 2;
    }
    a.now_ms = node_now_ms();
    for (int i = 2; i < argc; i++) {
        const char *o = argv[i];
        const char **slot = !strcmp(o, "--state")    ? &a.state
                            : !strcmp(o, "--office") ? &a.office
                            : !strcmp(o, "--month")  ? &a.month
                            : !strcmp(o, "--match")  ? &a.match
                                                     : NULL;
        if (!strcmp(o, "--json")) {
            fmt = FMT_JSON;
        } else if (!strcmp(o, "--csv")) {
            fmt = FMT_CSV;
        } else if (!strcmp(o, "--now") && i + 1 < argc) {
            if (node_parse_time(argv[++i], &a.now_ms) < 0) {
                fprintf(stderr, "kortnod: --now wants a date or time, not '%s'\n", argv[i]);
                return 2;
            }
        } else if (!strcmp(o, "--limit") && i + 1 < argc) {
            if (node_parse_limit(argv[++i], &a.limit) < 0) {
                fprintf(stderr, "kortnod: --limit wants a number from 1 to %u, not '%s'\n",
                        NODE_REPORT_LIMIT_MAX, argv[i]);
                return 2;
            }
        } else if (slot && i + 1 < argc) {
            *slot = argv[++i];
        } else {
            fprintf(stderr, "kortnod: report %s: unknown argument '%s'\n", what, o);
            return 2;
        }
    }
    if (w == REP_INVOICE && (!a.month || strlen(a.month) != 7 || a.month[4] != '-')) {
        fprintf(stderr, "kortnod: report invoice needs --month YYYY-MM\n");
        return 2;
    }
    rc = 1;
    if (open_domain_node(dir, &n))
        return rc;
    struct store_domain_stats stats;
    if ((r = store_domain_sync(n->store, false, &stats)) < 0) {
        fprintf(stderr, "kortnod: report: %s\n", kn_strerror(r));
        goto out;
    }
    json_t *cols = NULL, *rows = NULL, *pcols = NULL, *providers = NULL;
    if ((r = run_report(n, reports[w].kind, &a, &cols, &rows)) < 0 ||
        (w == REP_INVOICE &&
         (r = run_report(n, STORE_REPORT_INVOICE_PROVIDERS, &a, &pcols, &providers)) < 0)) {
        fprintf(stderr, "kortnod: report %s: %s\n", what, kn_strerror(r));
        json_decref(cols);
        json_decref(rows);
        goto out;
    }
    if (fmt == FMT_JSON) {
        json_t *doc = w == REP_INVOICE ? json_pack("{s:s,s:O,s:O}", "month", a.month, "offices",
                                                   rows, "care_providers", providers)
                                       : json_incref(rows);
        json_dumpf(doc, stdout, JSON_INDENT(2));
        putchar('\n');
        json_decref(doc);
    } else {
        char title[96];
        snprintf(title, sizeof(title), "%s%s%s", reports[w].name, w == REP_INVOICE ? " " : "",
                 w == REP_INVOICE ? a.month : "");
        print_table(stdout, cols, rows, fmt, title);
        if (w == REP_INVOICE) {
            if (fmt == FMT_CSV)
                putchar('\n');
            print_table(stdout, pcols, providers, fmt,
                        "billed to care providers (800 SEK + 25 % VAT per card)");
        }
        if (reports[w].kind == STORE_REPORT_CONFLICTS && fmt == FMT_TEXT && stats.waiting)
            printf("(%zu entries wait for entries this node does not hold yet)\n", stats.waiting);
    }
    json_decref(cols);
    json_decref(rows);
    json_decref(pcols);
    json_decref(providers);
    rc = 0;
out:
    node_close(n);
    return rc;
}

static int cmd_state(const char *dir, int argc, char **argv)
{
    struct node *n;
    struct store_domain_stats stats;
    uint8_t digest[STORE_HASH_LEN];
    char hex[2 * STORE_HASH_LEN + 1];
    bool rebuild = argc > 1 && !strcmp(argv[1], "rebuild");
    if (argc != 2 || (strcmp(argv[1], "digest") && !rebuild)) {
        fprintf(stderr, "kortnod: state takes digest or rebuild\n");
        return 2;
    }
    if (open_domain_node(dir, &n))
        return 1;
    int r = store_domain_sync(n->store, rebuild, &stats);
    if (r == 0)
        r = store_domain_digest(n->store, digest);
    if (r < 0) {
        fprintf(stderr, "kortnod: state %s: %s\n", argv[1], kn_strerror(r));
        node_close(n);
        return 1;
    }
    store_hex(digest, STORE_HASH_LEN, hex);
    printf("%s\n", hex);
    fprintf(stderr, "kortnod: %zu conflicts, %zu invalid, %zu waiting%s\n", stats.conflicts,
            stats.invalid, stats.waiting, stats.rebuilt || rebuild ? " (rebuilt)" : "");
    node_close(n);
    return 0;
}

/* `order|reserve VERB --order|--reserve ID`: the id, or NULL after saying what it takes. */
static const char *kind_id(int argc, char **argv)
{
    char opt[16];
    snprintf(opt, sizeof(opt), "--%s", argv[0]);
    if (argc == 4 && !strcmp(argv[2], opt))
        return argv[3];
    fprintf(stderr, "kortnod: %s %s takes %s ID\n", argv[0], argv[1], opt);
    return NULL;
}

/* kortnod order holder --order ID: the holder's data, at a node that can read it. */
static int cmd_holder(const char *dir, int argc, char **argv)
{
    const char *kind = argv[0]; /* "order" or "reserve" */
    if (!kind_id(argc, argv))
        return 2;
    struct node *n;
    if (open_domain_node(dir, &n))
        return 1;
    uint8_t *text = NULL;
    size_t len;
    int r = store_holder_personal(n->store, kind, argv[3], &text, &len);
    if (r == 0) {
        printf("%s\n", (const char *)text);
        sodium_memzero(text, len);
        free(text);
    } else if (r == KN_ENOTFOUND) {
        fprintf(stderr, "kortnod: %s %s has no holder's data here\n", kind, argv[3]);
    } else {
        fprintf(stderr, "kortnod: %s %s: %s\n", kind, argv[3], kn_strerror(r));
    }
    node_close(n);
    return r == 0 ? 0 : 1;
}

struct purge_list {
    struct store_entry_id *v;
    size_t n, cap;
};

static int collect_holder(void *ud, const uint8_t author[STORE_KEY_LEN], uint64_t seq)
{
    struct purge_list *l = ud;
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 4;
        l->v = kn_xrealloc(l->v, l->cap * sizeof(*l->v));
    }
    memcpy(l->v[l->n].author, author, STORE_KEY_LEN);
    l->v[l->n++].seq = seq;
    return 0;
}

/*
 * kortnod order purge --order ID: at the hub, once the card's life has ended, every node deletes
 * the holder's sealed data of the order (one payload.purged per order.holder entry, together).
 */
static int cmd_purge(const char *dir, int argc, char **argv)
{
    const char *kind = argv[0]; /* "order" or "reserve" */
    if (!kind_id(argc, argv))
        return 2;
    const char *order = argv[3];
    struct node *n;
    if (open_domain_node(dir, &n))
        return 1;
    struct purge_list l = { 0 };
    char reason[256] = "";
    int r = store_tx_begin(n->store);
    if (r == 0)
        r = store_holder_entries(n->store, kind, order, collect_holder, &l);
    for (size_t i = 0; r == 0 && i < l.n; i++) {
        char hex[STORE_ID_HEX_LEN + 1];
        store_hex(l.v[i].author, STORE_KEY_LEN, hex);
        msgpack_sbuffer sb;
        msgpack_packer pk;
        msgpack_sbuffer_init(&sb);
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        msgpack_pack_map(&pk, 3);
        msgpack_pack_str_with_body(&pk, "author", 6);
        msgpack_pack_str_with_body(&pk, hex, STORE_ID_HEX_LEN);
        msgpack_pack_str_with_body(&pk, kind, strlen(kind)); /* "order" or "reserve" */
        msgpack_pack_str_with_body(&pk, order, strlen(order));
        msgpack_pack_str_with_body(&pk, "seq", 3);
        msgpack_pack_uint64(&pk, l.v[i].seq);
        r = store_domain_write(n->store, "payload.purged", (const uint8_t *)sb.data, sb.size,
                               node_now_ms(), NULL, reason, sizeof(reason));
        msgpack_sbuffer_destroy(&sb);
    }
    if (r == 0 && l.n > 0)
        r = store_tx_commit(n->store);
    else if (n->store && r != KN_EINVAL)
        store_tx_rollback(n->store);
    int rc = 0;
    if (r == KN_EREFUSED) {
        fprintf(stderr, "kortnod: refused: %s\n", reason);
        rc = 1;
    } else if (r < 0) {
        fprintf(stderr, "kortnod: order purge: %s\n", kn_strerror(r));
        rc = 1;
    } else if (l.n == 0) {
        fprintf(stderr, "kortnod: %s %s has no holder's data left to purge here\n", kind, order);
        rc = 1;
    } else {
        printf("purged the holder's data of %s %s (%zu entr%s): every node deletes it when "
               "this reaches it\n",
               kind, order, l.n, l.n == 1 ? "y" : "ies");
    }
    free(l.v);
    node_close(n);
    return rc;
}

int node_cmd_domain(const char *dir, int argc, char **argv, bool *handled)
{
    *handled = true;
    if ((!strcmp(argv[0], "order") || !strcmp(argv[0], "reserve")) && argc > 1 &&
        !strcmp(argv[1], "purge"))
        return cmd_purge(dir, argc, argv);
    if ((!strcmp(argv[0], "order") || !strcmp(argv[0], "reserve")) && argc > 1 &&
        !strcmp(argv[1], "holder"))
        return cmd_holder(dir, argc, argv);
    /* office bind-node is node enrol: the enrolment carries the office's key (seal.c). */
    if (!strcmp(argv[0], "office") && argc > 1 && !strcmp(argv[1], "bind-node")) {
        char *v[16] = { "node", "enrol" };
        int k = 2;
        const char *node = NULL;
        for (int i = 2; i < argc && k < 14; i++) {
            if (!strcmp(argv[i], "--node") && i + 1 < argc)
                node = argv[++i];
            else if (!strcmp(argv[i], "--valid-until-ms") && i + 1 < argc) {
                v[k++] = "--valid-until";
                v[k++] = argv[++i];
            } else
                v[k++] = argv[i];
        }
        if (!node) {
            fprintf(stderr, "kortnod: office bind-node needs --node NODEID\n");
            return 2;
        }
        /* node enrol takes the id first */
        char *w[18] = { v[0], v[1], (char *)node };
        for (int i = 2; i < k; i++)
            w[i + 1] = v[i];
        return node_cmd_trust(dir, k + 1, w);
    }
    if (!strcmp(argv[0], "report"))
        return cmd_report(dir, argc, argv);
    if (!strcmp(argv[0], "state"))
        return cmd_state(dir, argc, argv);
    for (size_t i = 0; i < NSTEPS; i++)
        if (!strcmp(argv[0], steps[i].cmd) && argc > 1 && !strcmp(argv[1], steps[i].sub))
            return cmd_step(dir, i, argc, argv);
    for (size_t i = 0; i < NSTEPS; i++)
        if (!strcmp(argv[0], steps[i].cmd)) {
            fprintf(stderr, "kortnod: %s takes:", argv[0]);
            for (size_t k = 0; k < NSTEPS; k++)
                if (!strcmp(argv[0], steps[k].cmd))
                    fprintf(stderr, " %s", steps[k].sub);
            fprintf(stderr, "\n");
            return 2;
        }
    *handled = false;
    return 0;
}

/* ---- for the web interface (node/ui.c) ---- */

int node_report_doc(struct node *n, const char *name, const struct store_report_args *a, char **csv,
                    size_t *len, json_t **doc)
{
    size_t w = report_index(name);
    bool invoice = w == REP_INVOICE;
    if (w == NREPORTS || (invoice && (!a->month || strlen(a->month) != 7 || a->month[4] != '-')))
        return KN_EINVAL;
    json_t *cols = NULL, *rows = NULL, *pcols = NULL, *providers = NULL;
    int r = run_report(n, reports[w].kind, a, &cols, &rows);
    if (r == 0 && invoice)
        r = run_report(n, STORE_REPORT_INVOICE_PROVIDERS, a, &pcols, &providers);
    if (r == 0 && csv) {
        FILE *f = open_memstream(csv, len);
        if (!f) {
            r = -ENOMEM;
        } else {
            print_table(f, cols, rows, FMT_CSV, name);
            if (invoice) {
                fputc('\n', f);
                print_table(f, pcols, providers, FMT_CSV, name);
            }
            fclose(f);
        }
    } else if (r == 0) {
        *doc = invoice ? json_pack("{s:s,s:O,s:O}", "month", a->month, "offices", rows,
                                   "care_providers", providers)
                       : json_incref(rows);
    }
    json_decref(cols);
    json_decref(rows);
    json_decref(pcols);
    json_decref(providers);
    return r;
}

json_t *node_steps_doc(void)
{
    static const char *const kinds[] = { [STORE_FIELD_NONE] = "text",
                                         [STORE_FIELD_TEXT] = "text",
                                         [STORE_FIELD_UINT] = "uint",
                                         [STORE_FIELD_BOOL] = "bool",
                                         [STORE_FIELD_BIN] = "bin" };
    json_t *list = json_array();
    for (size_t i = 0; i < NSTEPS; i++) {
        const char *names[24];
        bool req[24];
        size_t nf = store_domain_type_fields(steps[i].type, names, req, 24);
        json_t *fields = json_array();
        for (size_t k = 0; k < nf; k++) {
            json_t *f = json_pack("{s:s,s:s,s:b}", "name", names[k], "kind",
                                  kinds[store_domain_field_kind(steps[i].type, names[k])],
                                  "required", req[k]);
            const char *const *v = store_domain_field_values(steps[i].type, names[k]);
            if (v) {
                json_t *values = json_array();
                for (; *v; v++)
                    json_array_append_new(values, json_string(*v));
                json_object_set_new(f, "values", values);
            }
            json_array_append_new(fields, f);
        }
        json_array_append_new(list, json_pack("{s:s,s:s,s:s,s:s,s:o}", "type", steps[i].type, "cmd",
                                              steps[i].cmd, "sub", steps[i].sub, "who",
                                              steps[i].help, "fields", fields));
    }
    return list;
}

int node_step_json(struct node *n, const char *type, json_t *body, char *reason, size_t reason_size,
                   char *err, size_t err_size)
{
    static const char *const personal[] = { "holder", "pnr", "phone", "email", "hsa_id", NULL };
    size_t i = 0;
    while (i < NSTEPS && strcmp(steps[i].type, type) != 0)
        i++;
    if (i == NSTEPS) {
        snprintf(err, err_size, "no step %s (GET /api/steps lists them)", type);
        return KN_EINVAL;
    }
    for (const char *const *p = personal; *p; p++)
        if (json_object_get(body, *p)) {
            snprintf(err, err_size,
                     "personal data (%s) is not taken here: it is sealed only by kortnod order "
                     "place and reserve issue",
                     *p);
            return KN_EINVAL;
        }
    default_flags(type, body);
    uint8_t *payload = NULL;
    size_t len;
    char *text = json_dumps(body, JSON_COMPACT);
    int r = text ? node_payload_from_json(text, &payload, &len, err, err_size) : -ENOMEM;
    free(text);
    if (r < 0)
        return r;
    struct store_entry e;
    r = store_domain_write(n->store, type, payload, len, node_now_ms(), &e, reason, reason_size);
    free(payload);
    return r < 0 ? r : (int)(e.seq > INT32_MAX ? INT32_MAX : e.seq);
}
