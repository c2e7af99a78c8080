using ImapActors.Domain;

namespace ImapActors.Domain.Tests;

public class MailboxIdTests
{
    [Fact]
    public void Stable_id_is_short_and_differs_by_folder()
    {
        var a = new MailboxId(new AssetName("phish"), new FolderName("INBOX"));
        var b = new MailboxId(new AssetName("phish"), new FolderName("inbox"));
        Assert.NotEqual(a.StableId, b.StableId);
        Assert.Equal(a.StableId, new MailboxId(new AssetName("phish"), new FolderName("INBOX")).StableId);
        Assert.True(a.StableId.Length <= 81);
    }

    [Fact]
    public void Stable_id_of_a_long_odd_asset_name_is_safe_for_actor_names()
    {
        var id = new MailboxId(new AssetName(new string('ä', 200) + "/x y"), new FolderName(new string('f', 5000))).StableId;
        Assert.All(id, c => Assert.True(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'));
        Assert.True(id.Length <= 81);
    }
}
