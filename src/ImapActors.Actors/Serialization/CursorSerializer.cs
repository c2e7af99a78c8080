using System.Runtime.Serialization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Akka.Actor;
using Akka.Serialization;
using ImapActors.Ingestion.Cursor;

namespace ImapActors.Actors.Serialization;

/// <summary>
/// Serializes the cursor's events and snapshots as JSON under short, fixed manifests, so renaming a class never breaks
/// recovery of an existing journal. A new event shape gets a new manifest; old manifests stay readable. A field added to
/// an existing shape (the snapshot's <c>searchedThrough</c>) keeps the manifest: payloads written before it lack the field
/// and read it as 0, which is what the cursor held then.
/// </summary>
public sealed class CursorSerializer : SerializerWithStringManifest
{
    private const string FirstPollStartedManifest = "cursor.first-poll.v1";
    private const string UidsCommittedManifest = "cursor.committed.v1";
    private const string UidValidityChangedManifest = "cursor.uidvalidity.v1";
    private const string FolderSearchedManifest = "cursor.searched.v1";
    private const string FloorPlacedManifest = "cursor.floor.v1";
    private const string SnapshotManifest = "cursor.snapshot.v1";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public CursorSerializer(ExtendedActorSystem system)
        : base(system)
    {
    }

    /// <summary>A fixed id, registered in hocon/akka.conf.</summary>
    public override int Identifier => 4711;

    public override string Manifest(object o) => o switch
    {
        CursorEvents.FirstPollStarted => FirstPollStartedManifest,
        CursorEvents.UidsCommitted => UidsCommittedManifest,
        CursorEvents.UidValidityChanged => UidValidityChangedManifest,
        CursorEvents.FolderSearched => FolderSearchedManifest,
        CursorEvents.FloorPlaced => FloorPlacedManifest,
        CursorSnapshot => SnapshotManifest,
        _ => throw new ArgumentException($"Cannot serialize {o.GetType()}", nameof(o)),
    };

    public override byte[] ToBinary(object obj) => obj switch
    {
        CursorEvents.FirstPollStarted e => JsonSerializer.SerializeToUtf8Bytes(new FirstPollDto(e.UidValidity, e.Floor, e.At, e.FloorDate), Json),
        CursorEvents.UidsCommitted e => JsonSerializer.SerializeToUtf8Bytes(
            new CommittedDto(e.UidValidity, e.Ranges.Select(r => new[] { r.First, r.Last }).ToArray(), e.Quarantined, e.At), Json),
        CursorEvents.UidValidityChanged e => JsonSerializer.SerializeToUtf8Bytes(new UidValidityDto(e.Previous, e.Current, e.At), Json),
        CursorEvents.FolderSearched e => JsonSerializer.SerializeToUtf8Bytes(new SearchedDto(e.UidValidity, e.Through, e.At), Json),
        CursorEvents.FloorPlaced e => JsonSerializer.SerializeToUtf8Bytes(new FloorDto(e.UidValidity, e.Floor, e.At), Json),
        CursorSnapshot s => JsonSerializer.SerializeToUtf8Bytes(new SnapshotDto(
            s.Cursor.UidValidity, s.Cursor.Started, s.Cursor.Floor,
            s.Cursor.Committed.Ranges.Select(r => new[] { r.First, r.Last }).ToArray(), s.Cursor.QuarantinedTotal, s.Cursor.SearchedThrough, s.Cursor.FloorDate), Json),
        _ => throw new ArgumentException($"Cannot serialize {obj.GetType()}", nameof(obj)),
    };

    public override object FromBinary(byte[] bytes, string manifest)
    {
        switch (manifest)
        {
            case FirstPollStartedManifest:
            {
                var d = Read<FirstPollDto>(bytes);
                return new CursorEvents.FirstPollStarted(d.UidValidity, d.Floor, d.At, d.FloorDate);
            }

            case UidsCommittedManifest:
            {
                var d = Read<CommittedDto>(bytes);
                return new CursorEvents.UidsCommitted(d.UidValidity, ToRanges(d.Ranges), d.Quarantined, d.At);
            }

            case UidValidityChangedManifest:
            {
                var d = Read<UidValidityDto>(bytes);
                return new CursorEvents.UidValidityChanged(d.Previous, d.Current, d.At);
            }

            case FolderSearchedManifest:
            {
                var d = Read<SearchedDto>(bytes);
                return new CursorEvents.FolderSearched(d.UidValidity, d.Through, d.At);
            }

            case FloorPlacedManifest:
            {
                var d = Read<FloorDto>(bytes);
                return new CursorEvents.FloorPlaced(d.UidValidity, d.Floor, d.At);
            }

            case SnapshotManifest:
            {
                var d = Read<SnapshotDto>(bytes);
                return new CursorSnapshot(new MailboxCursor(d.UidValidity, d.Started, d.Floor,
                    UidSet.FromRanges(ToRanges(d.Committed)), d.QuarantinedTotal, d.SearchedThrough, d.FloorDate));
            }

            default:
                throw new SerializationException($"Unknown cursor manifest '{manifest}'");
        }
    }

    private static T Read<T>(byte[] bytes) =>
        JsonSerializer.Deserialize<T>(bytes, Json) ?? throw new SerializationException("Empty cursor payload");

    private static UidRange[] ToRanges(uint[][] ranges) => ranges.Select(r => new UidRange(r[0], r[1])).ToArray();

    // FloorDate came later: events written before it read as null.
    private sealed record FirstPollDto(uint UidValidity, uint Floor, DateTimeOffset At,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] DateTimeOffset? FloorDate = null);

    private sealed record FloorDto(uint UidValidity, uint Floor, DateTimeOffset At);

    private sealed record CommittedDto(uint UidValidity, uint[][] Ranges, int Quarantined, DateTimeOffset At);

    private sealed record UidValidityDto(uint Previous, uint Current, DateTimeOffset At);

    private sealed record SearchedDto(uint UidValidity, uint Through, DateTimeOffset At);

    private sealed record SnapshotDto(uint UidValidity, bool Started, uint Floor, uint[][] Committed, long QuarantinedTotal,
        uint SearchedThrough = 0, [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] DateTimeOffset? FloorDate = null);
}
