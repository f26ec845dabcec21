namespace GpuDaemon.GrpcWire.Internal;

/// <summary>
/// What a server holds right now: open connections, calls in progress, and request bytes buffered in
/// incomplete messages. Tests check that they return to idle after an attack; metrics can export them.
/// </summary>
internal sealed class GrpcServerCounters
{
    private long _openConnections;
    private long _rejectedConnections;
    private long _activeStreams;
    private long _bufferedRequestBytes;
    private long _peakBufferedRequestBytes;

    /// <summary>Connections admitted under the connection limit and not yet closed.</summary>
    public long OpenConnections => Interlocked.Read(ref _openConnections);

    /// <summary>Connections closed at once because the limit was reached, since the server started.</summary>
    public long RejectedConnections => Interlocked.Read(ref _rejectedConnections);

    /// <summary>Requests (HTTP/2 streams) being dispatched: from their HEADERS until their status is written.</summary>
    public long ActiveStreams => Interlocked.Read(ref _activeStreams);

    /// <summary>Request bytes held in incomplete messages, over all connections.</summary>
    public long BufferedRequestBytes => Interlocked.Read(ref _bufferedRequestBytes);

    /// <summary>The most <see cref="BufferedRequestBytes"/> has ever been.</summary>
    public long PeakBufferedRequestBytes => Interlocked.Read(ref _peakBufferedRequestBytes);

    /// <summary>Admits a connection if fewer than <paramref name="limit"/> are open; counts a rejection otherwise.</summary>
    internal bool TryOpenConnection(int limit)
    {
        if (TryAdd(ref _openConnections, 1, limit))
        {
            return true;
        }

        Interlocked.Increment(ref _rejectedConnections);
        return false;
    }

    internal void ConnectionClosed() => Interlocked.Decrement(ref _openConnections);

    internal void StreamStarted() => Interlocked.Increment(ref _activeStreams);

    internal void StreamEnded() => Interlocked.Decrement(ref _activeStreams);

    internal bool TryAddBufferedRequestBytes(long delta, long limit)
    {
        if (!TryAdd(ref _bufferedRequestBytes, delta, limit))
        {
            return false;
        }

        var now = BufferedRequestBytes;
        var peak = PeakBufferedRequestBytes;
        while (now > peak)
        {
            var seen = Interlocked.CompareExchange(ref _peakBufferedRequestBytes, now, peak);
            if (seen == peak)
            {
                break;
            }

            peak = seen;
        }

        return true;
    }

    /// <summary>Adds <paramref name="delta"/> unless the result would pass <paramref name="limit"/> (a decrease always succeeds).</summary>
    internal static bool TryAdd(ref long counter, long delta, long limit)
    {
        while (true)
        {
            var current = Interlocked.Read(ref counter);
            var next = current + delta;
            if (delta > 0 && next > limit)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref counter, next, current) == current)
            {
                return true;
            }
        }
    }
}

/// <summary>The request bytes one connection holds in incomplete messages, over all its streams.</summary>
internal sealed class ConnectionRequestBytes
{
    private long _bytes;

    public long Bytes => Interlocked.Read(ref _bytes);

    internal bool TryAdd(long delta, long limit) => GrpcServerCounters.TryAdd(ref _bytes, delta, limit);
}

/// <summary>
/// One call's share of the buffered-bytes budgets: <see cref="Hold"/> says how many bytes of an incomplete
/// message the call is holding while it waits for more, and fails the call when that would take its
/// connection or the server past its ceiling. The counters never pass the ceilings.
/// </summary>
internal sealed class RequestBytesLease(
    GrpcServerCounters counters,
    ConnectionRequestBytes connection,
    long maxPerConnection,
    long maxTotal)
{
    private long _held;

    /// <summary>Now holding <paramref name="bytes"/>; throws RESOURCE_EXHAUSTED (holding nothing) if over a ceiling.</summary>
    public void Hold(long bytes)
    {
        var delta = bytes - _held;
        if (delta == 0)
        {
            return;
        }

        if (!connection.TryAdd(delta, maxPerConnection))
        {
            Release();
            throw new RpcException(GrpcStatusCode.ResourceExhausted, $"this connection holds more than {maxPerConnection} bytes of incomplete requests; send each request whole");
        }

        if (!counters.TryAddBufferedRequestBytes(delta, maxTotal))
        {
            connection.TryAdd(-delta, maxPerConnection);
            Release();
            throw new RpcException(GrpcStatusCode.ResourceExhausted, $"the server holds more than {maxTotal} bytes of incomplete requests; try again later");
        }

        _held = bytes;
    }

    /// <summary>Holds nothing any more.</summary>
    public void Release() => Hold(0);
}

/// <summary>A read or write failed because the peer reset the stream or closed the connection.</summary>
internal sealed class CallAbortedException(Exception inner) : Exception("the client went away: " + inner.Message, inner);
