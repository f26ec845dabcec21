using GpuDaemon.Cli.Hosting;
using GpuDaemon.Cli.Settings;
using GpuDaemon.DevicePlugin;
using GpuDaemon.Devices;
using GpuDaemon.Metrics;
using GpuDaemon.NodeLabels;
using GpuDaemon.PodResources;
using GpuDaemon.Tests.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace GpuDaemon.Tests.Cli.Hosting;

public sealed class RegistrationFirstTests
{
    private readonly ManualTimeProvider _clock = new();
    private readonly RecordingLoggerFactory _logs = new();
    private readonly SettableStatus _status = new();

    private RegistrationFirst Create() => new(_status, _clock, new Logger<RegistrationFirst>(_logs));

    [Fact]
    public async Task StartAsync_ResourcesNotRegistered_CompletesOnceEveryOneIs()
    {
        _status.Set(started: true, ("nvidia.com/gpu", false), ("nvidia.com/mig-1g.10gb", false));

        var start = Create().StartAsync(CancellationToken.None);
        Assert.False(start.IsCompleted);

        _status.Set(started: true, ("nvidia.com/gpu", true), ("nvidia.com/mig-1g.10gb", false));
        Assert.False(start.IsCompleted);

        _status.Set(started: true, ("nvidia.com/gpu", true), ("nvidia.com/mig-1g.10gb", true));
        await start.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Empty(_logs.Logger.Entries);
    }

    [Fact]
    public async Task StartAsync_PluginNotStartedYet_WaitsForItsPlan()
    {
        var start = Create().StartAsync(CancellationToken.None);
        Assert.False(start.IsCompleted);

        _status.Set(started: true, ("nvidia.com/gpu", true));
        await start.WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task StartAsync_NothingAdvertised_DoesNotWait()
    {
        // A closed validation gate: the plugin has started and advertises nothing, so there is no registration to wait for.
        _status.Set(started: true);

        await Create().StartAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task StartAsync_NeverRegistered_GoesOnAfterMaxWaitAndSaysSo()
    {
        _status.Set(started: true, ("nvidia.com/gpu", false));

        var start = Create().StartAsync(CancellationToken.None);
        _clock.Advance(RegistrationFirst.MaxWait - TimeSpan.FromMilliseconds(1));
        Assert.False(start.IsCompleted);

        _clock.Advance(TimeSpan.FromMilliseconds(1));
        await start.WaitAsync(TimeSpan.FromSeconds(30));
        var entry = Assert.Single(_logs.Logger.Entries);
        Assert.Equal(15201, entry.EventId.Id);
        Assert.Contains("2s", entry.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StartAsync_HostStopsWhileWaiting_IsCancelled()
    {
        _status.Set(started: true, ("nvidia.com/gpu", false));
        using var stopping = new CancellationTokenSource();

        var start = Create().StartAsync(stopping.Token);
        await stopping.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => start.WaitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public void AddServe_HostedServices_RegistrationWaitsAfterThePluginAndBeforeLabelsPodsAndMetrics()
    {
        var settings = ServeSettings.Bind(new DaemonSettings(new Dictionary<string, SettingValue> { ["simulate"] = new("1", "--simulate") }));
        var builder = GpuDaemonHost.CreateBuilder(DaemonSettings.Empty, "warning");
        builder.Services.AddServe(settings);
        using var host = builder.Build();

        var hosted = host.Services.GetServices<IHostedService>().ToList();
        var first = hosted.FindIndex(s => s is RegistrationFirst);

        Assert.Single(hosted, s => s is RegistrationFirst);
        Assert.True(first > hosted.FindIndex(s => ReferenceEquals(s, host.Services.GetRequiredService<IDevicePluginStatus>())));
        Assert.True(first < hosted.FindIndex(s => s is NodeLabelWriter));
        Assert.True(first < hosted.FindIndex(s => s is PodAttributionService));
        Assert.True(first < hosted.FindIndex(s => s is MetricsServer));
    }

    private sealed class SettableStatus : IDevicePluginStatus
    {
        private volatile IReadOnlyList<ResourceStatus> _resources = [];
        private volatile bool _started;

        public IReadOnlyList<ResourceStatus> Resources => _resources;

        public bool Started => _started;

        public ChangeSignal Changed { get; } = new();

        public void Set(bool started, params (string Resource, bool Registered)[] resources)
        {
            _resources = [.. resources.Select(r => new ResourceStatus(r.Resource, r.Registered, r.Registered ? "registered" : "serving", DateTimeOffset.UnixEpoch, null))];
            _started = started;
            Changed.Notify();
        }
    }
}
