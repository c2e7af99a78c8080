using System.Text;
using ImapActors.Testing;
using MailKit;

namespace ImapActors.Mail.Tests;

public class ImapSessionTests
{
    private static DovecotInstance Dovecot => TestServices.Dovecot;

    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromMinutes(2));

    private CancellationToken Ct => _timeout.Token;

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Appended_message_reads_back_byte_identical(bool useSsl)
    {
        var user = Dovecot.CreateUser();
        var message = TestMessages.Small(1);
        var progress = new List<string>();

        await using var session = await ImapSession.ConnectAsync(Dovecot.Asset(user, useSsl), null, progress.Add, Ct);
        var uid = await ImapAppender.AppendAsync(Dovecot.Asset(user, useSsl), "INBOX", message, Ct);
        var status = await session.ExamineAsync("INBOX", Ct);
        var uids = await session.SearchUidsAsync(1, status.UidNext - 1, Ct);
        var fetched = await session.FetchAsync(uids, 1024 * 1024, Path.GetTempPath(), Ct).ToListAsync(Ct);

        Assert.Equal([ImapSession.ConnectedProgress, ImapSession.LoggedInProgress], progress);
        Assert.Equal(1, status.Count);
        Assert.NotEqual(0u, status.UidValidity);
        Assert.Equal(uid, Assert.Single(uids));
        var email = Assert.Single(fetched);
        using var raw = email.Raw;
        Assert.Equal(message, raw.ToArray());
        Assert.Equal(message.Length, email.Size);
        Assert.NotNull(email.InternalDate);
        Assert.False(raw.IsFileBacked);
    }

    [Fact]
    public async Task Fetch_does_not_set_seen()
    {
        var user = Dovecot.CreateUser();
        Dovecot.LoadMessages(user.Name, "INBOX", [TestMessages.Small(1), TestMessages.Small(2)]);

        await using (var session = await ImapSession.ConnectAsync(Dovecot.Asset(user), null, null, Ct))
        {
            await session.ExamineAsync("INBOX", Ct);
            var fetched = await session.FetchAsync([1, 2], 1024 * 1024, Path.GetTempPath(), Ct).ToListAsync(Ct);
            Assert.Equal(2, fetched.Count);
        }

        var flags = Dovecot.Doveadm("fetch", "-u", user.Name, "uid flags", "mailbox", "INBOX", "all");
        Assert.Contains("uid: 2", flags, StringComparison.Ordinal);
        Assert.DoesNotContain("\\Seen", flags, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Fetch_of_a_batch_sends_one_size_command_and_one_body_peek_command()
    {
        var user = Dovecot.CreateUser();
        var messages = Enumerable.Range(1, 50).Select(n => TestMessages.Small(n)).ToList();
        Dovecot.LoadMessages(user.Name, "Reported", messages);
        using var log = new MemoryStream();

        using (var logger = new ProtocolLogger(log, leaveOpen: true))
        {
            await using var session = await ImapSession.ConnectAsync(Dovecot.Asset(user, true, "Reported"), null, null, logger, Ct);
            await session.ExamineAsync("Reported", Ct);
            var uids = await session.SearchAllUidsAsync(1, Ct);
            var fetched = await session.FetchAsync(uids, 1024 * 1024, Path.GetTempPath(), Ct).ToListAsync(Ct);

            Assert.Equal(Enumerable.Range(1, 50).Select(n => (uint)n), fetched.Select(f => f.Uid));
            Assert.Equal(messages, fetched.Select(f => f.Raw.ToArray()));
        }

        var commands = ClientLines(log).Where(l => l.Contains("UID FETCH", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, commands.Count);
        Assert.Contains("RFC822.SIZE", commands[0], StringComparison.Ordinal);
        Assert.Contains("INTERNALDATE", commands[0], StringComparison.Ordinal);
        Assert.Contains("BODY.PEEK[]", commands[1], StringComparison.Ordinal);
        Assert.Contains("1:50", commands[1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Large_message_comes_back_file_backed_and_byte_identical()
    {
        var user = Dovecot.CreateUser();
        var large = TestMessages.Large(3 * 1024 * 1024);
        var small = TestMessages.Small(2);
        Dovecot.LoadMessages(user.Name, "INBOX", [TestMessages.Small(1), large, small]);
        var temp = Directory.CreateTempSubdirectory("imapactors-large-").FullName;

        await using var session = await ImapSession.ConnectAsync(Dovecot.Asset(user), null, null, Ct);
        await session.ExamineAsync("INBOX", Ct);
        var fetched = await session.FetchAsync([1, 2, 3], 1024 * 1024, temp, Ct).ToListAsync(Ct);

        Assert.Equal([1u, 2u, 3u], fetched.Select(f => f.Uid));
        var email = fetched[1];
        Assert.True(email.Raw.IsFileBacked);
        Assert.Equal(large.Length, email.Raw.Length);
        Assert.Equal(large, email.Raw.ToArray());
        Assert.False(fetched[0].Raw.IsFileBacked);
        Assert.Equal(small, fetched[2].Raw.ToArray());

        var path = email.Raw.FilePath!;
        Assert.StartsWith(temp, path, StringComparison.Ordinal);
        email.Raw.Dispose();
        Assert.False(File.Exists(path));
        Directory.Delete(temp, recursive: true);
    }

    [Fact]
    public async Task Uids_that_no_longer_exist_are_absent_from_fetch_results()
    {
        var user = Dovecot.CreateUser();
        Dovecot.LoadMessages(user.Name, "INBOX", [TestMessages.Small(1), TestMessages.Small(2), TestMessages.Small(3)]);
        Dovecot.Doveadm("expunge", "-u", user.Name, "mailbox", "INBOX", "uid", "2");

        await using var session = await ImapSession.ConnectAsync(Dovecot.Asset(user), null, null, Ct);
        await session.ExamineAsync("INBOX", Ct);
        var fetched = await session.FetchAsync([1, 2, 3, 99], 1024 * 1024, Path.GetTempPath(), Ct).ToListAsync(Ct);

        Assert.Equal([1u, 3u], fetched.Select(f => f.Uid));
    }

    [Fact]
    public async Task Search_covers_a_folder_larger_than_one_window()
    {
        var user = Dovecot.CreateUser();
        const int total = 12_000;
        Dovecot.LoadMessages(user.Name, "Reported", Enumerable.Range(1, total).Select(n => TestMessages.Small(n)));

        await using var session = await ImapSession.ConnectAsync(Dovecot.Asset(user, true, "Reported"), null, null, Ct);
        var status = await session.ExamineAsync("Reported", Ct);
        var all = await session.SearchAllUidsAsync(1, Ct);
        var tail = await session.SearchAllUidsAsync(11_990, Ct);
        var window = await session.SearchUidsAsync(9_999, 10_002, Ct);
        var beyond = await session.SearchUidsAsync(status.UidNext, status.UidNext + 100, Ct);

        Assert.Equal(total, status.Count);
        Assert.Equal((uint)total + 1, status.UidNext);
        Assert.Equal(Enumerable.Range(1, total).Select(n => (uint)n), all);
        Assert.Equal(Enumerable.Range(11_990, 11).Select(n => (uint)n), tail);
        Assert.Equal([9_999u, 10_000u, 10_001u, 10_002u], window);
        Assert.Empty(beyond);
    }

    [Fact]
    public async Task Examine_reports_the_uid_validity_the_server_holds()
    {
        var user = Dovecot.CreateUser();
        Dovecot.LoadMessages(user.Name, "Reported", [TestMessages.Small(1)]);
        Dovecot.SetUidValidity(user.Name, "Reported", 4242);

        await using var session = await ImapSession.ConnectAsync(Dovecot.Asset(user), null, null, Ct);
        var status = await session.ExamineAsync("Reported", Ct);

        Assert.Equal(4242u, status.UidValidity);
        Assert.Equal("Reported", status.Folder);
    }

    [Fact]
    public async Task Folder_names_with_spaces_and_accents_and_lower_case_inbox_resolve()
    {
        var user = Dovecot.CreateUser();
        const string folder = "Boîte de réception/Signalés";
        Dovecot.LoadMessages(user.Name, folder, [TestMessages.Small(1), TestMessages.Small(2)]);
        Dovecot.LoadMessages(user.Name, "INBOX", [TestMessages.Small(3)]);

        await using var session = await ImapSession.ConnectAsync(Dovecot.Asset(user), null, null, Ct);
        var folders = await session.ListFoldersAsync(Ct);
        var accented = await session.ExamineAsync(folder, Ct);
        var inbox = await session.ExamineAsync("inbox", Ct);

        Assert.Contains("INBOX", folders);
        Assert.Contains(folder, folders);
        Assert.Equal(2, accented.Count);
        Assert.Equal(folder, accented.Folder);
        Assert.Equal(1, inbox.Count);
    }

    [Fact]
    public async Task Dispose_sends_logout_and_the_protocol_log_hides_the_password()
    {
        var user = Dovecot.CreateUser();
        using var log = new MemoryStream();

        using (var logger = new ProtocolLogger(log, leaveOpen: true))
        {
            await using var session = await ImapSession.ConnectAsync(Dovecot.Asset(user, useSsl: false), null, null, logger, Ct);
            await session.ListFoldersAsync(Ct);
        }

        var text = Encoding.UTF8.GetString(log.ToArray());
        var lines = ClientLines(log);
        Assert.Contains(lines, l => l.Contains("STARTTLS", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("LOGOUT", StringComparison.Ordinal));
        Assert.DoesNotContain(user.Password, text, StringComparison.Ordinal);
        Assert.DoesNotContain(Convert.ToBase64String(Encoding.UTF8.GetBytes("\0" + user.Name + "\0" + user.Password)), text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Search_before_examine_is_refused()
    {
        var user = Dovecot.CreateUser();
        await using var session = await ImapSession.ConnectAsync(Dovecot.Asset(user), null, null, Ct);

        await Assert.ThrowsAsync<InvalidOperationException>(() => session.SearchUidsAsync(1, 10, Ct));
    }

    internal static List<string> ClientLines(MemoryStream log) =>
        Encoding.UTF8.GetString(log.ToArray()).Split('\n').Where(l => l.StartsWith("C: ", StringComparison.Ordinal)).ToList();
}
