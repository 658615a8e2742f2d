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
#include <msgpack.h>

#include "store.h"
#include "sync.h"

#define NODE_KEY_FILE     "node.key"
#define NODE_DB_FILE      "kortnod.db"
#define NODE_NETKEY_FILE  "network.key"
#define NODE_CONF_FILE    "kortnod.conf"
#define NODE_DEFAULT_PORT 7117

struct node {
    char *dir;
    char *key_path;
    char *db_path;
    struct store *store;
    struct store_identity id;
    char role[16];
    char name[128];
    bool domain_deferred; /* set by the daemon: it applies arrived entries in steps from its loop */
    bool domain_dirty;    /* with domain_deferred: entries arrived that are not applied yet */
};

/* node_role_valid() - true for "hub", "office" and "mobile". */
bool node_role_valid(const char *role);

/*
 * node_init() - create a node in dir (created with mode 0700 when absent): a new key pair and an
 * empty log. hub is the hub's node id (64 hex digits; NULL for a hub, which is its own, or when
 * not known yet). The network key (network.key) is copied from netkey_from when given, else a
 * hub makes a new one and other roles have none until one is given. -EEXIST when dir already holds
 * a key, KN_EINVAL for a bad role or hub id. On success *out is open: node_close() it.
 */
int node_init(const char *dir, const char *role, const char *name, const char *hub,
              const char *netkey_from, struct node **out);

/*
 * node_open() - open the node in dir. KN_ENOTINIT when there is none, KN_EKEYPERM when its key
 * file is readable by others, store_open's codes. On success node_close() *out.
 */
int node_open(const char *dir, struct node **out);

/* node_close() - close the store and wipe the key; accepts NULL. */
void node_close(struct node *n);

/*
 * node_db_check() - is the node's database damaged? SQLite's check of the file's pages and
 * b-trees (store_check_file), then the log's hash chains, payload hashes and tip signatures
 * (store_verify_all, chain mode). Returns 0 when it is whole, 1 when it is damaged (what was
 * found first in why, size bytes), or a KN_E code when it could not be checked.
 */
int node_db_check(struct node *n, char *why, size_t size);

struct node_rebuild_report {
    char aside[4200]; /* where the damaged file now is: DATA/kortnod.db.damaged-TIME */
    uint64_t own_tip; /* the own feed's tip the damaged file showed (0: not readable) */
    size_t salvaged;  /* entries read back from the damaged file that verify */
};

/*
 * node_rebuild() - replace the damaged database of the node in dir with a new log that keeps the
 * node's key (node.key is a file of its own): it gets the node's role, name and hub as the
 * damaged file gives them (role and hub, when not NULL, win: for a file too damaged to say), and
 * every entry of the damaged file that can still be read and verifies, checked by store_ingest
 * as a peer's would be. damaged is the node open on the damaged file, or NULL when it cannot be
 * opened; it is closed here. The damaged file, with its -wal and -shm, is renamed to
 * kortnod.db.damaged-TIME, never deleted. The new log refuses to write (KN_EBEHIND) until its
 * own feed is back up to the tip the damaged file showed: the peers hold the rest (kortnod
 * recover, the daemon). Returns 0 with *out open on the new log; KN_ENOTFOUND when the role,
 * KN_ENOHUB when the hub is not known, or another KN_E code. On an error before the renaming
 * (the role, the hub, the new log), the damaged file stays where it was.
 */
int node_rebuild(const char *dir, struct node *damaged, const char *role, const char *hub,
                 struct node_rebuild_report *rep, struct node **out);

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
/* node_self_path() - this program's file (/proc/self/exe), to run it again: 0 or -errno. */
int node_self_path(char *out, size_t size);

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

/* node_parse_time() - ms since 1970 from ms, YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS][Z] (UTC): 0 or -1.
 */
int node_parse_time(const char *s, uint64_t *out);
/* node_parse_limit() - a report's row limit: 1 to NODE_REPORT_LIMIT_MAX, digits only. */
#define NODE_REPORT_LIMIT_MAX 100000u
int node_parse_limit(const char *s, uint32_t *out);

