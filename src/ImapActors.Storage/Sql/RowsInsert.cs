namespace ImapActors.Storage.Sql;

/// <summary>
/// The multi-row INSERT of a table whose rows belong to one container in order, keyed by (<c>container_id</c>,
/// <c>ordinal</c>): one SQL text per row count up to <see cref="RowsPerInsert"/>. The container id and the first
/// row's ordinal are bound once per statement; each later row's ordinal adds its offset to it, and its own columns
/// are bound under their names suffixed by the row's index (<c>@name0</c>, <c>@name1</c>, ...).
/// </summary>
internal sealed class RowsInsert
{
    /// <summary>
    /// The most rows of one container's artifacts or vault files that one INSERT carries; a longer list takes one
    /// statement per chunk. A batch prepares at most this many statements per table, one per row count.
    /// </summary>
    public const int RowsPerInsert = 16;

    /// <summary>The parameters bound before the first row's: <c>@container_id</c> and <c>@ordinal</c>.</summary>
    public const int SharedParameters = 2;

    private readonly string[] _sql;
    private readonly string[][] _names;

    public RowsInsert(string table, params string[] columns)
    {
        Table = table;
        ColumnNames = columns;
        Columns = columns.Length;
        _sql = new string[RowsPerInsert];
        _names = new string[RowsPerInsert][];
        for (var rows = 1; rows <= RowsPerInsert; rows++)
        {
            var values = Enumerable.Range(0, rows).Select(r =>
                $"(@container_id, {(r == 0 ? "@ordinal" : $"@ordinal + {r}")}, {string.Join(", ", columns.Select(c => $"@{c}{r}"))})");
            _sql[rows - 1] = $"INSERT INTO {table} (container_id, ordinal, {string.Join(", ", columns)})\nVALUES {string.Join(",\n       ", values)}";
            _names[rows - 1] = ["container_id", "ordinal", .. Enumerable.Range(0, rows).SelectMany(r => columns.Select(c => $"{c}{r}"))];
        }
    }

    public string Table { get; }

    /// <summary>The row's own columns, after <c>container_id</c> and <c>ordinal</c>.</summary>
    public IReadOnlyList<string> ColumnNames { get; }

    /// <summary>How many columns each row binds besides the shared ones.</summary>
    public int Columns { get; }

    public string Sql(int rows) => _sql[rows - 1];

    /// <summary>The parameter names of <see cref="Sql(int)"/>, shared ones first, then each row's columns in order.</summary>
    public string[] Names(int rows) => _names[rows - 1];
}
