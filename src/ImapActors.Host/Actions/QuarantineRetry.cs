using ImapActors.Domain;
using ImapActors.Mail;
using ImapActors.Storage;

namespace ImapActors.Host.Actions;

/// <summary>The outcome of retrying one quarantined email.</summary>
public sealed record RetryOutcome(QuarantinedEmail Email, CommitResult? Result, string? Error)
{
    public bool Succeeded => Result is not null;
}

/// <summary>
/// Ingests quarantined emails again through the engine's pipeline and sink: from their raw bytes in the vault, or, for an
/// email the server could not serve (stage <c>fetch</c>, no raw bytes), fetched again from the server by its UID, under
/// the UIDVALIDITY it was quarantined with. A success marks the quarantine entry resolved; the sink's idempotent key makes
/// a second retry change nothing. A failure leaves the entry in quarantine and says why.
/// </summary>
public sealed class QuarantineRetry(EngineSettings settings, IContainerStore store, IVault vault, IngestionService ingestion,
    AccessTokens tokens, IImapSessionFactory sessions)
{
    public async Task<RetryOutcome> RetryAsync(QuarantinedEmail email, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(email);

        // The asset's current settings apply: a retry is what the fixed pipeline makes of the email now.
        var asset = settings.Assets.FirstOrDefault(a => a.Name == email.Source.Asset);
        if (email.RawEmail is null)
        {
            return await FromServerAsync(email, asset, cancellationToken);
        }

        using var raw = ActionSupport.ReadRawEmail(vault, email.RawEmail, settings);
        if (raw is null)
        {
            return new RetryOutcome(email, null, $"the raw email {email.RawEmail} is missing from the vault {vault.Location}");
        }

        return await IngestAsync(email, raw, email.Source, asset, cancellationToken);
    }

    /// <summary>Fetches the email from its folder again (read-only, as a poll does) and ingests it.</summary>
    private async Task<RetryOutcome> FromServerAsync(QuarantinedEmail email, AssetSettings? asset, CancellationToken ct)
    {
        var (folder, uid) = (email.Source.Folder.Value, email.Source.Uid);
        if (asset is null)
        {
            return new RetryOutcome(email, null, $"it has no raw bytes, and asset '{email.Source.Asset}' is not configured to fetch it from");
        }

        FetchedEmail? fetched = null;
        try
        {
            await using var session = await sessions.ConnectAsync(asset, ActionSupport.TokensFor(asset, tokens), null, ct);
            var status = await session.ExamineAsync(folder, ct);
            if (status.UidValidity != email.Source.UidValidity)
            {
                return new RetryOutcome(email, null, $"folder '{folder}' has UIDVALIDITY {status.UidValidity} now, not {email.Source.UidValidity}: "
                    + $"UID {uid} no longer names the quarantined email; it stays in quarantine");
            }

            await foreach (var e in session.FetchAsync([uid], settings.LargeMessageBytes, ActionSupport.TempDirectory, ct))
            {
                fetched = e;
            }

            if (fetched is null)
            {
                var exists = (await session.SearchUidsAsync(uid, uid, ct)).Contains(uid);
                return new RetryOutcome(email, null, exists
                    ? $"the server left UID {uid} out of its answer again, though UID SEARCH finds it; it stays in quarantine"
                    : $"UID {uid} no longer exists in folder '{folder}': there is nothing to ingest; it stays in quarantine");
            }
        }
        catch (ImapFailureException ex)
        {
            fetched?.Raw.Dispose();
            return new RetryOutcome(email, null, ex.Refusal is { } answer
                ? $"the server still cannot serve it: {answer}; it stays in quarantine"
                : ActionSupport.Describe(ex));
        }

        using var raw = fetched.Raw;
        return await IngestAsync(email, raw, email.Source with { InternalDate = fetched.InternalDate ?? email.Source.InternalDate }, asset, ct);
    }

    private async Task<RetryOutcome> IngestAsync(QuarantinedEmail email, RawEmail raw, EmailSource source, AssetSettings? asset,
        CancellationToken ct)
    {
        try
        {
            var result = await ingestion.IngestAsync(raw, source, asset?.Extraction ?? ExtractionSettings.Default, asset?.Label ?? "imap", ct);
            await store.ResolveQuarantinedAsync(email.Id, ct);
            return new RetryOutcome(email, result, null);
        }
        catch (InvalidOperationException ex)
        {
            return new RetryOutcome(email, null, ex.Message);
        }
    }
}
