namespace ImapActors.Extraction.Internal;

/// <summary>
/// A writable, seekable buffer that keeps its first <see cref="InMemoryBytes"/> in memory and moves to a temporary file
/// (deleted when the stream is closed) once it grows past them, so that a large decoded part costs disk, not memory.
/// </summary>
internal sealed class SpoolStream : Stream
{
    /// <summary>What stays in memory; beyond it the bytes go to a file.</summary>
    public const int InMemoryBytes = 16 * 1024 * 1024;

    private Stream _inner = new MemoryStream();

    /// <summary>A temporary file, deleted when closed, for bytes known to be larger than <see cref="InMemoryBytes"/>.</summary>
    public static FileStream CreateFile() => new(
        Path.Combine(Path.GetTempPath(), $"imapactors-{Guid.NewGuid():N}.tmp"),
        FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16, FileOptions.DeleteOnClose);

    public override bool CanRead => true;

    public override bool CanSeek => true;

    public override bool CanWrite => true;

    public override long Length => _inner.Length;

    public override long Position
    {
        get => _inner.Position;
        set => _inner.Position = value;
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        if (_inner is MemoryStream memory && memory.Length + buffer.Length > InMemoryBytes)
        {
            var file = CreateFile();
            memory.Position = 0;
            memory.CopyTo(file);
            memory.Dispose();
            _inner = file;
        }

        _inner.Write(buffer);
    }

    public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, count);

    public override int Read(Span<byte> buffer) => _inner.Read(buffer);

    public override long Seek(long offset, SeekOrigin origin) => _inner.Seek(offset, origin);

    public override void SetLength(long value) => _inner.SetLength(value);

    public override void Flush() => _inner.Flush();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _inner.Dispose();
        }

        base.Dispose(disposing);
    }
}
