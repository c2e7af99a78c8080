using ImapActors.Storage.Sql;
using Npgsql;

namespace ImapActors.Storage.Tests;

public sealed class PostgresDataSourceTests
{
    [Theory]
    [InlineData("Host=db.internal;Database=imapactors;Username=ingest", PostgresContainerStore.DefaultMaxAutoPrepare, 2)]
    [InlineData("Host=db.internal;Database=imapactors;Max Auto Prepare=0", 0, 5)]
    [InlineData("Host=db.internal;Database=imapactors;maxautoprepare=12", 12, 5)]
    public void The_store_prepares_repeated_statements_unless_the_connection_string_says_otherwise(string connectionString,
        int maxAutoPrepare, int minUsages)
    {
        using var dataSource = PostgresContainerStore.DataSource(connectionString);

        var used = new NpgsqlConnectionStringBuilder(dataSource.ConnectionString);
        Assert.Equal(maxAutoPrepare, used.MaxAutoPrepare);
        Assert.Equal(minUsages, used.AutoPrepareMinUsages);
        Assert.Equal("db.internal", used.Host);
    }
}
