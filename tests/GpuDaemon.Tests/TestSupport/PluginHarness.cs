using GpuDaemon.DevicePlugin;
using GpuDaemon.Devices;
using GpuDaemon.Health;
using GpuDaemon.KubeletEmulation;
using Microsoft.Extensions.Logging;

namespace GpuDaemon.Tests.TestSupport;

/// <summary>
/// The whole device plugin, with the shared health monitor, against the in-process fake kubelet, in a temp
/// device-plugin dir, on real time (registration, sockets and streams are real); faults come from a
/// scenario file edited by the test. Started and stopped as serve's host does: backend, health, plugin.
/// </summary>
internal sealed class PluginHarness : IAsyncDisposable
{
    public static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    private PluginHarness(TempDirectory dir, IGpuBackend backend, PluginOptions options, HealthOptions health, ILoggerFactory loggerFactory, TimeSpan? probeTimeout,
        IAdvertisingGate? advertisingGate = null)
    {
        Dir = dir;
        Backend = backend;
        PluginOptions = new TestOptionsMonitor<PluginOptions>(options with { DevicePluginDir = dir.Path });
        HealthOptions = new TestOptionsMonitor<HealthOptions>(health);
        Kubelet = new KubeletEmulator(dir.Path, TimeProvider.System, TestLogging.Factory);
        Health = new GpuHealthMonitor(backend, HealthOptions, TimeProvider.System, loggerFactory.CreateLogger<GpuHealthMonitor>())
        {
            ProbeTimeout = probeTimeout ?? GpuHealthMonitor.DefaultProbeTimeout,
        };
        Manager = new DevicePluginManager(backend, Health, PluginOptions, TimeProvider.System, loggerFactory, advertisingGate);
    }

    public TempDirectory Dir { get; }

    public IGpuBackend Backend { get; }

    public TestOptionsMonitor<PluginOptions> PluginOptions { get; }

    public TestOptionsMonitor<HealthOptions> HealthOptions { get; }

    public KubeletEmulator Kubelet { get; }

    public GpuHealthMonitor Health { get; }

    public DevicePluginManager Manager { get; }

    public static async Task<PluginHarness> StartAsync(IGpuBackend backend, PluginOptions? options = null, HealthOptions? health = null, bool startKubelet = true,
        ILoggerFactory? loggerFactory = null, TimeSpan? probeTimeout = null, IAdvertisingGate? advertisingGate = null)
    {
        var harness = new PluginHarness(new TempDirectory(), backend, options ?? new PluginOptions(), health ?? new HealthOptions(), loggerFactory ?? TestLogging.Factory, probeTimeout,
            advertisingGate);
        if (startKubelet)
        {
            await harness.Kubelet.StartAsync();
        }

        await backend.StartAsync(default);
        await harness.Health.StartAsync(default);
        await harness.Manager.StartAsync(default);
        return harness;
    }

    public Task<EmulatedPlugin> WaitForAsync(string resource, Func<EmulatedPlugin, bool> condition) =>
        Kubelet.WaitForAsync(resource, condition, Wait);

    public async Task StopAsync()
    {
        await Manager.StopAsync(default).WaitAsync(Wait);
        await Health.StopAsync(default).WaitAsync(Wait);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        await Manager.DisposeAsync();
        await Health.DisposeAsync();
        await Kubelet.DisposeAsync();
        await Backend.DisposeAsync();
        Dir.Dispose();
    }
}
