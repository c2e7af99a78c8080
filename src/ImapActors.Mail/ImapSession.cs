using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Security.Cryptography.X509Certificates;
using ImapActors.Domain;
using ImapActors.Mail.OAuth;
using MailKit;
using MailKit.Net.Imap;
using MailKit.Search;
using MailKit.Security;
using MimeKit;
using MailAuthenticationException = MailKit.Security.AuthenticationException;
using TlsAuthenticationException = System.Security.Authentication.AuthenticationException;

namespace ImapActors.Mail;

/// <summary>
/// One authenticated IMAP connection to one asset, owned by one actor: examine a folder read-only,
/// search UIDs, fetch messages in pipelined batches. Not thread-safe; every failure is an
/// <see cref="ImapFailureException"/> whose message names no secret.
/// </summary>
public sealed class ImapSession : IAsyncDisposable
{
    /// <summary>Progress message after the TCP (and TLS) connection is up, as the reference sends it.</summary>
    public const string ConnectedProgress = "Initiated connection to server";

    /// <summary>Progress message after a successful login, as the reference sends it.</summary>
    public const string LoggedInProgress = "User logged in";

    /// <summary>UIDs per <c>UID SEARCH</c> in <see cref="SearchAllUidsAsync"/>, so no response grows without bound.</summary>
    public const uint SearchWindow = 10_000;

    private const int LargeChunkBytes = 1024 * 1024;

    private readonly ImapClient _client;
    private readonly AssetSettings _asset;
    private readonly string _endpoint;
    private ImapFolder? _folder;
    private FolderStatus? _status;

