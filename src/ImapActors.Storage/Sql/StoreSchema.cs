namespace ImapActors.Storage.Sql;

/// <summary>
/// The store's tables, written once for both databases. Column types that differ are tokens:
/// <c>{id}</c> (generated key), <c>{big}</c> (64-bit integer), <c>{time}</c> (instant), <c>{bool}</c>, <c>{bytes}</c>.
/// </summary>
internal static class StoreSchema
{
    /// <summary>
    /// <c>email_keys</c> is the idempotency key: one row per (asset, folder, UIDVALIDITY, UID) ever committed, pointing
    /// at the container that holds it. Several keys point at one container after a UIDVALIDITY change. Keys are never
    /// deleted: a commit looks for containers to reconcile only in a mailbox with keys of another UIDVALIDITY.
    /// Artifact <c>cef</c>/<c>cef_types</c> are JSON text, not <c>jsonb</c>, which would reorder the keys.
    /// </summary>
    private const string Template = """
        CREATE TABLE IF NOT EXISTS containers (
            id {id},
            asset TEXT NOT NULL,
            folder TEXT NOT NULL,
            uid_validity {big} NOT NULL,
            uid {big} NOT NULL,
            name TEXT NOT NULL,
            sdi TEXT NOT NULL,
            label TEXT NOT NULL,
            message_id TEXT NULL,
            date {time} NULL,
            internal_date {time} NULL,
            raw_sha256 TEXT NOT NULL,
            raw_size {big} NOT NULL,
            raw_vault_id TEXT NOT NULL,
            created_at {time} NOT NULL,
            node TEXT NULL
        );
        CREATE INDEX IF NOT EXISTS ix_containers_content ON containers (asset, folder, raw_sha256);
        CREATE INDEX IF NOT EXISTS ix_containers_message_id ON containers (message_id);

        CREATE TABLE IF NOT EXISTS artifacts (
            container_id {big} NOT NULL REFERENCES containers (id),
            ordinal INTEGER NOT NULL,
            name TEXT NOT NULL,
            cef TEXT NOT NULL,
            cef_types TEXT NULL,
            run_automation {bool} NOT NULL,
            sdi TEXT NOT NULL,
            PRIMARY KEY (container_id, ordinal)
        );

        CREATE TABLE IF NOT EXISTS vault_files (
            container_id {big} NOT NULL REFERENCES containers (id),
            ordinal INTEGER NOT NULL,
            vault_id TEXT NOT NULL,
            file_name TEXT NOT NULL,
            size {big} NOT NULL,
            sha256 TEXT NOT NULL,
            md5 TEXT NOT NULL,
            PRIMARY KEY (container_id, ordinal)
        );
        CREATE INDEX IF NOT EXISTS ix_vault_files_vault_id ON vault_files (vault_id);

        CREATE TABLE IF NOT EXISTS email_keys (
            asset TEXT NOT NULL,
            folder TEXT NOT NULL,
            uid_validity {big} NOT NULL,
            uid {big} NOT NULL,
            container_id {big} NOT NULL REFERENCES containers (id),
            PRIMARY KEY (asset, folder, uid_validity, uid)
        );
        CREATE INDEX IF NOT EXISTS ix_email_keys_container ON email_keys (container_id, uid_validity);

        CREATE TABLE IF NOT EXISTS raw_emails (
            container_id {big} NOT NULL PRIMARY KEY REFERENCES containers (id),
            content {bytes} NOT NULL
        );

        """ + VaultContentTables + QuarantineTable + OAuthTokensTable + ClusterNodesTable + DeliveriesTable;

    /// <summary>
    /// <c>deliveries</c>: the outbox, one row per container and destination, inserted with the container. <c>state</c> is
    /// pending, delivered or dead; <c>remote_id</c> is what the destination calls the container (SOAR's id).
    /// </summary>
    private const string DeliveriesTable = """
        CREATE TABLE IF NOT EXISTS deliveries (
            id {id},
            container_id {big} NOT NULL REFERENCES containers (id),
            destination TEXT NOT NULL,
            state TEXT NOT NULL,
            attempts INTEGER NOT NULL,
            next_attempt_at {time} NOT NULL,
            last_error TEXT NULL,
            remote_id TEXT NULL,
            created_at {time} NOT NULL,
            delivered_at {time} NULL,
            UNIQUE (container_id, destination)
        );
        CREATE INDEX IF NOT EXISTS ix_deliveries_due ON deliveries (destination, state, next_attempt_at);
        CREATE INDEX IF NOT EXISTS ix_deliveries_open ON deliveries (state, destination, id);

        """;

