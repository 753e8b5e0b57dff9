/* Private: session and statement internals shared by the core's files. */
#ifndef DBS_SRC_SESSION_H
#define DBS_SRC_SESSION_H

#include "dbsession/session.h"
#include "dbsession/stmt.h"
#include "../backends/backend.h"

struct dbs_session {
    const struct dbs_backend *be;
    struct dbs_conn *conn;
    struct dbs_err err;
    int depth;              /* 0 idle, 1 transaction, 2+ savepoints */
    dbs_txn_state state;
    unsigned sp_seq;        /* savepoint names: dbs_sp_<depth> suffices, see begin */
    int n_stmts;            /* open statements: close refuses while > 0 */
    char *url;              /* for dbs_session_reconnect; holds the password: wiped on free */
};

/* Call at the top of every public entry point that talks to the server:
 * clears the error, refuses when the session cannot run statements. */
int dbs__session_ready(dbs_session *s);

/* Every backend failure passes through here: updates the session state from
 * the kind and the engine's truth, and returns rc unchanged (or the kind
 * that better describes it). */
int dbs__session_failed(dbs_session *s, int rc);

#endif
