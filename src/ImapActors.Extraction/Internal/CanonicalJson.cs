using System.Buffers;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace ImapActors.Extraction.Internal;

/// <summary>
/// Python's <c>json.dumps(obj, sort_keys=True)</c> (separators <c>", "</c> and <c>": "</c>, ensure_ascii), which the
/// reference hashes into source data identifiers. Matching it byte for byte keeps SDIs equal across implementations.
/// </summary>
internal static class CanonicalJson
{
    public static string Serialize(JsonNode? node)
    {
        var sb = new StringBuilder(256);
        Write(sb, node);
        return sb.ToString();
    }

    /// <summary>Lowercase hex MD5 (SHA-256 under FIPS) of the canonical JSON's UTF-8 bytes.</summary>
    public static string Hash(JsonNode node, bool fips)
    {
        var sb = Rent();
        Write(sb, node);
        return HashAndReturn(sb, fips);
    }

    /// <summary>
    /// <see cref="Hash(JsonNode, bool)"/> of <c>{"cef": cef, "cef_types": cefTypes, "name": name, "run_automation": false}</c>
    /// (<c>cef_types</c> only when not null), the object the reference hashes into an artifact's SDI, written without
    /// building or copying that object.
    /// </summary>
    public static string HashArtifact(string name, JsonObject cef, JsonObject? cefTypes, bool fips)
    {
        // Keys in code point order: "cef" < "cef_types" < "name" < "run_automation".
        var sb = Rent();
        sb.Append("{\"cef\": ");
        Write(sb, cef);
        if (cefTypes is not null)
        {
            sb.Append(", \"cef_types\": ");
            Write(sb, cefTypes);
        }

        sb.Append(", \"name\": ");
        WriteString(sb, name);
        sb.Append(", \"run_automation\": false}");
        return HashAndReturn(sb, fips);
    }

    /// <summary>One builder per thread for the hashes, so an artifact's SDI does not allocate its JSON text.</summary>
    [ThreadStatic]
    private static StringBuilder? t_builder;

    private static StringBuilder Rent()
    {
        var sb = t_builder ?? new StringBuilder(256);
        t_builder = null;
        return sb.Clear();
    }

    /// <summary>Hashes the UTF-8 bytes of the builder's text, then keeps the builder for the thread's next hash.</summary>
    private static string HashAndReturn(StringBuilder json, bool fips)
    {
        var bytes = ArrayPool<byte>.Shared.Rent(Encoding.UTF8.GetMaxByteCount(json.Length));
        try
        {
            var length = 0;
            foreach (var chunk in json.GetChunks())
            {
                length += Encoding.UTF8.GetBytes(chunk.Span, bytes.AsSpan(length));
            }

            Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
            var size = fips ? SHA256.HashData(bytes.AsSpan(0, length), digest) : MD5.HashData(bytes.AsSpan(0, length), digest);
            return Convert.ToHexStringLower(digest[..size]);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(bytes);
            if (json.Capacity <= 1 << 16)
            {
                t_builder = json;
            }
        }
    }

    private static void Write(StringBuilder sb, JsonNode? node)
    {
        switch (node)
        {
            case null:
                sb.Append("null");
                break;
            case JsonObject obj:
                WriteObject(sb, obj);
                break;
            case JsonArray arr:
                sb.Append('[');
                for (var i = 0; i < arr.Count; i++)
                {
                    if (i > 0)
                    {
                        sb.Append(", ");
                    }

                    Write(sb, arr[i]);
                }

                sb.Append(']');
                break;
            case JsonValue value:
                WriteValue(sb, value);
                break;
            default:
                throw new NotSupportedException(node.GetType().Name);
        }
    }

    /// <summary>Objects with at most this many members are sorted in a buffer on the stack rather than a pooled array.</summary>
    private const int StackMembers = 32;

    [InlineArray(StackMembers)]
    private struct MemberBuffer
    {
        private KeyValuePair<string, JsonNode?> _first;
    }

