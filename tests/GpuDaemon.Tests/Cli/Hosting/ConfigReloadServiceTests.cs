using GpuDaemon.Cli;
using GpuDaemon.Cli.Hosting;
using GpuDaemon.Cli.Settings;
using GpuDaemon.Devices;
using GpuDaemon.Tests.TestSupport;
using Microsoft.Extensions.Logging;

namespace GpuDaemon.Tests.Cli.Hosting;

/// <summary>The config file's reload paths (change, poll, SIGHUP) with a file far over the limit.</summary>
public sealed class ConfigReloadServiceTests : IDisposable
{
    private const int TooLarge = 2104;
    private const int ConfigReloaded = 8002;
    private const int ConfigRejected = 8003;
    private static readonly TimeSpan Poll = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Poll_ConfigBecomesSparse100MB_WarnedOnceThenOncePerMinuteNeverReadNorReloaded()
    {
        var clock = new ManualTimeProvider();
        var log = new RecordingLogger();
        var path = _dir.File("gpudaemon.yaml");
        File.WriteAllText(path, "simulate: 2\n");
        var settings = new SettingsMonitor(Load(path), _ => Load(path), new Typed<SettingsMonitor>(log));
        await using var service = new ConfigReloadService(settings, new ConfigReloadOptions(path) { UseChangeNotifications = false }, clock, new Typed<ConfigReloadService>(log));
        await service.StartAsync(default);
        HostileFiles.Sparse(path);

        var allocated = HostileFiles.AllocatedBy(() =>
        {
            clock.Advance(Poll);
            clock.Advance(FileChangeMonitor.RepeatedWarningInterval - Poll);
            Assert.Equal(1, log.Count(TooLarge));
            clock.Advance(Poll);
            Assert.Equal(2, log.Count(TooLarge));
            clock.Advance(TimeSpan.FromMinutes(5));
        });

        Assert.True(allocated < ConfigFileReader.MaxFileBytes, $"allocated {allocated} bytes");
        Assert.Equal(7, log.Count(TooLarge));
        Assert.Equal(0, log.Count(ConfigReloaded) + log.Count(ConfigRejected));
        HostileFiles.AssertOneShortLine(log.Entries.First(e => e.EventId.Id == TooLarge).Message);
    }

    [Fact]
    public void Reload_ConfigIsSparse100MB_RejectedInOneLineWithoutReadingIt()
    {
        var log = new RecordingLogger();
        var path = _dir.File("gpudaemon.yaml");
        File.WriteAllText(path, "simulate: 2\n");
        var settings = new SettingsMonitor(Load(path), _ => Load(path), new Typed<SettingsMonitor>(log));
        var before = settings.Current;
        HostileFiles.Sparse(path);
        var applied = true;

        // What SIGHUP does, on this thread: SettingsMonitor.Reload, which reads the file through ConfigFileReader.
        var allocated = HostileFiles.AllocatedBy(() => applied = settings.Reload("SIGHUP"));

        Assert.False(applied);
        Assert.Same(before, settings.Current);
        Assert.True(allocated < ConfigFileReader.MaxFileBytes, $"allocated {allocated} bytes");
        var rejected = Assert.Single(log.Entries, e => e.EventId.Id == ConfigRejected);
        Assert.Equal($"Config change ignored (SIGHUP), the previous settings stay in force: config file {path} is larger than 1 MiB, the most GpuDaemon reads; check that the path names the config file", rejected.Message);
    }

    [Fact]
    public async Task Serve_SighupWithSparse100MBConfig_OneLineRefusalAndMemoryStaysSmall()
    {
        var plugins = Directory.CreateDirectory(_dir.File("dp")).FullName;
        var path = _dir.File("gpudaemon.yaml");
        File.WriteAllText(path, "simulate: 2\n");
        using var serve = DaemonProcess.Start("serve", "--config", path, "--device-plugin-dir", plugins);
        await serve.WaitForStderrAsync("Serving 2 GPUs", 1, Wait);

        HostileFiles.Sparse(path + ".tmp");
        File.Move(path + ".tmp", path, overwrite: true);
        serve.Signal("HUP");
        await serve.WaitForStderrAsync("Config change ignored (SIGHUP)", 1, Wait);
        await serve.WaitForStderrAsync("Not reading " + path, 1, Wait);

        Assert.False(serve.HasExited);
        var rejected = serve.Stderr.Single(l => l.Contains("Config change ignored (SIGHUP)", StringComparison.Ordinal));
        Assert.EndsWith($"config file {path} is larger than 1 MiB, the most GpuDaemon reads; check that the path names the config file", rejected, StringComparison.Ordinal);
        Assert.InRange(ProcessMemory.ResidentBytes(serve.Id), 1, ProcessMemory.MaxResidentBytes);
        serve.Signal("TERM");
        await serve.WaitForExitAsync(Wait);
        Assert.Equal(ExitCodes.Ok, serve.ExitCode);
    }

    private static ServeSettings Load(string path) => ServeSettings.Bind(new DaemonSettings(ConfigFileReader.Read(path, Names)));

    private static readonly string[] Names =
    [
        GpuBackendOptions.BackendSetting, GpuBackendOptions.SimulateSetting, GpuBackendOptions.SimulationSetting, GpuBackendOptions.DriverRootSetting,
        .. HealthFlags.Options().Concat(DevicePluginFlags.Options()).Select(o => SettingNames.FromFlag(o.Name)),
    ];

    private sealed class Typed<T>(RecordingLogger inner) : ILogger<T>
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            inner.Log(logLevel, eventId, state, exception, formatter);
    }
}
