/*
 * What SQLite alone costs a receiver per catch-up entry (docs/benchmarks.md, session 8).
 *
 * Inserts N field-report changes into a copy of a real node database, with the statements the
 * province's writer runs for a lone create: the existence check, the journal row (with a blob of
 * the mean entry size) and the record row, 2,000 per transaction as one bundle. No decoding,
 * signatures, sharing checks or Swift: the floor under `iocnode bundle import`. The schema is the
 * node's own (migrations run by iocnode), so the figure follows it.
 *
 *   iocnode bench apply --entries 0 --workdir /tmp/floor      # an empty province database
 *   cc -O2 -o /tmp/sqlite-insert-floor scripts/sqlite-insert-floor.c -lsqlite3
 *   /tmp/sqlite-insert-floor /tmp/floor/province/node.sqlite [N] [entry-bytes]
 *
 * The database is copied first (to <path>.floor, removed at exit), so the template stays empty;
 * it must hold no records or journal entries. The WAL is not checkpointed during the run (iocnode
 * does that on another thread), so the time printed is the writer's: CPU seconds of this process
 * and entries per CPU-second.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double cpu(void) { return (double)clock() / CLOCKS_PER_SEC; }

/* The copy and its log files, removed at every exit (a 1M run leaves gigabytes otherwise). */
static char copy[4096], copyWAL[4200], copySHM[4200];
static sqlite3 *db;

static void cleanup(void) {
    if (db) sqlite3_close_v2(db);
    db = NULL;
    if (copy[0]) { remove(copy); remove(copyWAL); remove(copySHM); }
}