/*
 * node_cmd_trust() - `kortnod node enrol|revoke|list`: the hub enrols and revokes node keys;
 * every node lists what its hub's feed says of them. Returns the exit code.
 */
int node_cmd_trust(const char *dir, int argc, char **argv);

/*
 * node_bound_payload() - the canonical payload of the hub's node.bound enrolling node for office
 * in role (valid_until_ms left out when until_ms is 0), with the office's key sealed to the node,
 * into *sb (initialised here; the caller destroys it). Returns 0 or store_office_key_for's code.
 */
int node_bound_payload(struct store *hub, const uint8_t node[STORE_KEY_LEN], const char *office,
                       const char *role, uint64_t until_ms, msgpack_sbuffer *sb);

/*
 * The card reader on the command line and in the daemon (node/cmd_reader.c).
 *
 * node_cmd_reader() - `kortnod reader list|read|watch|status`. Returns the exit status.
 * node_reader_handover() - `handover complete --from-reader [READER]`: reads the card (in reader,
 * or the one reader holding a card), checks it against the order named in body and its shipment
 * (chip serial) and sealed holder data (HSA-id), and fills body with the serial, chip, ATR,
 * read_by_reader and hsa_id_checked. Prints why and returns -1 when the card cannot be read or
 * does not match: nothing is to be written then.
 * node_reader_match() - a sentence for what the card in a reader is for this node: "matches
 * order X", or why it is not the card to hand over; *order gets the order id when one is found.
 * Returns true when the card matches a card waiting for hand-over; *hsa_checked (may be NULL)
 * then says whether the certificate's HSA-id was checked against the holder's.
 */
struct reader_identity;
int node_cmd_reader(const char *dir, int argc, char **argv);
int node_reader_handover(struct node *n, json_t *body, const char *reader);
bool node_reader_match(struct store *s, const struct reader_identity *id, char order[65],
                       char *text, size_t text_size, bool *hsa_checked);

/*
 * node_bundle_seal() - out_path (written whole, then renamed) gets the file at plain_path
 * encrypted and authenticated with a key derived from the network key (node/sealed_bundle.c),
 * after a first chunk saying who made it and when (about; node_bundle_open gives it back).
 * node_bundle_open() - the reverse into plain_path, every chunk authenticated and the end
 * present; on failure plain_path is removed and why says what is wrong (another network or
 * altered: KN_ECRYPTO; cut off: KN_ETRUNC; not a bundle: KN_EFORMAT).
 */
struct node_bundle_about {
    uint8_t node[STORE_KEY_LEN]; /* the node that made the bundle */
    uint64_t made_ms;            /* when, by its clock */
    json_t *clock; /* what it held then ({author hex: seq}), or NULL; open: the caller's */
};
int node_bundle_seal(const uint8_t netkey[32], const struct node_bundle_about *about,
                     const char *plain_path, const char *out_path);
int node_bundle_open(const uint8_t netkey[32], const char *in_path, const char *plain_path,
                     struct node_bundle_about *about, char *why, size_t why_size);
/*
 * node_bundle_export() - `bundle export`: what a node holding since lacks (NULL: everything),
 * sealed into out_path with this node and its clock in the first chunk; the plain export lives
 * only in the data directory for the moment it takes. *count gets the number of entries.
 */
int node_bundle_export(struct node *n, const uint8_t netkey[32], json_t *since,
                       const char *out_path, uint64_t *count);

/* node_domain_usage() - the list of steps and their options. */
void node_domain_usage(FILE *out);

/*
 * node_netkey_create()/node_netkey_load() - the 32-byte network key in DATA/network.key (mode
 * 0600). create writes a new random key, or copies the one in from (a file holding 32 bytes, or
 * 64 hex digits) when from is not NULL. load refuses a file others may read (KN_EKEYPERM).
 */
int node_netkey_create(struct node *n, const char *from);
int node_netkey_load(struct node *n, uint8_t key[static 32]);

/* ---- A peer connection's replication, without I/O (conn.c) ---- */

