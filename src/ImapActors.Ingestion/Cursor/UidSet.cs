using System.Collections.Immutable;

namespace ImapActors.Ingestion.Cursor;

/// <summary>An inclusive range of UIDs.</summary>
public readonly record struct UidRange(uint First, uint Last)
{
    public bool Contains(uint uid) => uid >= First && uid <= Last;

    public override string ToString() => First == Last ? $"{First}" : $"{First}:{Last}";
}

/// <summary>
/// An immutable set of UIDs kept as sorted, disjoint, non-adjacent ranges. A mailbox's committed UIDs are almost always
/// one range, so the cursor stays a few numbers however large the mailbox is.
/// </summary>
public sealed class UidSet : IEquatable<UidSet>
{
    public static UidSet Empty { get; } = new(ImmutableArray<UidRange>.Empty);

    private UidSet(ImmutableArray<UidRange> ranges) => Ranges = ranges;

    public ImmutableArray<UidRange> Ranges { get; }

    public bool IsEmpty => Ranges.IsEmpty;

    public long Count => Ranges.Sum(r => (long)r.Last - r.First + 1);

    public static UidSet Of(IEnumerable<uint> uids) => Empty.AddRange(uids);

    public static UidSet FromRanges(IEnumerable<UidRange> ranges) =>
        ranges.Aggregate(Empty, (set, r) => set.Add(r));

    public bool Contains(uint uid)
    {
        int lo = 0, hi = Ranges.Length - 1;
        while (lo <= hi)
        {
            var mid = (lo + hi) >>> 1;
            var r = Ranges[mid];
            if (uid < r.First)
            {
                hi = mid - 1;
            }
            else if (uid > r.Last)
            {
                lo = mid + 1;
            }
            else
            {
                return true;
            }
        }

        return false;
    }

    public UidSet AddRange(IEnumerable<uint> uids)
    {
        // Collapse sorted runs first so adding a batch of N consecutive UIDs costs one range merge, not N.
        var sorted = uids.Order().ToArray();
        var set = this;
        var i = 0;
        while (i < sorted.Length)
        {
            var first = sorted[i];
            var last = first;
            while (i + 1 < sorted.Length && (sorted[i + 1] == last || sorted[i + 1] == last + 1))
            {
                last = sorted[++i];
            }

            set = set.Add(new UidRange(first, last));
            i++;
        }

        return set;
    }

    public UidSet Add(UidRange range)
    {
        if (range.Last < range.First)
        {
            throw new ArgumentException("A range's last UID is below its first.", nameof(range));
        }

        var builder = ImmutableArray.CreateBuilder<UidRange>(Ranges.Length + 1);
        var merged = range;
        var placed = false;
        foreach (var r in Ranges)
        {
            if ((ulong)r.Last + 1 < merged.First)
            {
                builder.Add(r);
            }
            else if ((ulong)merged.Last + 1 < r.First)
            {
                if (!placed)
                {
                    builder.Add(merged);
                    placed = true;
                }

                builder.Add(r);
            }
            else
            {
                merged = new UidRange(Math.Min(r.First, merged.First), Math.Max(r.Last, merged.Last));
            }
        }

        if (!placed)
        {
            builder.Add(merged);
        }

        return new UidSet(builder.ToImmutable());
    }

    /// <summary>The smallest UID at or above <paramref name="from"/> that is not in the set.</summary>
    public uint FirstMissingFrom(uint from)
    {
        var candidate = from;
        foreach (var r in Ranges)
        {
            if (r.Last < candidate)
            {
                continue;
            }

            if (r.First > candidate)
            {
                break;
            }

            if (r.Last == uint.MaxValue)
            {
                return uint.MaxValue;
            }

            candidate = r.Last + 1;
        }

        return candidate;
    }

    public uint? Max => Ranges.IsEmpty ? null : Ranges[^1].Last;

    public bool Equals(UidSet? other) => other is not null && Ranges.SequenceEqual(other.Ranges);

    public override bool Equals(object? obj) => Equals(obj as UidSet);

    public override int GetHashCode() => Ranges.Aggregate(17, (h, r) => HashCode.Combine(h, r));

    public override string ToString() => Ranges.IsEmpty ? "{}" : string.Join(",", Ranges);
}
