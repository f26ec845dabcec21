using System.Buffers;
using System.Text;
using GpuDaemon.Metrics.Exposition;

namespace GpuDaemon.Tests.Metrics.Exposition;

public sealed class ScrapeBufferTests
{
    [Fact]
    public async Task Write_TextAcrossManySegments_CopiedOutWholeAndInOrder()
    {
        var expected = new StringBuilder();
        using var buffer = new ScrapeBuffer(ArrayPool<byte>.Create(ScrapeBuffer.SegmentBytes, 4));
        for (var i = 0; buffer.Length < 5L * ScrapeBuffer.SegmentBytes; i++)
        {
            // Pieces of uneven length (and multi-byte characters) so that segment ends fall inside them.
            var piece = $"line {i} é{new string('x', i % 97)}\n";
            expected.Append(piece);
            buffer.WriteUtf8(piece);
            var number = buffer.GetSpan(20);
            Assert.True(i.TryFormat(number, out var written));
            buffer.Advance(written);
            expected.Append(i);
        }

        using var copied = new MemoryStream();
        await buffer.CopyToAsync(copied, default);

        var text = expected.ToString();
        Assert.Equal(Encoding.UTF8.GetByteCount(text), buffer.Length);
        Assert.Equal(text, buffer.ToString());
        Assert.Equal(text, Encoding.UTF8.GetString(copied.ToArray()));
    }

    [Fact]
    public void Write_LongerThanASegment_SplitAcrossSegments()
    {
        var text = new string('a', ScrapeBuffer.SegmentBytes * 2 + 5);
        using var buffer = new ScrapeBuffer();

        buffer.WriteUtf8("<");
        buffer.WriteUtf8(text);
        buffer.Write(">"u8);

        Assert.Equal("<" + text + ">", buffer.ToString());
    }

    [Fact]
    public void GetSpan_MoreThanASegment_Throws()
    {
        using var buffer = new ScrapeBuffer();
        Assert.Throws<ArgumentOutOfRangeException>(() => buffer.GetSpan(ScrapeBuffer.SegmentBytes + 1));
    }

    [Fact]
    public void Advance_PastTheSpan_Throws()
    {
        using var buffer = new ScrapeBuffer();
        Assert.Throws<ArgumentOutOfRangeException>(() => buffer.Advance(ScrapeBuffer.SegmentBytes + 1));
    }

    [Fact]
    public void Dispose_SegmentsBackInThePool_ReusedByTheNextBuffer()
    {
        var pool = new CountingPool();
        using (var first = new ScrapeBuffer(pool))
        {
            first.Write(new byte[3 * ScrapeBuffer.SegmentBytes]);
        }

        Assert.Equal(pool.Rented, pool.Returned);
        Assert.Equal(3, pool.Rented);
        var written = new ScrapeBuffer(pool);
        written.Dispose();
        written.Dispose(); // twice returns nothing twice
        Assert.Equal(4, pool.Returned);
        Assert.Throws<ObjectDisposedException>(() => written.GetSpan());
    }

    private sealed class CountingPool : ArrayPool<byte>
    {
        private readonly ArrayPool<byte> _inner = Create(ScrapeBuffer.SegmentBytes, 8);

        public int Rented { get; private set; }

        public int Returned { get; private set; }

        public override byte[] Rent(int minimumLength)
        {
            Rented++;
            return _inner.Rent(minimumLength);
        }

        public override void Return(byte[] array, bool clearArray = false)
        {
            Returned++;
            _inner.Return(array, clearArray);
        }
    }
}
