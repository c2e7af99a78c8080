using System.Runtime.CompilerServices;
using ImapActors.Domain;
using MailKit;
using MailKit.Net.Imap;
using MailKit.Search;

namespace ImapActors.Mail;

/// <summary>
/// One authenticated IMAP connection to one asset, owned by one actor: examine a folder read-only,
/// search UIDs, fetch messages in pipelined batches. Not thread-safe; every failure is an
/// <see cref="ImapFailureException"/> whose message names no secret.
/// </summary>
public sealed class ImapSession : IImapSession
{
    /// <summary>Progress message after the TCP (and TLS) connection is up, as the reference sends it.</summary>
    public const string ConnectedProgress = "Initiated connection to server";

    /// <summary>Progress message after a successful login, as the reference sends it.</summary>
    public const string LoggedInProgress = "User logged in";

    /// <summary>UIDs per <c>UID SEARCH</c> in <see cref="SearchAllUidsAsync"/>, so no response grows without bound.</summary>
    public const uint SearchWindow = 10_000;

    // Sessions logged in and not yet disposed, by asset (meter imapactors): what the engine holds open on each account.
    // Observed when a listener collects, so an account whose connections stay open keeps its series.
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, int> OpenByAsset = new(StringComparer.Ordinal);
    private static readonly System.Diagnostics.Metrics.Meter Meter = new("imapactors");
    private static readonly System.Diagnostics.Metrics.ObservableGauge<int> OpenSessions = Meter.CreateObservableGauge(
        "imap_connections_open",
        () => OpenByAsset.Select(kv => new System.Diagnostics.Metrics.Measurement<int>(kv.Value, new KeyValuePair<string, object?>("asset", kv.Key))),
        "{connection}", "IMAP connections logged in and open, by asset");

    private readonly ImapClient _client;
    private readonly ImapFailureMapper _errors;
    private readonly string _asset;
    private int _counted;
    private ImapFolder? _folder;
    private FolderStatus? _status;

    private ImapSession(ImapClient client, AssetSettings asset)
    {
        _client = client;
        _errors = new ImapFailureMapper(asset);
        _asset = asset.Name.Value;
    }

    /// <summary>True while the connection is open.</summary>
    public bool IsConnected => _client.IsConnected;

    /// <summary>Connects, secures and logs in; see the overload taking a protocol logger.</summary>
    /// <inheritdoc cref="ConnectAsync(AssetSettings, IAccessTokenProvider?, Action{string}?, IProtocolLogger?, CancellationToken)"/>
    public static Task<ImapSession> ConnectAsync(AssetSettings asset, IAccessTokenProvider? tokens, Action<string>? progress, CancellationToken cancellationToken) =>
        ConnectAsync(asset, tokens, progress, null, cancellationToken);