    /// <summary>Every column of <c>deliveries</c>, in the order the delivery store reads them.</summary>
    public const string DeliveryColumns = """
        id, container_id, destination, state, attempts, next_attempt_at, last_error, remote_id, created_at, delivered_at
        """;

    /// <summary>
    /// The database vault (<see cref="DatabaseVault"/>): <c>vault_content</c> has one row per content, named by its SHA-1
    /// as a file vault names its files, and <c>vault_chunks</c> its bytes in pieces of at most
    /// <see cref="DatabaseVault.ChunkBytes"/>, so neither writing nor reading a file holds it whole in memory. A content
    /// and its chunks commit together and never change. <c>vault_files</c> above is which container refers to which
    /// content, whichever vault holds the bytes; both tables stay empty when the vault is a folder.
    /// </summary>
    private const string VaultContentTables = """
        CREATE TABLE IF NOT EXISTS vault_content (
            vault_id TEXT NOT NULL PRIMARY KEY,
            sha256 TEXT NOT NULL,
            md5 TEXT NOT NULL,
            size {big} NOT NULL,
            created_at {time} NOT NULL
        );

        CREATE TABLE IF NOT EXISTS vault_chunks (
            vault_id TEXT NOT NULL REFERENCES vault_content (vault_id),
            ordinal INTEGER NOT NULL,
            content {bytes} NOT NULL,
            PRIMARY KEY (vault_id, ordinal)
        );

        """;

    /// <summary>
    /// <c>oauth_tokens</c>: the OAuth tokens of each authorization_code asset when <c>imapactors.oauth.store = database</c>
    /// (<c>DatabaseTokenStore</c>), sealed as a token file is; empty otherwise.
    /// </summary>
    private const string OAuthTokensTable = """
        CREATE TABLE IF NOT EXISTS oauth_tokens (
            asset TEXT NOT NULL PRIMARY KEY,
            sealed {bytes} NOT NULL,
            updated_at {time} NOT NULL
        );

        """;

    /// <summary>
    /// <c>cluster_nodes</c>: each cluster node's last report (<see cref="IClusterNodeViews"/>) as JSON; empty without a cluster.
    /// </summary>
    private const string ClusterNodesTable = """
        CREATE TABLE IF NOT EXISTS cluster_nodes (
            node TEXT NOT NULL PRIMARY KEY,
            reported_at {time} NOT NULL,
            report TEXT NOT NULL
        );

        """;

    /// <summary>
    /// <c>quarantine</c>: one row per email that could not be ingested. <c>raw_vault_id</c> is null for an email the
    /// server would not serve (stage <c>fetch</c>): there are no raw bytes, and a retry fetches it from the server.
    /// </summary>
    private const string QuarantineTable = """
        CREATE TABLE IF NOT EXISTS quarantine (
            id {id},
            asset TEXT NOT NULL,
            folder TEXT NOT NULL,
            uid_validity {big} NOT NULL,
            uid {big} NOT NULL,
            internal_date {time} NULL,
            raw_vault_id TEXT NULL,
            stage TEXT NOT NULL,
            error TEXT NOT NULL,
            parser_version TEXT NOT NULL,
            attempts INTEGER NOT NULL,
            quarantined_at {time} NOT NULL,
            resolved_at {time} NULL,
            UNIQUE (asset, folder, uid_validity, uid)
        );
        """;

    /// <summary>Every column of <c>quarantine</c>, in the order the quarantine store reads them.</summary>
    public const string QuarantineColumns = """
        id, asset, folder, uid_validity, uid, internal_date, raw_vault_id, stage, error, parser_version, attempts,
        quarantined_at, resolved_at
        """;

    public static string Sqlite { get; } = ForSqlite(Template);

    public static string PostgreSql { get; } = ForPostgreSql(Template);

    /// <summary>
    /// 1 when <c>quarantine.raw_vault_id</c> is still <c>NOT NULL</c>, as stores made before the <c>fetch</c> stage have it.
    /// </summary>
    public const string SqliteQuarantineRawRequired = """SELECT "notnull" FROM pragma_table_info('quarantine') WHERE name = 'raw_vault_id'""";

    /// <summary>
    /// Makes <c>quarantine.raw_vault_id</c> nullable in a store made before the <c>fetch</c> stage. SQLite cannot drop a
    /// <c>NOT NULL</c>, so the table is copied into a new one (ids kept) that takes its name; nothing refers to it.
    /// </summary>
    public static string SqliteQuarantineRawNullable { get; } = ForSqlite(QuarantineTable.Replace("quarantine (", "quarantine_migrated (", StringComparison.Ordinal)) + $"""
        INSERT INTO quarantine_migrated ({QuarantineColumns}) SELECT {QuarantineColumns} FROM quarantine;
        DROP TABLE quarantine;
        ALTER TABLE quarantine_migrated RENAME TO quarantine;
        """;

