using GpuDaemon.Cli.Hosting;
using GpuDaemon.Cli.Settings;
using GpuDaemon.DevicePlugin;
using GpuDaemon.Health;
using GpuDaemon.KubeletEmulation;
using GpuDaemon.Tests.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace GpuDaemon.Tests.Cli.Hosting;

/// <summary>serve's host in-process: one settings snapshot, one reload path, reaching every subsystem or none.</summary>
public sealed class SettingsReloadTests
{
    private const string Gpu = "nvidia.com/gpu";
    private const int ConfigRejected = 8003;
    private const int ConfigReloaded = 8002;

    [Fact]
    public async Task Reload_ConfigFileChanged_EverySubsystemGetsTheNewSnapshot()
    {
        await using var serve = await ServeHost.StartAsync("simulate: 2\n");
        var health = serve.Services.GetRequiredService<GpuHealthMonitor>();
        var plugin = serve.Services.GetRequiredService<DevicePluginManager>();
        var before = await serve.Kubelet.WaitForAsync(Gpu, p => p.HealthyCount == 2, PluginHarness.Wait);
        Assert.False(before.Options.PreStartRequired);

        serve.WriteConfig("simulate: 2\npreStartRequired: true\nprobeInterval: 1500ms\nignoredXids: 79\n");
        Assert.True(serve.Settings.Reload("test"));

        Assert.Equal(TimeSpan.FromMilliseconds(1500), health.Options.ProbeInterval);
        Assert.Equal([79], health.Options.IgnoredXids);
        Assert.True(plugin.Options.PreStartRequired);
        await serve.Kubelet.WaitForAsync(Gpu, p => !ReferenceEquals(p, before) && p.Options.PreStartRequired && p.HealthyCount == 2, PluginHarness.Wait);
        Assert.Equal(1, serve.Log.Count(ConfigReloaded));
    }

    [Theory]
    [InlineData("[a, b]: 1\n", "line 1")]
    [InlineData("simulate: 2\nprobeInterval: 1e300s\n", "probeInterval")]
    [InlineData("simulate: 2\nrecoveryPeriod: 99999999999h\n", "recoveryPeriod")]
    [InlineData("simulate: 2\nprobeInterval: 0.0005s\n", "must be between 100ms and 1h")]
    [InlineData("simulate: 2\nreplicas: 0\n", "replicas")]
    [InlineData("", "has no settings")]
    [InlineData("# all commented out\n", "has no settings")]
    [InlineData("simulate: 2\npreStartRequired: [broken\n", "preStartRequired")]
    public async Task Reload_BrokenFile_NoSubsystemChangesAndOneErrorLine(string content, string expected)
    {
        await using var serve = await ServeHost.StartAsync("simulate: 2\nreplicas: 2\n");
        var health = serve.Services.GetRequiredService<GpuHealthMonitor>();
        var plugin = serve.Services.GetRequiredService<DevicePluginManager>();
        var healthBefore = health.Options;
        var pluginBefore = plugin.Options;
        var registered = await serve.Kubelet.WaitForAsync(Gpu, p => p.HealthyCount == 4, PluginHarness.Wait);

        serve.WriteConfig(content);
        Assert.False(serve.Settings.Reload("test"));

        Assert.Same(healthBefore, health.Options);
        Assert.Same(pluginBefore, plugin.Options);
        var error = Assert.Single(serve.Log.Entries, e => e.EventId.Id == ConfigRejected);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
        Assert.True(error.Message.Length < 1000, error.Message);
        Assert.Same(registered, serve.Kubelet.Find(Gpu));
    }

    [Fact]
    public async Task Reload_WithTheWatchersContent_ParsesThatContentNotTheFileAsItIsNow()
    {
        await using var serve = await ServeHost.StartAsync("simulate: 2\n");
        var plugin = serve.Services.GetRequiredService<DevicePluginManager>();

        // The watcher found this content stable; the file has since been caught mid-write.
        serve.WriteConfig("simulate: 2\npreStartRequired: tr");
        Assert.True(serve.Settings.Reload("test", "simulate: 2\npreStartRequired: true\n"));

        Assert.True(plugin.Options.PreStartRequired);
        Assert.Equal(0, serve.Log.Count(ConfigRejected));
    }

