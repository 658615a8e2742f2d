/* SPDX-License-Identifier: MIT */
#ifndef KN_NODE_H
#define KN_NODE_H

/*
 * node - one kortnod node: its data directory, identity and store, and the commands that work on
 * them. main.c parses the command line; the functions here do the work and are what the demo and
 * the tests call.
 *
 * A data directory holds:
 *     node.key     the node's Ed25519 key pair, mode 0600 (store_identity_*)
 *     kortnod.db   the SQLite log (store_*), with -wal and -shm files beside it
 */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "store.h"

#define NODE_KEY_FILE "node.key"
#define NODE_DB_FILE  "kortnod.db"

struct node {
    char *dir;
    char *key_path;
    char *db_path;
    struct store *store;
    struct store_identity id;
    char role[16];
    char name[128];
};

/* node_role_valid() - true for "hub", "office" and "mobile". */
bool node_role_valid(const char *role);

/*
 * node_init() - create a node in dir (created with mode 0700 when absent): a new key pair and an
 * empty log. hub is the hub's node id (64 hex digits; NULL for a hub, which is its own, or when
 * not known yet). -EEXIST when dir already holds a key, KN_EINVAL for a bad role or hub id. On
 * success *out is open: node_close() it.
 */
int node_init(const char *dir, const char *role, const char *name, const char *hub,
              struct node **out);

/*
 * node_open() - open the node in dir. KN_ENOTINIT when there is none, KN_EKEYPERM when its key
 * file is readable by others, store_open's codes. On success node_close() *out.
 */
int node_open(const char *dir, struct node **out);

/* node_close() - close the store and wipe the key; accepts NULL. */
void node_close(struct node *n);

/*
 * node_payload_from_json() - the canonical msgpack form of a JSON text: object keys in byte
 * order, integers only (a number with a fraction or exponent is refused: the log has no floats).
 * On success *out (free()) holds *len bytes. On failure returns KN_EJSON or KN_ETOOBIG and writes
 * a message for the user to err (size errsize).
 */
int node_payload_from_json(const char *json, uint8_t **out, size_t *len, char *err, size_t errsize);

/*
 * node_payload_to_json() - the JSON value of a canonical msgpack payload (bin becomes
 * {"$bin": hex}). NULL when the payload is not one canonical value. Caller json_decref()s.
 */
json_t *node_payload_to_json(const uint8_t *buf, size_t len);

/* node_entry_to_json() - an entry and its payload (NULL: absent) as a JSON object. */
json_t *node_entry_to_json(const struct store_entry *e, const uint8_t *payload, size_t len);

/* node_clock_json() - {author hex: seq} for every feed held. Caller json_decref()s *out. */
int node_clock_json(struct node *n, json_t **out);

/*
 * node_clock_parse() - read a clock as node_clock_json() writes it. Returns 0 with *out (caller
 * json_decref()s), or KN_EJSON with a message in err.
 */
int node_clock_parse(const char *text, json_t **out, char *err, size_t errsize);

/*
 * node_export() - write to path a bundle of every entry that a node with clock since (NULL: an
 * empty clock) lacks, feeds in author order, each oldest first. Written to a temporary file and
 * renamed, so path is never left half-written. *count receives the number of entries.
 */
int node_export(struct node *n, const char *path, json_t *since, uint64_t *count);

struct node_import_report {
    uint64_t records;
    struct store_ingest_result total;
};

/*
 * node_import() - read a bundle and ingest it in batches, each one transaction; what was ingested
 * before an error stays. Refused entries are described on msgs (may be NULL), at most 20 of them,
 * and counted in the report. Progress goes to progress (may be NULL) for large files. Returns 0
 * when the whole file was read, or the error that stopped it (KN_ETRUNC for a cut-off bundle).
 */
int node_import(struct node *n, const char *path, struct node_import_report *rep, FILE *msgs,
                FILE *progress);

/* node_short_id() - the first 8 hex chars of a key, for people; out has room for 9. */
void node_short_id(const uint8_t key[STORE_KEY_LEN], char out[9]);

/* node_format_time() - ISO 8601 UTC with milliseconds; out has room for 32. */
void node_format_time(uint64_t ms, char out[32]);

/* node_now_ms() - the wall clock in milliseconds since 1970. */
uint64_t node_now_ms(void);

/*
 * node_cmd_domain() - the card domain's commands (steps, `state`, `report`), argv[0] being the
 * command. *handled is false when argv[0] is none of them. Returns the exit status.
 */
int node_cmd_domain(const char *dir, int argc, char **argv, bool *handled);

/* node_report_text() - a report as an aligned text table under title. 0 or a KN_E code. */
int node_report_text(struct node *n, enum store_report which, const struct store_report_args *a,
                     const char *title, FILE *out);

/* node_domain_usage() - the list of steps and their options. */
void node_domain_usage(FILE *out);

/* node_demo() - the demo: hub and two offices in a temporary directory. 0 on success. */
int node_demo(FILE *out, bool keep);

#endif
