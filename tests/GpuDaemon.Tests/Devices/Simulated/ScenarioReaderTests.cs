using GpuDaemon.Devices;
using GpuDaemon.Devices.Simulated;
using GpuDaemon.Tests.TestSupport;

namespace GpuDaemon.Tests.Devices.Simulated;

public sealed class ScenarioReaderTests
{
    [Fact]
    public void Parse_DocumentedExample_ReadsEveryField()
    {
        var scenario = ScenarioReader.Parse(File.ReadAllText(RepoFiles.Path("deploy/simulation-example.json")), "example");

        Assert.True(scenario.Driver.Loaded);
        Assert.NotEmpty(scenario.Driver.Version);
        Assert.NotEmpty(scenario.Driver.CudaVersion);
        Assert.True(scenario.Gpus.Count >= 2);
        Assert.Contains(scenario.Gpus, g => g.NvlinkPeers.Count > 0);
        Assert.Contains(scenario.Gpus, g => g.Mig is { Enabled: true, Instances.Count: > 0 });
    }

    [Fact]
    public void Parse_CommentsAndTrailingCommas_Accepted()
    {
        var scenario = ScenarioReader.Parse("""
            {
              // one GPU
              "gpus": [ { "uuid": "GPU-a", "memoryMiB": 1024, }, ],
            }
            """, "test");

        Assert.Equal("GPU-a", scenario.Gpus.Single().Uuid);
    }

    [Fact]
    public void Parse_MisspelledField_ErrorNamesPathAndLine()
    {
        var ex = Assert.Throws<DeviceBackendException>(() => ScenarioReader.Parse("""
            {"gpus": [
              {"uuid": "GPU-a", "helthy": false}
            ]}
            """, "/etc/sim.json"));

        Assert.Contains("/etc/sim.json", ex.Message, StringComparison.Ordinal);
        Assert.Contains("$.gpus[0].helthy", ex.Message, StringComparison.Ordinal);
        Assert.Contains("line 2", ex.Message, StringComparison.Ordinal);
        Assert.Contains("unknown field", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_WrongValueType_ErrorNamesPath()
    {
        var ex = Assert.Throws<DeviceBackendException>(() => ScenarioReader.Parse("""{"gpus": [{"uuid": "GPU-a", "memoryMiB": "lots"}]}""", "f"));

        Assert.Contains("$.gpus[0].memoryMiB", ex.Message, StringComparison.Ordinal);
        Assert.Contains("wrong type", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"gpus": [{"uuid": ""}]}""", "has no \"uuid\"")]
    [InlineData("""{"gpus": [{"uuid": "GPU-a"}, {"uuid": "GPU-a"}]}""", "gpus[1] repeats uuid")]
    [InlineData("""{"gpus": [{"uuid": "GPU-a", "memoryMiB": 0}]}""", "memoryMiB 0")]
    [InlineData("""{"gpus": [{"uuid": "GPU-a", "utilizationPercent": 101}]}""", "utilizationPercent 101")]
    [InlineData("""{"gpus": [{"uuid": "GPU-a", "memoryMiB": 10, "memoryUsedMiB": 11}]}""", "memoryUsedMiB 11")]
    [InlineData("""{"gpus": [{"uuid": "GPU-a", "memoryMiB": 10, "memoryUsedMiB": 4, "memoryReservedMiB": 7}]}""", "memoryReservedMiB 7; it must be 0-6")]
    [InlineData("""{"gpus": [{"uuid": "GPU-a", "memoryReservedMiB": -1}]}""", "memoryReservedMiB -1")]
    [InlineData("""{"gpus": [{"uuid": "GPU-a", "nvlinkPeers": ["GPU-b"]}]}""", "nvlinkPeer \"GPU-b\"")]
    [InlineData("""{"gpus": [{"uuid": "GPU-a", "mig": {"enabled": false, "instances": [{"profile": "1g.10gb", "memoryMiB": 9856}]}}]}""", "mig.enabled false")]
    [InlineData("""{"gpus": [{"uuid": "GPU-a", "numaNode": -1}]}""", "numaNode -1")]
    public void Parse_InvalidGpu_ErrorSaysWhichGpuAndWhy(string json, string expected)
    {
        var ex = Assert.Throws<DeviceBackendException>(() => ScenarioReader.Parse(json, "f"));

        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_NotJson_ClearError()
    {
        var ex = Assert.Throws<DeviceBackendException>(() => ScenarioReader.Parse("gpus: 4", "f"));

        Assert.StartsWith("simulation file f is not valid", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_BinaryContent_OneShortEscapedLineWithPosition()
    {
        var text = Decode(HostileFiles.BinaryAfterLiteral());

        var ex = Assert.Throws<DeviceBackendException>(() => ScenarioReader.Parse(text, "/etc/sim.json"));

        HostileFiles.AssertOneShortLine(ex.Message);
        Assert.StartsWith("simulation file /etc/sim.json is not valid at $.gpus[0].lost (line 1, position ", ex.Message, StringComparison.Ordinal);
        Assert.Contains("'nul", ex.Message, StringComparison.Ordinal);
        Assert.Contains("…' is an invalid JSON literal", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_LongInvalidTokenWithControlCharacters_OneShortEscapedLine()
    {
        var ex = Assert.Throws<DeviceBackendException>(() => ScenarioReader.Parse(HostileFiles.LongInvalidToken(), "/etc/sim.json"));

        HostileFiles.AssertOneShortLine(ex.Message);
        Assert.Contains("$.gpus[0].healthy (line 1, position ", ex.Message, StringComparison.Ordinal);
        Assert.Contains("'trrr", ex.Message, StringComparison.Ordinal);
        Assert.EndsWith("See docs/simulation.md for the format.", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_RandomBytes_OneShortEscapedLine()
    {
        for (var seed = 0; seed < 50; seed++)
        {
            var ex = Assert.Throws<DeviceBackendException>(() => ScenarioReader.Parse(Decode(HostileFiles.Binary(4096, seed)), "f"));

            HostileFiles.AssertOneShortLine(ex.Message);
        }
    }

    [Theory]
    [InlineData("""{"gpus": [{"uuid": "GPU-a", "X": 1}]}""")]
    [InlineData("""{"gpus": [{"uuid": "X"}, {"uuid": "X"}]}""")]
    [InlineData("""{"gpus": [{"uuid": "GPU-a", "nvlinkPeers": ["X"]}]}""")]
    public void Parse_HugeNameOrUuidFromTheFile_QuotedAsShortEscapedExcerpt(string template)
    {
        var json = template.Replace("X", new string('q', 100_000) + "\\n\\u001b", StringComparison.Ordinal);

        var ex = Assert.Throws<DeviceBackendException>(() => ScenarioReader.Parse(json, "f"));

        HostileFiles.AssertOneShortLine(ex.Message);
        Assert.Contains("qqq…", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Serialize_DefaultScenario_ParsesBackEqual()
    {
        var json = ScenarioReader.Serialize(DefaultScenario.Create(4));

        Assert.Equal(json, ScenarioReader.Serialize(ScenarioReader.Parse(json, "roundtrip")));
    }

    private static string Decode(byte[] bytes) => new StreamReader(new MemoryStream(bytes)).ReadToEnd();
}
