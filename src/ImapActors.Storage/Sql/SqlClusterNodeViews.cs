using System.Text.Json;

namespace ImapActors.Storage.Sql;

/// <summary>The nodes' reports over ADO.NET, shared by SQLite and PostgreSQL: one row per node, the report as JSON.</summary>
internal sealed class SqlClusterNodeViews(ISqlConnector database) : IClusterNodeViews
{
    /// <inheritdoc />
    public async Task PublishNodeViewAsync(ClusterNodeView view, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(view);
        await using var connection = await database.OpenAsync(cancellationToken);
        await SqlCommands.ExecuteAsync(connection, null, """
            INSERT INTO cluster_nodes (node, reported_at, report) VALUES (@node, @reported_at, @report)
            ON CONFLICT (node) DO UPDATE SET reported_at = excluded.reported_at, report = excluded.report
            """, cancellationToken, ("node", view.Node), ("reported_at", view.ReportedAt), ("report", JsonSerializer.Serialize(view)));
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<ClusterNodeView>> ReadNodeViewsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var reports = await SqlCommands.ListAsync(connection, "SELECT report FROM cluster_nodes", r => r.GetString(0), cancellationToken);
        return reports.Select(r => JsonSerializer.Deserialize<ClusterNodeView>(r)!).OrderByDescending(v => v.ReportedAt).ToList();
    }
}