    /// <summary>
    /// Connects to the asset's server with implicit TLS (<c>UseSsl</c>) or STARTTLS (required before the
    /// login), verifies the certificate unless <c>VerifyServerCert</c> is off, and logs in with LOGIN/PLAIN
    /// or OAuth (XOAUTH2 or OAUTHBEARER). A rejected OAuth token is refreshed and tried once more.
    /// </summary>
    /// <param name="asset">The server, port, TLS and login settings; <c>Timeout</c> bounds the connect and every command.</param>
    /// <param name="tokens">The token source for OAuth assets; unused for Basic.</param>
    /// <param name="progress">Receives <see cref="ConnectedProgress"/> and <see cref="LoggedInProgress"/>.</param>
    /// <param name="protocolLogger">Optional wire log for diagnostics; MailKit redacts LOGIN and AUTHENTICATE secrets in it.</param>
    /// <param name="cancellationToken">Cancels the connect and login.</param>
    /// <returns>An authenticated session; dispose it to log out.</returns>
    /// <exception cref="ImapFailureException">The connection, TLS, or login failed; <see cref="ImapFailureException.Cause"/> says why.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static async Task<ImapSession> ConnectAsync(
        AssetSettings asset,
        IAccessTokenProvider? tokens,
        Action<string>? progress,
        IProtocolLogger? protocolLogger,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(asset);
        var replies = new ServerReplyTail(protocolLogger);
        var client = new ImapClient(replies);
        var session = new ImapSession(client, asset);
        try
        {
            await new ImapConnector(client, asset, session._errors, replies).ConnectAsync(tokens, progress, cancellationToken).ConfigureAwait(false);
            session._counted = 1;
            OpenByAsset.AddOrUpdate(session._asset, 1, (_, n) => n + 1);
            return session;
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    /// <summary>Lists every folder of the personal namespaces (<c>LIST "" *</c>), INBOX included.</summary>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>Full folder names with the server's separator.</returns>
    /// <exception cref="ImapFailureException">The command failed or the connection was lost.</exception>
    public Task<IReadOnlyList<string>> ListFoldersAsync(CancellationToken cancellationToken) =>
        _errors.RunAsync<IReadOnlyList<string>>(async () =>
        {
            var names = new List<string>();
            foreach (var ns in _client.PersonalNamespaces)
            {
                var folders = await _client.GetFoldersAsync(ns, StatusItems.None, false, cancellationToken).ConfigureAwait(false);
                names.AddRange(folders.Where(f => !f.Attributes.HasFlag(FolderAttributes.NonExistent)).Select(f => f.FullName));
            }

            if (!names.Any(n => string.Equals(n, "INBOX", StringComparison.OrdinalIgnoreCase)))
            {
                names.Insert(0, _client.Inbox.FullName);
            }

            return names.Distinct(StringComparer.Ordinal).ToList();
        }, "listing folders", cancellationToken);

    /// <summary>
    /// Opens <paramref name="folder"/> read-only (<c>EXAMINE</c>), so later fetches set no <c>\Seen</c> flag,
    /// and makes it the folder the search and fetch methods use. <c>inbox</c> in any case is INBOX.
    /// </summary>
    /// <param name="folder">The full folder name with the server's separator; MailKit encodes and quotes it.</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>UIDVALIDITY, UIDNEXT and the message count.</returns>
    /// <exception cref="ImapFailureException"><see cref="ImapFailureCause.FolderNotFound"/> when the folder does not exist; otherwise the command failed.</exception>
    public Task<FolderStatus> ExamineAsync(string folder, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        return _errors.RunAsync(async () =>
        {
            var target = (ImapFolder)await GetFolderAsync(folder, cancellationToken).ConfigureAwait(false);
            await target.OpenAsync(FolderAccess.ReadOnly, cancellationToken).ConfigureAwait(false);
            var uidNext = target.UidNext?.Id ?? 0;
            if (uidNext == 0 && target.Count > 0)
            {
                // A server that omits UIDNEXT: one past the highest UID is the best safe estimate.
                var all = await target.SearchAsync(SearchQuery.All, cancellationToken).ConfigureAwait(false);
                uidNext = all.Count == 0 ? 1 : all.Max(u => u.Id) + 1;
            }

            _folder = target;
            _status = new FolderStatus(target.FullName, target.UidValidity, Math.Max(uidNext, 1), target.Count);
            return _status;
        }, $"examining folder '{folder}'", cancellationToken, folder);
    }

    /// <summary>
    /// <c>UID SEARCH UID from:to</c> on the examined folder. The explicit upper bound avoids IMAP's
    /// <c>n:*</c> quirk (which always matches the last message); callers search in windows so a huge
    /// folder never produces one huge response.
    /// </summary>
    /// <param name="fromUid">First UID of the window, at least 1.</param>
    /// <param name="toUid">Last UID of the window; smaller than <paramref name="fromUid"/> gives an empty result.</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>The UIDs that exist in the window, ascending.</returns>
    /// <exception cref="InvalidOperationException">No folder has been examined.</exception>
    /// <exception cref="ImapFailureException">The command failed or the connection was lost.</exception>
    public Task<IReadOnlyList<uint>> SearchUidsAsync(uint fromUid, uint toUid, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfZero(fromUid);
        var folder = RequireFolder();
        if (toUid < fromUid)
        {
            return Task.FromResult<IReadOnlyList<uint>>([]);
        }

        return _errors.RunAsync<IReadOnlyList<uint>>(async () =>
        {
            var range = new UniqueIdRange(0, fromUid, toUid);
            var found = await folder.SearchAsync(SearchQuery.Uids(range), cancellationToken).ConfigureAwait(false);
            var uids = found.Select(u => u.Id).Where(u => u >= fromUid && u <= toUid).ToList();
            uids.Sort();
            return uids;
        }, "searching", cancellationToken);
    }

    /// <summary>
    /// All UIDs from <paramref name="fromUid"/> up to the examined folder's UIDNEXT, searched in windows
    /// of <see cref="SearchWindow"/> UIDs.
    /// </summary>
    /// <param name="fromUid">First UID wanted, at least 1.</param>
    /// <param name="cancellationToken">Cancels the commands.</param>
    /// <returns>The UIDs, ascending.</returns>
    /// <exception cref="InvalidOperationException">No folder has been examined.</exception>
    /// <exception cref="ImapFailureException">A command failed or the connection was lost.</exception>
    public async Task<IReadOnlyList<uint>> SearchAllUidsAsync(uint fromUid, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfZero(fromUid);
        RequireFolder();
        var last = _status!.UidNext - 1;
        var result = new List<uint>();
        for (var start = (ulong)fromUid; start <= last; start += SearchWindow)
        {
            var end = (uint)Math.Min(last, start + SearchWindow - 1);
            result.AddRange(await SearchUidsAsync((uint)start, end, cancellationToken).ConfigureAwait(false));
        }

        return result;
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyDictionary<uint, DateTimeOffset>> FetchInternalDatesAsync(IReadOnlyList<uint> uids, CancellationToken cancellationToken)
    {
        var found = await SummariesAsync(RequireFolder(), uids, MessageSummaryItems.InternalDate, "fetching message dates", cancellationToken)
            .ConfigureAwait(false);
        return found.Values.Where(m => m.InternalDate is not null).ToDictionary(m => m.UniqueId.Id, m => m.InternalDate!.Value);
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<uint>> SearchReceivedSinceAsync(DateTimeOffset since, CancellationToken cancellationToken)
    {
        var folder = RequireFolder();
        return _errors.RunAsync<IReadOnlyList<uint>>(async () =>
        {
            var found = await folder.SearchAsync(SearchQuery.DeliveredAfter(since.UtcDateTime.Date), cancellationToken).ConfigureAwait(false);
            return found.Select(u => u.Id).Order().ToList();
        }, "searching by date", cancellationToken);
    }

    /// <inheritdoc/>
    public bool SupportsIdle => _client.Capabilities.HasFlag(ImapCapabilities.Idle);

    /// <inheritdoc/>
    public Task<bool> IdleAsync(TimeSpan longest, CancellationToken stop, CancellationToken cancellationToken)
    {
        var folder = RequireFolder();
        return _errors.RunAsync(async () =>
        {
            using var done = CancellationTokenSource.CreateLinkedTokenSource(stop, cancellationToken);
            done.CancelAfter(longest);
            var changed = false;
            void OnChange(object? sender, EventArgs e)
            {
                // Raised while MailKit reads the server's untagged EXISTS; with IDLE, DONE follows.
                changed = true;
                done.Cancel();
            }

            folder.CountChanged += OnChange;
            try
            {
                if (SupportsIdle)
                {
                    await _client.IdleAsync(done.Token, cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    await NoopUntilAsync(done.Token, cancellationToken).ConfigureAwait(false);
                }
            }
            finally
            {
                folder.CountChanged -= OnChange;
            }

            return changed;
        }, SupportsIdle ? "waiting for new mail (IDLE)" : "waiting for new mail (NOOP)", cancellationToken);
    }

    /// <summary>How often a server without IDLE is asked (NOOP) whether new mail arrived.</summary>
    public static readonly TimeSpan NoopInterval = TimeSpan.FromSeconds(30);

    private async Task NoopUntilAsync(CancellationToken done, CancellationToken cancellationToken)
    {
        while (!done.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(NoopInterval, done).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (done.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                return;
            }

            // An untagged EXISTS in the answer raises CountChanged, which ends the wait.
            await _client.NoOpAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary><c>UID FETCH (UID RFC822.SIZE)</c>: the sizes of messages of the examined folder, without their bodies.</summary>
    /// <param name="uids">The UIDs wanted.</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>The size of each UID that still exists.</returns>
    /// <exception cref="InvalidOperationException">No folder has been examined.</exception>
    /// <exception cref="ImapFailureException">The command failed or the connection was lost.</exception>
    public async Task<IReadOnlyDictionary<uint, long>> FetchSizesAsync(IReadOnlyList<uint> uids, CancellationToken cancellationToken)
    {
        var found = await SummariesAsync(RequireFolder(), uids, MessageSummaryItems.Size, "fetching message sizes", cancellationToken)
            .ConfigureAwait(false);
        return found.ToDictionary(kv => kv.Key, kv => (long)(kv.Value.Size ?? 0));
    }

    /// <summary>One <c>UID FETCH (UID ...)</c> of <paramref name="items"/> for <paramref name="uids"/>, by UID; the UIDs that no longer exist are absent.</summary>
    private async Task<Dictionary<uint, IMessageSummary>> SummariesAsync(ImapFolder folder, IReadOnlyList<uint> uids, MessageSummaryItems items,
        string what, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(uids);
        if (uids.Count == 0)
        {
            return [];
        }

        return await _errors.RunAsync(async () =>
        {
            var set = uids.Where(u => u > 0).Distinct().Select(u => new UniqueId(u)).ToList();
            var found = await folder.FetchAsync(set, MessageSummaryItems.UniqueId | items, cancellationToken).ConfigureAwait(false);
            return found.Where(m => m.UniqueId.IsValid).ToDictionary(m => m.UniqueId.Id);
        }, what, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Fetches messages of the examined folder, pipelined: one <c>UID FETCH (UID RFC822.SIZE INTERNALDATE)</c>
    /// for the whole list, then one <c>UID FETCH (BODY.PEEK[])</c> for the small messages (split only when
    /// their total is very large), while each message above <paramref name="largeMessageBytes"/> is streamed
    /// in 1 MiB partial fetches to a file in <paramref name="tempDirectory"/> and returned file-backed.
    /// Nothing gets <c>\Seen</c>. A UID that no longer exists is absent from the results; results come in
    /// the order of <paramref name="uids"/>. The caller disposes each <see cref="FetchedEmail.Raw"/>.
    /// </summary>
    /// <param name="uids">The UIDs to fetch.</param>
    /// <param name="largeMessageBytes">Messages larger than this (RFC822.SIZE) go to a temporary file.</param>
    /// <param name="tempDirectory">Where large messages are written; created when missing.</param>
    /// <param name="cancellationToken">Cancels the commands.</param>
    /// <returns>The messages that still exist.</returns>
    /// <exception cref="InvalidOperationException">No folder has been examined.</exception>
    /// <exception cref="ImapFailureException">
    /// A command failed or the connection was lost; <see cref="ImapFailureException.Refusal"/> holds the server's answer
    /// when it refused the fetch (a message it cannot serve, say), and is null when no answer came.
    /// </exception>
    public async IAsyncEnumerable<FetchedEmail> FetchAsync(
        IReadOnlyList<uint> uids,
        long largeMessageBytes,
        string tempDirectory,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(uids);
        ArgumentException.ThrowIfNullOrEmpty(tempDirectory);
        var folder = RequireFolder();
        if (uids.Count == 0)
        {
            yield break;
        }

        var summaries = await SummariesAsync(folder, uids, MessageSummaryItems.InternalDate | MessageSummaryItems.Size, "fetching message sizes",
            cancellationToken).ConfigureAwait(false);

        // Consecutive small messages share one command, up to a total that keeps memory bounded.
        var smallBudget = Math.Max(16L * 1024 * 1024, largeMessageBytes * 4);
        var pending = new List<IMessageSummary>();
        long pendingBytes = 0;
        foreach (var uid in uids)
        {
            if (!summaries.TryGetValue(uid, out var summary))
            {
                continue;
            }

            var size = (long)(summary.Size ?? 0);
            if (size > largeMessageBytes)
            {
                foreach (var email in await FetchSmallAsync(folder, pending, cancellationToken).ConfigureAwait(false))
                {
                    yield return email;
                }

                pending.Clear();
                pendingBytes = 0;
                var large = await LargeMessageSpool.FetchAsync(folder, summary, tempDirectory, _errors, cancellationToken).ConfigureAwait(false);
                if (large is not null)
                {
                    yield return large;
                }

                continue;
            }

            if (pending.Count > 0 && pendingBytes + size > smallBudget)
            {
                foreach (var email in await FetchSmallAsync(folder, pending, cancellationToken).ConfigureAwait(false))
                {
                    yield return email;
                }

                pending.Clear();
                pendingBytes = 0;
            }

            pending.Add(summary);
            pendingBytes += size;
        }

        foreach (var email in await FetchSmallAsync(folder, pending, cancellationToken).ConfigureAwait(false))
        {
            yield return email;
        }
    }

    private Task<List<FetchedEmail>> FetchSmallAsync(ImapFolder folder, List<IMessageSummary> batch, CancellationToken ct)
    {
        if (batch.Count == 0)
        {
            return Task.FromResult(new List<FetchedEmail>());
        }

        return _errors.RunAsync(async () =>
        {
            var bodies = new Dictionary<uint, byte[]>(batch.Count);
            await folder.GetStreamsAsync(batch.Select(s => s.UniqueId).ToList(), async (_, _, uid, stream, token) =>
            {
                bodies[uid.Id] = await ReadAllAsync(stream, token).ConfigureAwait(false);
            }, ct).ConfigureAwait(false);

            var result = new List<FetchedEmail>(bodies.Count);
            foreach (var summary in batch)
            {
                if (bodies.TryGetValue(summary.UniqueId.Id, out var bytes))
                {
                    result.Add(new FetchedEmail(summary.UniqueId.Id, summary.InternalDate, (long)(summary.Size ?? (uint)bytes.Length), RawEmail.FromBytes(bytes)));
                }
            }

            return result;
        }, "fetching messages", ct);
    }

    /// <summary>A body into one array of its exact size: MailKit hands each body over as a seekable stream.</summary>
    private static async Task<byte[]> ReadAllAsync(Stream stream, CancellationToken ct)
    {
        if (stream.CanSeek)
        {
            var bytes = new byte[checked((int)(stream.Length - stream.Position))];
            await stream.ReadExactlyAsync(bytes, ct).ConfigureAwait(false);
            return bytes;
        }

        using var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer, ct).ConfigureAwait(false);
        return buffer.ToArray();
    }

    /// <summary>Logs out when still connected (within a few seconds at most) and releases the connection.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _counted, 0) == 1)
        {
            OpenByAsset.AddOrUpdate(_asset, 0, (_, n) => n - 1);
        }

        if (_client.IsConnected)
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            try
            {
                await _client.DisconnectAsync(true, cts.Token).ConfigureAwait(false);
            }
#pragma warning disable CA1031 // A failed goodbye on a connection being thrown away changes nothing.
            catch (Exception)
#pragma warning restore CA1031
            {
            }
        }

        _client.Dispose();
    }

    private ImapFolder RequireFolder() =>
        _folder ?? throw new InvalidOperationException("No folder has been examined on this session; call ExamineAsync first.");

    private async Task<IMailFolder> GetFolderAsync(string folder, CancellationToken ct) =>
        string.Equals(folder, "INBOX", StringComparison.OrdinalIgnoreCase)
            ? _client.Inbox
            : await _client.GetFolderAsync(folder, ct).ConfigureAwait(false);
}
