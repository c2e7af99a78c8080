using ImapActors.Domain;

namespace ImapActors.Ingestion.Cursor;

/// <summary>Which UIDs one poll takes, in the order it takes them.</summary>
public static class PollPlanner
{
    /// <summary>
    /// Chooses up to <paramref name="limit"/> UIDs among <paramref name="serverUids"/> that the cursor has not committed.
    /// Oldest first takes the lowest; latest first takes the highest, so new mail always comes before any older mail
    /// still waiting (nothing starves), and older mail left over waits in the cursor's gaps for later polls (nothing is
    /// dropped). The result is in processing order.
    /// </summary>
    public static IReadOnlyList<uint> Choose(MailboxCursor cursor, IEnumerable<uint> serverUids, IngestManner manner, int limit)
    {
        ArgumentNullException.ThrowIfNull(cursor);
        if (limit <= 0)
        {
            return [];
        }

        var pending = serverUids.Where(u => !cursor.IsCommitted(u)).Distinct();
        return manner == IngestManner.OldestFirst
            ? pending.Order().Take(limit).ToArray()
            : pending.OrderDescending().Take(limit).ToArray();
    }

    /// <summary>
    /// The floor of a first poll: oldest first ingests the whole folder over time (the reference does too); latest first
    /// with <c>first_run_max_emails</c> leaves out what is older than the newest N, which is that setting's meaning. Given
    /// at least N UIDs, the floor is the Nth newest; the UIDs a first poll chose (the newest N at most) are enough.
    /// </summary>
    public static uint FirstPollFloor(IReadOnlyList<uint> serverUids, IngestManner manner, int firstRunMaxEmails)
    {
        ArgumentNullException.ThrowIfNull(serverUids);
        if (manner == IngestManner.OldestFirst || serverUids.Count < firstRunMaxEmails || firstRunMaxEmails <= 0)
        {
            return 1;
        }

        return serverUids.OrderDescending().Skip(firstRunMaxEmails - 1).First();
    }
}