    private static void WriteObject(StringBuilder sb, JsonObject obj)
    {
        sb.Append('{');
        var count = obj.Count;
        if (count == 1)
        {
            // Most objects hashed (an indicator's cef) have one member: nothing to sort.
            var (key, value) = obj.GetAt(0);
            WriteMember(sb, key, value);
        }
        else if (count > 1)
        {
            // Members are read by index (GetAt) rather than enumerated, which would allocate an enumerator per object.
            KeyValuePair<string, JsonNode?>[]? rented = null;
            var buffer = default(MemberBuffer);
            var members = count <= StackMembers
                ? ((Span<KeyValuePair<string, JsonNode?>>)buffer)[..count]
                : (rented = ArrayPool<KeyValuePair<string, JsonNode?>>.Shared.Rent(count)).AsSpan(0, count);
            try
            {
                for (var k = 0; k < count; k++)
                {
                    members[k] = obj.GetAt(k);
                }

                // Keys of an object are distinct, so an unstable sort gives the same order as a stable one.
                members.Sort(static (a, b) => CodePointComparer.Instance.Compare(a.Key, b.Key));
                for (var k = 0; k < count; k++)
                {
                    if (k > 0)
                    {
                        sb.Append(", ");
                    }

                    WriteMember(sb, members[k].Key, members[k].Value);
                }
            }
            finally
            {
                if (rented is not null)
                {
                    ArrayPool<KeyValuePair<string, JsonNode?>>.Shared.Return(rented, clearArray: true);
                }
            }
        }

        sb.Append('}');
    }

    private static void WriteMember(StringBuilder sb, string key, JsonNode? value)
    {
        WriteString(sb, key);
        sb.Append(": ");
        Write(sb, value);
    }

    private static void WriteValue(StringBuilder sb, JsonValue value)
    {
        if (value.TryGetValue<string>(out var s))
        {
            WriteString(sb, s);
        }
        else if (value.TryGetValue<bool>(out var b))
        {
            sb.Append(b ? "true" : "false");
        }
        else if (value.TryGetValue<long>(out var l))
        {
            sb.Append(l.ToString(CultureInfo.InvariantCulture));
        }
        else if (value.TryGetValue<int>(out var i))
        {
            sb.Append(i.ToString(CultureInfo.InvariantCulture));
        }
        else if (value.TryGetValue<uint>(out var u))
        {
            sb.Append(u.ToString(CultureInfo.InvariantCulture));
        }
        else
        {
            // Values parsed from JSON text (JsonElement-backed) and any other number.
            sb.Append(value.ToJsonString());
        }
    }

    /// <summary>Printable ASCII apart from <c>"</c> and <c>\\</c>: written as it is.</summary>
    private static readonly SearchValues<char> Unescaped =
        SearchValues.Create(string.Concat(Enumerable.Range(0x20, 0x7f - 0x20).Select(c => (char)c).Where(c => c is not ('"' or '\\'))));

    private static void WriteString(StringBuilder sb, string s)
    {
        sb.Append('"');
        var rest = s.AsSpan();
        while (true)
        {
            var k = rest.IndexOfAnyExcept(Unescaped);
            if (k < 0)
            {
                sb.Append(rest);
                break;
            }

            sb.Append(rest[..k]);
            var c = rest[k];
            rest = rest[(k + 1)..];
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                default:
                    // UTF-16 code units are exactly Python's surrogate-pair escapes above U+FFFF.
                    sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    break;
            }
        }

        sb.Append('"');
    }

    /// <summary>Python sorts str keys by code point, which differs from UTF-16 order only around surrogates.</summary>
    internal sealed class CodePointComparer : IComparer<string>
    {
        public static readonly CodePointComparer Instance = new();

        public int Compare(string? x, string? y)
        {
            if (ReferenceEquals(x, y))
            {
                return 0;
            }

            if (x is null)
            {
                return -1;
            }

            if (y is null)
            {
                return 1;
            }

            // UTF-16 order is code point order up to the first differing unit unless a surrogate is involved there;
            // a string that is a prefix of the other sorts first either way.
            var n = Math.Min(x.Length, y.Length);
            var i = x.AsSpan(0, n).CommonPrefixLength(y.AsSpan(0, n));
            if (i == n)
            {
                return x.Length.CompareTo(y.Length);
            }

            if (!char.IsSurrogate(x[i]) && !char.IsSurrogate(y[i]))
            {
                return x[i].CompareTo(y[i]);
            }

            var ex = x.EnumerateRunes();
            var ey = y.EnumerateRunes();
            while (true)
            {
                var hx = ex.MoveNext();
                var hy = ey.MoveNext();
                if (!hx || !hy)
                {
                    return hx == hy ? 0 : hx ? 1 : -1;
                }

                var c = ex.Current.Value.CompareTo(ey.Current.Value);
                if (c != 0)
                {
                    return c;
                }
            }
        }
    }
}
