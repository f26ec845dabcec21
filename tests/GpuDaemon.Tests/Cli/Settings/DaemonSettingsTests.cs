using GpuDaemon.Cli;
using GpuDaemon.Cli.Settings;

namespace GpuDaemon.Tests.Cli.Settings;

public sealed class DaemonSettingsTests
{
    private const string Origin = "config file /etc/gpudaemon.yaml (x)";

    [Theory]
    [InlineData("500ms", 500)]
    [InlineData("30s", 30_000)]
    [InlineData("5m", 300_000)]
    [InlineData("1h", 3_600_000)]
    [InlineData("2.5", 2_500)]
    [InlineData(" 7s ", 7_000)]
    [InlineData("0", 0)]
    [InlineData("168h", 604_800_000)]
    public void GetDuration_ValidValue_Parsed(string raw, long milliseconds)
    {
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), With(raw).GetDuration("x", TimeSpan.FromSeconds(9)));
    }

    [Fact]
    public void GetDuration_Absent_Fallback()
    {
        Assert.Equal(TimeSpan.FromSeconds(9), DaemonSettings.Empty.GetDuration("x", TimeSpan.FromSeconds(9)));
        Assert.Equal(TimeSpan.FromSeconds(9), DaemonSettings.Empty.GetDuration("x", TimeSpan.FromSeconds(9), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(10)));
    }

    [Theory]
    [InlineData("1e300s")]
    [InlineData("99999999999h")]
    [InlineData("1e308h")]
    [InlineData("169h")]
    [InlineData("-5s")]
    [InlineData("-1e300ms")]
    public void GetDuration_OutOfDefaultRange_OneLineWithBounds(string raw)
    {
        var ex = Assert.Throws<UsageException>(() => With(raw).GetDuration("x", TimeSpan.FromSeconds(9)));

        Assert.Equal($"{Origin}: '{raw}' must be between 0s and 168h", ex.Message);
    }

    [Theory]
    [InlineData("NaN")]
    [InlineData("NaNs")]
    [InlineData("Infinitys")]
    [InlineData("-Infinity")]
    [InlineData("∞")]
    [InlineData("soon")]
    [InlineData("")]
    [InlineData("5d")]
    public void GetDuration_NotADuration_OneLine(string raw)
    {
        var ex = Assert.Throws<UsageException>(() => With(raw).GetDuration("x", TimeSpan.FromSeconds(9)));

        Assert.Equal($"{Origin}: '{raw}' is not a duration such as 500ms, 30s or 5m", ex.Message);
    }

    [Theory]
    [InlineData("100ms", true)]
    [InlineData("1h", true)]
    [InlineData("99ms", false)]
    [InlineData("0.0999s", false)]
    [InlineData("61m", false)]
    [InlineData("1e300s", false)]
    public void GetDuration_Bounds_InclusiveAndNamedInError(string raw, bool accepted)
    {
        var settings = With(raw);
        TimeSpan Get() => settings.GetDuration("x", TimeSpan.FromSeconds(5), TimeSpan.FromMilliseconds(100), TimeSpan.FromHours(1));

        if (accepted)
        {
            Assert.InRange(Get(), TimeSpan.FromMilliseconds(100), TimeSpan.FromHours(1));
        }
        else
        {
            var ex = Assert.Throws<UsageException>(() => Get());
            Assert.Equal($"{Origin}: '{raw}' must be between 100ms and 1h", ex.Message);
        }
    }

    [Fact]
    public void GetDuration_MaxValueBound_LargeValueDoesNotOverflow()
    {
        var ex = Assert.Throws<UsageException>(() => With("1e300h").GetDuration("x", TimeSpan.Zero, TimeSpan.Zero, TimeSpan.MaxValue));

        Assert.StartsWith($"{Origin}: '1e300h' must be between 0s and ", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void GetDuration_InvertedBounds_ProgrammingError()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => With("1s").GetDuration("x", TimeSpan.Zero, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => With("1s").GetDuration("x", TimeSpan.Zero, TimeSpan.FromSeconds(-1), TimeSpan.FromSeconds(1)));
    }

    [Theory]
    [InlineData(0, "0s")]
    [InlineData(100, "100ms")]
    [InlineData(1_500, "1500ms")]
    [InlineData(90_000, "90s")]
    [InlineData(300_000, "5m")]
    [InlineData(604_800_000, "168h")]
    public void DurationsFormat_Value_ShortestExactUnit(long milliseconds, string expected)
    {
        Assert.Equal(expected, GpuDaemon.Devices.Durations.Format(TimeSpan.FromMilliseconds(milliseconds)));
    }

    [Theory]
    [InlineData("99999999999")]
    [InlineData("-99999999999")]
    [InlineData("1e3")]
    [InlineData("65")]
    [InlineData("")]
    public void GetInt_OutOfRangeOrNotANumber_OneLine(string raw)
    {
        var ex = Assert.Throws<UsageException>(() => With(raw).GetInt("x", 0, 64));

        Assert.Equal($"{Origin}: '{raw}' is not a whole number from 0 to 64", ex.Message);
    }

    [Fact]
    public void GetIntList_NumberBeyondInt_OneLine()
    {
        var ex = Assert.Throws<UsageException>(() => With("13, 99999999999").GetIntList("x"));

        Assert.Equal($"{Origin}: '99999999999' in '13, 99999999999' is not a whole number; give a list like 13,31,43", ex.Message);
    }

    [Fact]
    public void GetIntList_Numbers_Parsed()
    {
        Assert.Equal([13, 79], With(" 13 ,79,").GetIntList("x"));
    }

    [Fact]
    public void Getters_ValueWithNewlinesAndHugeLength_ErrorStaysOneShortLine()
    {
        var raw = "yes\nplease" + new string('x', 100_000);

        var messages = new[]
        {
            Assert.Throws<UsageException>(() => With(raw).GetBool("x", fallback: false)).Message,
            Assert.Throws<UsageException>(() => With(raw).GetInt("x", 0, 1)).Message,
            Assert.Throws<UsageException>(() => With(raw).GetIntList("x")).Message,
            Assert.Throws<UsageException>(() => With(raw).GetDuration("x", TimeSpan.Zero)).Message,
            Assert.Throws<UsageException>(() => With(raw).GetChoice("x", "a", "a", "b")).Message,
        };

        Assert.All(messages, m =>
        {
            Assert.DoesNotContain('\n', m);
            Assert.Contains("'yes\\nplease", m, StringComparison.Ordinal);
            Assert.True(m.Length < 400, m);
        });
    }

    private static DaemonSettings With(string raw) =>
        new(new Dictionary<string, SettingValue> { ["x"] = new SettingValue(raw, Origin) });
}
