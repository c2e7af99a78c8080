namespace ImapActors.Domain;

/// <summary>
/// The raw RFC 822 bytes of one message, held in memory when small or in a temporary file when large,
/// so a 50 MB attachment never has to sit whole in memory.
/// </summary>
public sealed class RawEmail : IDisposable
{
    private readonly byte[]? _bytes;
    private readonly string? _path;
    private readonly bool _deleteOnDispose;

    private RawEmail(byte[]? bytes, string? path, long length, bool deleteOnDispose)
    {
        _bytes = bytes;
        _path = path;
        Length = length;
        _deleteOnDispose = deleteOnDispose;
    }

    /// <summary>The message size in bytes.</summary>
    public long Length { get; }

    /// <summary>True when the bytes live in a file rather than in memory.</summary>
    public bool IsFileBacked => _path is not null;

    /// <summary>The backing file, when <see cref="IsFileBacked"/>.</summary>
    public string? FilePath => _path;

    public static RawEmail FromBytes(byte[] bytes) => new(bytes ?? throw new ArgumentNullException(nameof(bytes)), null, bytes.Length, false);

    /// <summary>Wraps a file; with <paramref name="deleteOnDispose"/> the file is a temporary one this object owns.</summary>
    public static RawEmail FromFile(string path, bool deleteOnDispose) =>
        new(null, path, new FileInfo(path).Length, deleteOnDispose);

    /// <summary>Opens a new read-only stream over the bytes; each call gives an independent stream.</summary>
    public Stream OpenRead() =>
        _bytes is not null
            ? new MemoryStream(_bytes, 0, _bytes.Length, writable: false, publiclyVisible: true)
            : new FileStream(_path!, FileMode.Open, FileAccess.Read, FileShare.Read, 81920, FileOptions.SequentialScan);

    /// <summary>The bytes as an array, for small messages; reads the file when file-backed.</summary>
    public byte[] ToArray() => _bytes ?? File.ReadAllBytes(_path!);

    public void Dispose()
    {
        if (_deleteOnDispose && _path is not null)
        {
            try
            {
                File.Delete(_path);
            }
            catch (IOException)
            {
                // A temporary file that cannot be removed now is left for the OS to clean; losing it loses nothing.
            }
        }
    }
}
