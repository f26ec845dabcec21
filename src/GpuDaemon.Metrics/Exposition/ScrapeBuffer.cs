using System.Buffers;
using System.Text;

namespace GpuDaemon.Metrics.Exposition;

/// <summary>
/// A scrape's UTF-8 text in pooled segments of <see cref="SegmentBytes"/>: the exposition is written straight into
/// it, then copied out to the response (through gzip when asked), with no string, no UTF-16 copy and nothing on the
/// large-object heap. Segments come from one pool shared by all scrapes, which keeps at most
/// <see cref="MaxPooledSegments"/> idle segments (1 MiB) between scrapes; more are left to the GC. Dispose returns them.
/// </summary>
internal sealed class ScrapeBuffer : IBufferWriter<byte>, IDisposable
{
    /// <summary>Below the large-object heap's 85,000 bytes; a 64-device scrape with pods fills about 25.</summary>
    public const int SegmentBytes = 16 * 1024;

    /// <summary>Enough for the largest scrape of each concurrent scrape to reuse segments instead of allocating.</summary>
    public const int MaxPooledSegments = 64;

    /// <summary>The pool every scrape's segments come from.</summary>
    public static readonly ArrayPool<byte> SharedSegments = ArrayPool<byte>.Create(SegmentBytes, MaxPooledSegments);

    private readonly ArrayPool<byte> _pool;
    private readonly List<(byte[] Array, int Length)> _done = [];
    private byte[]? _current;
    private int _position;
    private long _doneBytes;

    public ScrapeBuffer()
        : this(SharedSegments)
    {
    }

    /// <summary>Segments from another pool of <see cref="SegmentBytes"/> arrays (a test's own, so that other tests cannot drain it).</summary>
    public ScrapeBuffer(ArrayPool<byte> pool)
    {
        _pool = pool;
        _current = pool.Rent(SegmentBytes);
    }

    /// <summary>Bytes written so far.</summary>
    public long Length => _doneBytes + _position;

    public void Advance(int count)
    {
        var current = Current;
        if (count < 0 || _position + count > current.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(count));
        }

        _position += count;
    }

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        var position = Reserve(sizeHint); // may move on to a new segment: read Current after it
        return Current.AsMemory(position);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        var position = Reserve(sizeHint);
        return Current.AsSpan(position);
    }

    /// <summary>Appends bytes of any length, across segments.</summary>
    public void Write(ReadOnlySpan<byte> bytes)
    {
        while (bytes.Length > 0)
        {
            var span = GetSpan();
            var take = Math.Min(span.Length, bytes.Length);
            bytes[..take].CopyTo(span);
            _position += take;
            bytes = bytes[take..];
        }
    }

    /// <summary>Appends text as UTF-8: short text straight into the segment, long text (rare) through a copy.</summary>
    public void WriteUtf8(ReadOnlySpan<char> text)
    {
        if (text.Length <= SegmentBytes / 3)
        {
            var span = GetSpan(text.Length * 3);
            _position += Encoding.UTF8.GetBytes(text, span);
            return;
        }

        Write(Encoding.UTF8.GetBytes(text.ToArray()));
    }

    public async Task CopyToAsync(Stream output, CancellationToken cancellationToken)
    {
        foreach (var (array, length) in _done)
        {
            await output.WriteAsync(array.AsMemory(0, length), cancellationToken);
        }

        await output.WriteAsync(Current.AsMemory(0, _position), cancellationToken);
    }

    /// <summary>The text as a string: for tests and callers that want one, not for the response path.</summary>
    public override string ToString()
    {
        var bytes = new byte[Length];
        var offset = 0;
        foreach (var (array, length) in _done)
        {
            array.AsSpan(0, length).CopyTo(bytes.AsSpan(offset));
            offset += length;
        }

        Current.AsSpan(0, _position).CopyTo(bytes.AsSpan(offset));
        return Encoding.UTF8.GetString(bytes);
    }

    public void Dispose()
    {
        foreach (var (array, _) in _done)
        {
            _pool.Return(array);
        }

        _done.Clear();
        if (_current is not null)
        {
            _pool.Return(_current);
            _current = null;
        }

        _position = 0;
        _doneBytes = 0;
    }

    private byte[] Current => _current ?? throw new ObjectDisposedException(nameof(ScrapeBuffer));

    private int Reserve(int sizeHint)
    {
        sizeHint = Math.Max(sizeHint, 1);
        if (sizeHint > SegmentBytes)
        {
            throw new ArgumentOutOfRangeException(nameof(sizeHint), $"at most {SegmentBytes} bytes at a time; use Write for more");
        }

        if (Current.Length - _position < sizeHint)
        {
            _done.Add((Current, _position));
            _doneBytes += _position;
            _current = _pool.Rent(SegmentBytes);
            _position = 0;
        }

        return _position;
    }
}
