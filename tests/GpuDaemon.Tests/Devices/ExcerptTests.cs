using GpuDaemon.Devices;
using GpuDaemon.Tests.TestSupport;

namespace GpuDaemon.Tests.Devices;

public sealed class ExcerptTests
{
    [Theory]
    [InlineData("plain value", "plain value")]
    [InlineData("a\nb\r\tc", "a\\nb\\r\\tc")]
    [InlineData("\u001b[31mred\u0000", "\\u001b[31mred\\u0000")]
    [InlineData("line\u2028sep\u2029para\u0085next", "line\\u2028sep\\u2029para\\u0085next")]
    [InlineData("rtl\u202eoverride\u200b", "rtl\\u202eoverride\\u200b")]
    [InlineData("GPU 😀 ok", "GPU 😀 ok")]
    public void Of_ControlAndInvisibleCharacters_Escaped(string raw, string expected)
    {
        Assert.Equal(expected, Excerpt.Of(raw));
    }

    [Fact]
    public void Of_LoneSurrogate_Escaped()
    {
        // Built here, not in [InlineData]: test discovery would not carry a lone surrogate through intact.
        var raw = "lone" + (char)0xd800 + "high" + (char)0xdc00;

        Assert.Equal("lone\\ud800high\\udc00", Excerpt.Of(raw));
    }

    [Fact]
    public void Of_LongValue_CutWithEllipsis()
    {
        var shown = Excerpt.Of(new string('x', 100_000));

        Assert.Equal(new string('x', Excerpt.MaxLength) + "…", shown);
    }

    [Fact]
    public void Of_ExactlyMaxLength_NotCut()
    {
        var raw = new string('x', Excerpt.MaxLength);

        Assert.Equal(raw, Excerpt.Of(raw));
    }

    [Fact]
    public void Of_SurrogatePairAtTheCut_KeptWhole()
    {
        var shown = Excerpt.Of(new string('x', 9) + "😀😀", maxLength: 10);

        Assert.Equal(new string('x', 9) + "😀…", shown);
    }

    [Fact]
    public void Of_BinaryGarbage_OneShortPrintableLine()
    {
        var raw = new StreamReader(new MemoryStream(HostileFiles.Binary(1024 * 1024))).ReadToEnd();

        var shown = Excerpt.Of(raw);

        HostileFiles.AssertOneShortLine(shown);
        Assert.True(shown.Length <= Excerpt.MaxLength + 8, shown);
    }
}
