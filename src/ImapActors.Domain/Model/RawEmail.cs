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

    /// <summary>
    /// Reads <paramref name="content"/> to its end: into memory when it holds at most <paramref name="memoryLimit"/>
    /// bytes, else into a temporary file in <paramref name="folder"/> that disposing the result deletes.
    /// </summary>
    public static RawEmail FromStream(Stream content, long memoryLimit, string folder)
    {
        ArgumentNullException.ThrowIfNull(content);
        using var memory = new MemoryStream();
        var buffer = new byte[81920];
        int read;
        while ((read = content.Read(buffer, 0, buffer.Length)) > 0)
        {
            memory.Write(buffer, 0, read);
            if (memory.Length > memoryLimit)
            {
                return Spill(memory, content, folder);
            }
        }

        return FromBytes(memory.ToArray());
    }

    private static RawEmail Spill(MemoryStream head, Stream rest, string folder)
    {
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, Guid.NewGuid().ToString("N") + ".eml");
        try
        {
            using (var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 81920))
            {
                head.Position = 0;
                head.CopyTo(file);
                rest.CopyTo(file);
            }

            return FromFile(path, deleteOnDispose: true);
        }
        catch
        {
            File.Delete(path);
            throw;
        }
    }

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
