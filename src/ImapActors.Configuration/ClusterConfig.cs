using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using Akka.Configuration;
using ImapActors.Domain;

namespace ImapActors.Configuration;

/// <summary>
/// Akka settings of cluster mode: remoting on the node's host and port, the seed nodes, the split-brain resolver, and
/// the journal and snapshot store that remember the mailbox entities (their own tables in the shared PostgreSQL).
/// </summary>
public static class ClusterConfig
{
    /// <summary>The role every engine node has; the mailbox shards and the reconciler live on it.</summary>
    public const string Role = "ingest";

    /// <summary>The plugin ids of the store that remembers the sharded mailbox entities.</summary>
    public const string ShardingJournal = "akka.persistence.journal.sharding";

    public const string ShardingSnapshots = "akka.persistence.snapshot-store.sharding";

    private static readonly JsonSerializerOptions Quoting = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The serializer of the messages that cross nodes, bound to their marker interface.</summary>
    public static Config Serialization { get; } = ConfigurationFactory.ParseString("""
        akka.actor {
          serializers.imapactors-cluster = "ImapActors.Actors.Cluster.ClusterMessageSerializer, ImapActors.Actors"
          serialization-bindings {
            "ImapActors.Actors.Cluster.MailboxSharding+IMailboxShardMessage, ImapActors.Actors" = imapactors-cluster
          }
        }
        """);

    /// <summary>The Akka address of a seed node given as host:port.</summary>
    public static string SeedAddress(string actorSystem, string hostPort) => $"akka.tcp://{actorSystem}@{hostPort}";

    /// <summary>The cluster settings of <paramref name="settings"/>, for the actor system <paramref name="actorSystem"/>.</summary>
    public static Config For(EngineSettings settings, string actorSystem)
    {
        var cluster = settings.Cluster;
        string Q(string s) => JsonSerializer.Serialize(s, Quoting);
        var seeds = string.Join(", ", cluster.SeedNodes.Select(s => Q(SeedAddress(actorSystem, s))));
        var connection = Q(settings.Storage.ConnectionString);
        var provider = Q(PersistenceConfig.PostgreSqlProviderName);

        // The handover of a mailbox waits for its batches in flight to commit, as a graceful stop does.
        var handoff = ((int)Math.Ceiling(settings.ShutdownTimeout.TotalSeconds) + 10).ToString(CultureInfo.InvariantCulture);
        return ConfigurationFactory.ParseString($$"""
            akka {
              actor.provider = cluster
              remote.dot-netty.tcp {
                hostname = {{Q(cluster.Hostname)}}
                port = {{cluster.Port.ToString(CultureInfo.InvariantCulture)}}
              }
              cluster {
                seed-nodes = [{{seeds}}]
                roles = [{{Q(Role)}}]
                min-nr-of-members = {{cluster.MinMembers.ToString(CultureInfo.InvariantCulture)}}
                # A node that stops answering is downed by the side that keeps the majority of the members; run three
                # nodes or more, so that one lost node is always a minority.
                downing-provider-class = "Akka.Cluster.SBR.SplitBrainResolverProvider, Akka.Cluster"
                split-brain-resolver {
                  active-strategy = keep-majority
                  stable-after = 15s
                }
                sharding.handoff-timeout = {{handoff}}s
              }
              coordinated-shutdown.phases.cluster-sharding-shutdown-region.timeout = {{handoff}}s
              persistence {
                journal.sharding {
                  class = "Akka.Persistence.Sql.Journal.SqlWriteJournal, Akka.Persistence.Sql"
                  connection-string = {{connection}}
                  provider-name = {{provider}}
                  auto-initialize = true
                  default.journal.table-name = "sharding_journal"
                  default.metadata.table-name = "sharding_journal_metadata"
                  default.tag.table-name = "sharding_tags"
                }
                snapshot-store.sharding {
                  class = "Akka.Persistence.Sql.Snapshot.SqlSnapshotStore, Akka.Persistence.Sql"
                  connection-string = {{connection}}
                  provider-name = {{provider}}
                  auto-initialize = true
                  default.snapshot.table-name = "sharding_snapshot"
                }
              }
            }
            """).WithFallback(Serialization);
    }
}
