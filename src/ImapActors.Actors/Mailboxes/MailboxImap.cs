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
    private CancellationTokenSource? _idleStop;
    private Task<IdleEnded>? _idling;
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

    /// <summary>RFC 2177 lets a server drop a client idle for 30 minutes: IDLE is ended and issued again before that.</summary>
    public static readonly TimeSpan LongestIdle = TimeSpan.FromMinutes(25);

    /// <summary>The asset wants to wait for new mail between polls (IDLE, or NOOP) and the kept connection can.</summary>
    public bool CanIdle => options.Asset.Idle && _connection is { CanWaitForMail: true };

    // A poll is due as soon as the IDLE in progress has ended; or the connection is to be given up then.
    private bool _wake;
    private bool _yield;

    /// <summary>Waits in IDLE on the kept connection; the answer comes as <see cref="IdleEnded"/>.</summary>
    public Task<IdleEnded> IdleAsync()
    {
        _idleStop = new CancellationTokenSource();
        return _idling = IdleAsync(_connection!, _idleStop.Token, _lifetime.Token);
    }

    /// <summary>When an IDLE is in progress, ends it politely (DONE) for a poll and returns true; its <see cref="IdleEnded"/> follows.</summary>
    public bool Wake()
    {
        if (_idling is null)
        {
            return false;
        }

        _wake = true;
        _idleStop?.Cancel();
        return true;
    }

    /// <summary>When an IDLE is in progress, ends it so the connection can be given up, and returns true; else false.</summary>
    public bool Yield()
    {
        if (_idling is null)
        {
            return false;
        }

        _yield = true;
        _idleStop?.Cancel();
        return true;
    }

    /// <summary>Closes the kept connection (LOGOUT), not while an IDLE runs on it.</summary>
    public void Close()
    {
        if (_idling is null && _connection is { } kept)
        {
            _connection = null;
            _ = CloseQuietlyAsync(Task.FromResult(kept));
        }
    }

    /// <summary>
    /// The IDLE is over; a connection it found dead is dropped, so the next poll connects again in place. Says what
    /// follows: a poll (new mail, a wake-up, a lost connection), giving the connection up, or IDLE again.
    /// </summary>
    public IdleOutcome Ended(IdleEnded ended)
    {
        var poll = ended.NewMail || ended.Lost || _wake;
        var outcome = _yield ? (poll ? IdleOutcome.YieldThenPoll : IdleOutcome.Yield) : poll ? IdleOutcome.Poll : IdleOutcome.IdleAgain;
        _idleStop?.Dispose();
        _idleStop = null;
        _idling = null;
        if ((ended.Lost || _yield) && _connection is { } done)
        {
            _connection = null;
            _ = CloseQuietlyAsync(Task.FromResult(done));
        }

        _wake = _yield = false;
        return outcome;
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
        if (_idling is { } idling && _connection is { } idle)
        {
            // The IDLE ends on the cancelled lifetime; the connection is closed after it, never under it.
            _connection = null;
            _ = CloseQuietlyAsync(idling.ContinueWith(_ => idle, TaskScheduler.Default));
        }

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

    private static async Task<IdleEnded> IdleAsync(IMailboxConnection connection, CancellationToken stop, CancellationToken lifetime)
    {
        try
        {
            return new IdleEnded(await connection.IdleAsync(LongestIdle, stop, lifetime), Lost: false, Error: null);
        }
        catch (Exception ex) when (!lifetime.IsCancellationRequested)
        {
            // A BYE, a reset or a silent NAT drop while idle: not a failure of the mailbox, the next poll reconnects.
            return new IdleEnded(false, Lost: true, ex.Message);
        }
    }

    private static async Task<PollPlanned> PlanAsync(IMailboxConnection? kept, Task<IMailboxConnection>? connecting,
        MailboxCursor cursor, MailboxOptions options, CancellationToken cancellationToken)
    {
        var connection = kept ?? (connecting is not null
            ? await connecting
            : await options.Connector.ConnectAsync(options.Asset, options.Folder, cancellationToken));
        try
        {
            FolderStatus status;
            try
            {
                status = await connection.ExamineAsync(cancellationToken);
            }
            catch (ImapFailureException ex) when (kept is not null && ex.Cause is ImapFailureCause.ConnectionLost or ImapFailureCause.Timeout)
            {
                // The server (or a NAT) dropped the connection kept since the last poll, with a BYE or a reset, or silently
                // (no answer within the asset's timeout): connect again in place, once; only a failure of the new
                // connection counts as the mailbox's.
                _ = CloseQuietlyAsync(Task.FromResult(kept));
                connection = await options.Connector.ConnectAsync(options.Asset, options.Folder, cancellationToken);
                status = await connection.ExamineAsync(cancellationToken);
            }

            if (cursor.Started && cursor.UidValidity != status.UidValidity)
            {
                // The actor persists the change first and plans again from the reset cursor.
                return new PollPlanned(connection, status, [], FirstPoll: false, ValidityChanged: true, Floor: 1, Search: null);
            }

            uint? placed = null;
            if (cursor.NeedsFloorByDate)
            {
                // Renumbered: the first run's floor comes back by its date, so the history it left out stays out.
                placed = await FloorByDateAsync(connection, cursor.FloorDate!.Value, status, cancellationToken);
                cursor = cursor with { Floor = placed.Value };
            }

            var firstPoll = !cursor.Started;
            var manner = options.Asset.IngestManner;
            var limit = firstPoll ? options.Asset.FirstRunMaxEmails : options.Asset.MaxEmails;
            var (chosen, search) = await ChooseAsync(connection, cursor, status, manner, limit, options.SearchWindow, cancellationToken);
            var floor = firstPoll ? PollPlanner.FirstPollFloor(chosen, manner, limit) : 1u;
            DateTimeOffset? floorDate = null;
            if (firstPoll && floor > 1 && (await connection.FetchInternalDatesAsync([floor], cancellationToken)).TryGetValue(floor, out var received))
            {
                floorDate = received;
            }

            IReadOnlyDictionary<uint, long> sizes = new Dictionary<uint, long>();
            if (chosen.Count > 0)
            {
                (connection, sizes) = await MailboxFetch.SizesAsync(connection, options, chosen, status.UidValidity, cancellationToken);
            }

            // A UID without a size was expunged since the search (its fetch finds it gone), or the server would not give
            // its size (its fetch is refused, and the ledger deals with it).
            var emails = chosen.Select(uid => new PlannedEmail(uid, sizes.GetValueOrDefault(uid))).ToList();
            return new PollPlanned(connection, status, emails, firstPoll, ValidityChanged: false, floor, search)
            {
                FloorDate = floorDate,
                PlacedFloor = placed,
            };
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

    /// <summary>
    /// The lowest UID received at or after <paramref name="date"/>, or UIDNEXT when there is none yet. The server's
    /// <c>SEARCH SINCE</c> works in whole days of its own time zone, so the search starts a day early and the
    /// candidates' INTERNALDATEs decide, a few hundred at a time.
    /// </summary>
    private static async Task<uint> FloorByDateAsync(IMailboxConnection connection, DateTimeOffset date, FolderStatus status,
        CancellationToken cancellationToken)
    {
        var candidates = await connection.SearchReceivedSinceAsync(date.AddDays(-1), cancellationToken);
        foreach (var chunk in candidates.Chunk(500))
        {
            var dates = await connection.FetchInternalDatesAsync(chunk, cancellationToken);
            foreach (var uid in chunk)
            {
                if (dates.TryGetValue(uid, out var received) && received >= date)
                {
                    return uid;
                }
            }
        }

        return Math.Max(1, status.UidNext);
    }

    /// <summary>
    /// Searches the folder in windows from the cursor's lowest pending UID up to UIDNEXT − 1 (upward oldest first, downward
    /// latest first) until the windows hold <paramref name="limit"/> pending UIDs, and chooses among them. Also returns the
    /// span the windows covered and what they found, for the cursor's searched-through mark; none when nothing was
    /// searched or the server gave no UIDNEXT (the top of the span would then not bound the UIDs new mail gets).
    /// </summary>
    private static async Task<(IReadOnlyList<uint> Chosen, PollSearch? Search)> ChooseAsync(IMailboxConnection connection,
        MailboxCursor cursor, FolderStatus status, IngestManner manner, int limit, uint window, CancellationToken cancellationToken)
    {
        var low = cursor.LowestPending;
        var top = status.UidNext > 1 ? status.UidNext - 1 : uint.MaxValue;
        if (limit <= 0 || status.Count == 0 || low > top)
        {
            return ([], null);
        }

        var found = new List<uint>();
        uint from = low, through = top;
        if (manner == IngestManner.OldestFirst)
        {
            for (ulong a = low; a <= top && found.Count < limit; a += window)
            {
                var b = (uint)Math.Min(top, a + window - 1);
                var uids = await connection.SearchUidsAsync((uint)a, b, cancellationToken);
                found.AddRange(uids.Where(u => u >= a && u <= b && !cursor.IsCommitted(u)));
                through = b;
            }
        }
        else
        {
            for (long b = top; b >= low && found.Count < limit; b -= window)
            {
                var a = (uint)Math.Max(low, b - window + 1);
                var uids = await connection.SearchUidsAsync(a, (uint)b, cancellationToken);
                found.AddRange(uids.Where(u => u >= a && u <= b && !cursor.IsCommitted(u)));
                from = a;
            }
        }

        var search = status.UidNext > 1 ? new PollSearch(from, through, UidSet.Of(found)) : null;
        return (PollPlanner.Choose(cursor, found, manner, limit), search);
    }
}

/// <summary>An email a poll will fetch, with its size as the server gave it (RFC822.SIZE).</summary>
internal readonly record struct PlannedEmail(uint Uid, long Size);

/// <summary>What a poll's UID SEARCH windows covered, <paramref name="From"/> to <paramref name="Through"/>, and the pending UIDs they found.</summary>
internal sealed record PollSearch(uint From, uint Through, UidSet Found);

/// <summary>
/// A poll's plan: the connection it used, what EXAMINE said, the emails to take in order, and what its search covered
/// (none when it searched nothing).
/// </summary>
internal sealed record PollPlanned(IMailboxConnection Connection, FolderStatus Status, IReadOnlyList<PlannedEmail> Emails, bool FirstPoll,
    bool ValidityChanged, uint Floor, PollSearch? Search) : INoSerializationVerificationNeeded
{
    /// <summary>The INTERNALDATE of the first run's floor email, when the first poll left older mail out.</summary>
    public DateTimeOffset? FloorDate { get; init; }

    /// <summary>After a UIDVALIDITY change: where the first-run floor was placed again by its date.</summary>
    public uint? PlacedFloor { get; init; }

    /// <summary>What the cursor records before the poll: a UIDVALIDITY change, a first poll and its floor, or the floor placed again.</summary>
    public IReadOnlyList<ICursorEvent> CursorEvents(MailboxCursor cursor, DateTimeOffset now) =>
        ValidityChanged ? cursor.Decide(new CursorCommands.ObserveUidValidity(Status.UidValidity, now))
        : FirstPoll ? cursor.Decide(new CursorCommands.StartFirstPoll(Status.UidValidity, Floor, now, FloorDate))
        : PlacedFloor is { } placed ? cursor.Decide(new CursorCommands.PlaceFloor(Status.UidValidity, placed, now))
        : [];

    /// <summary>
    /// What the cursor records once the poll's batches are done: how far the folder is now settled. The cursor checks the
    /// search's finds against what it has committed, so UIDs the search found but <c>max_emails</c> left for a later poll
    /// keep the mark below them.
    /// </summary>
    public IReadOnlyList<ICursorEvent> SearchEvents(MailboxCursor cursor, DateTimeOffset now) =>
        Search is { } s ? cursor.Decide(new CursorCommands.RecordSearch(Status.UidValidity, s.From, s.Through, s.Found, now)) : [];
}

/// <summary>What follows an IDLE.</summary>
internal enum IdleOutcome
{
    Poll,
    IdleAgain,
    Yield,

    /// <summary>Give the connection up, then poll (a poll came due while the IDLE was ending): ask for a connection again.</summary>
    YieldThenPoll,
}

/// <summary>An IDLE is over: the server announced new mail, or it was stopped or timed out, or the connection died.</summary>
internal sealed record IdleEnded(bool NewMail, bool Lost, string? Error) : INoSerializationVerificationNeeded;

/// <summary>An IMAP step of a poll failed; carries the connection so the actor can close it.</summary>
internal sealed class MailboxPollException(IMailboxConnection connection, Exception inner)
    : Exception(inner.Message, inner)
{
    public IMailboxConnection Connection { get; } = connection;
}
