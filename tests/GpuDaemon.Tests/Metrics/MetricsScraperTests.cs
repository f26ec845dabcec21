using GpuDaemon.Metrics;
using GpuDaemon.Metrics.Exposition;
using GpuDaemon.Tests.TestSupport;
using Microsoft.Extensions.Logging;

namespace GpuDaemon.Tests.Metrics;

public sealed class MetricsScraperTests
{
    [Fact]
    public async Task Scrape_SlowCollector_SkippedCountedLoggedOnceOthersServed()
    {
        using var release = new ManualResetEventSlim();
        var slow = new BlockingCollector("slow", release);
        var logs = new RecordingLoggerFactory();
        var scraper = Scraper(logs, TimeSpan.FromSeconds(1), slow, new FixedCollector("fast", "fast_value", 1));

        var first = await scraper.ScrapeAsync(default);
        var second = await scraper.ScrapeAsync(default);

        Assert.Equal(
            "# HELP fast_value fast.\n" +
            "# TYPE fast_value gauge\n" +
            "fast_value 1\n" +
            "# HELP gpudaemon_scrape_errors_total Scrapes in which a collector was left out because it overran its time budget or failed\n" +
            "# TYPE gpudaemon_scrape_errors_total counter\n" +
            "gpudaemon_scrape_errors_total{collector=\"slow\"} 2\n" +
            "gpudaemon_scrape_errors_total{collector=\"fast\"} 0\n",
            second);
        Assert.Contains("gpudaemon_scrape_errors_total{collector=\"slow\"} 1\n", first, StringComparison.Ordinal);
        Assert.Equal(1, logs.Logger.Count(12001));
        Assert.Equal(1, slow.Calls); // the run still hanging is not started again: one thread at most

        release.Set();
        await slow.Finished.Task.WaitAsync(TimeSpan.FromSeconds(10));
        var recovered = await scraper.ScrapeAsync(default);
        Assert.Contains("slow_value 1\n", recovered, StringComparison.Ordinal);
        Assert.Equal(1, logs.Logger.Count(12002));
    }

    [Fact]
    public async Task Scrape_ThrowingCollector_LeftOutAndCounted()
    {
        var logs = new RecordingLoggerFactory();
        var scraper = Scraper(logs, TimeSpan.FromSeconds(10), new ThrowingCollector(), new FixedCollector("fast", "fast_value", 1));

        var scrape = await scraper.ScrapeAsync(default);

        Assert.Contains("gpudaemon_scrape_errors_total{collector=\"broken\"} 1\n", scrape, StringComparison.Ordinal);
        Assert.Contains("fast_value 1\n", scrape, StringComparison.Ordinal);
        Assert.Contains(logs.Logger.Entries, e => e.EventId.Id == 12001 && e.Message.Contains("InvalidOperationException: boom", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Scrape_InlineCollectors_RunOnTheScrapesThreadWorkersElsewhere()
    {
        var inline = new ThreadRecordingCollector("inline", runsInline: true);
        var worker = new ThreadRecordingCollector("worker", runsInline: false);
        var scraper = Scraper(new RecordingLoggerFactory(), TimeSpan.FromSeconds(10), worker, inline);
        var caller = Environment.CurrentManagedThreadId;

        var scraping = scraper.ScrapeBufferAsync(CancellationToken.None);
        var onCaller = inline.Thread;
        using var scrape = await scraping;

        Assert.Equal(caller, onCaller);
        Assert.NotEqual(caller, worker.Thread);
        Assert.Contains("inline_value 1\n", scrape.ToString(), StringComparison.Ordinal);
        Assert.Contains("worker_value 1\n", scrape.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Scrape_InlineCollectorThrows_LeftOutCountedOthersServed()
    {
        var logs = new RecordingLoggerFactory();
        var scraper = Scraper(logs, TimeSpan.FromSeconds(10), new ThrowingCollector(runsInline: true), new FixedCollector("fast", "fast_value", 1));

        var scrape = await scraper.ScrapeAsync(CancellationToken.None);

        Assert.Contains("gpudaemon_scrape_errors_total{collector=\"broken\"} 1\n", scrape, StringComparison.Ordinal);
        Assert.Contains("fast_value 1\n", scrape, StringComparison.Ordinal);
        Assert.Contains(logs.Logger.Entries, e => e.EventId.Id == 12001 && e.Message.Contains("InvalidOperationException: boom", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Scrape_SameSeriesFromTwoCollectors_WrittenOnceFamiliesSortedByName()
    {
        var scraper = Scraper(new RecordingLoggerFactory(), TimeSpan.FromSeconds(10),
            new FixedCollector("b", "zz_value", 1), new FixedCollector("a", "aa_value", 2), new FixedCollector("c", "zz_value", 3));

        var scrape = await scraper.ScrapeAsync(default);

        Assert.Equal(
            "# HELP aa_value a.\n# TYPE aa_value gauge\naa_value 2\n" +
            "# HELP gpudaemon_scrape_errors_total Scrapes in which a collector was left out because it overran its time budget or failed\n" +
            "# TYPE gpudaemon_scrape_errors_total counter\n" +
            "gpudaemon_scrape_errors_total{collector=\"b\"} 0\ngpudaemon_scrape_errors_total{collector=\"a\"} 0\ngpudaemon_scrape_errors_total{collector=\"c\"} 0\n" +
            "# HELP zz_value b.\n# TYPE zz_value gauge\nzz_value 1\n",
            scrape);
    }

    [Fact]
    public void Constructor_TwoCollectorsWithOneName_Throws() =>
        Assert.Throws<InvalidOperationException>(() => Scraper(new RecordingLoggerFactory(), TimeSpan.FromSeconds(1), new FixedCollector("x", "a", 1), new FixedCollector("x", "b", 1)));

    private static MetricsScraper Scraper(RecordingLoggerFactory logs, TimeSpan budget, params IMetricsCollector[] collectors) =>
        new(collectors, new TestOptionsMonitor<MetricsOptions>(new MetricsOptions { CollectorBudget = budget }), TimeProvider.System, logs.CreateLogger<MetricsScraper>());

    private sealed class FixedCollector(string name, string metric, double value) : IMetricsCollector
    {
        public string Name => name;

        public void Collect(MetricsBuilder metrics) => metrics.Gauge(metric, name + ".", value);
    }

    private sealed class ThrowingCollector(bool runsInline = false) : IMetricsCollector
    {
        public string Name => "broken";

        public bool RunsInline => runsInline;

        public void Collect(MetricsBuilder metrics) => throw new InvalidOperationException("boom");
    }

    private sealed class ThreadRecordingCollector(string name, bool runsInline) : IMetricsCollector
    {
        public string Name => name;

        public bool RunsInline => runsInline;

        public int Thread { get; private set; }

        public void Collect(MetricsBuilder metrics)
        {
            Thread = Environment.CurrentManagedThreadId;
            metrics.Gauge(name + "_value", name + ".", 1);
        }
    }

    /// <summary>A collector stuck in a library call until the test releases it.</summary>
    private sealed class BlockingCollector(string name, ManualResetEventSlim release) : IMetricsCollector
    {
        private int _calls;

        public string Name => name;

        public int Calls => Volatile.Read(ref _calls);

        public TaskCompletionSource Finished { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Collect(MetricsBuilder metrics)
        {
            Interlocked.Increment(ref _calls);
            release.Wait();
            metrics.Gauge(name + "_value", name + ".", 1, []);
            Finished.TrySetResult();
        }
    }
}
