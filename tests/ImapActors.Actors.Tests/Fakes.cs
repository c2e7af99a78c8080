using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using ImapActors.Actors.Pipeline;
using ImapActors.Domain;
using ImapActors.Extraction;
using ImapActors.Mail;
using ImapActors.Storage;

namespace ImapActors.Actors.Tests;

/// <summary>An in-memory IMAP folder for unit tests of the mailbox actor alone.</summary>
internal sealed class FakeServer
{
    private readonly object _gate = new();
    private readonly SortedDictionary<uint, byte[]> _messages = new();
    private readonly List<(uint From, uint To)> _searches = new();
    private readonly List<uint> _fetched = new();
    private readonly Dictionary<uint, DateTimeOffset> _dates = new();
    private uint _next = 1;

    public uint UidValidity { get; private set; } = 1000;

    /// <summary>Fails the next N fetch commands with a lost connection.</summary>
    public int FailNextFetches { get; set; }

    /// <summary>UIDs the server cannot serve: a fetch including one is refused (NO, or BYE with <see cref="ByeOnRefusal"/>).</summary>
    public HashSet<uint> Unservable { get; } = [];

    /// <summary>A refusal ends the session, as Dovecot's BYE does; otherwise it is a NO and the connection still works.</summary>
    public bool ByeOnRefusal { get; set; }

    /// <summary>The server cannot give the size of an unservable UID either (Dovecot, when the size is not in its cache).</summary>
    public bool SizesRefused { get; set; }

    /// <summary>UIDs the server leaves out of every fetch answer while UID SEARCH still finds them.</summary>
    public HashSet<uint> Omitted { get; } = [];

    /// <summary>UIDs expunged just before the first fetch command that asks for them (after the plan found them).</summary>
    public HashSet<uint> ExpungedBeforeFetch { get; } = [];

    /// <summary>Fetches (of bodies or sizes) refused so far.</summary>
    public int Refusals { get; private set; }

    /// <summary>The UIDs of each fetch command, in order.</summary>
    public List<uint[]> Fetches { get; } = [];

    public int Connects { get; set; }

    public int FetchCommands { get; set; }

    /// <summary>Every UID SEARCH range asked for, in order.</summary>
    public IReadOnlyList<(uint From, uint To)> Searches
    {
        get
        {
            lock (_gate)
            {
                return _searches.ToList();
            }
        }
    }

    /// <summary>Every UID asked for by a fetch, for sizes or bodies, in order.</summary>
    public IReadOnlyList<uint> FetchedUids
    {
        get
        {
            lock (_gate)
            {
                return _fetched.ToList();
            }
        }
    }

    public void Add(int count, Func<int, string>? subject = null)
    {
        lock (_gate)
        {
            for (var i = 0; i < count; i++)
            {
                var uid = _next++;
                _messages[uid] = Encoding.UTF8.GetBytes($"Subject: {subject?.Invoke((int)uid) ?? "mail " + uid}\r\nMessage-ID: <{uid}.{UidValidity}@test>\r\n\r\nbody {uid}\r\n");
            }
        }
    }

    /// <summary>Adds messages of exactly <paramref name="bytes"/> bytes each (the body is padded).</summary>
    public void AddOfSize(int count, int bytes)
    {
        lock (_gate)
        {
            for (var i = 0; i < count; i++)
            {
                var uid = _next++;
                var head = $"Subject: mail {uid}\r\nMessage-ID: <{uid}.{UidValidity}@test>\r\n\r\nbody {uid} ";
                _messages[uid] = Encoding.UTF8.GetBytes(head + new string('x', Math.Max(0, bytes - head.Length - 2)) + "\r\n");
            }
        }
    }

    /// <summary>Leaves the next <paramref name="count"/> UIDs unused, as a server may (never given to any message).</summary>
    public void SkipUids(uint count)
    {
        lock (_gate)
        {
            _next += count;
        }
    }

