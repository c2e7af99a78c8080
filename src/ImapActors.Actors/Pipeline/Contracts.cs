using ImapActors.Domain;
using ImapActors.Extraction;
using ImapActors.Mail;

namespace ImapActors.Actors.Pipeline;

/// <summary>
/// The CPU work on one email, in the two stages the parser and extractor pools run. The default is
/// <see cref="EmailProcessor"/>; a test may wrap it to inject faults.
/// </summary>
public interface IEmailProcessing
{
    IParsedEmail Parse(RawEmail raw, EmailSource source, ExtractionLimits limits);

    ProcessedEmail Extract(IParsedEmail parsed, ExtractionSettings settings, string label);
}

/// <summary>What the parse stage hands to the extract stage; opaque to the actors.</summary>
public interface IParsedEmail : IDisposable;

/// <summary>The production processing: the extraction library over the engine's vault.</summary>
public sealed class DefaultEmailProcessing(IVault vault) : IEmailProcessing
{
    private readonly EmailProcessor _processor = new(vault);

    public IParsedEmail Parse(RawEmail raw, EmailSource source, ExtractionLimits limits) => new Parsed(_processor.Parse(raw, source, limits));

    public ProcessedEmail Extract(IParsedEmail parsed, ExtractionSettings settings, string label) =>
        _processor.Extract(((Parsed)parsed).Email, settings, label);

    private sealed class Parsed(ParsedEmail email) : IParsedEmail
    {
        public ParsedEmail Email { get; } = email;

        public void Dispose() => Email.Dispose();
    }
}

/// <summary>An open IMAP connection with one folder examined, as a mailbox actor uses it.</summary>
public interface IMailboxConnection : IAsyncDisposable
{
    Task<FolderStatus> ExamineAsync(CancellationToken cancellationToken);

    /// <summary>UIDs in [from, to], ascending.</summary>
    Task<IReadOnlyList<uint>> SearchUidsAsync(uint from, uint to, CancellationToken cancellationToken);

    /// <summary>The INTERNALDATE of each of <paramref name="uids"/> that still exists.</summary>
    Task<IReadOnlyDictionary<uint, DateTimeOffset>> FetchInternalDatesAsync(IReadOnlyList<uint> uids, CancellationToken cancellationToken);

    /// <summary>UIDs of the messages received on or after the day of <paramref name="since"/>, ascending.</summary>
    Task<IReadOnlyList<uint>> SearchReceivedSinceAsync(DateTimeOffset since, CancellationToken cancellationToken);

    /// <summary>True when <see cref="IdleAsync"/> can wait for new mail on this connection.</summary>
    bool CanWaitForMail { get; }

    /// <summary>Waits for new mail (in IDLE, or by NOOP), a stop, or <paramref name="longest"/>; true when the server announced a change.</summary>
    Task<bool> IdleAsync(TimeSpan longest, CancellationToken stop, CancellationToken cancellationToken);

    /// <summary>The sizes (RFC822.SIZE) of the messages of <paramref name="uids"/> that still exist, without their bodies.</summary>
    Task<IReadOnlyDictionary<uint, long>> FetchSizesAsync(IReadOnlyList<uint> uids, CancellationToken cancellationToken);

    /// <summary>Fetches the messages of <paramref name="uids"/> that still exist, pipelined.</summary>
    Task<IReadOnlyList<FetchedEmail>> FetchAsync(IReadOnlyList<uint> uids, CancellationToken cancellationToken);
}

/// <summary>Opens a connection to one mailbox (asset + folder).</summary>
public interface IMailboxConnector
{
    Task<IMailboxConnection> ConnectAsync(AssetSettings asset, FolderName folder, CancellationToken cancellationToken);
}
