using System.Buffers;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

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

    /// <summary>
    /// hostname (. label)* . tld [.], labels of letters, digits, hyphens and code points from U+00A1 on (Django stops
    /// at U+FFFF; we take the supplementary planes too, where mathematical alphanumerics spell ASCII lookalikes).
    /// Lengths are counted in code points, and the ideographic full stops separate labels as <c>.</c> does.
    /// </summary>
    private static bool IsHostName(string host)
    {
        if (Uts46.CodePointCount(host) > MaxNameLength)
        {
            return false;
        }

        var h = host.EndsWith('.') ? host.AsSpan(0, host.Length - 1) : host.AsSpan();
        var labels = 0;
        while (true)
        {
            var dot = h.IndexOfAny(FullStops);
            var label = dot < 0 ? h : h[..dot];
            var isTld = dot < 0;
            if (isTld && labels == 0)
            {
                return false;
            }

            if (!IsHostLabel(label, isTld))
            {
                return false;
            }

            labels++;
            if (isTld)
            {
                return true;
            }

            h = h[(dot + 1)..];
        }
    }

    private static bool IsHostLabel(ReadOnlySpan<char> label, bool isTld)
    {
        if (label.IsEmpty || label[0] == '-' || label[^1] == '-')
        {
            return false;
        }

        var xn = isTld && label.StartsWith("xn--", StringComparison.OrdinalIgnoreCase);
        var length = 0;
        foreach (var rune in label.EnumerateRunes())
        {
            length++;
            var letter = rune.IsAscii ? char.IsAsciiLetter((char)rune.Value) : rune.Value >= 0xA1 && !Rune.IsWhiteSpace(rune);
            var digit = rune.IsAscii && char.IsAsciiDigit((char)rune.Value);
            var ok = isTld ? letter || rune.Value == '-' || (xn && digit) : letter || digit || rune.Value == '-';
            if (!ok)
            {
                return false;
            }
        }

        return length <= MaxLabelLength && (!isTld || length >= 2);
    }

    /// <summary>The full stops UTS #46 maps to <c>.</c>: ASCII, ideographic, fullwidth and halfwidth ideographic.</summary>
    internal static readonly SearchValues<char> FullStops = SearchValues.Create(".\u3002\uFF0E\uFF61");

    /// <summary>The longest DNS name, without its trailing dot (RFC 1035), in code points of its Unicode form.</summary>
    internal const int MaxNameLength = 253;

    /// <summary>The longest DNS label (RFC 1035), in code points of its Unicode form.</summary>
    internal const int MaxLabelLength = 63;

    /// <summary>
    /// The longest text taken as a candidate name before mapping: the longest valid URL. Mapping removes ignored code
    /// points (soft hyphens...) and so may shorten a name, but no valid URL has a longer host.
    /// </summary>
    internal const int MaxCandidateLength = 2048;

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
    /// A domain in one canonical spelling: UTS #46 mapped (lower case, compatibility forms, ideographic full stops),
    /// trailing dot removed and through IDNA, in Unicode form, so <c>Example.COM.</c>, <c>example.com</c>,
    /// <c>EXAMPLE.com</c> and <c>ｅｘａｍｐｌｅ.com</c> are one indicator. Null when nothing is left or when the name
    /// is longer than DNS allows (<see cref="IsWithinDnsLimits"/>): such a text is no domain, and IDNA's cost grows
    /// with the square of a label's length, so it is checked before any mapping or IDNA.
    /// </summary>
    public static string? NormalizeDomain(string domain)
    {
        var d = domain.Trim();
        if (d.Length > MaxCandidateLength || Uts46.Map(d, MaxNameLength + 1) is not { } mapped)
        {
            return null;
        }

        d = mapped.TrimEnd('.').Trim();
        if (d.Length == 0 || !IsWithinDnsLimits(d))
        {
            return null;
        }

        return IsPlainAsciiName(d) ? d : IdnaRoundTrip(d);
    }

    /// <summary>
    /// Whether a name (without its trailing dot) has at most <see cref="MaxNameLength"/> code points and no label of
    /// more than <see cref="MaxLabelLength"/>.
    /// </summary>
    internal static bool IsWithinDnsLimits(ReadOnlySpan<char> name)
    {
        if (name.Length > MaxNameLength * 2 || Uts46.CodePointCount(name) > MaxNameLength)
        {
            return false;
        }

        foreach (var label in name.Split('.'))
        {
            if (Uts46.CodePointCount(name[label]) > MaxLabelLength)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// The mapped name through IDNA (to ASCII, then back to Unicode); the name itself when IDNA rejects it. The caller
    /// checks <see cref="IsWithinDnsLimits"/> first: punycode costs a label's length times its distinct code points.
    /// </summary>
    internal static string? IdnaRoundTrip(string lowered)
    {
        var d = lowered;
        try
        {
            d = Idn.GetUnicode(Idn.GetAscii(d));
        }
        catch (ArgumentException)
        {
            // Not a valid IDN (underscores, odd symbols): the mapped text is still the best key.
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
