using GpuDaemon.DevicePlugin;
using GpuDaemon.DevicePlugin.Emulation;
using GpuDaemon.Devices;

namespace GpuDaemon.Tests.TestSupport;

/// <summary>
/// The whole device plugin against the in-process fake kubelet, in a temp device-plugin dir, on real time
/// (registration, sockets and streams are real); faults come from a scenario file edited by the test.
/// </summary>
public sealed class PluginHarness : IAsyncDisposable
{
    public static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    private readonly CancellationTokenSource _stop = new();
    private Task _run = Task.CompletedTask;

    private PluginHarness(TempDirectory dir, IGpuBackend backend, PluginConfig config)
    {
        Dir = dir;
        Backend = backend;
        Config = config with { DevicePluginDir = dir.Path };
        Kubelet = new KubeletEmulator(dir.Path, TimeProvider.System, TestLogging.Factory);
        Manager = new DevicePluginManager(backend, Config, TimeProvider.System, TestLogging.Factory);
    }

    public TempDirectory Dir { get; }

    public IGpuBackend Backend { get; }

    public PluginConfig Config { get; }

    public KubeletEmulator Kubelet { get; }

    public DevicePluginManager Manager { get; }

    public static async Task<PluginHarness> StartAsync(IGpuBackend backend, PluginConfig? config = null, bool startKubelet = true)
    {
        var harness = new PluginHarness(new TempDirectory(), backend, config ?? new PluginConfig());
        if (startKubelet)
        {
            await harness.Kubelet.StartAsync();
        }

        await backend.StartAsync(default);
        harness._run = harness.Manager.RunAsync(harness._stop.Token);
        return harness;
    }

    public Task<EmulatedPlugin> WaitForAsync(string resource, Func<EmulatedPlugin, bool> condition) =>
        Kubelet.WaitForAsync(resource, condition, Wait);

    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        await _run.WaitAsync(Wait);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        await Manager.DisposeAsync();
        await Kubelet.DisposeAsync();
        await Backend.DisposeAsync();
        Dir.Dispose();
        _stop.Dispose();
    }
}