    /// <summary>Expunges UIDs <paramref name="first"/> to <paramref name="last"/>; their UIDs are never given out again.</summary>
    public void Expunge(uint first, uint last)
    {
        lock (_gate)
        {
            foreach (var uid in _messages.Keys.Where(u => u >= first && u <= last).ToList())
            {
                _messages.Remove(uid);
            }
        }
    }

    public void Rebuild(uint newUidValidity)
    {
        lock (_gate)
        {
            var all = _messages.Values.ToList();
            _messages.Clear();
            UidValidity = newUidValidity;
            _next = 1;
            foreach (var m in all)
            {
                _messages[_next++] = m;
            }
        }
    }

    public FolderStatus Status()
    {
        lock (_gate)
        {
            return new FolderStatus("INBOX", UidValidity, _next, _messages.Count);
        }
    }

    public IReadOnlyList<uint> Search(uint from, uint to)
    {
        lock (_gate)
        {
            _searches.Add((from, to));
            return _messages.Keys.Where(u => u >= from && u <= to).ToList();
        }
    }

    public IReadOnlyDictionary<uint, long> Sizes(IReadOnlyList<uint> uids)
    {
        lock (_gate)
        {
            if (SizesRefused)
            {
                Refuse(uids);
            }

            return uids.Where(_messages.ContainsKey).Distinct().ToDictionary(u => u, u => (long)_messages[u].Length);
        }
    }

    /// <summary>When each message arrived: set with <see cref="SetInternalDate"/>, else the epoch.</summary>
    public IReadOnlyDictionary<uint, DateTimeOffset> InternalDates(IReadOnlyList<uint> uids)
    {
        lock (_gate)
        {
            return uids.Where(_messages.ContainsKey).Distinct().ToDictionary(u => u, u => _dates.GetValueOrDefault(u, DateTimeOffset.UnixEpoch));
        }
    }

    public IReadOnlyList<uint> ReceivedSince(DateTimeOffset since)
    {
        lock (_gate)
        {
            return _messages.Keys.Where(u => _dates.GetValueOrDefault(u, DateTimeOffset.UnixEpoch) >= since.UtcDateTime.Date).ToList();
        }
    }

    public void SetInternalDate(uint uid, DateTimeOffset date)
    {
        lock (_gate)
        {
            _dates[uid] = date;
        }
    }

    /// <summary>The sizes as a client's <c>UID FETCH (RFC822.SIZE)</c> gets them, recorded in <see cref="FetchedUids"/>.</summary>
    public IReadOnlyDictionary<uint, long> FetchSizes(IReadOnlyList<uint> uids)
    {
        lock (_gate)
        {
            _fetched.AddRange(uids);
            return Sizes(uids);
        }
    }

    private void Refuse(IReadOnlyList<uint> uids)
    {
        if (uids.Any(Unservable.Contains))
        {
            Refusals++;
            throw ByeOnRefusal
                ? new ImapFailureException(ImapFailureCause.ConnectionLost, "session ended (test)") { Refusal = "BYE FETCH failed: Internal error occurred." }
                : new ImapFailureException(ImapFailureCause.ProtocolError, "refused (test)") { Refusal = "NO Internal error occurred." };
        }
    }

    public IReadOnlyList<FetchedEmail> Fetch(IReadOnlyList<uint> uids)
    {
        lock (_gate)
        {
            FetchCommands++;
            _fetched.AddRange(uids);
            Fetches.Add([.. uids]);
            foreach (var uid in uids.Where(ExpungedBeforeFetch.Remove))
            {
                _messages.Remove(uid);
            }

            if (FailNextFetches > 0)
            {
                FailNextFetches--;
                throw new ImapFailureException(ImapFailureCause.ConnectionLost, "connection lost (test)");
            }

            Refuse(uids);
            return uids.Where(u => _messages.ContainsKey(u) && !Omitted.Contains(u))
                .Select(u => new FetchedEmail(u, DateTimeOffset.UnixEpoch, _messages[u].Length, RawEmail.FromBytes(_messages[u])))
                .ToList();
        }
    }
}

