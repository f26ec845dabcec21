using System.Diagnostics;
using GpuDaemon.Cli;
using GpuDaemon.Cli.Settings;
using GpuDaemon.Tests.TestSupport;

namespace GpuDaemon.Tests.Cli.Settings;

public sealed class ConfigFileReaderTests : IDisposable
{
    private static readonly string[] Known = ["simulate", "probe-interval", "ignored-xids"];
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Read_ScalarSettings_MappedToNamesWithOrigin()
    {
        var path = Write("simulate: 2\nprobeInterval: 250ms\nignoredXids: \"13,79\"\n");

        var values = ConfigFileReader.Read(path, Known);

        Assert.Equal("2", values["simulate"].Raw);
        Assert.Equal("250ms", values["probe-interval"].Raw);
        Assert.Equal("13,79", values["ignored-xids"].Raw);
        Assert.Equal($"config file {path} (probeInterval)", values["probe-interval"].Origin);
    }

    [Fact]
    public void Read_Json_Accepted()
    {
        var values = ConfigFileReader.Read(Write("{\"simulate\": 3, \"probeInterval\": \"1s\"}"), Known);

        Assert.Equal("3", values["simulate"].Raw);
        Assert.Equal("1s", values["probe-interval"].Raw);
    }

    [Theory]
    [InlineData("{}")]
    [InlineData("# every default\n{}\n")]
    [InlineData("---\n{}\n...\n")]
    public void Read_EmptyMapping_AllDefaults(string content)
    {
        Assert.Empty(ConfigFileReader.Read(Write(content), Known));
    }

    [Theory]
    [InlineData("")]
    [InlineData("   \n\n\t\n")]
    [InlineData("# only a comment\n# and another\n")]
    [InlineData("---\n")]
    [InlineData("~\n")]
    [InlineData("null\n")]
    [InlineData("--- # nothing here\n...\n")]
    public void Read_NoSettings_RefusedAsEmpty(string content)
    {
        var path = Write(content);

        var message = Refused(path);

        Assert.Equal($"config file {path} has no settings (empty or only comments); the last good settings stay in force — write {{}} to use every default", message);
    }

