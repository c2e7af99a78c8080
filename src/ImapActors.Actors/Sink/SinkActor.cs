using Akka.Actor;
using Akka.Event;
using ImapActors.Domain;
using ImapActors.Storage;

namespace ImapActors.Actors.Sink;

/// <summary>Marker of messages to and from the sink.</summary>
public interface ISinkMessage : INoSerializationVerificationNeeded;

/// <summary>The sink's protocol.</summary>
/// <remarks>
/// Data flows one way: the extractor stages each processed email here under its owner's batch (<see cref="StageEmail"/>),
/// and the sink tells the owner only that it is staged. The owner's ledger then asks for the commit of a batch's UIDs
/// (<see cref="CommitStaged"/>). The ledger asks, rather than the sink committing on its own and reporting per UID,
/// because the ledger owns the rules around a commit: one transaction per batch, retries with backoff, and the split into
/// single-email commits that finds the one email the store refuses; and because the cursor moves once per batch anyway.
/// </remarks>
public static class SinkProtocol
{
    /// <summary>Keep this processed email of <paramref name="Owner"/>'s batch until its commit; answered to the owner with <see cref="EmailStaged"/>.</summary>
    public sealed record StageEmail(IActorRef Owner, long Ticket, uint Uid, EmailToCommit Email) : ISinkMessage;

    /// <summary>The email is staged and may be committed.</summary>
    public sealed record EmailStaged(long Ticket, uint Uid) : ISinkMessage, IDeadLetterSuppression;

    /// <summary>Commit these staged emails of the sender's batch in one transaction; answered with <see cref="BatchCommitted"/> or <see cref="BatchFailed"/>.</summary>
    public sealed record CommitStaged(long CommitId, long Ticket, IReadOnlyList<uint> Uids) : ISinkMessage;

    /// <summary>Forget these staged emails of the sender's batch: they will not be committed.</summary>
    public sealed record DiscardStaged(long Ticket, IReadOnlyList<uint> Uids) : ISinkMessage;

    /// <summary>
    /// Keep a poison email's raw bytes and error, so the cursor can move past it; <paramref name="Raw"/> is null for an
    /// email the server would not serve (stage <c>fetch</c>).
    /// </summary>
    public sealed record QuarantineEmail(long Ticket, EmailSource Source, RawEmail? Raw, string Stage, string Error, string ParserVersion, int Attempts)
        : ISinkMessage;

    /// <summary>The commit's emails are in the store; one result per UID, in UID order.</summary>
    public sealed record BatchCommitted(long CommitId, IReadOnlyList<CommitResult> Results) : ISinkMessage, IDeadLetterSuppression;

    public sealed record BatchFailed(long CommitId, string Error) : ISinkMessage, IDeadLetterSuppression;

    public sealed record EmailQuarantined(long Ticket, uint Uid, long QuarantineId) : ISinkMessage, IDeadLetterSuppression;

    public sealed record QuarantineFailed(long Ticket, uint Uid, string Error) : ISinkMessage, IDeadLetterSuppression;
}

/// <summary>
/// Owns the container store and writes to it one commit at a time: SQLite has one writer anyway, and one writer per store
/// keeps commits ordered. A failed write is answered, never thrown, so one bad batch does not restart the sink.
/// </summary>
public sealed class SinkActor : ReceiveActor
{
    private readonly IContainerStore _store;
    private readonly IVault _vault;
    private readonly StagingArea _staging;
    private readonly string _node;
    private readonly IReadOnlyDictionary<string, IReadOnlyList<string>> _deliverTo;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly CancellationTokenSource _stopping = new();

