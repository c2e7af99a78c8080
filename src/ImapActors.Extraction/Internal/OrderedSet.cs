namespace ImapActors.Extraction.Internal;

/// <summary>Values in first-seen order, compared exactly.</summary>
internal sealed class OrderedSet : IEnumerable<string>
{
    private readonly HashSet<string> _seen = new(StringComparer.Ordinal);
    private readonly List<string> _items = [];

    public bool Contains(string value) => _seen.Contains(value);

    public void Add(string value)
    {
        if (_seen.Add(value))
        {
            _items.Add(value);
        }
    }

    public IEnumerator<string> GetEnumerator() => _items.GetEnumerator();

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}