internal sealed class FakeConnector(FakeServer server) : IMailboxConnector
{
    public Task<IMailboxConnection> ConnectAsync(AssetSettings asset, FolderName folder, CancellationToken cancellationToken)
    {
        server.Connects++;
        return Task.FromResult<IMailboxConnection>(new Connection(server));
    }

    private sealed class Connection(FakeServer server) : IMailboxConnection
    {
        private bool _broken;

        public Task<FolderStatus> ExamineAsync(CancellationToken cancellationToken) => Guard(server.Status);

        public Task<IReadOnlyList<uint>> SearchUidsAsync(uint from, uint to, CancellationToken cancellationToken) => Guard(() => server.Search(from, to));

        public Task<IReadOnlyDictionary<uint, DateTimeOffset>> FetchInternalDatesAsync(IReadOnlyList<uint> uids, CancellationToken cancellationToken) =>
            Guard(() => server.InternalDates(uids));

        public Task<IReadOnlyList<uint>> SearchReceivedSinceAsync(DateTimeOffset since, CancellationToken cancellationToken) =>
            Guard(() => server.ReceivedSince(since));

        public bool CanWaitForMail => false;

        public Task<bool> IdleAsync(TimeSpan longest, CancellationToken stop, CancellationToken cancellationToken) =>
            throw new NotSupportedException();

        public Task<IReadOnlyDictionary<uint, long>> FetchSizesAsync(IReadOnlyList<uint> uids, CancellationToken cancellationToken) =>
            Guard(() => server.FetchSizes(uids));

        public Task<IReadOnlyList<FetchedEmail>> FetchAsync(IReadOnlyList<uint> uids, CancellationToken cancellationToken) =>
            Guard(() => server.Fetch(uids));

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;

        private async Task<T> Guard<T>(Func<T> op)
        {
            await Task.Yield();
            if (_broken)
            {
                throw new ImapFailureException(ImapFailureCause.ConnectionLost, "connection is closed (test)");
            }

            try
            {
                return op();
            }
            catch (ImapFailureException ex) when (ex.Refusal is not null && ex.Cause != ImapFailureCause.ConnectionLost)
            {
                // A NO leaves the session as it was.
                throw;
            }
            catch
            {
                _broken = true;
                throw;
            }
        }
    }
}

/// <summary>Processing that makes a minimal container, and throws for subjects containing POISON.</summary>
internal sealed class FakeProcessing : IEmailProcessing
{
    public ConcurrentDictionary<uint, int> Attempts { get; } = new();

    public bool PoisonFixed { get; set; }

    public IParsedEmail Parse(RawEmail raw, EmailSource source, ExtractionLimits limits)
    {
        Attempts.AddOrUpdate(source.Uid, 1, (_, n) => n + 1);
        var text = Encoding.UTF8.GetString(raw.ToArray());
        if (text.Contains("POISON", StringComparison.Ordinal) && !PoisonFixed)
        {
            throw new InvalidOperationException("poison (test)");
        }

        return new Parsed(source, raw.ToArray());
    }

    public ProcessedEmail Extract(IParsedEmail parsed, ExtractionSettings settings, string label)
    {
        var (source, bytes) = ((Parsed)parsed).Value;
        var container = new EmailContainer
        {
            Name = "mail " + source.Uid,
            SourceDataIdentifier = "x : " + source.Uid,
            Label = "imap",
            Source = source,
            RawSha256 = Convert.ToHexStringLower(SHA256.HashData(bytes)),
            RawSize = bytes.Length,
        };
        return new ProcessedEmail(container, [new Artifact("Email Artifact", new JsonObject(), null, true, "sdi")], [], []);
    }

    private sealed record Parsed((EmailSource Source, byte[] Bytes) Value) : IParsedEmail
    {
        public Parsed(EmailSource source, byte[] bytes) : this((source, bytes)) { }

        public void Dispose() { }
    }
}

