using System.Buffers;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace ImapActors.Extraction.Internal;

/// <summary>URL validation (Django's URLValidator rules, which the reference applies), host and domain rules.</summary>
internal static class UrlRules
{
    private static readonly IdnMapping Idn = new() { AllowUnassigned = true };

    /// <summary>Django <c>URLValidator(schemes=["http","https"])</c>, written out without a regex.</summary>
    public static bool IsValid(string url)
    {
        if (url.Length > 2048)
        {
            return false;
        }

        int rest;
        if (url.StartsWith("http://", StringComparison.OrdinalIgnoreCase))
        {
            rest = 7;
        }
        else if (url.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
        {
            rest = 8;
        }
        else
        {
            return false;
        }

        // Django checks the scheme case-sensitively after lower-casing the whole value's scheme part.
        foreach (var c in url)
        {
            if (char.IsWhiteSpace(c))
            {
                return false;
            }
        }

        var authorityEnd = url.IndexOfAny(['/', '?', '#'], rest);
        var authority = authorityEnd < 0 ? url[rest..] : url[rest..authorityEnd];
        var at = authority.LastIndexOf('@');
        if (at >= 0)
        {
            var userInfo = authority[..at];
            var colon = userInfo.IndexOf(':', StringComparison.Ordinal);
            var user = colon < 0 ? userInfo : userInfo[..colon];
            var pass = colon < 0 ? string.Empty : userInfo[(colon + 1)..];
            if (user.Length == 0 || user.Contains('@', StringComparison.Ordinal) || pass.Contains(':', StringComparison.Ordinal) ||
                pass.Contains('@', StringComparison.Ordinal))
            {
                return false;
            }

            authority = authority[(at + 1)..];
        }

        var host = SplitPort(authority, out var portOk);
        if (!portOk || host.Length == 0)
        {
            return false;
        }

        if (host[0] == '[')
        {
            return host.Length > 2 && host[^1] == ']' &&
                IPAddress.TryParse(host[1..^1], out var v6) && v6.AddressFamily == AddressFamily.InterNetworkV6;
        }

        if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase) || Scanners.IsIPv4(host))
        {
            return true;
        }

        return IsHostName(host);
    }

    private static string SplitPort(string authority, out bool ok)
    {
        ok = true;
        var close = authority.LastIndexOf(']');
        var colon = authority.LastIndexOf(':');
        if (colon < 0 || colon < close)
        {
            return authority;
        }

        var port = authority[(colon + 1)..];
        ok = port.Length is >= 1 and <= 5 && port.All(char.IsAsciiDigit);
        return authority[..colon];
    }

    /// <summary>hostname (. label)* . tld [.], labels of letters, digits, hyphens and U+00A1-U+FFFF.</summary>
    private static bool IsHostName(string host)
    {
        if (host.Length > 253)
        {
            return false;
        }

        var h = host.EndsWith('.') ? host[..^1] : host;
        var labels = h.Split('.');
        if (labels.Length < 2)
        {
            return false;
        }

        for (var i = 0; i < labels.Length; i++)
        {
            var label = labels[i];
            if (label.Length is 0 or > 63 || label[0] == '-' || label[^1] == '-')
            {
                return false;
            }

            var isTld = i == labels.Length - 1;
            foreach (var c in label)
            {
                var letter = char.IsAsciiLetter(c) || (c >= '\u00a1' && c <= '\uffff' && !char.IsWhiteSpace(c));
                if (isTld ? !(letter || c == '-') : !(letter || char.IsAsciiDigit(c) || c == '-'))
                {
                    if (!(isTld && label.StartsWith("xn--", StringComparison.OrdinalIgnoreCase) && char.IsAsciiLetterOrDigit(c)))
                    {
                        return false;
                    }
                }
            }

            if (isTld && label.Length < 2)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The host of a URL without user info or port (brackets removed from IPv6), or null.</summary>
    public static string? Host(string url)
    {
        var schemeEnd = url.IndexOf("://", StringComparison.Ordinal);
        if (schemeEnd < 0)
        {
            return null;
        }

        var rest = schemeEnd + 3;
        var end = url.IndexOfAny(['/', '?', '#'], rest);
        var authority = end < 0 ? url[rest..] : url[rest..end];
        var at = authority.LastIndexOf('@');
        if (at >= 0)
        {
            authority = authority[(at + 1)..];
        }

        var host = SplitPort(authority, out _);
        if (host.StartsWith('[') && host.EndsWith(']'))
        {
            host = host[1..^1];
        }

        return host.Length == 0 ? null : host;
    }

    public static bool IsIp(string host) =>
        Scanners.IsIPv4(host) || (host.Contains(':', StringComparison.Ordinal) && IPAddress.TryParse(host, out var a) && a.AddressFamily == AddressFamily.InterNetworkV6);

    /// <summary>
    /// A domain in one canonical spelling: trailing dot removed, lower-cased and IDNA (UTS #46) mapped, in Unicode form,
    /// so <c>Example.COM.</c>, <c>example.com</c> and <c>EXAMPLE.com</c> are one indicator. Null when nothing is left.
    /// </summary>
    public static string? NormalizeDomain(string domain)
    {
        var d = domain.TrimEnd('.').Trim();
        if (d.Length == 0)
        {
            return null;
        }

        d = d.ToLowerInvariant();
        return IsPlainAsciiName(d) ? d : IdnaRoundTrip(d);
    }

    /// <summary>The lower-cased name through IDNA (to ASCII, then back to Unicode); the name itself when IDNA rejects it.</summary>
    internal static string? IdnaRoundTrip(string lowered)
    {
        var d = lowered;
        try
        {
            d = Idn.GetUnicode(Idn.GetAscii(d));
        }
        catch (ArgumentException)
        {
            // Not a valid IDN (underscores, odd symbols): the lower-cased text is still the best key.
        }

        return d.Length == 0 ? null : d;
    }

    private static readonly SearchValues<char> PlainNameChars = SearchValues.Create("abcdefghijklmnopqrstuvwxyz0123456789-.");

    /// <summary>
    /// Whether a lower-cased name is only <c>a-z 0-9 - .</c> with no label starting <c>xn--</c>. IDNA gives such a
    /// name back unchanged or rejects it (empty or over-long labels), and <see cref="IdnaRoundTrip"/> keeps a rejected
    /// name as it is, so the name is its own normal form: the common case costs no IDNA round trip.
    /// </summary>
    internal static bool IsPlainAsciiName(string lowered) =>
        !lowered.AsSpan().ContainsAnyExcept(PlainNameChars) &&
        !lowered.StartsWith("xn--", StringComparison.Ordinal) &&
        !lowered.Contains(".xn--", StringComparison.Ordinal);
}