enum node_conn_state {
    NODE_CONN_HANDSHAKE,
    NODE_CONN_OPEN,
    NODE_CONN_CLOSING, /* our goodbye is queued */
    NODE_CONN_CLOSED,  /* the peer's goodbye arrived */
    NODE_CONN_FAILED,
};

struct node_conn {
    enum node_conn_state state;
    struct node *n;
    bool client;
    struct sync_shs shs;
    struct sync_box send, recv;
    struct sync_buf in;    /* bytes from the peer not yet used */
    struct sync_buf plain; /* decrypted, for the message reader */
    struct sync_buf out;   /* bytes to write to the peer; the transport drains it */
    struct sync_msg_reader rd;
    uint8_t peer_id[STORE_KEY_LEN];
    struct sync_clock_item *peer; /* what the peer holds, as far as we know */
    size_t npeer, peer_cap;
    bool got_clock, sent_synced, peer_synced, peer_said_goodbye;
    bool domain_dirty;       /* entries arrived that the card domain has not applied yet */
    bool pumped, pump_more;  /* pump ran; it stopped with more to send */
    uint64_t pumped_version; /* the database's data_version at the last pump */
    int hub_known;           /* 0 not looked up, 1 none, 2 hub holds the hub's id */
    uint8_t hub[STORE_KEY_LEN];
    uint64_t entries_in, entries_out, bytes_out, wire_in;
    uint64_t entries_held;    /* from keys the hub has not enrolled (yet): kept aside */
    uint64_t entries_refused; /* refused by trust: a revoked key, a role that may not */
    size_t bad_entries;       /* entries of the last batch that failed verification */
    uint64_t own_behind;      /* the peer holds our own feed up to this seq, beyond our tip */
    uint64_t own_tip;         /* our own tip when the peer's clock came */
    uint64_t forks_in;        /* fork proofs from the peer that were new here */
    size_t forks_sent;        /* fork proofs held when they were last sent to the peer */
    uint64_t tips_differ;     /* feeds where the peer's clock names another entry at a seq */
    int error;
    char why[96];
};

/* node_conn_init() - a connection of node n; server_pk is the peer we dial (NULL: we accept). */
void node_conn_init(struct node_conn *c, struct node *n, const uint8_t netkey[32],
                    const uint8_t *server_pk);
void node_conn_finish(struct node_conn *c);
/* node_conn_start() - queue the first bytes (the client's hello). */
int node_conn_start(struct node_conn *c);
/* node_conn_input() - bytes from the peer. A negative return: close, c->why says why. */
int node_conn_input(struct node_conn *c, const uint8_t *data, size_t len);
/* node_conn_pump() - queue what the peer lacks while c->out is small (catch-up and live). */
int node_conn_pump(struct node_conn *c);
/* node_conn_goodbye() - queue the authenticated end of the stream. */
void node_conn_goodbye(struct node_conn *c);
/* node_conn_apply() - apply received entries to the card domain now (also done at "synced"). */
int node_conn_apply(struct node_conn *c);
/* node_conn_keepalive() - queue a repeated "synced": the link is alive, nothing is new. */
void node_conn_keepalive(struct node_conn *c);
/* node_conn_caught_up() - both sides have sent everything the other lacked. */
bool node_conn_caught_up(const struct node_conn *c);

/* ---- The daemon (daemon.c) and its configuration (config.c) ---- */

enum node_log_level { NODE_LOG_ERROR, NODE_LOG_WARN, NODE_LOG_INFO, NODE_LOG_DEBUG };

struct node_peer_conf {
    const char *addr; /* HOST:PORT (IPv4 or localhost) */
    uint8_t pk[STORE_KEY_LEN];
};

