using System.Net;
using ImapActors.Domain;

namespace ImapActors.Extraction.Internal;

/// <summary>The indicators found in a message's texts (IPs, hashes, URLs, domains), each kept once, in first-seen order.</summary>
internal sealed class Indicators
{
    /// <summary>The link callback when neither URLs nor domains are wanted: the HTML pass still blanks declarations.</summary>
    private static readonly Action<string, bool> IgnoreLink = (_, _) => { };

    private readonly MessageContext _context;
    private readonly ExtractionSettings _settings;
    private readonly HashSet<string> _urlCandidates = new(StringComparer.Ordinal);

    // The scanners' callbacks, created on the message's first text rather than for each text scanned.
    private Action<string, bool>? _onHtmlLink;
    private Action<string>? _onUrl;
    private Action<string>? _onEmailDomain;
    private Action<string>? _onIp;
    private Action<string>? _onHash;

    public Indicators(MessageContext context)
    {
        _context = context;
        _settings = context.Settings;
    }

    public OrderedSet Ips { get; } = new();

    public OrderedSet Hashes { get; } = new();

    public OrderedSet Urls { get; } = new();

    public OrderedSet Domains { get; } = new();

    /// <summary>Runs the scanners the settings ask for over one text.</summary>
    /// <remarks>
    /// Each scanner is linear in the text; the time budget is checked between them, so a message over its time stops
    /// within one scan of one text.
    /// </remarks>
    public void Scan(string text)
    {
        var s = _settings;
        var budget = _context.Budget;
        var links = s.ExtractUrls || s.ExtractDomains;
        var masked = text.Contains('<', StringComparison.Ordinal)
            ? HtmlLinks.Find(text, links ? _onHtmlLink ??= HtmlLink : IgnoreLink)
            : new HtmlLinks.Masked(text, text);
        budget.CheckTime();
        if (links)
        {
            var urlText = masked.UrlText;
            var plain = urlText.Contains('&', StringComparison.Ordinal) ? WebUtility.HtmlDecode(urlText) : urlText;
            Scanners.Urls(plain, _onUrl ??= UrlCandidate);
            budget.CheckTime();
            if (s.ExtractDomains)
            {
                Scanners.EmailDomains(masked.Text, _onEmailDomain ??= AddDomain);
                budget.CheckTime();
            }
        }

        if (s.ExtractIps)
        {
            _onIp ??= ip => Add(Ips, ip);
            Scanners.IPv4(masked.Text, _onIp);
            Scanners.IPv6(masked.Text, _onIp);
            budget.CheckTime();
        }

        if (s.ExtractHashes)
        {
            Scanners.Hashes(masked.Text, _onHash ??= h => Add(Hashes, h));
        }
    }

    /// <summary>A link of an HTML text: a mailto: href gives its domain, anything else is a URL candidate.</summary>
    private void HtmlLink(string value, bool isHref)
    {
        if (isHref && value.StartsWith("mailto:", StringComparison.OrdinalIgnoreCase))
        {
            MailtoDomain(value);
        }
        else
        {
            UrlCandidate(value);
        }
    }

    private void UrlCandidate(string url)
    {
        // What a candidate gives depends on the candidate alone, and adding it again changes nothing: a repeat (the same
        // link in every part, or in both href and text) skips the validation and the host's normalisation.
        if (!_urlCandidates.Add(url))
        {
            return;
        }

        if (!UrlRules.IsValid(url))
        {
            return;
        }

        if (_settings.ExtractUrls)
        {
            Add(Urls, url);
        }

        if (_settings.ExtractDomains && UrlRules.Host(url) is { } host && !UrlRules.IsIp(host))
        {
            AddDomain(host);
        }
    }

    private void MailtoDomain(string href)
    {
        if (!_settings.ExtractDomains)
        {
            return;
        }

        var at = href.IndexOf('@', StringComparison.Ordinal);
        if (at < 0)
        {
            return;
        }

        var domain = href[(at + 1)..];
        var q = domain.IndexOf('?', StringComparison.Ordinal);
        if (q >= 0)
        {
            domain = domain[..q];
        }

        if (!UrlRules.IsIp(domain))
        {
            AddDomain(domain);
        }
    }

    private void AddDomain(string domain)
    {
        if (UrlRules.NormalizeDomain(domain) is { } d)
        {
            Add(Domains, d);
        }
    }

    private void Add(OrderedSet set, string value)
    {
        if (!set.Contains(value) && _context.TryCountArtifact())
        {
            set.Add(value);
        }
    }
}
