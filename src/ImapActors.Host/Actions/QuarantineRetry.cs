using ImapActors.Domain;
using ImapActors.Storage;

namespace ImapActors.Host.Actions;

/// <summary>The outcome of retrying one quarantined email.</summary>
public sealed record RetryOutcome(QuarantinedEmail Email, CommitResult? Result, string? Error)
{
    public bool Succeeded => Result is not null;
}

/// <summary>
/// Ingests quarantined emails again, from their raw bytes in the vault, through the engine's pipeline and sink. A
/// success marks the quarantine entry resolved; the sink's idempotent key makes a second retry change nothing.
/// </summary>
public sealed class QuarantineRetry(EngineSettings settings, IContainerStore store, FileVault vault, IngestionService ingestion)
{
    public async Task<RetryOutcome> RetryAsync(QuarantinedEmail email, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(email);
        if (email.RawEmail is null)
        {
            return new RetryOutcome(email, null, "no raw bytes were kept: the server could not serve the email");
        }

        var path = vault.PathOf(email.RawEmail);
        if (!File.Exists(path))
        {
            return new RetryOutcome(email, null, $"the raw email {email.RawEmail} is missing from the vault {vault.Root}");
        }

        // The asset's current settings apply: a retry is what the fixed pipeline makes of the email now.
        var asset = settings.Assets.FirstOrDefault(a => a.Name == email.Source.Asset);
        using var raw = RawEmail.FromFile(path, deleteOnDispose: false);
        try
        {
            var result = await ingestion.IngestAsync(raw, email.Source, asset?.Extraction ?? ExtractionSettings.Default,
                asset?.Label ?? "imap", cancellationToken);
            await store.ResolveQuarantinedAsync(email.Id, cancellationToken);
            return new RetryOutcome(email, result, null);
        }
        catch (InvalidOperationException ex)
        {
            return new RetryOutcome(email, null, ex.Message);
        }
    }
}
