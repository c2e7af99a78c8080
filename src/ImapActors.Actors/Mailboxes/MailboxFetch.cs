using Akka.Actor;
using ImapActors.Actors.Pipeline;
using ImapActors.Mail;

namespace ImapActors.Actors.Mailboxes;

/// <summary>
/// The fetches of a mailbox that the server may refuse, as it does for a message it cannot serve: a batch's bodies and a
/// plan's sizes. A refusal is an answer, not a failure; a session the server ended with it (Dovecot's BYE) is replaced
/// by a new one on the same folder, under the same UIDVALIDITY. Only a lost connection (no answer) fails.
/// </summary>
internal static class MailboxFetch
{
    /// <summary>
    /// Fetches UIDs of a batch made under <paramref name="uidValidity"/>, on <paramref name="connection"/> or, when the
    /// server ended the last session, on a new one. A refusal is answered with <see cref="BatchRefused"/> (the ledger
    /// splits the fetch). A UID missing from the answer is looked for with UID SEARCH: one the server still has, it left
    /// out (<see cref="BatchFetched.Omitted"/>); the others are gone.
    /// </summary>
    public static async Task<IFetchAnswer> FetchAsync(IMailboxConnection? connection, MailboxOptions options, long batchId,
        IReadOnlyList<uint> uids, uint uidValidity, CancellationToken cancellationToken)
    {
        connection ??= await ReconnectAsync(options, uidValidity, cancellationToken);
        IReadOnlyList<FetchedEmail> emails;
        try
        {
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            emails = await connection.FetchAsync(uids, cancellationToken);
            Engine.EngineMeter.Fetch.Record(Engine.EngineMeter.Since(started));
        }
        catch (ImapFailureException ex) when (ex.Refusal is not null)
        {
            if (ex.Cause != ImapFailureCause.ConnectionLost)
            {
                return new BatchRefused(batchId, ex.Refusal, connection);
            }

            await MailboxImap.CloseQuietlyAsync(Task.FromResult(connection));
            return new BatchRefused(batchId, ex.Refusal, null);
        }
        catch (Exception ex)
        {
            throw new MailboxPollException(connection, ex);
        }

        try
        {
            var missing = uids.Except(emails.Select(e => e.Uid)).ToList();
            var omitted = missing.Count == 0
                ? []
                : (await connection.SearchUidsAsync(missing.Min(), missing.Max(), cancellationToken)).Intersect(missing).ToList();
            return new BatchFetched(batchId, emails, omitted, connection);
        }
        catch (Exception ex)
        {
            foreach (var email in emails)
            {
                email.Raw.Dispose();
            }

            throw new MailboxPollException(connection, ex);
        }
    }

    /// <summary>
    /// The sizes of <paramref name="uids"/>, for the admission gate. A UID whose size the server will not give (it refuses
    /// the fetch, as Dovecot does when it must read a message it cannot read to count its size) is found by halving the
    /// refused fetch, and gets none: its body fetch is refused too, and the ledger deals with it.
    /// </summary>
    /// <returns>The connection to go on with (a new one when the server ended the session) and the sizes found.</returns>
    public static async Task<(IMailboxConnection Connection, IReadOnlyDictionary<uint, long> Sizes)> SizesAsync(IMailboxConnection connection,
        MailboxOptions options, IReadOnlyList<uint> uids, uint uidValidity, CancellationToken cancellationToken)
    {
        var sizes = new Dictionary<uint, long>();
        var parts = new Stack<IReadOnlyList<uint>>([uids]);
        while (parts.TryPop(out var part))
        {
            try
            {
                foreach (var (uid, size) in await connection.FetchSizesAsync(part, cancellationToken))
                {
                    sizes[uid] = size;
                }
            }
            catch (ImapFailureException ex) when (ex.Refusal is not null)
            {
                if (ex.Cause == ImapFailureCause.ConnectionLost)
                {
                    await MailboxImap.CloseQuietlyAsync(Task.FromResult(connection));
                    connection = await ReconnectAsync(options, uidValidity, cancellationToken);
                }

                if (part.Count > 1)
                {
                    parts.Push(part.Skip(part.Count / 2).ToList());
                    parts.Push(part.Take(part.Count / 2).ToList());
                }
            }
        }

        return (connection, sizes);
    }

    /// <summary>A new session on the folder, after the server ended the last one; under another UIDVALIDITY, the batch is void.</summary>
    private static async Task<IMailboxConnection> ReconnectAsync(MailboxOptions options, uint uidValidity, CancellationToken cancellationToken)
    {
        var connection = await options.Connector.ConnectAsync(options.Asset, options.Folder, cancellationToken);
        try
        {
            var status = await connection.ExamineAsync(cancellationToken);
            return status.UidValidity == uidValidity
                ? connection
                : throw new ImapFailureException(ImapFailureCause.ProtocolError,
                    $"UIDVALIDITY of {options.Mailbox} changed from {uidValidity} to {status.UidValidity} while a batch was fetched");
        }
        catch (Exception ex)
        {
            throw new MailboxPollException(connection, ex);
        }
    }
}

/// <summary>What a fetch brought back, with the connection it leaves the mailbox (null when the server ended the session).</summary>
internal interface IFetchAnswer : INoSerializationVerificationNeeded
{
    long BatchId { get; }

    IMailboxConnection? Connection { get; }
}

/// <summary>The emails of a fetch, and the UIDs it left out though the server still has them.</summary>
internal sealed record BatchFetched(long BatchId, IReadOnlyList<FetchedEmail> Emails, IReadOnlyList<uint> Omitted, IMailboxConnection Connection)
    : IFetchAnswer;

/// <summary>The server refused the fetch; <paramref name="Refusal"/> is its answer.</summary>
internal sealed record BatchRefused(long BatchId, string Refusal, IMailboxConnection? Connection) : IFetchAnswer;
