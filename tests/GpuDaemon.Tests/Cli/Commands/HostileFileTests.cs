using System.Text;
using GpuDaemon.Cli;
using GpuDaemon.Devices.Simulated;
using GpuDaemon.KubeletEmulation;
using GpuDaemon.Tests.TestSupport;

namespace GpuDaemon.Tests.Cli.Commands;

/// <summary>
/// A binary, huge or broken config or simulation file given to the real command line: one short escaped line on
/// stderr and the documented exit code at start-up (1 for the simulation file, a run-time file like a device;
/// 2 for the config file, a usage error); one log line on a live reload, which keeps the last good scenario.
/// </summary>
public sealed class HostileFileTests : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    public static TheoryData<string, string> HostileSimulations => new()
    {
        { "devices", "binary" },
        { "devices", "token" },
        { "devices", "huge" },
        { "serve", "binary" },
        { "serve", "token" },
        { "serve", "huge" },
    };

    [Theory]
    [MemberData(nameof(HostileSimulations))]
    public async Task Command_HostileSimulationFile_OneShortLineAndExitOne(string command, string kind)
    {
        var path = Hostile(kind, "scenario.json");

        var result = await CliRunner.RunAsync(Args(command, "--simulation", path));

        Assert.Equal(ExitCodes.Failure, result.ExitCode);
        var line = Assert.Single(result.ErrorLines);
        Assert.StartsWith($"gpudaemon: simulation file {path} ", line, StringComparison.Ordinal);
        HostileFiles.AssertOneShortLine(line);
        Assert.Empty(Directory.GetFiles(_dir.Path, "*.sock"));
    }

    [Theory]
    [InlineData("devices", "binary")]
    [InlineData("devices", "huge")]
    [InlineData("serve", "binary")]
    [InlineData("serve", "huge")]
    public async Task Command_HostileConfigFile_OneShortLineAndExitTwo(string command, string kind)
    {
        var path = Hostile(kind, "gpudaemon.yaml");

        var result = await CliRunner.RunAsync(Args(command, "--config", path));

        Assert.Equal(ExitCodes.Usage, result.ExitCode);
        var line = Assert.Single(result.ErrorLines);
        Assert.StartsWith($"gpudaemon: config file {path}", line, StringComparison.Ordinal);
        HostileFiles.AssertOneShortLine(line);
    }

    [Fact]
    public async Task Serve_BinarySimulationFile_TheProcessWritesOneShortLineAndExitsOne()
    {
        var path = Hostile("binary", "scenario.json");

        var (exitCode, stderr) = await DaemonProcess.RunAsync(Wait, "serve", "--simulation", path, "--device-plugin-dir", _dir.Path);

        Assert.Equal(ExitCodes.Failure, exitCode);
        var line = Assert.Single(stderr);
        HostileFiles.AssertOneShortLine(line);
        Assert.StartsWith($"gpudaemon: simulation file {path} is not valid at ", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_SimulationFileTurnsBinary_RejectedInOneLogLineAndLastGoodScenarioKept()
    {
        var plugins = Directory.CreateDirectory(_dir.File("dp")).FullName;
        var path = _dir.File("scenario.json");
        var scenario = Gpus.Scenario(2);
        ScenarioReader.WriteFile(path, scenario);
        await using var kubelet = new KubeletEmulator(plugins, TimeProvider.System, TestLogging.Factory);
        await kubelet.StartAsync();
        using var serve = DaemonProcess.Start("serve", "--simulation", path, "--device-plugin-dir", plugins);
        var registered = await kubelet.WaitForAsync("nvidia.com/gpu", p => p.HealthyCount == 2, Wait);

        HostileFiles.Replace(path, HostileFiles.BinaryAfterLiteral());
        await serve.WaitForStderrAsync("Simulation change ignored", 1, Wait);

        // A later good edit (a fault) is applied: the bad content was seen by every check in between, logged once.
        scenario.Gpus[1].Healthy = false;
        ScenarioReader.WriteFile(path, scenario);
        await kubelet.WaitForAsync("nvidia.com/gpu", p => p.HealthyCount == 1, Wait);
        Assert.Same(registered, kubelet.Find("nvidia.com/gpu"));
        Assert.False(serve.HasExited);
        var rejected = Assert.Single(serve.Stderr, l => l.Contains("Simulation change ignored", StringComparison.Ordinal));
        HostileFiles.AssertOneShortLine(rejected[rejected.IndexOf("Simulation change ignored", StringComparison.Ordinal)..]);
        Assert.All(serve.Stderr, l => Assert.DoesNotContain(l, char.IsControl));

        serve.Signal("TERM");
        await serve.WaitForExitAsync(Wait);
        Assert.Equal(ExitCodes.Ok, serve.ExitCode);
    }

    private string[] Args(string command, string fileFlag, string path) => command == "serve"
        ? ["serve", fileFlag, path, "--device-plugin-dir", _dir.Path, "--log-level", "error"]
        : ["devices", fileFlag, path];

    private string Hostile(string kind, string name)
    {
        var path = _dir.File(name);
        switch (kind)
        {
            case "binary" when name.EndsWith(".json", StringComparison.Ordinal):
                File.WriteAllBytes(path, HostileFiles.BinaryAfterLiteral());
                break;
            case "binary":
                File.WriteAllBytes(path, HostileFiles.Binary(64 * 1024));
                break;
            case "token":
                File.WriteAllText(path, HostileFiles.LongInvalidToken(), Encoding.UTF8);
                break;
            default:
                HostileFiles.Sparse(path);
                break;
        }

        return path;
    }
}
