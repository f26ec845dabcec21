using GpuDaemon.Metrics;
using GpuDaemon.Metrics.Exposition;

namespace GpuDaemon.Tests.Metrics;

public sealed class TextExpositionTests
{
    [Theory]
    [InlineData(0d, "0")]
    [InlineData(42d, "42")]
    [InlineData(-7d, "-7")]
    [InlineData(81559d, "81559")]
    [InlineData(1e15, "1000000000000000")]
    [InlineData(0.25, "0.25")]
    [InlineData(0.1, "0.1")]
    [InlineData(1e300, "1E+300")]
    [InlineData(double.PositiveInfinity, "+Inf")]
    [InlineData(double.NegativeInfinity, "-Inf")]
    [InlineData(double.NaN, "NaN")]
    public void FormatValue_Number_WrittenConventionally(double value, string expected) =>
        Assert.Equal(expected, TextExposition.FormatValue(value));

    [Fact]
    public void Write_GaugeAndCounter_HelpTypeAndSamples()
    {
        var metrics = new MetricsBuilder();
        metrics.Gauge("a_gauge", "A gauge.", 1.5, new Label("gpu", "0"), new Label("UUID", "GPU-1"));
        metrics.Gauge("a_gauge", "A gauge.", 2, new Label("gpu", "1"), new Label("UUID", "GPU-2"));
        metrics.Counter("b_total", "A counter.", 7);

        Assert.Equal(
            "# HELP a_gauge A gauge.\n" +
            "# TYPE a_gauge gauge\n" +
            "a_gauge{gpu=\"0\",UUID=\"GPU-1\"} 1.5\n" +
            "a_gauge{gpu=\"1\",UUID=\"GPU-2\"} 2\n" +
            "# HELP b_total A counter.\n" +
            "# TYPE b_total counter\n" +
            "b_total 7\n",
            TextExposition.Write(metrics.Families));
    }

    [Fact]
    public void Write_LabelValueWithBackslashQuoteNewline_Escaped()
    {
        var metrics = new MetricsBuilder();
        metrics.Gauge("info", "Help with \\ and\nnewline and \"quotes\".", 1, new Label("reason", "a\\b \"c\"\nd"));

        Assert.Equal(
            "# HELP info Help with \\\\ and\\nnewline and \"quotes\".\n" +
            "# TYPE info gauge\n" +
            "info{reason=\"a\\\\b \\\"c\\\"\\nd\"} 1\n",
            TextExposition.Write(metrics.Families));
    }

    [Fact]
    public void Write_Histogram_BucketsSumCountWithLe()
    {
        var metrics = new MetricsBuilder();
        metrics.Histogram("d_seconds", "Durations.", [0.001, 0.5, double.PositiveInfinity], [1, 3, 4], 2.0015, new Label("resource", "r"));

        Assert.Equal(
            "# HELP d_seconds Durations.\n" +
            "# TYPE d_seconds histogram\n" +
            "d_seconds_bucket{resource=\"r\",le=\"0.001\"} 1\n" +
            "d_seconds_bucket{resource=\"r\",le=\"0.5\"} 3\n" +
            "d_seconds_bucket{resource=\"r\",le=\"+Inf\"} 4\n" +
            "d_seconds_sum{resource=\"r\"} 2.0015\n" +
            "d_seconds_count{resource=\"r\"} 4\n",
            TextExposition.Write(metrics.Families));
    }

    [Fact]
    public void Histogram_WithoutInfBucket_Throws()
    {
        var metrics = new MetricsBuilder();
        Assert.Throws<ArgumentException>(() => metrics.Histogram("h", "h", [1, 2], [1, 2], 3));
    }

    [Fact]
    public void Add_SameNameAsOtherType_Throws()
    {
        var metrics = new MetricsBuilder();
        metrics.Gauge("x", "x", 1);
        Assert.Throws<InvalidOperationException>(() => metrics.Counter("x", "x", 1));
    }
}
