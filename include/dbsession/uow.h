/**
 * @file dbsession/uow.h
 * @brief Unit of work: C structs tracked by a session, written at flush.
 *
 * Objects added to a unit of work are pending: no SQL is sent until flush,
 * which writes every pending change in one consistent order (inserts parents
 * before children, then updates, then deletes children before parents, all
 * derived from the models' foreign keys), writes generated ids back into the
 * structs and copies them into children pointing at a pending parent.
 * dbs_uow_commit() flushes and commits; a rollback (dbs_uow_rollback() or
 * dbs_session_rollback(), at any savepoint level) restores the structs to
 * match the database.
 *
 * Ownership: structs passed to dbs_uow_add() are borrowed: keep them alive
 * until they are expunged, rolled back out of the session, or the unit of
 * work is freed. Structs the unit of work creates (dbs_uow_create(), loaded
 * by dbs_uow_get() or a query) are owned by it and freed with it, or by
 * dbs_uow_expunge(). Text and blob memory the unit of work writes into a
 * struct (on load, refresh or rollback) is owned by it likewise; a pointer
 * the program stores in a field is borrowed. Such memory in a borrowed
 * struct is freed when the struct leaves at the program's request
 * (dbs_uow_expunge(), a committed dbs_uow_delete()), and stays valid until
 * dbs_uow_free() when a rollback drops the struct (added in the rolled-back
 * transaction or savepoint).
 *
 * One unit of work per session, one thread at a time.
 */
#ifndef DBSESSION_UOW_H
#define DBSESSION_UOW_H

#include "common.h"
#include "status.h"
#include "session.h"
#include "stmt.h"
#include "model.h"

DBS_BEGIN_DECLS

typedef struct dbs_uow dbs_uow;
typedef struct dbs_query dbs_query;

/**
 * Create the session's unit of work.
 * @param[out] out  owned: free with dbs_uow_free() before closing the session
 * @return DBS_OK; DBS_EMISUSE (NULL argument, or the session already has one);
 *         DBS_ENOMEM.
 */
DBS_EXTERN(int) dbs_uow_new(dbs_uow **out, dbs_session *s);

/** Stop tracking everything and free what the unit of work owns. NULL is a no-op.
 *  Pending changes are dropped; an open transaction stays open in the session. */
DBS_EXTERN(void) dbs_uow_free(dbs_uow *u);

/**
 * Make @p obj pending: it is INSERTed at the next flush.
 * @return DBS_OK; DBS_EMISUSE (NULL argument, model without a primary key,
 *         object already tracked); DBS_EIDENTITY when an object with the same
 *         client-assigned primary key is already tracked; DBS_ENOMEM.
 */
DBS_EXTERN(int) dbs_uow_add(dbs_uow *u, const dbs_model *m, void *obj);

/**
 * Allocate a zeroed struct of model @p m, owned by the unit of work, and add it.
 * @param[out] out  the struct (borrowed from the unit of work)
 */
DBS_EXTERN(int) dbs_uow_create(dbs_uow *u, const dbs_model *m, void **out);

/**
 * Mark a tracked object for deletion at the next flush. A pending object is
 * simply no longer pending.
 * @return DBS_OK; DBS_EMISUSE (not tracked).
 */
DBS_EXTERN(int) dbs_uow_delete(dbs_uow *u, const dbs_model *m, void *obj);

/**
 * The object with primary key @p id: from the identity map without a query
 * when it is tracked, else loaded. Text keys: dbs_uow_get_text().
 * @param[out] out  the object (owned by the unit of work when loaded), or
 *                  NULL when there is no such row
 * @return DBS_OK (also when not found: check *out); a negative kind.
 */
DBS_EXTERN(int) dbs_uow_get(dbs_uow *u, const dbs_model *m, int64_t id, void **out);
DBS_EXTERN(int) dbs_uow_get_text(dbs_uow *u, const dbs_model *m, const char *id, void **out);

/**
 * Query objects: `SELECT <model columns> FROM <table> WHERE <where>`. Bind
 * the `?` of @p where through dbs_query_stmt(), then step with
 * dbs_query_next(). Rows already tracked return the same pointer and keep
 * their unflushed changes. Autoflush runs first unless switched off.
 * @param where  a condition with `?` placeholders, or NULL for every row; it
 *               may end in ORDER BY / LIMIT
 * @param[out] out  owned: free with dbs_query_free()
 */
DBS_EXTERN(int) dbs_uow_query(dbs_query **out, dbs_uow *u, const dbs_model *m,
                              const char *where);
