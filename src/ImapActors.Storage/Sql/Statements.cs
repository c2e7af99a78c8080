using System.Data.Common;

namespace ImapActors.Storage.Sql;

/// <summary>
/// The commands of one batch's transaction, each made and prepared once and run again with new values: a batch runs
/// the same handful of statements for every email and artifact, and parsing them anew each time was a large part of
/// a commit's cost.
/// </summary>
internal sealed class Statements(DbConnection connection, DbTransaction transaction) : IAsyncDisposable
{
    private readonly Dictionary<string, Prepared> _commands = new(StringComparer.Ordinal);

    public Task<int> ExecuteAsync(string sql, CancellationToken ct, params ReadOnlySpan<(string, object?)> parameters) =>
        For(sql, parameters).ExecuteNonQueryAsync(ct);

    /// <summary>Runs a statement whose parameters are <paramref name="names"/>, bound to <paramref name="values"/> in order.</summary>
    public Task<int> ExecuteAsync(string sql, string[] names, ReadOnlySpan<object?> values, CancellationToken ct) =>
        For(sql, names, values).ExecuteNonQueryAsync(ct);

    public Task<object?> ScalarAsync(string sql, CancellationToken ct, params ReadOnlySpan<(string, object?)> parameters) =>
        ScalarAsync(For(sql, parameters), ct);

    /// <summary>Runs a query and hands each row to <paramref name="row"/>.</summary>
    public Task ReadAsync(string sql, Action<DbDataReader> row, CancellationToken ct,
        params ReadOnlySpan<(string, object?)> parameters) =>
        ReadAsync(For(sql, parameters), row, ct);

    public async ValueTask DisposeAsync()
    {
        foreach (var prepared in _commands.Values)
        {
            await prepared.Command.DisposeAsync();
        }
    }

    private static async Task<object?> ScalarAsync(DbCommand command, CancellationToken ct)
    {
        var value = await command.ExecuteScalarAsync(ct);
        return value is DBNull ? null : value;
    }

    private static async Task ReadAsync(DbCommand command, Action<DbDataReader> row, CancellationToken ct)
    {
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            row(reader);
        }
    }

    private DbCommand For(string sql, ReadOnlySpan<(string Name, object? Value)> parameters)
    {
        if (!_commands.TryGetValue(sql, out var prepared))
        {
            var names = new string[parameters.Length];
            for (var i = 0; i < names.Length; i++)
            {
                names[i] = parameters[i].Name;
            }

            prepared = Prepare(sql, names);
        }

        // Every call site passes the same names in the same order for one statement.
        for (var i = 0; i < parameters.Length; i++)
        {
            prepared.Parameters[i].Value = SqlCommands.DbValue(parameters[i].Value);
        }

        return prepared.Command;
    }

    private DbCommand For(string sql, string[] names, ReadOnlySpan<object?> values)
    {
        var prepared = _commands.TryGetValue(sql, out var found) ? found : Prepare(sql, names);
        for (var i = 0; i < values.Length; i++)
        {
            prepared.Parameters[i].Value = SqlCommands.DbValue(values[i]);
        }

        return prepared.Command;
    }

    private Prepared Prepare(string sql, string[] names)
    {
        var command = SqlCommands.Command(connection, transaction, sql, [.. names.Select(name => (name, (object?)null))]);
        var prepared = new Prepared(command, [.. command.Parameters.Cast<DbParameter>()]);
        _commands.Add(sql, prepared);
        return prepared;
    }

    /// <summary>A command and its parameters in the order of their names, so values are bound by position.</summary>
    private sealed record Prepared(DbCommand Command, DbParameter[] Parameters);
}