    private ImapSession(ImapClient client, AssetSettings asset)
    {
        _client = client;
        _asset = asset;
        _endpoint = asset.Server + ":" + asset.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>True while the connection is open.</summary>
    public bool IsConnected => _client.IsConnected;

    /// <summary>What the last <see cref="ExamineAsync"/> reported, or null before one.</summary>
    public FolderStatus? Examined => _status;

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
        var client = protocolLogger is null ? new ImapClient() : new ImapClient(protocolLogger);
        var session = new ImapSession(client, asset);
        try
        {
            await session.ConnectCoreAsync(tokens, progress, cancellationToken).ConfigureAwait(false);
            return session;
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    private async Task ConnectCoreAsync(IAccessTokenProvider? tokens, Action<string>? progress, CancellationToken ct)
    {
        if (_asset.AuthType == AuthType.OAuth && tokens is null)
        {
            throw new ImapFailureException(ImapFailureCause.TokenUnavailable,
                $"Asset '{_asset.Name}' uses OAuth but no access token source is configured");
        }

        _client.Timeout = (int)Math.Clamp(_asset.Timeout.TotalMilliseconds, 1, int.MaxValue);
        var validator = new CertificateValidator(_asset);
        _client.ServerCertificateValidationCallback = validator.Validate;
        if (validator.HasCustomRoots || !_asset.VerifyServerCert)
        {
            // A private CA or a self-signed certificate publishes no revocation list to check.
            _client.CheckCertificateRevocation = false;
        }

        await OpenAsync(validator, ct).ConfigureAwait(false);
        progress?.Invoke(ConnectedProgress);

        if (_asset.AuthType == AuthType.OAuth)
        {
            await LoginOAuthAsync(tokens, validator, ct).ConfigureAwait(false);
        }
        else
        {
            await LoginBasicAsync(ct).ConfigureAwait(false);
        }

        progress?.Invoke(LoggedInProgress);
    }

    private async Task OpenAsync(CertificateValidator validator, CancellationToken ct)
    {
        var options = _asset.UseSsl ? SecureSocketOptions.SslOnConnect : SecureSocketOptions.StartTls;
        try
        {
            await _client.ConnectAsync(_asset.Server, _asset.Port, options, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            throw MapConnectFailure(ex, validator);
        }
    }

    private async Task LoginBasicAsync(CancellationToken ct)
    {
        var password = _asset.Password?.Value ?? string.Empty;
        await RunAsync(() => _client.AuthenticateAsync(new NetworkCredential(_asset.Username, password), ct), "logging in", ct)
            .ConfigureAwait(false);
    }

    private async Task LoginOAuthAsync(IAccessTokenProvider? tokens, CertificateValidator validator, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        for (var attempt = 0; ; attempt++)
        {
            var token = await GetTokenAsync(tokens, forceRefresh: attempt > 0, ct).ConfigureAwait(false);
            SaslMechanism mechanism = string.Equals(_asset.OAuth?.Mechanism, "OAUTHBEARER", StringComparison.OrdinalIgnoreCase)
                ? new SaslMechanismOAuthBearer(_asset.Username, token)
                : new SaslMechanismOAuth2(_asset.Username, token);
            try
            {
                if (!_client.IsConnected)
                {
                    await OpenAsync(validator, ct).ConfigureAwait(false);
                }

                await RunAsync(() => _client.AuthenticateAsync(mechanism, ct), "logging in", ct).ConfigureAwait(false);
                return;
            }
            catch (ImapFailureException ex) when (ex.Cause == ImapFailureCause.AuthenticationFailed && attempt == 0)
            {
                // An expired or revoked token looks like any rejected login: refresh once, then give up.
            }
        }
    }

    private async Task<string> GetTokenAsync(IAccessTokenProvider tokens, bool forceRefresh, CancellationToken ct)
    {
        try
        {
            var token = await tokens.GetAccessTokenAsync(forceRefresh, ct).ConfigureAwait(false);
            if (string.IsNullOrEmpty(token))
            {
                throw new ImapFailureException(ImapFailureCause.TokenUnavailable, $"No OAuth access token for user '{_asset.Username}'");
            }

            return token;
        }
        catch (OAuthEndpointUnreachableException ex)
        {
            // The identity provider being down is like the mail server being down: try again soon.
            throw new ImapFailureException(ImapFailureCause.TokenEndpointUnreachable, $"No OAuth access token for asset '{_asset.Name}': {ex.Message}", ex);
        }
        catch (OAuthException ex)
        {
            // Already says which asset and what to do (for a revoked grant: the command that signs in again).
            throw new ImapFailureException(ImapFailureCause.TokenUnavailable, ex.Message, ex);
        }
        catch (Exception ex) when (ex is not ImapFailureException && (ex is not OperationCanceledException || !ct.IsCancellationRequested))
        {
            throw new ImapFailureException(ImapFailureCause.TokenUnavailable,
                $"No OAuth access token for user '{_asset.Username}': {ex.Message}", ex);
        }
    }

    /// <summary>Lists every folder of the personal namespaces (<c>LIST "" *</c>), INBOX included.</summary>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>Full folder names with the server's separator.</returns>
    /// <exception cref="ImapFailureException">The command failed or the connection was lost.</exception>
    public Task<IReadOnlyList<string>> ListFoldersAsync(CancellationToken cancellationToken) =>
        RunAsync<IReadOnlyList<string>>(async () =>
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
        return RunAsync(async () =>
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

        return RunAsync<IReadOnlyList<uint>>(async () =>
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
    /// <exception cref="ImapFailureException">A command failed or the connection was lost.</exception>
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

        var summaries = await RunAsync(async () =>
        {
            var set = uids.Where(u => u > 0).Distinct().Select(u => new UniqueId(u)).ToList();
            var found = await folder.FetchAsync(set, MessageSummaryItems.UniqueId | MessageSummaryItems.InternalDate | MessageSummaryItems.Size, cancellationToken)
                .ConfigureAwait(false);
            return found.Where(s => s.UniqueId.IsValid).ToDictionary(s => s.UniqueId.Id);
        }, "fetching message sizes", cancellationToken).ConfigureAwait(false);

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
                var large = await FetchLargeAsync(folder, summary, tempDirectory, cancellationToken).ConfigureAwait(false);
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

        return RunAsync(async () =>
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

    private Task<FetchedEmail?> FetchLargeAsync(ImapFolder folder, IMessageSummary summary, string tempDirectory, CancellationToken ct)
    {
        Directory.CreateDirectory(tempDirectory);
        var uid = summary.UniqueId;
        var path = Path.Combine(tempDirectory, $"imap-{uid.Id}-{Guid.NewGuid():N}.eml");
        return RunAsync<FetchedEmail?>(async () =>
        {
            var complete = false;
            try
            {
                await using (var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 81920, FileOptions.Asynchronous))
                {
                    for (var offset = 0; ; offset += LargeChunkBytes)
                    {
                        int read;
                        try
                        {
                            using var chunk = await folder.GetStreamAsync(uid, string.Empty, offset, LargeChunkBytes, ct).ConfigureAwait(false);
                            var before = file.Length;
                            await chunk.CopyToAsync(file, ct).ConfigureAwait(false);
                            read = (int)(file.Length - before);
                        }
                        catch (MessageNotFoundException)
                        {
                            // Expunged since the size fetch: absent, like any UID that no longer exists.
                            return null;
                        }

                        if (read < LargeChunkBytes)
                        {
                            break;
                        }
                    }
                }

                complete = true;
                return new FetchedEmail(uid.Id, summary.InternalDate, (long)(summary.Size ?? 0), RawEmail.FromFile(path, deleteOnDispose: true));
            }
            finally
            {
                if (!complete)
                {
                    TryDelete(path);
                }
            }
        }, "fetching a large message", ct);
    }

    /// <summary>Appends a message to <paramref name="folder"/> (created by nobody: it must exist).</summary>
    /// <param name="folder">The full folder name; <c>inbox</c> in any case is INBOX.</param>
    /// <param name="message">The RFC 822 bytes, CRLF line endings for a byte-identical round trip.</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>The new message's UID when the server reports it (UIDPLUS), else null.</returns>
    /// <exception cref="ImapFailureException"><see cref="ImapFailureCause.FolderNotFound"/> or another failure.</exception>
    public Task<uint?> AppendAsync(string folder, byte[] message, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        ArgumentNullException.ThrowIfNull(message);
        return RunAsync(async () =>
        {
            var target = await GetFolderAsync(folder, cancellationToken).ConfigureAwait(false);
            using var stream = new MemoryStream(message, writable: false);
            var mime = await MimeMessage.LoadAsync(stream, cancellationToken).ConfigureAwait(false);
            var uid = await target.AppendAsync(new AppendRequest(mime), cancellationToken).ConfigureAwait(false);
            return uid?.Id;
        }, $"appending to folder '{folder}'", cancellationToken, folder);
    }

    /// <summary>Sends LOGOUT and closes the connection; does nothing when already closed.</summary>
    /// <param name="cancellationToken">Cancels the logout.</param>
    /// <exception cref="ImapFailureException">The connection broke during the logout.</exception>
    public Task LogoutAsync(CancellationToken cancellationToken)
    {
        if (!_client.IsConnected)
        {
            return Task.CompletedTask;
        }

        return RunAsync(() => _client.DisconnectAsync(true, cancellationToken), "logging out", cancellationToken);
    }

    /// <summary>Logs out when still connected (within a few seconds at most) and releases the connection.</summary>
    public async ValueTask DisposeAsync()
    {
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

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // A partial temporary file left behind costs disk space only.
        }
        catch (UnauthorizedAccessException)
        {
            // Same as above.
        }
    }

    private async Task RunAsync(Func<Task> action, string what, CancellationToken ct, string? folder = null) =>
        await RunAsync(async () =>
        {
            await action().ConfigureAwait(false);
            return true;
        }, what, ct, folder).ConfigureAwait(false);

    private async Task<T> RunAsync<T>(Func<Task<T>> action, string what, CancellationToken ct, string? folder = null)
    {
        try
        {
            return await action().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not ImapFailureException && (ex is not OperationCanceledException || !ct.IsCancellationRequested))
        {
            throw MapCommandFailure(ex, what, folder);
        }
    }

    private ImapFailureException MapCommandFailure(Exception ex, string what, string? folder) => ex switch
    {
        MailAuthenticationException => new ImapFailureException(ImapFailureCause.AuthenticationFailed,
            $"Authentication failed for user '{_asset.Username}' on {_endpoint}: the server rejected the credentials", ex),
        FolderNotFoundException => new ImapFailureException(ImapFailureCause.FolderNotFound,
            $"Folder '{folder}' does not exist for user '{_asset.Username}' on {_endpoint}", ex),
        ImapCommandException cmd when folder is not null && cmd.ResponseText.Contains("exist", StringComparison.OrdinalIgnoreCase) =>
            new ImapFailureException(ImapFailureCause.FolderNotFound,
                $"Folder '{folder}' does not exist for user '{_asset.Username}' on {_endpoint}: {cmd.ResponseText}", ex),
        ImapCommandException cmd => new ImapFailureException(ImapFailureCause.ProtocolError,
            $"The server at {_endpoint} refused {what}: {cmd.Response} {cmd.ResponseText}", ex),
        _ when IsTimeout(ex) => new ImapFailureException(ImapFailureCause.Timeout,
            $"No answer from {_endpoint} within {_asset.Timeout.TotalSeconds:0.#} s while {what}", ex),
        ImapProtocolException or IOException or SocketException or ServiceNotConnectedException or ObjectDisposedException =>
            new ImapFailureException(ImapFailureCause.ConnectionLost, $"Connection to {_endpoint} was lost while {what}: {ex.Message}", ex),
        ServiceNotAuthenticatedException => new ImapFailureException(ImapFailureCause.ConnectionLost,
            $"The session with {_endpoint} is no longer authenticated while {what}", ex),
        _ => new ImapFailureException(ImapFailureCause.ProtocolError, $"IMAP error from {_endpoint} while {what}: {ex.Message}", ex),
    };

    private ImapFailureException MapConnectFailure(Exception ex, CertificateValidator validator)
    {
        if (validator.Failure is { } certFailure)
        {
            return new ImapFailureException(certFailure.Cause, certFailure.Message, ex);
        }

        var socket = Find<SocketException>(ex);
        if (socket is not null)
        {
            switch (socket.SocketErrorCode)
            {
                case SocketError.HostNotFound or SocketError.TryAgain or SocketError.NoData or SocketError.NoRecovery:
                    return new ImapFailureException(ImapFailureCause.NameNotResolved,
                        $"Cannot resolve the server name '{_asset.Server}': check the asset's server setting and DNS", ex);
                case SocketError.ConnectionRefused:
                    return new ImapFailureException(ImapFailureCause.ConnectionRefused,
                        $"Connection to {_endpoint} was refused: check the server and port, and that the IMAP service is running", ex);
                case SocketError.TimedOut:
                    return new ImapFailureException(ImapFailureCause.Timeout,
                        $"No answer from {_endpoint} within {_asset.Timeout.TotalSeconds:0.#} s while connecting", ex);
                case SocketError.NetworkUnreachable or SocketError.HostUnreachable or SocketError.HostDown:
                    return new ImapFailureException(ImapFailureCause.ConnectionRefused,
                        $"{_endpoint} is unreachable ({socket.SocketErrorCode}): check the server name and the network path", ex);
            }
        }

        if (IsTimeout(ex))
        {
            return new ImapFailureException(ImapFailureCause.Timeout,
                $"No answer from {_endpoint} within {_asset.Timeout.TotalSeconds:0.#} s while connecting", ex);
        }

        if (ex is NotSupportedException && !_asset.UseSsl)
        {
            return new ImapFailureException(ImapFailureCause.StartTlsNotOffered,
                $"{_endpoint} does not offer STARTTLS, so the login would travel in clear text: use implicit TLS (use_ssl) or a server that offers STARTTLS", ex);
        }

        if (ex is SslHandshakeException or TlsAuthenticationException)
        {
            var hint = _asset.UseSsl
                ? "is this a plain IMAP port? Turn off use_ssl for a STARTTLS port"
                : "the server's TLS setup is broken or incompatible";
            return new ImapFailureException(ImapFailureCause.ProtocolError,
                $"TLS handshake with {_endpoint} failed ({hint}): {Innermost(ex).Message}", ex);
        }

        if (ex is ImapProtocolException or IOException)
        {
            return new ImapFailureException(ImapFailureCause.ConnectionLost,
                $"Connection to {_endpoint} was lost while connecting: {ex.Message}", ex);
        }

        return new ImapFailureException(ImapFailureCause.ProtocolError, $"Error connecting to {_endpoint}: {ex.Message}", ex);
    }

    private static bool IsTimeout(Exception ex) =>
        Find<TimeoutException>(ex) is not null || Find<SocketException>(ex)?.SocketErrorCode == SocketError.TimedOut;

    private static T? Find<T>(Exception ex)
        where T : Exception
    {
        for (Exception? e = ex; e is not null; e = e.InnerException)
        {
            if (e is T found)
            {
                return found;
            }
        }

        return null;
    }

    private static Exception Innermost(Exception ex)
    {
        while (ex.InnerException is not null)
        {
            ex = ex.InnerException;
        }

        return ex;
    }

    /// <summary>Checks the server certificate against the system roots plus the asset's CA file, and records why it failed.</summary>
    private sealed class CertificateValidator
    {
        private readonly AssetSettings _asset;
        private readonly X509Certificate2Collection? _roots;

        public CertificateValidator(AssetSettings asset)
        {
            _asset = asset;
            if (!string.IsNullOrEmpty(asset.CaFile) && asset.VerifyServerCert)
            {
                try
                {
                    _roots = [];
                    _roots.ImportFromPemFile(asset.CaFile);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
                {
                    throw new ImapFailureException(ImapFailureCause.CertificateNotTrusted,
                        $"Cannot read the CA file '{asset.CaFile}' of asset '{asset.Name}': {ex.Message}", ex);
                }

                if (_roots.Count == 0)
                {
                    throw new ImapFailureException(ImapFailureCause.CertificateNotTrusted,
                        $"The CA file '{asset.CaFile}' of asset '{asset.Name}' holds no PEM certificate");
                }
            }
        }

        public bool HasCustomRoots => _roots is not null;

        public (ImapFailureCause Cause, string Message)? Failure { get; private set; }

        public bool Validate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
        {
            if (!_asset.VerifyServerCert || errors == SslPolicyErrors.None)
            {
                return true;
            }

            var endpoint = $"{_asset.Server}:{_asset.Port}";
            if (certificate is null || errors.HasFlag(SslPolicyErrors.RemoteCertificateNotAvailable))
            {
                Failure = (ImapFailureCause.CertificateNotTrusted, $"{endpoint} presented no TLS certificate");
                return false;
            }

            if (errors.HasFlag(SslPolicyErrors.RemoteCertificateChainErrors))
            {
                var status = ChainStatus(certificate, chain);
                if (status is not null)
                {
                    Failure = (ImapFailureCause.CertificateNotTrusted,
                        $"The TLS certificate of {endpoint} ({certificate.Subject}) is not trusted ({status}): "
                        + (_roots is null ? "give its CA in ca_file" : $"it does not chain to a CA in '{_asset.CaFile}'")
                        + ", or turn off verify_server_cert");
                    return false;
                }
            }

            if (errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch))
            {
                Failure = (ImapFailureCause.CertificateNameMismatch,
                    $"The TLS certificate of {endpoint} ({certificate.Subject}) is not valid for the name '{_asset.Server}': connect by a name the certificate lists, or turn off verify_server_cert");
                return false;
            }

            return true;
        }

        /// <summary>Null when the certificate chains to one of the CA file's roots; otherwise what is wrong with the chain.</summary>
        private string? ChainStatus(X509Certificate certificate, X509Chain? presented)
        {
            var systemStatus = presented is null
                ? "chain error"
                : string.Join(", ", presented.ChainStatus.Select(s => s.Status).Where(s => s != X509ChainStatusFlags.NoError).Distinct());
            if (_roots is null)
            {
                return systemStatus.Length == 0 ? "chain error" : systemStatus;
            }

            using var leaf = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
            using var custom = new X509Chain();
            custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            custom.ChainPolicy.CustomTrustStore.AddRange(_roots);
            custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            if (presented is not null)
            {
                foreach (var element in presented.ChainElements)
                {
                    custom.ChainPolicy.ExtraStore.Add(element.Certificate);
                }
            }

            if (custom.Build(leaf))
            {
                return null;
            }

            var status = string.Join(", ", custom.ChainStatus.Select(s => s.Status).Where(s => s != X509ChainStatusFlags.NoError).Distinct());
            return status.Length == 0 ? "chain error" : status;
        }
    }
}
