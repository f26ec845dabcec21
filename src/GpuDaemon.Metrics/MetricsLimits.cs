namespace GpuDaemon.Metrics;

/// <summary>
/// What a peer can make the metrics endpoint hold. Every pod on the node can reach this TCP port, so each is
/// bounded; the values and reasons are in docs/reliability.md.
/// </summary>
public sealed record MetricsLimits
{
    /// <summary>Prometheus (one or two replicas), the kubelet's probes and a person with curl need a handful.</summary>
    public const int DefaultMaxConnections = 32;

    /// <summary>Scrapes being answered at once; more are answered 503 at once instead of queueing.</summary>
    public const int DefaultMaxConcurrentScrapes = 4;

    /// <summary>A scrape's request is a line and a few headers, well under 1 KiB.</summary>
    public const int DefaultMaxRequestHeadersBytes = 8 * 1024;

    public const int DefaultMaxRequestHeaderCount = 32;

    public const int DefaultMaxRequestLineBytes = 2 * 1024;

    public static readonly TimeSpan DefaultRequestHeadersTimeout = TimeSpan.FromSeconds(10);

    /// <summary>An idle kept-alive connection is closed after this; Prometheus re-dials at its next scrape.</summary>
    public static readonly TimeSpan DefaultKeepAliveTimeout = TimeSpan.FromSeconds(30);

    /// <summary>A reader slower than this (after <see cref="MinResponseGrace"/>) is cut off; Kestrel's default, written down.</summary>
    public const double MinResponseBytesPerSecond = 240;

    public static readonly TimeSpan MinResponseGrace = TimeSpan.FromSeconds(5);

    public int MaxConnections { get; init; } = DefaultMaxConnections;

    public int MaxConcurrentScrapes { get; init; } = DefaultMaxConcurrentScrapes;

    public int MaxRequestHeadersBytes { get; init; } = DefaultMaxRequestHeadersBytes;

    public int MaxRequestHeaderCount { get; init; } = DefaultMaxRequestHeaderCount;

    public int MaxRequestLineBytes { get; init; } = DefaultMaxRequestLineBytes;

    public TimeSpan RequestHeadersTimeout { get; init; } = DefaultRequestHeadersTimeout;

    public TimeSpan KeepAliveTimeout { get; init; } = DefaultKeepAliveTimeout;
}