struct node_run_opts {
    const char *listen; /* HOST:PORT */
    struct node_peer_conf *peers;
    size_t npeers;
    enum node_log_level level;
    uint64_t idle_ms;     /* drop a peer silent this long (0: never) */
    int reader;           /* watch the card readers: 1 on, 0 off, -1 by role (not on the hub) */
    int lan;              /* LAN discovery: 1 on, 0 off, -1 auto (where the node listens beyond
                           * loopback; never on the hub) */
    int lan_port;         /* UDP port of the announcements (7118) */
    const char *announce; /* IPV4:PORT to write into the log as this node's address, or NULL */
    uint64_t forget_ms;   /* give up an announced address unreachable this long (7 days) */
    const char *ui;       /* the web interface: 127.x HOST:PORT (127.0.0.1:7180), or "off" */
};

/*
 * node_config_load() - DATA/kortnod.conf into *o: `listen = HOST:PORT` (default
 * 127.0.0.1:7117), `peer = HOST:PORT NODEID` lines, `reader = on|off` (default: on except
 * on the hub), `lan = on|off|auto`, `lan_port = PORT`, `announce = IPV4:PORT` and
 * `forget_after = SECONDS`; # starts a comment. Strings live in
 * *text, which the caller frees with node_config_free(). KN_EINVAL with the line in err.
 */
int node_config_load(struct node *n, struct node_run_opts *o, char **text, char *err,
                     size_t errsize);
void node_config_free(struct node_run_opts *o, char *text);
/* node_config_add_peer() - append a peer line to DATA/kortnod.conf. */
int node_config_add_peer(struct node *n, const char *hostport, const char *node_hex);

/*
 * node_status() - `kortnod status` (node/cmd_status.c): per peer and path (tcp, lan, bundle)
 * the last sync and what the peer lacks, and what waits for the hub, as text or JSON on out.
 */
int node_status(struct node *n, bool as_json, FILE *out);
/*
 * node_status_doc() - the document behind `kortnod status --json` into *out (caller decrefs):
 * live is the daemon's own view (the web interface), or NULL to read DATA/status.json.
 */
int node_status_doc(struct node *n, json_t *live, json_t **out);
/*
 * node_link_clock() - what node held at the freshest contact this node's record of links has a
 * clock of (any path), as {author hex: seq}; NULL when none. Caller decrefs.
 */
json_t *node_link_clock(struct node *n, const uint8_t node[STORE_KEY_LEN]);

/*
 * For the web interface (node/ui.c), from the command line's code (cmd_domain.c):
 * node_report_doc() - report name (stock, orders, conflicts, alerts, invoice, directory) as the
 * JSON `report NAME --json` prints into *doc, or, when csv is not NULL, as CSV text into *csv
 * (free(), *len bytes). KN_EINVAL for an unknown name or invoice without a month YYYY-MM.
 * node_steps_doc() - every step of the card's life: type, command, who writes it, its fields.
 * node_step_json() - write the step of event type from body's fields (flags not given are
 * false), as `kortnod STEP` would: the entry's seq (> 0), KN_EREFUSED with the rules' reason,
 * KN_EINVAL/KN_EJSON with err for a body that cannot be one (personal data is refused: it is
 * sealed only by the commands that place orders and issue reserve cards), or another code.
 */
int node_report_doc(struct node *n, const char *name, const struct store_report_args *a, char **csv,
                    size_t *len, json_t **doc);
json_t *node_steps_doc(void);
int node_step_json(struct node *n, const char *type, json_t *body, char *reason, size_t reason_size,
                   char *err, size_t err_size);

/* node_run() - the daemon: listen, dial, replicate, until SIGINT/SIGTERM. 0 on a clean stop. */
int node_run(struct node *n, const struct node_run_opts *o);

/* node_sync_once() - dial one peer, replicate both ways until both are caught up, say goodbye,
 * print what moved. 0 when caught up, KN_EPROTO otherwise (the reason is printed). */
int node_sync_once(struct node *n, const char *hostport, const uint8_t pk[static STORE_KEY_LEN],
                   enum node_log_level level);

/*
 * node_demo() - the demo: hub and two offices in a temporary directory. With serving, their
 * daemons then run with their web interfaces, and the login links are printed, until SIGINT or
 * SIGTERM. 0 on success.
 */
int node_demo(FILE *out, bool keep, bool serving);

#endif
