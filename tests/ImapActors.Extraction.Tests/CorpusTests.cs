using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using ImapActors.Domain;
using ImapActors.Extraction.Internal;
using ImapActors.Testing;
using Xunit.Abstractions;

namespace ImapActors.Extraction.Tests;

/// <summary>The shared corpus: every message parses, and the results agree with the reference's (corpus-expected).</summary>
public class CorpusTests(ITestOutputHelper output)
{
    private static readonly string[] Types = ["IP", "hash", "URL", "domain", "email", "vault"];

    // Texts() parses with MimeKit directly, and MimeKit remembers a charset it did not know: the legacy code pages are
    // registered before any test here runs, or one that runs first makes every later one read ISO-2022-JP, GB2312 or
    // EUC-KR text as Latin-1.
    static CorpusTests() => TextDecoding.RegisterProviders();

    [CorpusFact]
    public void Every_corpus_message_is_processed_without_exception()
    {
        var corpus = RepoPaths.RequiredCorpus;

        var files = Directory.GetFiles(corpus, "*.eml", SearchOption.AllDirectories);
        Assert.NotEmpty(files);
        foreach (var file in files)
        {
            var email = TestMail.Process(File.ReadAllBytes(file));
            Assert.False(string.IsNullOrEmpty(email.Container.Name), file);
            // Exactly one artifact starts the playbooks; a container without artifacts (11.A14) has none to start.
            Assert.Equal(email.Artifacts.Count == 0 ? 0 : 1, email.Artifacts.Count(a => a.RunAutomation));
        }

        output.WriteLine($"{files.Length} messages processed.");
    }

