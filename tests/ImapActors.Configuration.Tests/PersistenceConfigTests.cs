using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using ImapActors.Configuration;
using ImapActors.Domain;
using ImapActors.Testing;

namespace ImapActors.Configuration.Tests;

/// <summary>An event-sourced counter, just enough to prove that the journal and snapshot store persist and recover.</summary>
internal sealed class Counter : ReceivePersistentActor
{
    public sealed record Add(int Amount);

    public sealed record Added(int Amount);

    public sealed record GetTotal;

    private int _total;

    public Counter(string id)
    {
        PersistenceId = id;
        Recover<Added>(e => _total += e.Amount);
        Recover<SnapshotOffer>(offer => _total = (int)(long)offer.Snapshot);
        Command<Add>(add => Persist(new Added(add.Amount), e =>
        {
            _total += e.Amount;
            if (LastSequenceNr % 3 == 0)
            {
                SaveSnapshot((long)_total);
            }

            Sender.Tell(_total);
        }));
        Command<GetTotal>(_ => Sender.Tell(_total));
        Command<SaveSnapshotSuccess>(_ => { });
    }

    public override string PersistenceId { get; }
}

public sealed class PersistenceConfigTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("imapactors-persistence-").FullName;

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public async Task An_actor_recovers_its_state_from_sqlite_after_the_actor_system_restarts() =>
        await PersistAndRecover(new StorageSettings(StorageProvider.Sqlite, $"Data Source={Path.Combine(_folder, "journal.db")}"));

    [Fact]
    public async Task An_actor_recovers_its_state_from_postgresql_after_the_actor_system_restarts() =>
        await PersistAndRecover(new StorageSettings(StorageProvider.PostgreSql, PostgresServices.CreateDatabase("persistence")));

    [Fact]
    public void The_plugins_are_named_with_their_classes_and_provider()
    {
        var config = PersistenceConfig.For(new StorageSettings(StorageProvider.PostgreSql, "Host=h;Database=\"d\\x\""));

        Assert.Equal("akka.persistence.journal.sql", config.GetString("akka.persistence.journal.plugin"));
        Assert.Equal("akka.persistence.snapshot-store.sql", config.GetString("akka.persistence.snapshot-store.plugin"));
        Assert.Equal("Akka.Persistence.Sql.Journal.SqlWriteJournal, Akka.Persistence.Sql", config.GetString("akka.persistence.journal.sql.class"));
        Assert.Equal("PostgreSQL.15", config.GetString("akka.persistence.journal.sql.provider-name"));
        Assert.Equal("Host=h;Database=\"d\\x\"", config.GetString("akka.persistence.snapshot-store.sql.connection-string"));
        Assert.True(config.GetBoolean("akka.persistence.journal.sql.auto-initialize"));
        Assert.Equal("SQLite.MS", PersistenceConfig.For(new StorageSettings(StorageProvider.Sqlite, "Data Source=x")).GetString("akka.persistence.journal.sql.provider-name"));
    }

    [Fact]
    public void The_sqlite_journal_has_one_writer_and_the_postgresql_journal_the_plugins_default()
    {
        Assert.Equal(1, PersistenceConfig.For(new StorageSettings(StorageProvider.Sqlite, "Data Source=x")).GetInt("akka.persistence.journal.sql.parallelism"));
        Assert.Equal(3, PersistenceConfig.For(new StorageSettings(StorageProvider.PostgreSql, "Host=h")).GetInt("akka.persistence.journal.sql.parallelism"));
    }

    [Fact]
    public void The_akka_defaults_parse() => Assert.Equal("INFO", PersistenceConfig.AkkaDefaults.GetString("akka.loglevel"));

    private static async Task PersistAndRecover(StorageSettings storage)
    {
        var config = PersistenceConfig.For(storage).WithFallback(ConfigurationFactory.ParseString("akka.loglevel = WARNING"));
        var timeout = TimeSpan.FromSeconds(30);

        var first = ActorSystem.Create("first", config);
        try
        {
            var counter = first.ActorOf(Props.Create(() => new Counter("counter-1")), "counter");
            for (var i = 1; i <= 5; i++)
            {
                await counter.Ask<int>(new Counter.Add(i), timeout);
            }

            Assert.Equal(15, await counter.Ask<int>(new Counter.GetTotal(), timeout));
        }
        finally
        {
            await first.Terminate();
        }

        var second = ActorSystem.Create("second", config);
        try
        {
            var recovered = second.ActorOf(Props.Create(() => new Counter("counter-1")), "counter");
            Assert.Equal(15, await recovered.Ask<int>(new Counter.GetTotal(), timeout));
            Assert.Equal(21, await recovered.Ask<int>(new Counter.Add(6), timeout));

            var other = second.ActorOf(Props.Create(() => new Counter("counter-2")), "other");
            Assert.Equal(0, await other.Ask<int>(new Counter.GetTotal(), timeout));
        }
        finally
        {
            await second.Terminate();
        }
    }
}
