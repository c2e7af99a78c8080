using Akka.Actor;
using ImapActors.Actors.Pipeline;
using ImapActors.Domain;
using ImapActors.Ingestion.Cursor;
using ImapActors.Mail;

namespace ImapActors.Actors.Mailboxes;

/// <summary>
/// A mailbox's IMAP work: the early login, a poll's plan (EXAMINE, UID SEARCH in windows, then the chosen emails' sizes,
/// which the admission gate needs before the bodies are fetched), and batch fetches, with a new session when the server
/// ended the last one in refusing a fetch. The
/// connection is the mailbox actor's alone: each task hands it back in its answer or its failure, and the actor adopts
/// it on its own thread, so only one task ever uses it.
/// </summary>
internal sealed class MailboxImap(MailboxOptions options) : IDisposable
{
    private readonly CancellationTokenSource _lifetime = new();
    private IMailboxConnection? _connection;
    private Task<PollPlanned>? _planning;
    private Task<IFetchAnswer>? _fetching;

    // The login started with the actor, so it runs while the journal replays; the first plan takes it.
    private Task<IMailboxConnection>? _connecting;

    public void LoginEarly()
    {
        try
        {
            _connecting = options.Connector.ConnectAsync(options.Asset, options.Folder, _lifetime.Token);
        }
        catch (Exception ex)
        {
            // A connector that fails at once fails the first poll, as a failed login does, not the actor's start.
            _connecting = Task.FromException<IMailboxConnection>(ex);
        }
    }

    public Task<PollPlanned> PlanAsync(MailboxCursor cursor)
    {
        var connecting = _connecting;
        _connecting = null;
        return _planning = PlanAsync(_connection, connecting, cursor, options, _lifetime.Token);
    }

    /// <summary>Fetches UIDs of a batch made under <paramref name="uidValidity"/>; a refusal is an answer (<see cref="MailboxFetch"/>).</summary>
    public Task<IFetchAnswer> FetchAsync(long batchId, IReadOnlyList<uint> uids, uint uidValidity) =>
        _fetching = MailboxFetch.FetchAsync(_connection, options, batchId, uids, uidValidity, _lifetime.Token);

    /// <summary>The answer (or failure) of the plan or fetch out is in hand: its connection, if any, is the mailbox's now.</summary>
    public void Adopt(IMailboxConnection? connection)
    {
        _connection = connection;
        _planning = null;
        _fetching = null;
    }

    /// <summary>What failed, as the supervisor reports it; a connection the failure carries is adopted so it gets closed.</summary>
    public (Exception Cause, string Code, bool Transient) Describe(Exception failure)
    {
        if (failure is MailboxPollException poll)
        {
            Adopt(poll.Connection);
        }

        var cause = failure is MailboxPollException { InnerException: { } inner } ? inner : failure;
        return cause is ImapFailureException imap ? (cause, imap.Cause.ToString(), imap.IsTransient) : (cause, "ConnectionLost", true);
    }

    public void Dispose()
    {
        _lifetime.Cancel();
        if (_connecting is { } connecting)
        {
            // A login no poll took: closed once it is made.
            _ = CloseQuietlyAsync(connecting);
        }

        if (_connection is { } connection)
        {
            _ = CloseQuietlyAsync(Task.FromResult(connection));
        }

        // A plan or fetch still out (or whose answer the actor never read) may have a connection nobody else will close:
        // a fetch opens a new one after the server ended the session.
        if (_planning is { } planning)
        {
            _ = CloseQuietlyAsync(UnadoptedAsync(planning, p => p.Connection, _connection));
        }

        if (_fetching is { } fetching)
        {
            _ = CloseQuietlyAsync(UnadoptedAsync(fetching, f => f.Connection, _connection));
        }

        _lifetime.Dispose();
    }

    /// <summary>The connection a task hands back when it is not the adopted one; cancelled (nothing to close) otherwise.</summary>
    private static async Task<IMailboxConnection> UnadoptedAsync<T>(Task<T> task, Func<T, IMailboxConnection?> connectionOf,
        IMailboxConnection? adopted)
    {
        IMailboxConnection? connection;
        try
        {
            connection = connectionOf(await task.ConfigureAwait(false));
        }
        catch (MailboxPollException ex)
        {
            connection = ex.Connection;
        }

        return connection is not null && connection != adopted ? connection : throw new OperationCanceledException();
    }

    /// <summary>Closes politely (LOGOUT) without holding up the stop; a failed login or close loses nothing.</summary>
    internal static async Task CloseQuietlyAsync(Task<IMailboxConnection> connection)
    {
        try
        {
            await (await connection.ConfigureAwait(false)).DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Nothing to do: the connection is gone either way.
        }
    }

