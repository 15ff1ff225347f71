import GRDB

/// The node database schema. Migrations are append-only: a shipped migration is never edited.
enum Schema {
    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

                    -- One row per record: the replicated state (field registers, timeline) plus
                    -- columns derived from it for filtering. Ids are time-ordered UUIDv7 bytes.
                    CREATE TABLE record (
                        id BLOB PRIMARY KEY,
                        kind TEXT NOT NULL,
                        unit TEXT,
                        status TEXT,
                        category TEXT,
                        ts INTEGER,
                        due_at INTEGER,
                        done_at INTEGER,
                        assigned_unit TEXT,
                        ref_id BLOB,
                        warned INTEGER NOT NULL DEFAULT 0,
                        origin TEXT NOT NULL,
                        deleted INTEGER NOT NULL DEFAULT 0,
                        conflicted INTEGER NOT NULL DEFAULT 0,
                        updated_hlc INTEGER NOT NULL,
                        -- The full replicated state, or NULL while the record holds exactly one
                        -- change (its create): then the state is that journal entry, at base_pos.
                        -- Most records are written once, so this halves what a catch-up writes.
                        state BLOB,
                        base_pos INTEGER
                    );
                    CREATE INDEX record_kind_id ON record(kind, id);
                    CREATE INDEX record_kind_status ON record(kind, status);
                    CREATE INDEX record_kind_unit ON record(kind, unit);
                    CREATE INDEX record_kind_ts ON record(kind, ts);
                    CREATE INDEX record_kind_ref ON record(kind, ref_id) WHERE ref_id IS NOT NULL;
                    CREATE INDEX record_conflicted ON record(conflicted) WHERE conflicted = 1;

                    -- Every change this node holds, from every origin, in arrival order. `bytes` is
                    -- NULL for positions withheld from this node (only the leaf hash is known).
                    CREATE TABLE journal (
                        pos INTEGER PRIMARY KEY,
                        origin TEXT NOT NULL,
                        seq INTEGER NOT NULL,
                        record_id BLOB,
                        kind TEXT,
                        hlc INTEGER,
                        bytes BLOB,
                        leaf_hash BLOB NOT NULL,
                        UNIQUE(origin, seq)
                    );
                    CREATE INDEX journal_record ON journal(record_id) WHERE record_id IS NOT NULL;

                    -- Highest contiguous journal sequence held per origin.
                    CREATE TABLE knowledge (origin TEXT PRIMARY KEY, seq INTEGER NOT NULL) WITHOUT ROWID;

                    -- What each peer is known to hold, and the health of the link to it.
                    CREATE TABLE peer (
                        id TEXT PRIMARY KEY,
                        knowledge BLOB,
                        stable BLOB,
                        last_success INTEGER,
                        last_attempt INTEGER,
                        last_error TEXT,
                        last_direction TEXT,
                        bytes_sent INTEGER NOT NULL DEFAULT 0,
                        bytes_received INTEGER NOT NULL DEFAULT 0
                    );

                    -- Changes refused at merge (illegal transition from a peer, malformed body):
                    -- their journal position is kept, the record is left alone, operators can see why.
                    CREATE TABLE refusal (
                        origin TEXT NOT NULL, seq INTEGER NOT NULL, record_id BLOB, reason TEXT NOT NULL,
                        at INTEGER NOT NULL, PRIMARY KEY(origin, seq)
                    );

                    -- Origins whose clocks ran implausibly far ahead (flagged, not followed).
                    CREATE TABLE clock_skew (origin TEXT PRIMARY KEY, max_ahead_ms INTEGER NOT NULL, at INTEGER NOT NULL);

                    CREATE TABLE user (
                        id TEXT PRIMARY KEY,
                        name TEXT NOT NULL,
                        role TEXT NOT NULL,
                        unit TEXT,
                        sector TEXT,
                        token_hash BLOB NOT NULL UNIQUE,
                        created_at INTEGER NOT NULL
                    );
                    """)
        }
        m.registerMigration("v2-channels") { db in
            try db.execute(
                sql: """
                    -- Signed bundles this node sent, per peer channel. The envelope is kept until the
                    -- peer acknowledges it, so a retry (or the next file) resends the same bytes.
                    CREATE TABLE channel_out (
                        peer TEXT NOT NULL,
                        seq INTEGER NOT NULL,
                        hash BLOB NOT NULL,
                        envelope BLOB,
                        bytes INTEGER NOT NULL,
                        entries INTEGER NOT NULL,
                        reached BLOB NOT NULL,
                        knowledge BLOB NOT NULL,
                        ack INTEGER NOT NULL,
                        created_at INTEGER NOT NULL,
                        acked INTEGER NOT NULL DEFAULT 0,
                        PRIMARY KEY(peer, seq)
                    ) WITHOUT ROWID;