    [CorpusFact(withExpected: true)]
    public void Corpus_agrees_with_the_reference()
    {
        var corpus = RepoPaths.RequiredCorpus;
        var expected = RepoPaths.RequiredCorpusExpected;

        var known = LoadKnownDifferences();
        var processor = new EmailProcessor(new HashOnlyVault());
        var source = new EmailSource(new AssetName("corpus"), new FolderName("inbox"), 1, 1, null);
        var total = Types.ToDictionary(t => t, _ => 0);
        var found = Types.ToDictionary(t => t, _ => 0);
        var explained = Types.ToDictionary(t => t, _ => 0);
        var added = Types.ToDictionary(t => t, _ => 0);
        int names = 0, nameOk = 0, nameKnown = 0, sdiOk = 0, headerFiles = 0, headerFilesOk = 0, headerValues = 0, headerValuesOk = 0;
        var unexplained = new List<string>();
        foreach (var jsonPath in Directory.GetFiles(expected, "*.json", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            var rel = Path.GetRelativePath(expected, jsonPath).Replace('\\', '/');
            var eml = rel[..^5] + ".eml";
            var reference = JsonNode.Parse(File.ReadAllText(jsonPath))!.AsObject();
            using var raw = RawEmail.FromBytes(MessageBytes.ToCrlf(File.ReadAllBytes(Path.Combine(corpus, eml))));
            var ours = processor.Process(raw, source, ExtractionSettings.Default, "corpus");
            var refArtifacts = reference["artifacts"]!.AsArray().Select(a => a!.AsObject()).ToList();
            foreach (var type in Types)
            {
                var theirs = Values(refArtifacts.Select(a => (a["name"]!.ToString(), a["cef"]!.AsObject())), type);
                var mine = Values(ours.Artifacts.Select(a => (a.Name, a.Cef)), type);
                total[type] += theirs.Count;
                foreach (var v in theirs)
                {
                    if (mine.Contains(v))
                    {
                        found[type]++;
                    }
                    else if (known.Contains((eml, type, v)))
                    {
                        explained[type]++;
                    }
                    else
                    {
                        unexplained.Add($"{eml}\t{type}\t{v}");
                    }
                }

                added[type] += mine.Count(v => !theirs.Contains(v));
            }

            if (reference["container"] is JsonObject container)
            {
                names++;
                var refName = container["name"]!.ToString().Replace("\r\n", string.Empty, StringComparison.Ordinal);
                if (refName == ours.Container.Name)
                {
                    nameOk++;
                }
                else if (known.Contains((eml, "name", refName)))
                {
                    nameKnown++;
                }
                else
                {
                    unexplained.Add($"{eml}\tname\t{refName}\t(ours: {ours.Container.Name})");
                }

                sdiOk += container["source_data_identifier"]!.ToString() == ours.Container.SourceDataIdentifier ? 1 : 0;
            }

            var refHeaders = reference["get_email_headers"]!.AsObject();
            var myHeaders = EmailHeaders.TopLevel(raw);
            headerFiles++;
            var allSame = true;
            foreach (var (key, value) in refHeaders)
            {
                headerValues++;
                if (myHeaders[key]?.ToString() == value?.ToString())
                {
                    headerValuesOk++;
                }
                else
                {
                    allSame = false;
                }
            }

            headerFilesOk += allSame && myHeaders.Count == refHeaders.Count ? 1 : 0;
        }

        output.WriteLine("type    reference  found  known-diff  recall   added");
        foreach (var t in Types)
        {
            var recall = total[t] == 0 ? 1.0 : (double)(found[t] + explained[t]) / total[t];
            output.WriteLine($"{t,-7} {total[t],9} {found[t],6} {explained[t],11} {recall,7:P1} {added[t],7}");
        }

        output.WriteLine($"container names: {nameOk}/{names} equal, {nameKnown} known differences; SDIs: {sdiOk}/{names} equal");
        output.WriteLine($"get-email headers: {headerValuesOk}/{headerValues} values equal; {headerFilesOk}/{headerFiles} messages identical");
        foreach (var u in unexplained.Take(50))
        {
            output.WriteLine("unexplained: " + u);
        }

        foreach (var t in Types)
        {
            Assert.True(total[t] == 0 || (double)(found[t] + explained[t]) / total[t] >= 0.99, $"{t} recall below 99%");
        }

        Assert.Equal(names, nameOk + nameKnown);
        Assert.Equal(names, sdiOk);
    }

    private static readonly Regex Declaration = new(
        """(?:\bxmlns(?::[\w.-]+)?|\b[\w.-]*:?schemaLocation)\s*=\s*(?:"[^"]*"|'[^']*')|<!DOCTYPE[^>]*>""",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);

    private static readonly Regex HttpUrl = new("""https?://[^\s"'<>]+""", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);

    [CorpusFact]
    public void No_url_or_domain_artifact_stands_only_for_a_namespace_or_dtd_identifier()
    {
        // The identifiers are found by this test's own pattern over the decoded texts: xmlns and schemaLocation values and
        // DOCTYPE declarations. One that also stands in the message outside such a declaration may be an indicator.
        var corpus = RepoPaths.RequiredCorpus;
        var wrong = new List<string>();
        var seen = 0;
        foreach (var file in Directory.GetFiles(corpus, "*.eml", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            var bytes = MessageBytes.ToCrlf(File.ReadAllBytes(file));
            var declared = new HashSet<string>(StringComparer.Ordinal);
            var outside = new StringBuilder(Encoding.Latin1.GetString(bytes.AsSpan(0, Math.Min(bytes.Length, HeaderEnd(bytes)))));
            foreach (var text in Texts(bytes))
            {
                outside.Append(Declaration.Replace(text, m =>
                {
                    foreach (Match url in HttpUrl.Matches(m.Value))
                    {
                        declared.Add(url.Value.TrimEnd('"', '\''));
                    }

                    return " ";
                })).Append('\n');
            }

            if (declared.Count == 0)
            {
                continue;
            }

            seen++;
            var rest = outside.ToString();
            var email = TestMail.Process(bytes);
            wrong.AddRange(email.Urls().Where(u => declared.Contains(u) && !rest.Contains(u, StringComparison.OrdinalIgnoreCase))
                .Select(u => $"{Path.GetFileName(file)}: URL {u}"));
            var hosts = declared.Select(u => new Uri(u, UriKind.Absolute).Host.ToLowerInvariant()).ToHashSet(StringComparer.Ordinal);
            wrong.AddRange(email.Domains().Where(d => hosts.Contains(d) && !rest.Contains(d, StringComparison.OrdinalIgnoreCase))
                .Select(d => $"{Path.GetFileName(file)}: domain {d}"));
        }

        output.WriteLine($"{seen} messages declare namespaces or DTDs");
        Assert.True(seen > 0, "the corpus has no namespace or DTD declaration: the test shows nothing");
        Assert.Empty(wrong);
    }

    /// <summary>Where the top-level header block ends (its blank line), or the end of the message.</summary>
    private static int HeaderEnd(byte[] bytes)
    {
        var end = bytes.AsSpan().IndexOf("\r\n\r\n"u8);
        return end < 0 ? bytes.Length : end;
    }

    [CorpusFact]
    public void No_url_artifact_is_a_cut_copy_of_a_link_of_the_same_message()
    {
        // A URL artifact that is a strict prefix of a link's URL is a copy cut out of that link (at a blank, a line break, '[' or
        // '#') unless it also stands in the message on its own: as a link itself, or in the text outside the link
        // attributes and outside link texts that only spell their link.
        var corpus = RepoPaths.RequiredCorpus;
        var cut = new List<string>();
        foreach (var file in Directory.GetFiles(corpus, "*.eml", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            var bytes = MessageBytes.ToCrlf(File.ReadAllBytes(file));
            var urls = TestMail.Process(bytes).Urls().ToList();
            var links = new HashSet<string>(StringComparer.Ordinal);
            var outside = new StringBuilder();
            foreach (var text in Texts(bytes))
            {
                var withoutValues = LinkAttribute.Replace(text, m =>
                {
                    links.Add(LinkUrl(m.Groups["v"].Value));
                    return " ";
                });
                outside.Append(WebUtility.HtmlDecode(ElementText.Replace(withoutValues, m =>
                    links.Contains(Regex.Replace(WebUtility.HtmlDecode(m.Groups["t"].Value), @"\s+", string.Empty)) ? "> <" : m.Value)));
                outside.Append('\n');
            }

            var rest = outside.ToString();
            foreach (var u in urls)
            {
                if (!links.Contains(u) && !rest.Contains(u, StringComparison.Ordinal) &&
                    links.FirstOrDefault(h => h.Length > u.Length && h.StartsWith(u, StringComparison.Ordinal)) is { } link)
                {
                    cut.Add($"{Path.GetRelativePath(corpus, file)}\t{u}\tcut from\t{link}");
                }
            }
        }

        foreach (var c in cut)
        {
            output.WriteLine(c);
        }

        Assert.Empty(cut);
    }

    private static readonly Regex LinkAttribute = new(
        @"(?<=[\s""'/])(?:href|src)\s*=\s*(?:""(?<v>[^""]*)""|'(?<v>[^']*)'|(?<v>[^\s>]+))", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);

    private static readonly Regex ElementText = new(@">(?<t>[^<]+)<", RegexOptions.CultureInvariant);

    /// <summary>A link value as a browser reads it (WHATWG URL parsing): blanks and controls trimmed, tabs and line breaks removed, the rest encoded.</summary>
    private static string LinkUrl(string raw)
    {
        var value = Regex.Replace(WebUtility.HtmlDecode(raw).Trim(Enumerable.Range(0, 0x21).Select(c => (char)c).ToArray()), "[\t\r\n]", string.Empty);
        return Regex.Replace(value, "[\u0000-\u0020\u007f-\u009f]", m => string.Concat(Encoding.UTF8.GetBytes(m.Value).Select(b => $"%{b:X2}")));
    }

    /// <summary>The decoded text of every text part of the message, attached messages included.</summary>
    private static IEnumerable<string> Texts(byte[] bytes)
    {
        using var stream = new MemoryStream(bytes);
        MimeKit.MimeMessage message;
        try
        {
            message = MimeKit.MimeMessage.Load(stream);
        }
        catch (FormatException)
        {
            yield break;
        }

        foreach (var part in message.BodyParts.OfType<MimeKit.TextPart>())
        {
            yield return part.Text;
        }
    }

    internal static HashSet<string> Values(IEnumerable<(string Name, JsonObject Cef)> artifacts, string type)
    {
        var set = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, cef) in artifacts)
        {
            switch (type)
            {
                case "IP" when name == "IP Artifact":
                    set.Add(cef["sourceAddress"]!.ToString());
                    break;
                case "hash" when name == "Hash Artifact":
                    set.Add(cef["fileHash"]!.ToString());
                    break;
                case "URL" when name == "URL Artifact":
                    set.Add(cef["requestURL"]!.ToString());
                    break;
                case "domain" when name == "Domain Artifact":
                    // Domains are compared in their canonical spelling (11.A27): case, IDNA and trailing dot do not count.
                    set.Add(UrlRules.NormalizeDomain(cef["destinationDnsDomain"]!.ToString()) ?? string.Empty);
                    break;
                case "email" when name == "Email Artifact":
                    var headers = cef["emailHeaders"]!.AsObject();
                    var messageId = headers.FirstOrDefault(p => p.Key.Equals("Message-ID", StringComparison.OrdinalIgnoreCase)).Value;
                    set.Add($"{cef["fromEmail"]}|{cef["toEmail"]}|{messageId}");
                    break;
                case "vault" when name == "Vault Artifact":
                    set.Add(cef["vaultId"]!.ToString());
                    break;
            }
        }

        return set;
    }

    private static HashSet<(string File, string Type, string Value)> LoadKnownDifferences()
    {
        var path = Path.Combine(RepoPaths.Root, "docs", "corpus-known-differences.tsv");
        var set = new HashSet<(string, string, string)>();
        foreach (var line in File.ReadLines(path).Skip(1))
        {
            var cols = line.Split('\t');
            if (cols.Length >= 4)
            {
                set.Add((cols[0], cols[1], Unescape(cols[2])));
            }
        }

        return set;
    }

    /// <summary>Values in the TSV escape backslash, tab, CR and LF as \\, \t, \r, \n, and other control characters as \xHH.</summary>
    private static string Unescape(string s) => Regex.Replace(s, @"\\(x[0-9a-f]{2}|.)", m => m.Groups[1].Value switch
    {
        "t" => "\t",
        "r" => "\r",
        "n" => "\n",
        "\\" => "\\",
        var x when x.StartsWith('x') => ((char)Convert.ToInt32(x[1..], 16)).ToString(),
        var x => x,
    });
}
