using GpuDaemon.DevicePlugin;
using GpuDaemon.NodeLabels;
using GpuDaemon.Tests.TestSupport;
using GpuDaemon.Validation;
using GpuDaemon.Validation.Gate;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace GpuDaemon.Tests.NodeLabels;

public sealed class NodeLabelWriterTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Start_Folder_WritesTheFileAtomicallyWithoutLeftovers()
    {
        await using var node = await Node.StartAsync();

        var text = await node.WaitForFileAsync(t => t.Contains("nvidia.com/gpu.count=2\n", StringComparison.Ordinal));

        Assert.Contains("nvidia.com/gpu.product=NVIDIA-H100-80GB-HBM3\n", text, StringComparison.Ordinal);
        Assert.Equal([NodeLabelsOptions.FileName], Directory.GetFiles(node.Labels.Path).Select(Path.GetFileName));
    }

    [Fact]
    public async Task Start_LeftoverDotFileFromACrash_Removed()
    {
        using var labels = new TempDirectory();
        await File.WriteAllTextAsync(labels.File(NodeLabelsOptions.TemporaryFileName), "nvidia.com/gpu.cou");
        await using var node = await Node.StartAsync(labels);

        await node.WaitForFileAsync(t => t.Length > 0);

        Assert.False(File.Exists(labels.File(NodeLabelsOptions.TemporaryFileName)));
        Assert.Equal(1, node.Log.Count(14007));
    }

    [Fact]
    public async Task Change_SameContent_FileNotRewritten()
    {
        await using var node = await Node.StartAsync();
        await node.WaitForFileAsync(t => t.Length > 0);
        var written = File.GetLastWriteTimeUtc(node.FilePath);
        File.SetLastWriteTimeUtc(node.FilePath, written.AddHours(-1));

        await node.NextAttemptAsync(() => node.Plugin.Set(node.Plugin.CurrentValue with { ReplicaPolicy = ReplicaPolicy.Pack }));

        Assert.Equal(written.AddHours(-1), File.GetLastWriteTimeUtc(node.FilePath));
        Assert.Equal(1, node.Log.Count(14003));
    }

    [Fact]
    public async Task Start_FileAlreadyCurrentFromALastRun_NotRewritten()
    {
        using var labels = new TempDirectory();
        await using (var first = await Node.StartAsync(labels))
        {
            await first.WaitForFileAsync(t => t.Length > 0);
        }

        await using var second = await Node.StartAsync(labels);
        await second.FirstAttemptAsync();

        Assert.Equal(0, second.Log.Count(14003));
        Assert.True(File.Exists(second.FilePath)); // left in place on shutdown
    }

    [Fact]
    public async Task Reload_SharingOn_FileRewritten()
    {
        await using var node = await Node.StartAsync();
        await node.WaitForFileAsync(t => t.Length > 0);

        node.Plugin.Set(node.Plugin.CurrentValue with { Replicas = 4 });

        var text = await node.WaitForFileAsync(t => t.Contains("nvidia.com/gpu.replicas=4\n", StringComparison.Ordinal));
        Assert.Contains("nvidia.com/gpu.product=NVIDIA-H100-80GB-HBM3-SHARED\n", text, StringComparison.Ordinal);
        Assert.Contains("nvidia.com/gpu.sharing-strategy=time-slicing\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InventoryChange_GpuAdded_FileRewritten()
    {
        await using var node = await Node.StartAsync();
        await node.WaitForFileAsync(t => t.Contains("nvidia.com/gpu.count=2\n", StringComparison.Ordinal));

        node.Scenario.Edit(s => s.Gpus.Add(Gpus.Scenario(3).Gpus[2]));

        await node.WaitForFileAsync(t => t.Contains("nvidia.com/gpu.count=3\n", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ValidationPassed_StatusFilesAppear_ValidatedLabelAdded()
    {
        await using var node = await Node.StartAsync();
        var before = await node.WaitForFileAsync(t => t.Length > 0);
        Assert.DoesNotContain("gpudaemon.io/validated", before, StringComparison.Ordinal);

        foreach (var name in StatusFiles.Names)
        {
            await File.WriteAllTextAsync(Path.Combine(node.Validation.Path, name), $"{StatusFiles.DriverVersionKey}=550.127.05\n");
        }

        node.Gate.Refresh();

        await node.WaitForFileAsync(t => t.Contains("gpudaemon.io/validated=true\n", StringComparison.Ordinal));
    }

    [Fact]
    public async Task WriteFails_MissingFolder_LoggedOnceAndRecoveredAfterBackoff()
    {
        using var parent = new TempDirectory();
        var missing = parent.File("features.d");
        await using var node = await Node.StartAsync(labelsDir: missing);
        await node.FirstAttemptAsync();
        Assert.Contains("does not exist", node.Writer.Problem, StringComparison.Ordinal);

        await node.NextAttemptAsync(() => node.Plugin.Set(node.Plugin.CurrentValue with { Replicas = 2 }));
        await node.NextAttemptAsync(() => node.Clock.Advance(NodeLabelsOptions.FirstRetryDelay * 2));
        Assert.Equal(1, node.Log.Count(14004));

        Directory.CreateDirectory(missing);
        await node.NextAttemptAsync(() => node.Clock.Advance(NodeLabelsOptions.MaxRetryDelay));

        Assert.Null(node.Writer.Problem);
        Assert.Contains("nvidia.com/gpu.replicas=2\n", await File.ReadAllTextAsync(Path.Combine(missing, NodeLabelsOptions.FileName)), StringComparison.Ordinal);
        Assert.Equal(1, node.Log.Count(14005));
    }

    [Fact]
    public async Task Reload_EmptyFolder_Off()
    {
        await using var node = await Node.StartAsync();
        await node.WaitForFileAsync(t => t.Length > 0);
        var path = node.FilePath;
        File.Delete(path);

        await node.NextAttemptAsync(() => node.Options.Set(new NodeLabelsOptions { Directory = string.Empty }));
        await node.NextAttemptAsync(() => node.Plugin.Set(node.Plugin.CurrentValue with { Replicas = 3 }));

        Assert.False(File.Exists(path));
        Assert.Null(node.Writer.Problem);
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 2)]
    [InlineData(4, 8)]
    [InlineData(30, 60)]
    public void RetryDelay_Failures_DoublesUpToTheBound(int failures, int seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), NodeLabelWriter.RetryDelay(failures));

    private sealed class Node : IAsyncDisposable
    {
        private readonly TempDirectory? _ownLabels;

        private Node(ScenarioFile scenario, TempDirectory? ownLabels, TempDirectory labels, string labelsDir)
        {
            Scenario = scenario;
            _ownLabels = ownLabels;
            Labels = labels;
            Options = new TestOptionsMonitor<NodeLabelsOptions>(new NodeLabelsOptions { Directory = labelsDir });
            Gate = new ValidationGate(new TestOptionsMonitor<ValidationGateOptions>(new ValidationGateOptions { ValidationDir = Validation.Path }), scenario.Backend, Clock, NullLogger<ValidationGate>.Instance);
            Writer = new NodeLabelWriter(scenario.Backend, Plugin, Options, Gate, Clock, LogFactory.CreateLogger<NodeLabelWriter>());
        }

        public ScenarioFile Scenario { get; }

        public ManualTimeProvider Clock => Scenario.Clock;

        public TempDirectory Labels { get; }

        public TempDirectory Validation { get; } = new();

        public TestOptionsMonitor<PluginOptions> Plugin { get; } = new(new PluginOptions());

        public TestOptionsMonitor<NodeLabelsOptions> Options { get; }

        public ValidationGate Gate { get; }

        public NodeLabelWriter Writer { get; }

        public RecordingLoggerFactory LogFactory { get; } = new();

        public RecordingLogger Log => LogFactory.Logger;

        public string FilePath => Options.CurrentValue.FilePath;

        public static async Task<Node> StartAsync(TempDirectory? labels = null, string? labelsDir = null)
        {
            var own = labels is null ? new TempDirectory() : null;
            var folder = labels ?? own!;
            var node = new Node(await ScenarioFile.StartAsync(2), own, folder, labelsDir ?? folder.Path);
            await node.Gate.StartAsync(default);
            await node.Writer.StartAsync(default);
            return node;
        }

        /// <summary>Does <paramref name="act"/> and waits for the writer's next attempt (the first one too, if none finished yet).</summary>
        public async Task NextAttemptAsync(Action act)
        {
            var seen = Writer.Attempted.Version;
            act();
            using var timeout = new CancellationTokenSource(Wait);
            await Writer.Attempted.WaitForChangeAsync(seen, timeout.Token);
        }

        public async Task FirstAttemptAsync()
        {
            using var timeout = new CancellationTokenSource(Wait);
            await Writer.Attempted.WaitForChangeAsync(0, timeout.Token);
        }

        public async Task<string> WaitForFileAsync(Func<string, bool> condition)
        {
            using var timeout = new CancellationTokenSource(Wait);
            while (true)
            {
                var seen = Writer.Attempted.Version;
                var text = File.Exists(FilePath) ? await File.ReadAllTextAsync(FilePath, timeout.Token) : null;
                if (text is not null && condition(text))
                {
                    return text;
                }

                await Writer.Attempted.WaitForChangeAsync(seen, timeout.Token);
            }
        }

        public async ValueTask DisposeAsync()
        {
            await Writer.DisposeAsync();
            await Gate.DisposeAsync();
            await Scenario.DisposeAsync();
            Validation.Dispose();
            _ownLabels?.Dispose();
        }
    }
}