    [Fact]
    public async Task Reload_DeeplyNestedFile_RejectedWithoutCrashing()
    {
        await using var serve = await ServeHost.StartAsync("simulate: 2\n");

        serve.WriteConfig("simulate: " + new string('[', 50_000) + "\n");

        Assert.False(serve.Settings.Reload("test"));
        Assert.Equal(1, serve.Log.Count(ConfigRejected));
    }

    [Fact]
    public async Task ConfigReloadService_FileChanged_AppliedOnceStableForTheQuietPeriod()
    {
        var clock = new ManualTimeProvider();
        await using var serve = await ServeHost.StartAsync("simulate: 2\n", clock, watchFile: true);
        var plugin = serve.Services.GetRequiredService<DevicePluginManager>();
        var applied = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var subscription = serve.Settings.Subscribe(_ => applied.TrySetResult());

        serve.WriteConfig("simulate: 2\npreStartRequired: true\n");
        clock.Advance(TimeSpan.FromSeconds(2));
        Assert.False(plugin.Options.PreStartRequired);
        clock.Advance(TimeSpan.FromMilliseconds(500));

        await applied.Task.WaitAsync(PluginHarness.Wait);
        Assert.True(plugin.Options.PreStartRequired);
    }

    /// <summary>serve's subsystems as serve composes them, on a config file in a temp dir, logs recorded.</summary>
    private sealed class ServeHost : IAsyncDisposable
    {
        private readonly TempDirectory _dir = new();
        private IHost _host = null!;

        private ServeHost()
        {
            ConfigPath = _dir.File("gpudaemon.yaml");
            PluginDir = Directory.CreateDirectory(_dir.File("dp")).FullName;
            Kubelet = new KubeletEmulator(PluginDir, TimeProvider.System, TestLogging.Factory);
        }

        public string ConfigPath { get; }

        public string PluginDir { get; }

        public KubeletEmulator Kubelet { get; }

        public RecordingLogger Log { get; } = new();

        public IServiceProvider Services => _host.Services;

        public SettingsMonitor Settings => Services.GetRequiredService<SettingsMonitor>();

        public static async Task<ServeHost> StartAsync(string config, TimeProvider? clock = null, bool watchFile = false)
        {
            var serve = new ServeHost();
            serve.WriteConfig(config);
            await serve.Kubelet.StartAsync();
            var builder = GpuDaemonHost.CreateBuilder(DaemonSettings.Empty, "information", clock);
            builder.Logging.ClearProviders();
            builder.Logging.AddProvider(new RecordingProviderFor(serve.Log));
            builder.Services.AddServe(serve.Load(null), serve.Load);
            if (watchFile)
            {
                builder.Services.AddConfigReload(new ConfigReloadOptions(serve.ConfigPath) { UseChangeNotifications = false });
            }

            serve._host = builder.Build();
            await serve._host.StartAsync();
            return serve;
        }

        public void WriteConfig(string content)
        {
            File.WriteAllText(ConfigPath + ".tmp", content);
            File.Move(ConfigPath + ".tmp", ConfigPath, overwrite: true);
        }

        public async ValueTask DisposeAsync()
        {
            await _host.StopAsync();
            await ((IAsyncDisposable)_host).DisposeAsync();
            await Kubelet.DisposeAsync();
            _dir.Dispose();
        }

        private ServeSettings Load(string? configText) => ServeSettings.Bind(new DaemonSettings(new Dictionary<string, SettingValue>(
            configText is null ? ConfigFileReader.Read(ConfigPath, ServeFlagNames) : ConfigFileReader.Parse(configText, ConfigPath, ServeFlagNames))
        {
            ["device-plugin-dir"] = new SettingValue(PluginDir, "--device-plugin-dir"),
            ["metrics-listen"] = new SettingValue(ServeProcess.TestMetricsListen, "--metrics-listen"),
            ["node-labels-dir"] = new SettingValue(string.Empty, "--node-labels-dir"),
        }));

        private static readonly string[] ServeFlagNames =
        [
            GpuBackendOptions.BackendSetting, GpuBackendOptions.SimulateSetting, GpuBackendOptions.SimulationSetting, GpuBackendOptions.DriverRootSetting,
            .. HealthFlags.Options().Concat(DevicePluginFlags.Options()).Select(o => SettingNames.FromFlag(o.Name)),
        ];
    }

    private sealed class RecordingProviderFor(RecordingLogger logger) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => logger;

        public void Dispose()
        {
        }
    }
}
