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
        var path = labels.File(NodeLabelsOptions.FileName);
        // Serve renames its dot-file over the label file: watch for that name before serve starts, so no write is missed.
        var written = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var watcher = new FileSystemWatcher(labels.Path) { NotifyFilter = NotifyFilters.FileName };
        watcher.Renamed += (_, e) => SetWhenLabelFile(e.Name);
        watcher.Created += (_, e) => SetWhenLabelFile(e.Name);
        watcher.EnableRaisingEvents = true;

        await using var serve = await ServeProcess.StartAsync(2, null, "--node-labels-dir", labels.Path);
        if (File.Exists(path))
        {
            written.TrySetResult();
        }

        await written.Task.WaitAsync(TimeSpan.FromSeconds(20));
        var lines = await File.ReadAllLinesAsync(path);
        Assert.Contains("nvidia.com/gpu.present=true", lines);
        Assert.Contains("nvidia.com/gpu.count=2", lines);
        Assert.Contains("nvidia.com/gpu.family=hopper", lines);
        Assert.Equal(0, await serve.StopAsync());
        Assert.True(File.Exists(path)); // kept on a clean shutdown

        void SetWhenLabelFile(string? name)
        {
            if (name == NodeLabelsOptions.FileName)
            {
                written.TrySetResult();
            }
        }
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
