using System.Security.Cryptography;
using System.Text;
using ImapActors.Domain;
using ImapActors.Mail.OAuth;

namespace ImapActors.Mail.Tests.OAuth;

public sealed class TokenStoreTests
{
    private const string Refresh = "rt-0123456789abcdef-refresh-secret";
    private const string Access = "at-fedcba9876543210-access-secret";

    [Fact]
    public void Saved_tokens_load_back_and_the_file_holds_neither_token_in_plain_text()
    {
        var store = OAuthTestSupport.NewStore(out var dir);
        var asset = new AssetName("phish");
        var expires = DateTimeOffset.UtcNow.AddMinutes(5);
        store.Save(asset, new StoredTokens("cid", Refresh, Access, expires));

        var loaded = store.Load(asset)!;
        Assert.Equal(("cid", Refresh, Access), (loaded.ClientId, loaded.RefreshToken, loaded.AccessToken));
        Assert.Equal(expires, loaded.AccessTokenExpires);

        var bytes = File.ReadAllBytes(store.PathFor(asset));
        foreach (var token in new[] { Refresh, Access })
        {
            foreach (var form in new[] { Encoding.UTF8.GetBytes(token), Encoding.Unicode.GetBytes(token), Encoding.ASCII.GetBytes(Convert.ToBase64String(Encoding.UTF8.GetBytes(token))) })
            {
                Assert.True(bytes.AsSpan().IndexOf(form) < 0, "a token is readable in the token file");
            }
        }

        Assert.DoesNotContain("rt-", Encoding.Latin1.GetString(bytes), StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(store.Directory, "*.tmp"));
        Directory.Delete(dir, true);
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void The_token_file_is_private_to_its_owner()
    {
        var store = OAuthTestSupport.NewStore(out var dir);
        store.Save(new AssetName("a"), new StoredTokens("cid", Refresh, null, null));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(store.PathFor(new AssetName("a"))));
        Directory.Delete(dir, true);
    }

    [Fact]
    public void A_file_does_not_decrypt_under_another_key_or_another_asset_name()
    {
        var store = OAuthTestSupport.NewStore(out var dir);
        store.Save(new AssetName("a"), new StoredTokens("cid", Refresh, null, null));
        var other = new TokenStore(store.Directory, RandomNumberGenerator.GetBytes(32));
        Assert.Contains("does not decrypt", Assert.Throws<OAuthException>(() => other.Load(new AssetName("a"))).Message, StringComparison.Ordinal);

        File.Copy(store.PathFor(new AssetName("a")), store.PathFor(new AssetName("b")));
        Assert.Throws<OAuthException>(() => store.Load(new AssetName("b")));
        Directory.Delete(dir, true);
    }

    [Fact]
    public void Nothing_stored_loads_as_null()
    {
        var store = OAuthTestSupport.NewStore(out var dir);
        Assert.Null(store.Load(new AssetName("never")));
        Directory.Delete(dir, true);
    }

    [Theory]
    [InlineData(null, "need a token-store key")]
    [InlineData("not base64 !", "not base64")]
    [InlineData("AAAA", "must be 32 bytes")]
    public void A_missing_or_bad_key_is_refused_with_how_to_make_one(string? key, string expected)
    {
        var e = Assert.Throws<OAuthException>(() => TokenStore.Open("/tmp/unused", key is null ? null : new Secret(key)));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.Contains("head -c 32 /dev/urandom | base64", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_asset_name_that_is_no_safe_file_name_gets_a_hashed_file()
    {
        var store = new TokenStore("/tmp/x", RandomNumberGenerator.GetBytes(32));
        var path = store.PathFor(new AssetName("../../etc/passwd"));
        Assert.Equal("/tmp/x", Path.GetDirectoryName(path));
        Assert.StartsWith("asset-", Path.GetFileName(path), StringComparison.Ordinal);
    }
}
