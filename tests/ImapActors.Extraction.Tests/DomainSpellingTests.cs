using System.Diagnostics;
using System.Text;
using ImapActors.Extraction.Internal;
using Xunit.Abstractions;

namespace ImapActors.Extraction.Tests;

/// <summary>Domains spelled to look like others (UTS #46 mapping) and names too long to be domains.</summary>
public class DomainSpellingTests(ITestOutputHelper output)
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
        Assert.Equal(new string('a', 63) + ".com", UrlRules.NormalizeDomain(mathLabel + ".com"));
    }

    [Fact]
    public void Dns_limits_take_a_63_character_label_and_a_253_character_name_and_nothing_longer()
    {
        var label63 = new string('a', 63) + ".example";
        var label64 = new string('a', 64) + ".example";
        Assert.True(UrlRules.IsWithinDnsLimits(label63));
        Assert.False(UrlRules.IsWithinDnsLimits(label64));
        Assert.Equal(label63, UrlRules.NormalizeDomain(label63));
        Assert.Null(UrlRules.NormalizeDomain(label64));

        // 63 + 1 + 63 + 1 + 63 + 1 + 61 = 253.
        var name253 = $"{new string('a', 63)}.{new string('b', 63)}.{new string('c', 63)}.{new string('d', 61)}";
        var name254 = name253 + "d";
        Assert.Equal(253, name253.Length);
        Assert.True(UrlRules.IsWithinDnsLimits(name253));
        Assert.False(UrlRules.IsWithinDnsLimits(name254));
        Assert.Equal(name253, UrlRules.NormalizeDomain(name253));
        Assert.Equal(name253, UrlRules.NormalizeDomain(name253 + "."));
        Assert.Null(UrlRules.NormalizeDomain(name254));

        // The same limits in the Unicode form: a non-ASCII label of 63 code points is a label, one of 64 is not.
        var wide63 = string.Concat(Enumerable.Repeat("ü", 63)) + ".example";
        Assert.True(UrlRules.IsWithinDnsLimits(wide63));
        Assert.False(UrlRules.IsWithinDnsLimits("ü" + wide63));
        Assert.Null(UrlRules.NormalizeDomain("ü" + wide63));

        // Mapping may lengthen a name (㎞ is "km"): the limit applies to the mapped form.
        Assert.Null(UrlRules.NormalizeDomain(string.Concat(Enumerable.Repeat("㎞", 32)) + ".example"));
        Assert.Null(UrlRules.NormalizeDomain(new string('a', UrlRules.MaxCandidateLength + 1)));
    }

    /// <summary><paramref name="count"/> distinct non-ASCII letters (CJK, Hangul, Yi, then Cyrillic...).</summary>
    private static string DistinctLetters(int count)
    {
        var sb = new StringBuilder(count);
        foreach (var (first, last) in new[] { (0x4E00, 0x9FFF), (0xAC00, 0xD7A3), (0x3400, 0x4DBF), (0xA000, 0xA48C), (0x0400, 0x04FF), (0x0530, 0x10FF) })
        {
            for (var c = first; c <= last && sb.Length < count; c++)
            {
                if (char.IsLetter((char)c))
                {
                    sb.Append((char)c);
                }
            }
        }

        Assert.Equal(count, sb.Length);
        return sb.ToString();
    }

    [Fact]
    public void Overlong_mailto_domains_are_no_domains_and_cost_no_idna()
    {
        var label = DistinctLetters(40_000);
        var html = new StringBuilder("From: a@example.com\nSubject: long\nContent-Type: text/html; charset=utf-8\n\n<html><body>\n");
        for (var i = 0; i < 95; i++)
        {
            html.Append($"<a href=\"mailto:x{i}@{label[i..]}{i}\">x</a>\n");
        }

        html.Append("<a href=\"mailto:ok@bücher.example\">ok</a></body></html>\n");
        var clock = Stopwatch.StartNew();
        var email = TestMail.Process(html.ToString());
        output.WriteLine($"95 mailto links of 40,000-character labels: {clock.ElapsedMilliseconds} ms");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
        Assert.Equal(["bücher.example"], email.Domains().Where(d => d != "example.com"));
        Assert.All(email.Domains(), d => Assert.True(d.Length <= UrlRules.MaxNameLength));
    }
}