                    -- Every bundle accepted from a peer, in channel order: replays are recognised by
                    -- (seq, hash), forks by the same seq with another hash.
                    CREATE TABLE channel_in (
                        peer TEXT NOT NULL,
                        seq INTEGER NOT NULL,
                        hash BLOB NOT NULL,
                        entries INTEGER NOT NULL,
                        at INTEGER NOT NULL,
                        PRIMARY KEY(peer, seq)
                    ) WITHOUT ROWID;

                    -- Verified bundles that arrived ahead of a missing one: applied when the gap fills.
                    CREATE TABLE channel_held (
                        peer TEXT NOT NULL,
                        seq INTEGER NOT NULL,
                        hash BLOB NOT NULL,
                        envelope BLOB NOT NULL,
                        at INTEGER NOT NULL,
                        PRIMARY KEY(peer, seq)
                    ) WITHOUT ROWID;

                    -- Bundles refused before anything was applied, with the reason; forks keep the
                    -- conflicting envelope as evidence.
                    CREATE TABLE bundle_refusal (
                        id INTEGER PRIMARY KEY,
                        peer TEXT,
                        seq INTEGER,
                        hash BLOB,
                        reason TEXT NOT NULL,
                        evidence BLOB,
                        at INTEGER NOT NULL
                    );

                    -- The newest CA-signed trust documents (registry, denylist) this node has seen.
                    CREATE TABLE trust_doc (kind TEXT PRIMARY KEY, version INTEGER NOT NULL, bytes BLOB NOT NULL);
                    """)
        }
        m.registerMigration("v3-sharing") { db in
            try db.execute(
                sql: """
                    -- Records whose content this node has sent (or is sending) to each peer under the
                    -- sharing policy. A record entering a peer's scope is back-filled, one leaving it
                    -- is purged there; this table is how the sender knows which is which.
                    CREATE TABLE peer_scope (peer TEXT NOT NULL, record_id BLOB NOT NULL, PRIMARY KEY(peer, record_id)) WITHOUT ROWID;
                    CREATE INDEX peer_scope_record ON peer_scope(record_id);

                    -- How far each peer's scope has been evaluated: journal position and policy fingerprint.
                    CREATE TABLE peer_scope_state (peer TEXT PRIMARY KEY, pos INTEGER NOT NULL, policy TEXT NOT NULL);

                    -- Entries to back-fill and purge notices to send to a peer in its next bundles.
                    CREATE TABLE outbox_backfill (
                        peer TEXT NOT NULL, pos INTEGER NOT NULL, record_id BLOB NOT NULL, PRIMARY KEY(peer, pos)
                    ) WITHOUT ROWID;
                    CREATE TABLE outbox_purge (peer TEXT NOT NULL, record_id BLOB NOT NULL, PRIMARY KEY(peer, record_id)) WITHOUT ROWID;