static void check(int rc, sqlite3 *on, const char *what) {
    if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
        fprintf(stderr, "%s: %s\n", what, on ? sqlite3_errmsg(on) : "failed");
        exit(1);
    }
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s EMPTY-NODE-DB [N] [ENTRY-BYTES]\n", argv[0]);
        return 2;
    }
    long n = argc > 2 ? atol(argv[2]) : 100000;
    int entryBytes = argc > 3 ? atoi(argv[3]) : 1195;
    if (n <= 0 || n > 16777215 || entryBytes <= 0 || entryBytes > 65536) {
        fprintf(stderr, "N must be 1–16777215 (ids carry 24 bits of it); ENTRY-BYTES 1–65536\n");
        return 2;
    }
    if (snprintf(copy, sizeof copy, "%s.floor", argv[1]) >= (int)sizeof copy) {
        fprintf(stderr, "path too long\n");
        return 2;
    }
    snprintf(copyWAL, sizeof copyWAL, "%s-wal", copy);
    snprintf(copySHM, sizeof copySHM, "%s-shm", copy);
    cleanup();  /* a copy left by an earlier run that was killed */
    atexit(cleanup);
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);  /* as iocnode (SQLiteTuning) */
    sqlite3 *src;
    check(sqlite3_open_v2(argv[1], &src, SQLITE_OPEN_READONLY, NULL), src, "open template");
    sqlite3_stmt *count;
    check(sqlite3_prepare_v2(src, "SELECT (SELECT count(*) FROM record) + (SELECT count(*) FROM journal)", -1, &count, NULL), src,
        "read template (is it a node database?)");
    check(sqlite3_step(count), src, "read template");
    if (sqlite3_column_int64(count, 0) != 0) {
        fprintf(stderr, "%s holds records or journal entries: use an empty node database (bench apply --entries 0)\n", argv[1]);
        return 2;
    }
    sqlite3_finalize(count);
    check(sqlite3_open(copy, &db), db, "open copy");
    sqlite3_backup *b = sqlite3_backup_init(db, "main", src, "main");
    if (!b || sqlite3_backup_step(b, -1) != SQLITE_DONE) check(SQLITE_ERROR, db, "copy");
    sqlite3_backup_finish(b);
    sqlite3_close(src);
    check(sqlite3_exec(db,
              "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-65536; PRAGMA wal_autocheckpoint=0;",
              NULL, NULL, NULL), db, "pragmas");

    sqlite3_stmt *exists, *journal, *record;
    check(sqlite3_prepare_v2(db, "SELECT 1 FROM record WHERE id = ?", -1, &exists, NULL), db, "prepare exists");
    check(sqlite3_prepare_v2(db,
              "INSERT INTO journal(origin, seq, record_id, kind, hlc, bytes, leaf_hash) VALUES (?, ?, ?, ?, ?, ?, ?)", -1,
              &journal, NULL), db, "prepare journal");
    check(sqlite3_prepare_v2(db,
              "INSERT INTO record(id, kind, unit, status, category, ts, due_at, done_at, assigned_unit, ref_id, warned, "
              "origin, deleted, conflicted, updated_hlc, state, base_pos) "
              "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
              "ON CONFLICT(id) DO UPDATE SET unit = excluded.unit, status = excluded.status, category = excluded.category, "
              "ts = excluded.ts, due_at = excluded.due_at, done_at = excluded.done_at, assigned_unit = excluded.assigned_unit, "
              "ref_id = excluded.ref_id, warned = excluded.warned, origin = excluded.origin, deleted = excluded.deleted, "
              "conflicted = excluded.conflicted, updated_hlc = excluded.updated_hlc, state = excluded.state, base_pos = excluded.base_pos",
              -1, &record, NULL), db, "prepare record");

    unsigned char *blob = malloc(entryBytes + 4096), leafHash[32];
    if (!blob) return 1;
    for (int i = 0; i < entryBytes + 4096; i++) blob[i] = (unsigned char)rand();
    const char *categories[] = {"flooding", "pollution", "environment", "traffic", "food-safety"};
    const long long hlc0 = 117741641853304832LL, ts0 = 1796594876912LL;
    double started = cpu();
    for (long i = 0; i < n; i++) {
        if (i % 2000 == 0) check(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL), db, "begin");
        unsigned char id[16] = {0x01, 0x93, 0x4d, 0x66, 0x41, 0xf0, 0x70, 0x00};  /* UUIDv7-like, increasing */
        id[9] = (unsigned char)(i >> 16); id[10] = (unsigned char)(i >> 8); id[11] = (unsigned char)i;
        sqlite3_bind_blob(exists, 1, id, 16, SQLITE_TRANSIENT);
        if (sqlite3_step(exists) == SQLITE_ROW) { fprintf(stderr, "record %ld exists\n", i); return 1; }
        sqlite3_reset(exists);

        const unsigned char *bytes = blob + (i % 4096);
        sqlite3_bind_text(journal, 1, "hai-chau", -1, SQLITE_STATIC);
        sqlite3_bind_int64(journal, 2, i + 1);
        sqlite3_bind_blob(journal, 3, id, 16, SQLITE_TRANSIENT);
        sqlite3_bind_text(journal, 4, "fieldReport", -1, SQLITE_STATIC);
        sqlite3_bind_int64(journal, 5, hlc0 + i);
        sqlite3_bind_blob(journal, 6, bytes, entryBytes, SQLITE_STATIC);
        memcpy(leafHash, blob + (i % 4096), 32);  /* a different 32 bytes per entry, as leaf hashes are */
        sqlite3_bind_blob(journal, 7, leafHash, 32, SQLITE_TRANSIENT);
        check(sqlite3_step(journal), db, "journal insert");
        sqlite3_reset(journal);
        long long pos = sqlite3_last_insert_rowid(db);

        sqlite3_bind_blob(record, 1, id, 16, SQLITE_TRANSIENT);
        sqlite3_bind_text(record, 2, "fieldReport", -1, SQLITE_STATIC);
        sqlite3_bind_text(record, 3, "20194", -1, SQLITE_STATIC);
        sqlite3_bind_text(record, 4, "received", -1, SQLITE_STATIC);
        sqlite3_bind_text(record, 5, categories[i % 5], -1, SQLITE_STATIC);
        sqlite3_bind_int64(record, 6, ts0 + i / 3);
        sqlite3_bind_int64(record, 7, ts0 + 86400000LL);
        sqlite3_bind_null(record, 8);
        sqlite3_bind_text(record, 9, "20194", -1, SQLITE_STATIC);
        sqlite3_bind_null(record, 10);
        sqlite3_bind_int(record, 11, 0);
        sqlite3_bind_text(record, 12, "hai-chau", -1, SQLITE_STATIC);
        sqlite3_bind_int(record, 13, 0);
        sqlite3_bind_int(record, 14, 0);
        sqlite3_bind_int64(record, 15, hlc0 + i);
        sqlite3_bind_null(record, 16);
        sqlite3_bind_int64(record, 17, pos);
        check(sqlite3_step(record), db, "record insert");
        sqlite3_reset(record);
        if (i % 2000 == 1999 || i == n - 1) check(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), db, "commit");
    }
    double seconds = cpu() - started;
    printf("%ld entries of %d B: %.3f CPU-s = %.0f entries per CPU-second (SQLite %s)\n", n, entryBytes, seconds,
        n / seconds, sqlite3_libversion());
    sqlite3_finalize(exists);
    sqlite3_finalize(journal);
    sqlite3_finalize(record);
    free(blob);
    return 0;  /* cleanup() closes and removes the copy */
}