    public SinkActor(IContainerStore store, IVault vault, StagingArea staging, string node,
        IReadOnlyDictionary<string, IReadOnlyList<string>> deliverTo)
    {
        _store = store;
        _vault = vault;
        _staging = staging;
        _node = node;
        _deliverTo = deliverTo;

        Receive<SinkProtocol.StageEmail>(msg =>
        {
            // The sink names the node on every email it stages (it is the one writer of this node's containers), and the
            // destinations a new container of its asset is delivered to.
            var email = msg.Email with
            {
                Node = _node,
                Destinations = _deliverTo.GetValueOrDefault(msg.Email.Email.Container.Source.Asset.Value) ?? [],
            };
            if (_staging.Stage(msg.Owner, msg.Ticket, msg.Uid, email))
            {
                Context.Watch(msg.Owner);
            }

            msg.Owner.Tell(new SinkProtocol.EmailStaged(msg.Ticket, msg.Uid));
        });
        Receive<SinkProtocol.DiscardStaged>(msg => _staging.Remove(Sender, msg.Ticket, msg.Uids));
        Receive<Terminated>(t => _staging.Drop(t.ActorRef));

        // ReceiveAsync suspends this actor's mailbox while a write runs: writes never overlap.
        ReceiveAsync<SinkProtocol.CommitStaged>(async msg =>
        {
            var owner = Sender;
            var emails = _staging.Find(owner, msg.Ticket, msg.Uids);
            if (emails is null)
            {
                // Only a bug loses staged emails; failing the commit lets the owner's ledger retry, then quarantine.
                owner.Tell(new SinkProtocol.BatchFailed(msg.CommitId, "the sink holds no staged email for some of these UIDs"));
                return;
            }

            try
            {
                var started = System.Diagnostics.Stopwatch.GetTimestamp();
                var results = await _store.CommitAsync(emails, _stopping.Token);
                Engine.EngineMeter.Commit.Record(Engine.EngineMeter.Since(started));
                _staging.Remove(owner, msg.Ticket, msg.Uids);
                owner.Tell(new SinkProtocol.BatchCommitted(msg.CommitId, results));
            }
            catch (Exception ex)
            {
                _log.Warning(ex, "Committing {Count} emails failed", emails.Count);
                owner.Tell(new SinkProtocol.BatchFailed(msg.CommitId, ex.Message));
            }
        });

        ReceiveAsync<SinkProtocol.QuarantineEmail>(async msg =>
        {
            var replyTo = Sender;
            try
            {
                VaultId? raw = null;
                if (msg.Raw is not null)
                {
                    using var stream = msg.Raw.OpenRead();
                    raw = _vault.Store(stream, "raw.eml").VaultId;
                }

                var id = await _store.QuarantineAsync(msg.Source, raw, msg.Stage, msg.Error, msg.ParserVersion,
                    msg.Attempts, _stopping.Token);
                _log.Warning("Quarantined UID {Uid} of {Mailbox} after {Attempts} attempts ({Stage}: {Error}) as quarantine id {QuarantineId}",
                    msg.Source.Uid, msg.Source.Mailbox, msg.Attempts, msg.Stage, msg.Error, id);
                replyTo.Tell(new SinkProtocol.EmailQuarantined(msg.Ticket, msg.Source.Uid, id));
            }
            catch (Exception ex)
            {
                _log.Error(ex, "Quarantining UID {Uid} of {Mailbox} failed", msg.Source.Uid, msg.Source.Mailbox);
                replyTo.Tell(new SinkProtocol.QuarantineFailed(msg.Ticket, msg.Source.Uid, ex.Message));
            }
        });
    }

    protected override void PreStart()
    {
        // After a restart the staged emails are still here (the area outlives the actor instance); so are their owners.
        foreach (var owner in _staging.Owners)
        {
            Context.Watch(owner);
        }

        base.PreStart();
    }

    protected override void PostStop()
    {
        _stopping.Cancel();
        _stopping.Dispose();
        base.PostStop();
    }

    /// <summary>
    /// A sink whose staged emails survive its restarts; <paramref name="node"/> is recorded on each container it makes, and
    /// <paramref name="deliverTo"/> (by asset name) gives each new container its deliveries.
    /// </summary>
    public static Props Props(IContainerStore store, IVault vault, string node,
        IReadOnlyDictionary<string, IReadOnlyList<string>>? deliverTo = null)
    {
        var staging = new StagingArea();
        var destinations = deliverTo ?? new Dictionary<string, IReadOnlyList<string>>();
        return Akka.Actor.Props.Create(() => new SinkActor(store, vault, staging, node, destinations));
    }
}

/// <summary>
/// Processed emails waiting for their commit, by owner, batch and UID. Used by one sink at a time (its restarts
/// included), never concurrently.
/// </summary>
public sealed class StagingArea
{
    private readonly Dictionary<IActorRef, Dictionary<long, SortedDictionary<uint, EmailToCommit>>> _owners = new();

    public IReadOnlyCollection<IActorRef> Owners => _owners.Keys;

    /// <summary>Staged emails across every owner.</summary>
    public int Count => _owners.Values.Sum(o => o.Values.Sum(b => b.Count));

    /// <summary>Stages (or replaces) an email; true when the owner is new here.</summary>
    public bool Stage(IActorRef owner, long ticket, uint uid, EmailToCommit email)
    {
        var isNew = !_owners.TryGetValue(owner, out var batches);
        if (batches is null)
        {
            _owners[owner] = batches = new Dictionary<long, SortedDictionary<uint, EmailToCommit>>();
        }

        if (!batches.TryGetValue(ticket, out var emails))
        {
            batches[ticket] = emails = new SortedDictionary<uint, EmailToCommit>();
        }

        emails[uid] = email;
        return isNew;
    }

    /// <summary>The staged emails of these UIDs in UID order, or null when any is missing.</summary>
    public IReadOnlyList<EmailToCommit>? Find(IActorRef owner, long ticket, IReadOnlyList<uint> uids)
    {
        if (!_owners.TryGetValue(owner, out var batches) || !batches.TryGetValue(ticket, out var emails))
        {
            return null;
        }

        var found = new List<EmailToCommit>(uids.Count);
        foreach (var uid in uids.Order())
        {
            if (!emails.TryGetValue(uid, out var email))
            {
                return null;
            }

            found.Add(email);
        }

        return found;
    }

    public void Remove(IActorRef owner, long ticket, IReadOnlyList<uint> uids)
    {
        if (!_owners.TryGetValue(owner, out var batches) || !batches.TryGetValue(ticket, out var emails))
        {
            return;
        }

        foreach (var uid in uids)
        {
            emails.Remove(uid);
        }

        if (emails.Count == 0)
        {
            batches.Remove(ticket);
        }

        if (batches.Count == 0)
        {
            _owners.Remove(owner);
        }
    }

    public void Drop(IActorRef owner) => _owners.Remove(owner);
}
