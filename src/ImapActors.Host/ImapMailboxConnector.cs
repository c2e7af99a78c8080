using ImapActors.Actors.Pipeline;
using ImapActors.Domain;
using ImapActors.Mail;
using ImapActors.Host.Actions;

namespace ImapActors.Host;

/// <summary>Connects mailbox actors to IMAP servers through the host's <see cref="IImapSessionFactory"/>.</summary>
public sealed class ImapMailboxConnector(EngineSettings settings, Func<AssetSettings, IAccessTokenProvider?> tokens, IImapSessionFactory sessions)
    : IMailboxConnector
{
    public async Task<IMailboxConnection> ConnectAsync(AssetSettings asset, FolderName folder, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(ActionSupport.TempDirectory);
        var session = await sessions.ConnectAsync(asset, tokens(asset), null, cancellationToken);
        return new Connection(session, folder.Value, settings.LargeMessageBytes, ActionSupport.TempDirectory);
    }

    private sealed class Connection(IImapSession session, string folder, long largeMessageBytes, string tempDirectory) : IMailboxConnection
    {
        public Task<FolderStatus> ExamineAsync(CancellationToken cancellationToken) => session.ExamineAsync(folder, cancellationToken);

        public Task<IReadOnlyList<uint>> SearchUidsAsync(uint from, uint to, CancellationToken cancellationToken) =>
            session.SearchUidsAsync(from, to, cancellationToken);

        public Task<IReadOnlyDictionary<uint, DateTimeOffset>> FetchInternalDatesAsync(IReadOnlyList<uint> uids, CancellationToken cancellationToken) =>
            session.FetchInternalDatesAsync(uids, cancellationToken);

        public Task<IReadOnlyList<uint>> SearchReceivedSinceAsync(DateTimeOffset since, CancellationToken cancellationToken) =>
            session.SearchReceivedSinceAsync(since, cancellationToken);

        // In IDLE, or by NOOP when the server has none (ImapSession.IdleAsync).
        public bool CanWaitForMail => true;

        public Task<bool> IdleAsync(TimeSpan longest, CancellationToken stop, CancellationToken cancellationToken) =>
            session.IdleAsync(longest, stop, cancellationToken);

        public Task<IReadOnlyDictionary<uint, long>> FetchSizesAsync(IReadOnlyList<uint> uids, CancellationToken cancellationToken) =>
            session.FetchSizesAsync(uids, cancellationToken);

        public async Task<IReadOnlyList<FetchedEmail>> FetchAsync(IReadOnlyList<uint> uids, CancellationToken cancellationToken)
        {
            var emails = new List<FetchedEmail>(uids.Count);
            try
            {
                await foreach (var email in session.FetchAsync(uids, largeMessageBytes, tempDirectory, cancellationToken))
                {
                    emails.Add(email);
                }
            }
            catch
            {
                foreach (var email in emails)
                {
                    email.Raw.Dispose();
                }

                throw;
            }

            return emails;
        }

        public ValueTask DisposeAsync() => session.DisposeAsync();
    }
}
