using ImapActors.Extraction.Internal;

namespace ImapActors.Extraction.Tests;

/// <summary>Domains spelled to look like others (UTS #46 mapping) and names too long to be domains.</summary>
public class DomainSpellingTests
{
    [Theory]
    [InlineData("𝚠𝚊𝚔𝚎𝚞𝚙.com", "wakeup.com")]
    [InlineData("𝐞𝐯𝐢𝐥.𝐜𝐨𝐦", "evil.com")]
    [InlineData("ＥＸＡＭＰＬＥ．com", "example.com")]
    [InlineData("ⓔⓥⓘⓛ.com", "evil.com")]
    [InlineData("evil\u3002com", "evil.com")]
    [InlineData("evil\uFF61com\u3002", "evil.com")]
    [InlineData("ev\u00ADil.com", "evil.com")]
    [InlineData("ev\u200Bil.com", "evil.com")]
    [InlineData("BÜCHER.example.", "bücher.example")]
    [InlineData("ＢÜＣＨＥＲ.example", "bücher.example")]
    [InlineData("𝐛𝐮̈𝐜𝐡𝐞𝐫.example", "bu\u0308cher.example")]
    [InlineData("㎞.example", "km.example")]
    public void Domains_are_uts46_mapped_before_idna(string spelled, string expected) =>
        Assert.Equal(expected, UrlRules.NormalizeDomain(spelled));

    [Fact]
    public void Domains_in_mathematical_letters_are_found_in_urls_and_addresses_and_mapped()
    {
        var email = TestMail.Process(TestMail.Plain("click https://𝚠𝚊𝚔𝚎𝚞𝚙-𝚋𝚊𝚗𝚔.com/x and write to admin@𝐞𝐯𝐢𝐥.com"));
        var domains = email.Domains().ToList();
        Assert.Contains("wakeup-bank.com", domains);
        Assert.Contains("evil.com", domains);
        Assert.DoesNotContain(domains, d => d.Any(char.IsSurrogate));

        // The URL artifact is the text as written, as the reference gives URLs.
        Assert.Contains("https://𝚠𝚊𝚔𝚎𝚞𝚙-𝚋𝚊𝚗𝚔.com/x", email.Urls());
    }

    [Fact]
    public void Lookalike_full_stops_and_top_level_labels_are_found()
    {
        var email = TestMail.Process(TestMail.Plain("see https://evil\u3002example/login or mail admin@evil.ｃｏｍ or x@ｅｖｉｌ\uFF0Eorg"));
        var domains = email.Domains().ToList();
        Assert.Contains("evil.example", domains);
        Assert.Contains("evil.com", domains);
        Assert.Contains("evil.org", domains);
    }

    [Theory]
    [InlineData("contact xxx@163.com获取", "")]
    [InlineData("write to 管理者@例え.jp now", "例え.jp")]
    [InlineData("info@bücher.example.", "bücher.example")]
    [InlineData("a@b.c", "")]
    [InlineData("a@evil.com\U0001F600", "evil.com")]
    public void Address_domains_take_non_ascii_labels_and_keep_their_word_boundary(string text, string expected)
    {
        var found = new List<string>();
        Scanners.EmailDomains(text, found.Add);
        Assert.Equal(expected, string.Join(' ', found));
    }

    [Fact]
    public void Host_labels_are_counted_in_code_points()
    {
        var mathLabel = string.Concat(Enumerable.Repeat("𝐚", 63));
        Assert.True(UrlRules.IsValid($"https://{mathLabel}.com/"));
        Assert.False(UrlRules.IsValid($"https://{mathLabel}𝐚.com/"));
    }
}