    [Theory]
    [InlineData("simulate: \"2\n", "is not valid YAML at line")]
    [InlineData("simulate: 2\n  bad indent: 3\n", "is not valid YAML at line")]
    [InlineData("simulat: 2\n", "line 1: unknown setting 'simulat'; known settings: ignoredXids, probeInterval, simulate")]
    [InlineData("- 2\n", "line 1: the file must be a mapping of settings")]
    [InlineData("just text\n", "line 1: the file must be a mapping of settings")]
    [InlineData("simulate:\n  count: 2\n", "line 2: 'simulate' must be a single value, not a list or mapping")]
    [InlineData("simulate: [1, 2]\n", "line 1: 'simulate' must be a single value, not a list or mapping")]
    [InlineData("[a, b]: 1\n", "line 1: a setting's name must be a single word, such as probeInterval, not a list or mapping")]
    [InlineData("? {a: 1}\n: 1\n", "line 1: a setting's name must be a single word")]
    [InlineData("simulate: 2\nprobeInterval: 1s\nsimulate: 3\n", "line 3: 'simulate' is set twice (lines 1 and 3); keep one")]
    [InlineData("simulate: &n 2\n", "line 1: anchors (&name) are not supported")]
    [InlineData("&all {simulate: 2}\n", "line 1: anchors (&name) are not supported")]
    [InlineData("simulate: 2\nprobeInterval: *n\n", "line 2: aliases (*name) are not supported")]
    [InlineData("*n : 2\n", "line 1: aliases (*name) are not supported")]
    [InlineData("simulate: 2\n---\nsimulate: 3\n", "line 2: a second YAML document")]
    [InlineData("{}\n---\n", "line 2: a second YAML document")]
    [InlineData("\"a\\nb\": 1\n", "unknown setting 'a\\nb'")]
    public void Read_Malformed_OneLineNamingFileAndLine(string content, string expected)
    {
        var path = Write(content);

        var message = Refused(path);

        Assert.StartsWith($"config file {path}", message, StringComparison.Ordinal);
        Assert.Contains(expected, message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("simulate: ", "")]
    [InlineData("a: ", "")]
    [InlineData("simulate: 2\n? ", "")]
    [InlineData("{", "")]
    [InlineData("", ": 1\n")]
    [InlineData("simulate: 2\n", ": 1\n")]
    public void Read_DeeplyNestedBrackets_RefusedQuicklyWithoutRecursing(string before, string after)
    {
        // 50,000 nested flow sequences overflowed the stack of a recursive YAML loader and killed the process.
        var path = Write(before + new string('[', 50_000) + after);
        var clock = Stopwatch.StartNew();

        var message = Refused(path);

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
        Assert.StartsWith($"config file {path}", message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_LargerThanLimit_RefusedWithoutParsing()
    {
        var path = _dir.File("big.yaml");
        using (var file = File.Create(path))
        {
            file.SetLength(ConfigFileReader.MaxFileBytes + 1);
        }

        var message = Refused(path);

        Assert.Equal($"config file {path} is larger than 1 MiB, the most GpuDaemon reads; check that the path names the config file", message);
    }

    [Fact]
    public void Read_EndlessDevice_RefusedAfterLimit()
    {
        Assert.Equal("config file /dev/zero is larger than 1 MiB, the most GpuDaemon reads; check that the path names the config file", Refused("/dev/zero"));
    }

    [Fact]
    public void Read_ExactlyAtLimit_Read()
    {
        var line = "simulate: 2\n";
        var path = Write(line + new string('#', ConfigFileReader.MaxFileBytes - line.Length - 1) + "\n");

        Assert.Equal("2", ConfigFileReader.Read(path, Known)["simulate"].Raw);
    }

    [Fact]
    public void Read_MissingFile_OneLineNamingPath()
    {
        var path = _dir.File("absent.yaml");

        var message = Refused(path);

        Assert.StartsWith($"cannot read config file {path}: ", message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_Directory_OneLineNamingPath()
    {
        var message = Refused(_dir.Path);

        Assert.StartsWith($"cannot read config file {_dir.Path}: ", message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_Sparse100MBFile_OneLineRefusalWithoutReadingIt()
    {
        var path = HostileFiles.Sparse(_dir.File("huge.yaml"));
        var message = string.Empty;

        var allocated = HostileFiles.AllocatedBy(() => message = Refused(path));

        Assert.Equal($"config file {path} is larger than 1 MiB, the most GpuDaemon reads; check that the path names the config file", message);
        Assert.True(allocated < ConfigFileReader.MaxFileBytes, $"allocated {allocated} bytes");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Read_BinaryFile_OneShortEscapedLineNamingFileAndLine(int seed)
    {
        var path = _dir.File("gpudaemon.yaml");
        File.WriteAllBytes(path, HostileFiles.Binary(64 * 1024, seed));

        var message = Refused(path);

        HostileFiles.AssertOneShortLine(message);
        Assert.StartsWith($"config file {path}", message, StringComparison.Ordinal);
        Assert.Contains("line ", message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_LongValueWithControlCharacters_OneShortEscapedLine()
    {
        var path = Write("simulate: \"" + new string('9', 100_000) + "\\u001b\\n\\u0000" + "\"\n");

        var message = Assert.Throws<UsageException>(() => new DaemonSettings(ConfigFileReader.Read(path, Known)).GetInt("simulate", 0, 64)).Message;

        HostileFiles.AssertOneShortLine(message);
        Assert.StartsWith($"config file {path} (simulate): '999", message, StringComparison.Ordinal);
    }

    private static string Refused(string path)
    {
        var ex = Assert.Throws<UsageException>(() => ConfigFileReader.Read(path, Known));
        Assert.DoesNotContain('\n', ex.Message);
        Assert.DoesNotContain('\r', ex.Message);
        return ex.Message;
    }

    private string Write(string content)
    {
        var path = _dir.File("gpudaemon.yaml");
        File.WriteAllText(path, content);
        return path;
    }
}
