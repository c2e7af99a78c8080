using ImapActors.Domain;
using ImapActors.Mail;

namespace ImapActors.Host.Actions;

/// <summary>The outcome of a connectivity test: passed, or the cause and a one-line description of the failure.</summary>
public sealed record ConnectivityResult(bool Passed, ImapFailureCause? Cause, string? Error);

/// <summary>
/// The "test connectivity" action: connect (TLS or STARTTLS as configured), log in, list folders and EXAMINE each
/// configured folder, reporting the reference's progress messages. Nothing is searched or fetched.
/// </summary>
public sealed class TestConnectivity(AccessTokens tokens, IImapSessionFactory sessions)
{
    public const string FolderListProgress = "Got folder listing";
    public const string PassedMessage = "Connectivity test passed";
    public const string FailedMessage = "Connectivity test failed";

    /// <summary>The progress message after a folder is opened read-only.</summary>
    public static string SelectedFolderProgress(string folder) => $"Selected folder '{folder}'";

    /// <summary>Runs the test; every failure is in the result, with <see cref="FailedMessage"/> sent as progress first.</summary>
    /// <param name="asset">The asset to test.</param>
    /// <param name="progress">Receives each progress message, in order.</param>
    /// <param name="cancellationToken">Cancels the test.</param>
    public async Task<ConnectivityResult> RunAsync(AssetSettings asset, Action<string> progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(asset);
        ArgumentNullException.ThrowIfNull(progress);
        try
        {
            var source = ActionSupport.TokensFor(asset, tokens);
            await using var session = await sessions.ConnectAsync(asset, source, progress, cancellationToken);
            await session.ListFoldersAsync(cancellationToken);
            progress(FolderListProgress);
            foreach (var folder in asset.Folders)
            {
                await session.ExamineAsync(folder.Value, cancellationToken);
                progress(SelectedFolderProgress(folder.Value));
            }

            progress(PassedMessage);
            return new ConnectivityResult(true, null, null);
        }
        catch (ImapFailureException ex)
        {
            progress(FailedMessage);
            return new ConnectivityResult(false, ex.Cause, ActionSupport.Describe(ex));
        }
        catch (ActionFailedException ex)
        {
            progress(FailedMessage);
            return new ConnectivityResult(false, ImapFailureCause.TokenUnavailable, ex.Message);
        }
    }
}
