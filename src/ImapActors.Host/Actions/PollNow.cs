using ImapActors.Domain;
using ImapActors.Mail;
using ImapActors.Storage;

namespace ImapActors.Host.Actions;

/// <summary>One email handled by "poll now": its outcome and container, or why it failed.</summary>
public sealed record PollNowEmail(FolderName Folder, uint Uid, CommitOutcome? Outcome, long? ContainerId, string? Name, string? Error)
{
    public bool Succeeded => Outcome is not null;
}

/// <summary>
/// The "poll now" action: up to N emails from UID 1 of each configured folder (the oldest N, or the newest N for a
/// latest-first asset), ingested through the pipeline and the idempotent sink. No mailbox actor runs and no cursor is read
/// or written, so scheduled polling is unaffected; an email ingested before is reported, not duplicated.
/// </summary>
public sealed class PollNow(EngineSettings settings, IContainerStore store, AccessTokens tokens, IImapSessionFactory sessions,
    IngestionService ingestion)
{
    /// <summary>The reference's default <c>container_count</c>.</summary>
    public const int DefaultCount = 100;

    /// <summary>Validates <c>container_count</c> as the reference does (a positive integer).</summary>
    /// <exception cref="ActionFailedException">A usage error with the reference's message.</exception>
    public static int ParseCount(string? value)
    {
        if (value is null)
        {
            return DefaultCount;
        }

        var count = ActionSupport.ValidateInteger(value, "container_count");
        return (int)Math.Min(count, int.MaxValue);
    }

    /// <summary>Runs the action on every configured folder of <paramref name="asset"/>, one after the other.</summary>
    /// <param name="asset">The asset to poll.</param>
    /// <param name="count">Emails per folder, at least 1.</param>
    /// <param name="progress">Receives the progress messages.</param>
    /// <param name="cancellationToken">Cancels the action.</param>
    /// <returns>One entry per email taken, in UID order per folder.</returns>
    /// <exception cref="ActionFailedException">The connection, login or a folder failed (emails of folders done before stay ingested).</exception>
    public async Task<IReadOnlyList<PollNowEmail>> RunAsync(AssetSettings asset, int count, Action<string> progress,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(asset);
        ArgumentNullException.ThrowIfNull(progress);
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        var results = new List<PollNowEmail>();
        try
        {
            await using var session = await sessions.ConnectAsync(asset, ActionSupport.TokensFor(asset, tokens), progress, cancellationToken);
            foreach (var folder in asset.Folders)
            {
                results.AddRange(await PollFolderAsync(session, asset, folder, count, progress, cancellationToken));
            }
        }
        catch (ImapFailureException ex)
        {
            throw new ActionFailedException(ActionSupport.Describe(ex), false, ex);
        }

        return results;
    }

    private async Task<List<PollNowEmail>> PollFolderAsync(IImapSession session, AssetSettings asset, FolderName folder, int count,
        Action<string> progress, CancellationToken ct)
    {
        var status = await session.ExamineAsync(folder.Value, ct);
        progress(TestConnectivity.SelectedFolderProgress(folder.Value));
        var latest = asset.IngestManner == IngestManner.LatestFirst;
        progress($"POLL NOW Getting {count} {(latest ? "most recent" : "oldest")} email uid(s)");
        var all = await session.SearchAllUidsAsync(1, ct);
        var uids = latest ? all.Skip(Math.Max(0, all.Count - count)).ToList() : all.Take(count).ToList();
        if (uids.Count < count)
        {
            progress($"Got {uids.Count} emails");
        }

        var batch = Math.Max(1, settings.FetchBatchSize);
        var results = new List<PollNowEmail>(uids.Count);
        for (var start = 0; start < uids.Count; start += batch)
        {
            var window = uids.Skip(start).Take(batch).ToList();
            var ingesting = new List<Task<PollNowEmail>>(window.Count);
            try
            {
                await foreach (var email in session.FetchAsync(window, settings.LargeMessageBytes, ActionSupport.TempDirectory, ct))
                {
                    var source = new EmailSource(asset.Name, folder, email.Uid, status.UidValidity, email.InternalDate);
                    ingesting.Add(IngestOneAsync(asset, email, source, ct));
                }
            }
            finally
            {
                // Ingestions already started finish (and release their raw email) even when the fetch broke off.
                await Task.WhenAll(ingesting);
            }

            var done = ingesting.Select(t => t.Result).ToDictionary(e => e.Uid);
            results.AddRange(window.Select(uid => done.GetValueOrDefault(uid)
                ?? new PollNowEmail(folder, uid, null, null, null, "the email no longer exists (expunged since the search)")));
        }

        // One look-up per email taken: bounded by the count, whatever the size of the store.
        for (var i = 0; i < results.Count; i++)
        {
            if (results[i].ContainerId is { } id && await store.GetContainerAsync(id, ct) is { } container)
            {
                results[i] = results[i] with { Name = container.Summary.Name };
            }
        }

        return results;
    }

    private async Task<PollNowEmail> IngestOneAsync(AssetSettings asset, FetchedEmail email, EmailSource source, CancellationToken ct)
    {
        using var raw = email.Raw;
        try
        {
            var result = await ingestion.IngestAsync(raw, source, asset.Extraction, asset.Label, ct);
            return new PollNowEmail(source.Folder, source.Uid, result.Outcome, result.ContainerId, null, null);
        }
        catch (InvalidOperationException ex)
        {
            // As the reference: a failed email is reported and skipped, the others go on.
            return new PollNowEmail(source.Folder, source.Uid, null, null, null, ex.Message);
        }
    }
}