/** The query's statement, for binding (borrowed until dbs_query_free()). */
DBS_EXTERN(dbs_stmt *) dbs_query_stmt(dbs_query *q);
/** Next object: DBS_ROW with *obj_out set, DBS_DONE, or a negative kind. */
DBS_EXTERN(int) dbs_query_next(dbs_query *q, void **obj_out);
DBS_EXTERN(void) dbs_query_free(dbs_query *q);

/** Overwrite a tracked persistent object from its row (unflushed changes are lost).
 *  @return DBS_OK; DBS_ESTALE when the row is gone; DBS_EMISUSE (not persistent). */
DBS_EXTERN(int) dbs_uow_refresh(dbs_uow *u, const dbs_model *m, void *obj);

/**
 * Write every pending change without committing; generated ids are in the
 * structs when it returns. Opens a transaction when none is open (commit it
 * with dbs_uow_commit()).
 * @return DBS_OK; a classified engine error (dbs_uow_failed() names the
 *         object); DBS_ESTALE (an UPDATE or DELETE matched no row);
 *         DBS_ECYCLE (foreign keys form a cycle with no nullable link,
 *         reported before any SQL is sent).
 * On a statement-level failure the database and every struct are as they
 * were before the flush and the unit of work is usable: fix the object and
 * flush again. A failure that ends the transaction (deadlock, connection)
 * restores every struct to its state at transaction start; roll back then.
 */
DBS_EXTERN(int) dbs_uow_flush(dbs_uow *u);

/** The object whose write made the last flush fail, or NULL (with its model). */
DBS_EXTERN(void *) dbs_uow_failed(dbs_uow *u, const dbs_model **model_out);

/** What the failing flush was doing: "flush", "autoflush before a query",
 *  "flush before commit", "flush before a savepoint"; "" if none failed. */
DBS_EXTERN(const char *) dbs_uow_failed_during(dbs_uow *u);

/** Flush, then commit the session's transaction (the innermost level). */
DBS_EXTERN(int) dbs_uow_commit(dbs_uow *u);

/** Roll back the innermost level; memory follows (see dbs_session_rollback).
 *  @remark Putting structs back may need memory (text and blobs are copied).
 *          If it runs out, a struct may keep some of its values; such a row is
 *          then written with every column at the next flush, so that memory
 *          and database agree again. Every other out-of-memory condition is
 *          DBS_ENOMEM from the call that met it (tests/test_nomem.c fails each
 *          of the library's allocations in turn). */
DBS_EXTERN(int) dbs_uow_rollback(dbs_uow *u);

/** Autoflush before queries (on by default). @return the previous setting. */
DBS_EXTERN(int) dbs_uow_set_autoflush(dbs_uow *u, int on);

/** Stop tracking @p obj; an owned object is freed. @return DBS_OK, DBS_EMISUSE. */
DBS_EXTERN(int) dbs_uow_expunge(dbs_uow *u, const dbs_model *m, void *obj);

/** Stop tracking everything (pending changes are dropped) and free what is owned. */
DBS_EXTERN(void) dbs_uow_expunge_all(dbs_uow *u);

/** Number of tracked objects (pending, persistent and deleted). */
DBS_EXTERN(size_t) dbs_uow_count(const dbs_uow *u);

/**
 * CREATE TABLE for each model (with keys, NOT NULL, UNIQUE, DEFAULT, CHECK and
 * foreign keys), parents before children, and CREATE INDEX ix_<table>_<column>
 * on every foreign key column that is not a key or UNIQUE already (names
 * longer than 64 bytes are cut and end in a hash); dbs_model_drop_all() drops
 * the tables in reverse (IF EXISTS), their indexes with them, rows and all:
 * foreign keys are not checked while the DDL runs (MariaDB: FOREIGN_KEY_CHECKS;
 * SQLite: PRAGMA foreign_keys, which SQLite ignores inside a transaction, where
 * rows still referenced through ON DELETE RESTRICT make the drop fail).
 * @return DBS_OK; DBS_ECYCLE; an engine error.
 * @remark SQLite: an autoincrement key is INTEGER PRIMARY KEY AUTOINCREMENT;
 *         MariaDB: BIGINT AUTO_INCREMENT, InnoDB, utf8mb4.
 */
DBS_EXTERN(int) dbs_model_create_all(dbs_session *s, const dbs_model *const *models, int n);
DBS_EXTERN(int) dbs_model_drop_all(dbs_session *s, const dbs_model *const *models, int n);

DBS_END_DECLS

#endif