/// <summary>An in-memory store with the real store's idempotency and content reconciliation rules.</summary>
internal sealed class FakeStore : IContainerStore
{
    private readonly object _gate = new();
    private readonly Dictionary<(string, string, uint, uint), long> _keys = new();
    private readonly List<(long Id, EmailContainer Container)> _containers = new();
    private readonly List<QuarantinedEmail> _quarantine = new();
    private readonly List<string?> _nodes = new();

    public int FailNextCommits { get; set; }

    public Func<EmailToCommit, bool>? Refuse { get; set; }

    public IReadOnlyList<EmailContainer> Containers
    {
        get
        {
            lock (_gate)
            {
                return _containers.Select(c => c.Container).ToList();
            }
        }
    }

    /// <summary>The node each container was committed with, in the order of <see cref="Containers"/>.</summary>
    public IReadOnlyList<string?> Nodes
    {
        get
        {
            lock (_gate)
            {
                return _nodes.ToList();
            }
        }
    }

    public IReadOnlyList<QuarantinedEmail> Quarantine
    {
        get
        {
            lock (_gate)
            {
                return _quarantine.ToList();
            }
        }
    }

    public Task InitializeAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task<IReadOnlyList<CommitResult>> CommitAsync(IReadOnlyList<EmailToCommit> batch, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (FailNextCommits > 0)
            {
                FailNextCommits--;
                throw new InvalidOperationException("database unavailable (test)");
            }

            if (Refuse is { } refuse && batch.Any(refuse))
            {
                throw new InvalidOperationException("value refused by the store (test)");
            }

            var results = new List<CommitResult>();
            foreach (var e in batch)
            {
                var s = e.Email.Container.Source;
                var key = (s.Asset.Value, s.Folder.Value, s.UidValidity, s.Uid);
                if (_keys.TryGetValue(key, out var existing))
                {
                    results.Add(new CommitResult(s, existing, CommitOutcome.AlreadyIngested));
                    continue;
                }

                var same = _containers.FirstOrDefault(c => c.Container.RawSha256 == e.Email.Container.RawSha256
                    && c.Container.Source.Mailbox == s.Mailbox && c.Container.Source.UidValidity != s.UidValidity
                    && !_keys.Any(k => k.Value == c.Id && k.Key.Item3 == s.UidValidity));
                if (same.Container is not null)
                {
                    _keys[key] = same.Id;
                    results.Add(new CommitResult(s, same.Id, CommitOutcome.Reconciled));
                    continue;
                }

                var id = _containers.Count + 1;
                _containers.Add((id, e.Email.Container));
                _nodes.Add(e.Node);
                _keys[key] = id;
                results.Add(new CommitResult(s, id, CommitOutcome.Created));
            }

            return Task.FromResult<IReadOnlyList<CommitResult>>(results);
        }
    }

    public Task<IReadOnlySet<uint>> CommittedUidsAsync(MailboxId mailbox, uint uidValidity, uint from, uint to, CancellationToken cancellationToken) =>
        throw new NotSupportedException();

    public Task<long> QuarantineAsync(EmailSource source, VaultId? rawEmail, string stage, string error, string parserVersion, int attempts,
        CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var id = _quarantine.Count + 1;
            _quarantine.Add(new QuarantinedEmail(id, source, rawEmail, stage, error, parserVersion, attempts, DateTimeOffset.UtcNow, null));
            return Task.FromResult((long)id);
        }
    }

    public Task<IReadOnlyList<QuarantinedEmail>> ListQuarantineAsync(bool includeResolved, CancellationToken cancellationToken) =>
        Task.FromResult(Quarantine);

    public Task<QuarantinedEmail?> GetQuarantinedAsync(long id, CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task ResolveQuarantinedAsync(long id, CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task<IReadOnlyList<ContainerSummary>> ListContainersAsync(string? asset, CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task<StoredContainer?> GetContainerAsync(long id, CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task<long> CountContainersAsync(string? asset, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult((long)_containers.Count);
        }
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
