using System.Text;
using ImapActors.Domain;

namespace ImapActors.Extraction.Tests;

internal static class TestMail
{
    public static readonly EmailSource Source = new(new AssetName("test"), new FolderName("inbox"), 7, 1, null);

    public static ProcessedEmail Process(string message, ExtractionSettings? settings = null, IVault? vault = null) =>
        Process(Encoding.UTF8.GetBytes(message.Replace("\r\n", "\n", StringComparison.Ordinal).Replace("\n", "\r\n", StringComparison.Ordinal)), settings, vault);

    public static ProcessedEmail Process(byte[] bytes, ExtractionSettings? settings = null, IVault? vault = null)
    {
        using var raw = RawEmail.FromBytes(bytes);
        return new EmailProcessor(vault ?? new HashOnlyVault()).Process(raw, Source, settings ?? ExtractionSettings.Default, "label");
    }

    public static IEnumerable<string> Values(this ProcessedEmail email, string artifact, string key) =>
        email.Artifacts.Where(a => a.Name == artifact).Select(a => a.Cef[key]!.ToString());

    public static IEnumerable<string> Ips(this ProcessedEmail e) => e.Values("IP Artifact", "sourceAddress");
    public static IEnumerable<string> Urls(this ProcessedEmail e) => e.Values("URL Artifact", "requestURL");
    public static IEnumerable<string> Domains(this ProcessedEmail e) => e.Values("Domain Artifact", "destinationDnsDomain");
    public static IEnumerable<Artifact> Named(this ProcessedEmail e, string name) => e.Artifacts.Where(a => a.Name == name);

    public static string Plain(string body, string extraHeaders = "") =>
        $"From: Alice <alice@example.com>\nTo: bob@example.org\nSubject: test\nMessage-ID: <1@example.com>\n{extraHeaders}Content-Type: text/plain; charset=utf-8\n\n{body}\n";
}
