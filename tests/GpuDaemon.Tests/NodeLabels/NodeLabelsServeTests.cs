using GpuDaemon.Cli.Hosting;
using GpuDaemon.Cli.Settings;
using GpuDaemon.NodeLabels;
using GpuDaemon.Tests.TestSupport;

namespace GpuDaemon.Tests.NodeLabels;

public sealed class NodeLabelsServeTests
{
    [Fact]
    public async Task Serve_Simulate2_WritesTheLabelFile()
    {
        using var labels = new TempDirectory();
        await using var serve = await ServeProcess.StartAsync(2, null, "--node-labels-dir", labels.Path);
        var path = labels.File(NodeLabelsOptions.FileName);

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        while (!File.Exists(path))
        {
            await Task.Delay(20, timeout.Token); // a separate serve, seen only through the file system
        }

        var lines = await File.ReadAllLinesAsync(path, timeout.Token);
        Assert.Contains("nvidia.com/gpu.present=true", lines);
        Assert.Contains("nvidia.com/gpu.count=2", lines);
        Assert.Contains("nvidia.com/gpu.family=hopper", lines);
        Assert.Equal(0, await serve.StopAsync());
        Assert.True(File.Exists(path)); // kept on a clean shutdown
    }

    [Fact]
    public void Bind_Defaults_NfdFolderAndEmptyTurnsItOff()
    {
        Assert.Equal(NodeLabelsOptions.DefaultDirectory, ServeSettings.Bind(DaemonSettings.Empty).NodeLabels.Directory);
        var off = ServeSettings.Bind(new DaemonSettings(new Dictionary<string, SettingValue> { ["node-labels-dir"] = new(" ", "--node-labels-dir") })).NodeLabels;
        Assert.False(off.Enabled);
    }

    [Fact]
    public async Task Help_Serve_ListsTheFlagWithItsDefault()
    {
        var result = await CliRunner.RunAsync("serve", "--help");

        Assert.Contains("--node-labels-dir", result.Output, StringComparison.Ordinal);
        Assert.Contains(NodeLabelsOptions.DefaultDirectory, result.Output, StringComparison.Ordinal);
    }
}