    private static async Task<PollPlanned> PlanAsync(IMailboxConnection? connection, Task<IMailboxConnection>? connecting,
        MailboxCursor cursor, MailboxOptions options, CancellationToken cancellationToken)
    {
        connection ??= connecting is not null
            ? await connecting
            : await options.Connector.ConnectAsync(options.Asset, options.Folder, cancellationToken);
        try
        {
            var status = await connection.ExamineAsync(cancellationToken);
            if (cursor.Started && cursor.UidValidity != status.UidValidity)
            {
                // The actor persists the change first and plans again from the reset cursor.
                return new PollPlanned(connection, status, [], FirstPoll: false, ValidityChanged: true, Floor: 1);
            }

            var firstPoll = !cursor.Started;
            var manner = options.Asset.IngestManner;
            var limit = firstPoll ? options.Asset.FirstRunMaxEmails : options.Asset.MaxEmails;
            var chosen = await ChooseAsync(connection, cursor, status, manner, limit, options.SearchWindow, cancellationToken);
            var floor = firstPoll ? PollPlanner.FirstPollFloor(chosen, manner, limit) : 1u;
            IReadOnlyDictionary<uint, long> sizes = new Dictionary<uint, long>();
            if (chosen.Count > 0)
            {
                (connection, sizes) = await MailboxFetch.SizesAsync(connection, options, chosen, status.UidValidity, cancellationToken);
            }

            // A UID without a size was expunged since the search (its fetch finds it gone), or the server would not give
            // its size (its fetch is refused, and the ledger deals with it).
            var emails = chosen.Select(uid => new PlannedEmail(uid, sizes.GetValueOrDefault(uid))).ToList();
            return new PollPlanned(connection, status, emails, firstPoll, ValidityChanged: false, floor);
        }
        catch (MailboxPollException)
        {
            // A new session opened after a refusal failed; it carries that session, the old one is closed.
            throw;
        }
        catch (Exception ex)
        {
            throw new MailboxPollException(connection, ex);
        }
    }

    private static async Task<IReadOnlyList<uint>> ChooseAsync(IMailboxConnection connection, MailboxCursor cursor, FolderStatus status,
        IngestManner manner, int limit, uint window, CancellationToken cancellationToken)
    {
        var low = cursor.LowestPending;
        var top = status.UidNext > 1 ? status.UidNext - 1 : uint.MaxValue;
        if (limit <= 0 || status.Count == 0 || low > top)
        {
            return [];
        }

        var found = new List<uint>();
        if (manner == IngestManner.OldestFirst)
        {
            for (ulong a = low; a <= top && found.Count < limit; a += window)
            {
                var b = (uint)Math.Min(top, a + window - 1);
                var uids = await connection.SearchUidsAsync((uint)a, b, cancellationToken);
                found.AddRange(uids.Where(u => u >= a && u <= b && !cursor.IsCommitted(u)));
            }
        }
        else
        {
            for (long b = top; b >= low && found.Count < limit; b -= window)
            {
                var a = (uint)Math.Max(low, b - window + 1);
                var uids = await connection.SearchUidsAsync(a, (uint)b, cancellationToken);
                found.AddRange(uids.Where(u => u >= a && u <= b && !cursor.IsCommitted(u)));
            }
        }

        return PollPlanner.Choose(cursor, found, manner, limit);
    }
}

/// <summary>An email a poll will fetch, with its size as the server gave it (RFC822.SIZE).</summary>
internal readonly record struct PlannedEmail(uint Uid, long Size);

/// <summary>A poll's plan: the connection it used, what EXAMINE said, and the emails to take in order.</summary>
internal sealed record PollPlanned(IMailboxConnection Connection, FolderStatus Status, IReadOnlyList<PlannedEmail> Emails, bool FirstPoll,
    bool ValidityChanged, uint Floor) : INoSerializationVerificationNeeded
{
    /// <summary>What the cursor records before the poll: a UIDVALIDITY change, or a first poll and its floor.</summary>
    public IReadOnlyList<ICursorEvent> CursorEvents(MailboxCursor cursor, DateTimeOffset now) =>
        ValidityChanged ? cursor.Decide(new CursorCommands.ObserveUidValidity(Status.UidValidity, now))
        : FirstPoll ? cursor.Decide(new CursorCommands.StartFirstPoll(Status.UidValidity, Floor, now))
        : [];
}

/// <summary>An IMAP step of a poll failed; carries the connection so the actor can close it.</summary>
internal sealed class MailboxPollException(IMailboxConnection connection, Exception inner)
    : Exception(inner.Message, inner)
{
    public IMailboxConnection Connection { get; } = connection;
}
