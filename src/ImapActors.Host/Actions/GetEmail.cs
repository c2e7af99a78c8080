using System.Globalization;
using System.Text.Json.Nodes;
using ImapActors.Domain;
using ImapActors.Extraction;
using ImapActors.Mail;
using ImapActors.Storage;

namespace ImapActors.Host.Actions;

/// <summary>The parameters of "get email", as typed: validation is the action's (with the reference's messages).</summary>
public sealed record GetEmailRequest
{
    /// <summary>The IMAP UID (the reference's <c>id</c>).</summary>
    public string? Id { get; init; }

    /// <summary>The folder of <see cref="Id"/>; empty means the asset's first folder.</summary>
    public string? Folder { get; init; }

    /// <summary>A container id; wins over <see cref="Id"/> when both are given.</summary>
    public string? ContainerId { get; init; }

    /// <summary>Also ingest the email through the pipeline (the reference's <c>ingest_email</c>).</summary>
    public bool Ingest { get; init; }
}

/// <summary>What "get email" returns: the top-level headers, the message, and the container when ingested.</summary>
/// <param name="Data">Every top-level header, as <see cref="EmailHeaders.TopLevel(RawEmail)"/> returns them.</param>
/// <param name="Message"><see cref="GetEmail.NotIngestedMessage"/>, or <c>Container id: N</c>.</param>
/// <param name="ContainerId">The container the email is in after ingestion; null without ingestion.</param>
/// <param name="Source">Where the email came from (asset, folder, UIDVALIDITY, UID).</param>
public sealed record GetEmailResult(JsonObject Data, string Message, long? ContainerId, EmailSource Source);

/// <summary>
/// The "get email" action: an email's top-level headers by IMAP UID (read-only EXAMINE, no <c>\Seen</c>) or by container
/// id (from the store and the vault, no IMAP at all), optionally ingested through the same pipeline and idempotent sink
/// as polling, so it lands in the container a poll makes or made for it.
/// </summary>
public sealed class GetEmail(EngineSettings settings, IContainerStore store, IVault vault, AccessTokens tokens, IImapSessionFactory sessions,
    IngestionService ingestion)
{
    public const string NotIngestedMessage = "Email not ingested.";
    public const string NeitherGivenMessage = "Please specify either id or container_id to get the email";
    public const string NoRawEmailMessage = "Container does not seem to be created from an IMAP email, raw_email data not found.";
    public const string BadSdiMessage = "Container does not seem to be created from an IMAP email, email id not in proper format.";

    /// <summary>Runs the action.</summary>
    /// <param name="asset">The asset whose mailbox is read by UID.</param>
    /// <param name="request">The parameters.</param>
    /// <param name="progress">Receives the connection progress messages (by UID only).</param>
    /// <param name="cancellationToken">Cancels the action.</param>
    /// <exception cref="ActionFailedException">A bad parameter (usage error), or the email or container cannot be read or ingested.</exception>
    public async Task<GetEmailResult> RunAsync(AssetSettings asset, GetEmailRequest request, Action<string>? progress,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(asset);
        ArgumentNullException.ThrowIfNull(request);
        if (!string.IsNullOrWhiteSpace(request.ContainerId))
        {
            var containerId = ActionSupport.ValidateInteger(request.ContainerId, "container_id");
            return await ByContainerAsync(asset, containerId, request.Ingest, cancellationToken);
        }

        if (string.IsNullOrWhiteSpace(request.Id))
        {
            throw new ActionFailedException(NeitherGivenMessage, isUsageError: true);
        }

        var uid = ActionSupport.ValidateInteger(request.Id, "id");
        if (uid > uint.MaxValue)
        {
            throw new ActionFailedException($"UID {uid} cannot exist: IMAP UIDs are at most {uint.MaxValue}", isUsageError: true);
        }

        var folder = !string.IsNullOrEmpty(request.Folder) ? request.Folder : (asset.Folders.Count > 0 ? asset.Folders[0].Value : "inbox");
        return await ByUidAsync(asset, folder, (uint)uid, request.Ingest, progress, cancellationToken);
    }

    private async Task<GetEmailResult> ByUidAsync(AssetSettings asset, string folder, uint uid, bool ingest, Action<string>? progress,
        CancellationToken ct)
    {
        FetchedEmail? fetched = null;
        EmailSource source;
        try
        {
            await using (var session = await sessions.ConnectAsync(asset, ActionSupport.TokensFor(asset, tokens), progress, ct))
            {
                var status = await session.ExamineAsync(folder, ct);
                progress?.Invoke(TestConnectivity.SelectedFolderProgress(folder));
                await foreach (var email in session.FetchAsync([uid], settings.LargeMessageBytes, ActionSupport.TempDirectory, ct))
                {
                    fetched ??= email;
                }

                if (fetched is null)
                {
                    throw new ActionFailedException(
                        $"No email with UID {uid} in folder '{folder}' of asset '{asset.Name}' (UIDVALIDITY {status.UidValidity}): it does not exist or was expunged");
                }

                source = new EmailSource(asset.Name, new FolderName(folder), uid, status.UidValidity, fetched.InternalDate);
            }
        }
        catch (ImapFailureException ex)
        {
            fetched?.Raw.Dispose();
            throw new ActionFailedException(ActionSupport.Describe(ex), false, ex);
        }

        using var raw = fetched.Raw;
        return await ResultAsync(asset, raw, source, ingest, ct);
    }

    private async Task<GetEmailResult> ByContainerAsync(AssetSettings asset, long containerId, bool ingest, CancellationToken ct)
    {
        var container = await store.GetContainerAsync(containerId, ct);
        if (container is null)
        {
            throw new ActionFailedException($"No container with id {containerId} in the store");
        }

        // As the reference: the UID is the last word of the source data identifier ("<folder hash> : <uid>").
        var words = container.Summary.SourceDataIdentifier.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        if (words.Length == 0 || !uint.TryParse(words[^1], NumberStyles.None, CultureInfo.InvariantCulture, out _))
        {
            throw new ActionFailedException(BadSdiMessage);
        }

        using var raw = ActionSupport.ReadRawEmail(vault, container, settings) ?? throw new ActionFailedException(NoRawEmailMessage);

        // Re-ingesting reuses the original key, so the email lands in this same container.
        var summary = container.Summary;
        var source = new EmailSource(new AssetName(summary.Asset), new FolderName(summary.Folder), summary.Uid, summary.UidValidity, null);
        var owner = settings.Assets.FirstOrDefault(a => a.Name == source.Asset) ?? asset;
        return await ResultAsync(owner, raw, source, ingest, ct);
    }

    private async Task<GetEmailResult> ResultAsync(AssetSettings asset, RawEmail raw, EmailSource source, bool ingest, CancellationToken ct)
    {
        var data = EmailHeaders.TopLevel(raw);
        if (!ingest)
        {
            return new GetEmailResult(data, NotIngestedMessage, null, source);
        }

        try
        {
            // The asset's extraction settings (FIPS hashing included), so the container is what a poll makes of the email.
            var result = await ingestion.IngestAsync(raw, source, asset.Extraction, asset.Label, ct);
            return new GetEmailResult(data, $"Container id: {result.ContainerId}", result.ContainerId, source);
        }
        catch (InvalidOperationException ex)
        {
            throw new ActionFailedException(ex.Message, false, ex);
        }
    }
}
