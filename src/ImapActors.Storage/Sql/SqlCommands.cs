using System.Data.Common;

namespace ImapActors.Storage.Sql;

/// <summary>The ADO.NET plumbing of the store's statements, for both databases.</summary>
internal static class SqlCommands
{
    /// <summary>Makes a command; instants are written in UTC because PostgreSQL's timestamptz accepts nothing else.</summary>
    public static DbCommand Command(DbConnection connection, DbTransaction? transaction, string sql,
        params (string Name, object? Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            var parameter = command.CreateParameter();
            // With its prefix, SQLite finds the parameter in one look-up instead of trying each prefix in turn.
            parameter.ParameterName = "@" + name;
            parameter.Value = DbValue(value);
            command.Parameters.Add(parameter);
        }

        return command;
    }

    public static object DbValue(object? value) => value switch
    {
        null => DBNull.Value,
        DateTimeOffset t => t.ToUniversalTime(),
        _ => value,
    };

    public static async Task<int> ExecuteAsync(DbConnection connection, DbTransaction? transaction, string sql,
        CancellationToken ct, params (string, object?)[] parameters)
    {
        await using var command = Command(connection, transaction, sql, parameters);
        return await command.ExecuteNonQueryAsync(ct);
    }

    /// <summary>Every row of a query, each read by <paramref name="read"/>.</summary>
    public static async Task<List<T>> ListAsync<T>(DbConnection connection, string sql, Func<DbDataReader, T> read,
        CancellationToken ct, params (string, object?)[] parameters)
    {
        await using var command = Command(connection, null, sql, parameters);
        await using var reader = await command.ExecuteReaderAsync(ct);
        var list = new List<T>();
        while (await reader.ReadAsync(ct))
        {
            list.Add(read(reader));
        }

        return list;
    }

    public static async Task<object?> ScalarAsync(DbConnection connection, DbTransaction? transaction, string sql,
        CancellationToken ct, params (string, object?)[] parameters)
    {
        await using var command = Command(connection, transaction, sql, parameters);
        var value = await command.ExecuteScalarAsync(ct);
        return value is DBNull ? null : value;
    }
}