                    -- Records this node purged (left its scope): the id, who asked and why; the
                    -- journal keeps each entry's leaf hash, never the content.
                    CREATE TABLE purge_receipt (
                        id INTEGER PRIMARY KEY,
                        record_id BLOB NOT NULL,
                        kind TEXT,
                        peer TEXT,
                        reason TEXT NOT NULL,
                        entries INTEGER NOT NULL,
                        at INTEGER NOT NULL
                    );
                    """)
        }
        m.registerMigration("v4-audit") { db in
            try db.execute(
                sql: """
                    -- The audit log: canonical-JSON events, in order, with their RFC 6962 leaf hashes.
                    CREATE TABLE audit_log (idx INTEGER PRIMARY KEY, entry BLOB NOT NULL, leaf BLOB NOT NULL);
                    -- Checkpoints this node signed over its audit log (C2SP signed notes).
                    CREATE TABLE audit_checkpoint (size INTEGER PRIMARY KEY, note TEXT NOT NULL, at INTEGER NOT NULL);
                    -- Peers' cosignatures over our checkpoints.
                    CREATE TABLE audit_cosignature (
                        peer TEXT NOT NULL, size INTEGER NOT NULL, note TEXT NOT NULL, at INTEGER NOT NULL, PRIMARY KEY(peer, size)
                    ) WITHOUT ROWID;
                    -- What this node last cosigned of each peer's log, and the log key it pinned.
                    CREATE TABLE audit_peer (peer TEXT PRIMARY KEY, size INTEGER NOT NULL, root BLOB NOT NULL, log_key TEXT NOT NULL);
                    CREATE TABLE audit_peer_key (peer TEXT PRIMARY KEY, witness_key TEXT NOT NULL);
                    """)
        }
        m.registerMigration("v5-scope-pending") { db in
            try db.execute(
                sql: """
                    -- Records that entered a peer's scope while the peer still lacks some of their
                    -- entries: they join the scope (and are back-filled whole) once it holds them all.
                    CREATE TABLE peer_scope_pending (peer TEXT NOT NULL, record_id BLOB NOT NULL, PRIMARY KEY(peer, record_id)) WITHOUT ROWID;
                    """)
        }
        m.registerMigration("v6-deleted-records") { db in
            try db.execute(
                sql: """
                    -- Deleted records by kind (few: tombstones until collected). Live counts are
                    -- all rows per kind (an index-only scan) minus these, instead of a table scan.
                    -- Inserting a live record does not touch it.
                    CREATE INDEX record_deleted ON record(kind) WHERE deleted = 1;
                    """)
        }
        m.registerMigration("v7-envelope-last") { db in
            try db.execute(
                sql: """
                    -- The envelope (~0.5 MB, in overflow pages) becomes the last column: SQLite
                    -- reaches a column stored after a large blob only by walking its overflow
                    -- chain, so with the envelope first, summing `bytes` over an offline node's
                    -- outbox built ahead (up to 256 MiB) read every page of it. The small columns
                    -- that queries filter and sum on come before the version vectors, which grow
                    -- with the number of origins.
                    CREATE TABLE channel_out_v7 (
                        peer TEXT NOT NULL,
                        seq INTEGER NOT NULL,
                        hash BLOB NOT NULL,
                        acked INTEGER NOT NULL DEFAULT 0,
                        bytes INTEGER NOT NULL,
                        entries INTEGER NOT NULL,
                        ack INTEGER NOT NULL,
                        created_at INTEGER NOT NULL,
                        reached BLOB NOT NULL,
                        knowledge BLOB NOT NULL,
                        envelope BLOB,
                        PRIMARY KEY(peer, seq)
                    ) WITHOUT ROWID;
                    INSERT INTO channel_out_v7(peer, seq, hash, acked, bytes, entries, ack, created_at, reached, knowledge, envelope)
                        SELECT peer, seq, hash, acked, bytes, entries, ack, created_at, reached, knowledge, envelope FROM channel_out;
                    DROP TABLE channel_out;
                    ALTER TABLE channel_out_v7 RENAME TO channel_out;
                    """)
        }
        m.registerMigration("v8-lean-record-indexes") { db in
            try db.execute(
                sql: """
                    -- Every index on `record` is one more B-tree insert per record a catch-up writes
                    -- (record_kind_status and record_kind_unit cost a province ~20 % of its apply
                    -- time at 100k). record_kind_unit could never serve a query: every unit filter
                    -- is `unit = ? OR assigned_unit = ?`, which it does not cover. record_kind_status
                    -- served one query, the 24-hour dossier warning scan, which this partial index
                    -- serves better and which field reports, the bulk of any backlog, never enter.
                    -- Status filters on lists walk record_kind_id newest first, as they did before.
                    -- record_kind_ref gains `id`, so a page of one station's observations (newest
                    -- first) reads only that station's rows instead of every observation.
                    DROP INDEX record_kind_unit;
                    DROP INDEX record_kind_status;
                    CREATE INDEX record_dossier_due ON record(due_at) WHERE kind = 'dossier' AND warned = 0 AND deleted = 0;
                    DROP INDEX record_kind_ref;
                    CREATE INDEX record_kind_ref ON record(kind, ref_id, id) WHERE ref_id IS NOT NULL;
                    """)
        }
        return m
    }
}