    /// <summary>The same for PostgreSQL, where a column's <c>NOT NULL</c> is dropped in place (only when still set).</summary>
    public const string PostgreSqlQuarantineRawNullable = """
        DO $$
        BEGIN
            IF EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema()
                       AND table_name = 'quarantine' AND column_name = 'raw_vault_id' AND is_nullable = 'NO') THEN
                ALTER TABLE quarantine ALTER COLUMN raw_vault_id DROP NOT NULL;
            END IF;
        END $$;
        """;

    /// <summary>Whether the server can compress with lz4 (the values it accepts for <c>default_toast_compression</c>).</summary>
    private const string PostgreSqlHasLz4 =
        "EXISTS (SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals))";

    /// <summary>
    /// The columns that hold whole emails and file chunks (<c>raw_emails.content</c>, <c>vault_chunks.content</c>) are
    /// compressed with lz4 rather than PostgreSQL's default pglz, where the server has lz4 (PostgreSQL 14 and later,
    /// built with it): an email's bytes of 2 KB or more are compressed on every insert, and pglz takes several times
    /// the server's CPU time of lz4 for them. Only values written from then on are compressed with lz4; the stored
    /// bytes read back the same either way. Each column is altered only while it is not lz4 yet.
    /// </summary>
    public const string PostgreSqlLz4Compression = $"""
        DO $$
        BEGIN
            IF {PostgreSqlHasLz4} THEN
                IF (SELECT attcompression FROM pg_attribute WHERE attrelid = 'raw_emails'::regclass AND attname = 'content') <> 'l' THEN
                    ALTER TABLE raw_emails ALTER COLUMN content SET COMPRESSION lz4;
                END IF;
                IF (SELECT attcompression FROM pg_attribute WHERE attrelid = 'vault_chunks'::regclass AND attname = 'content') <> 'l' THEN
                    ALTER TABLE vault_chunks ALTER COLUMN content SET COMPRESSION lz4;
                END IF;
            END IF;
        END $$;
        """;

    /// <summary>
    /// True when <see cref="PostgreSqlLz4Compression"/> has nothing left to do: the server has no lz4, or both columns use
    /// it. Catalog reads only; <c>to_jsonb</c> reads <c>attcompression</c> without naming a column older servers lack.
    /// </summary>
    public const string PostgreSqlLz4CompressionCurrent = $"""
        (NOT {PostgreSqlHasLz4}
         OR (SELECT count(*) FROM pg_attribute a
             WHERE a.attrelid IN (to_regclass('raw_emails'), to_regclass('vault_chunks')) AND a.attname = 'content'
               AND to_jsonb(a) ->> 'attcompression' = 'l') = 2)
        """;

    /// <summary>1 when <c>containers</c> has its <c>node</c> column; stores made before cluster mode lack it.</summary>
    public const string SqliteContainersHaveNode = "SELECT COUNT(*) FROM pragma_table_info('containers') WHERE name = 'node'";

    /// <summary>
    /// Adds <c>containers.node</c> to a store made before cluster mode; its containers keep a null node (which node made
    /// them was never recorded).
    /// </summary>
    public const string SqliteContainersAddNode = "ALTER TABLE containers ADD COLUMN node TEXT NULL";

    /// <summary>The same for PostgreSQL, which checks for the column itself.</summary>
    public const string PostgreSqlContainersAddNode = "ALTER TABLE containers ADD COLUMN IF NOT EXISTS node TEXT NULL";

    private static string ForSqlite(string template) => template
        .Replace("{id}", "INTEGER PRIMARY KEY AUTOINCREMENT", StringComparison.Ordinal)
        .Replace("{big}", "INTEGER", StringComparison.Ordinal)
        .Replace("{time}", "TEXT", StringComparison.Ordinal)
        .Replace("{bool}", "INTEGER", StringComparison.Ordinal)
        .Replace("{bytes}", "BLOB", StringComparison.Ordinal);

    private static string ForPostgreSql(string template) => template
        .Replace("{id}", "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", StringComparison.Ordinal)
        .Replace("{big}", "BIGINT", StringComparison.Ordinal)
        .Replace("{time}", "TIMESTAMPTZ", StringComparison.Ordinal)
        .Replace("{bool}", "BOOLEAN", StringComparison.Ordinal)
        .Replace("{bytes}", "BYTEA", StringComparison.Ordinal);
}
