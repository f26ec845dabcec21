using GpuDaemon.Cli.Hosting;
using GpuDaemon.Cli.Settings;
using GpuDaemon.DevicePlugin.Api;
using System.Threading.Channels;
using GpuDaemon.Devices;
using GpuDaemon.Devices.Simulated;
using GpuDaemon.Tests.TestSupport;
using GpuDaemon.Validation;
using GpuDaemon.Validation.Gate;
using Microsoft.Extensions.Logging.Abstractions;

namespace GpuDaemon.Tests.Validation;

/// <summary>serve --require-validation: no GPU advertised until driver-ready and cuda-ready exist and match the driver the backend sees.</summary>
public sealed class ValidationGateTests
{
    [Fact]
    public async Task Refresh_NoFilesThenValidThenOtherDriver_ClosedOpenClosed()
    {
        using var dir = new TempDirectory();
        await using var backend = SimulatedBackend.FromScenario(Gpus.Scenario(2), TimeProvider.System, TestLogging.Logger);
        await backend.StartAsync(default);
        var options = new TestOptionsMonitor<ValidationGateOptions>(new ValidationGateOptions { Required = true, ValidationDir = dir.Path });
        await using var gate = new ValidationGate(options, backend, new ManualTimeProvider(), NullLogger<ValidationGate>.Instance);
        await gate.StartAsync(default);

        Assert.False(gate.State.IsOpen);
        Assert.Equal($"no driver-ready in {dir.Path}; run gpudaemon validate (as an init container) with the same --validation-dir", gate.State.Reason);

        var seen = gate.Changed.Version;
        await ValidateAsync(dir.Path, Gpus.Scenario(2));
        gate.Refresh();
        Assert.True(gate.State.IsOpen, gate.State.Reason);
        Assert.True(gate.Changed.Version > seen);
        Assert.All(gate.State.Files, f => Assert.True(f.Ready));
        Assert.Equal("550.127.05", gate.State.Files[0].Values[StatusFiles.DriverVersionKey]);

        await ValidateAsync(dir.Path, Gpus.Scenario(2, s => s.Driver.Version = "560.35.03"));
        gate.Refresh();
        Assert.False(gate.State.IsOpen);
        Assert.Equal($"driver-ready in {dir.Path} is for driver 560.35.03, but the backend sees driver 550.127.05; run gpudaemon validate again (restart the pod)", gate.State.Reason);
    }

    [Fact]
    public async Task State_NotRequired_OpenWithoutFiles()
    {
        using var dir = new TempDirectory();
        await using var backend = SimulatedBackend.FromScenario(Gpus.Scenario(1), TimeProvider.System, TestLogging.Logger);
        await backend.StartAsync(default);
        await using var gate = new ValidationGate(new TestOptionsMonitor<ValidationGateOptions>(new ValidationGateOptions { ValidationDir = dir.Path }), backend, new ManualTimeProvider(), NullLogger<ValidationGate>.Instance);

        await gate.StartAsync(default);

        Assert.True(gate.State.IsOpen);
        Assert.All(gate.State.Files, f => Assert.False(f.Ready));
    }

    [Fact]
    public async Task DevicePlugin_RequireValidation_RegistersOnlyOnceStatusFilesAppear()
    {
        await using var scenario = await ScenarioFile.StartAsync(2);
        using var dir = new TempDirectory();
        var logs = new RecordingLoggerFactory();
        var gate = new ValidationGate(new TestOptionsMonitor<ValidationGateOptions>(new ValidationGateOptions { Required = true, ValidationDir = dir.Path }),
            scenario.Backend, TimeProvider.System, NullLogger<ValidationGate>.Instance);
        await gate.StartAsync(default);
        await using var disposeGate = gate;
        await using var harness = await PluginHarness.StartAsync(scenario.Backend, loggerFactory: logs, advertisingGate: new ValidationAdvertisingGate(gate));

        Assert.Equal(1, logs.Logger.Count(11030));
        Assert.Contains(logs.Logger.Entries, e => e.EventId.Id == 11030 && e.Message.Contains("waiting for validation: no driver-ready in " + dir.Path, StringComparison.Ordinal));
        Assert.Empty(harness.Manager.Endpoints);
        Assert.Empty(harness.Kubelet.Plugins);

        var outcome = await new Validator(new ValidationOptions { ValidationDir = dir.Path }, SimulatedValidationSource.FromFile(scenario.Path), TimeProvider.System, TestLogging.Logger)
            .RunAsync(null, CancellationToken.None);
        Assert.Equal(ValidationVerdict.Passed, outcome.Verdict);
        gate.Refresh(); // the directory watcher or the poll would do it; the test does not wait for either

        var plugin = await harness.WaitForAsync(ResourceName.DefaultGpu, p => p.Devices.Count == 2);
        Assert.Equal(2, plugin.HealthyCount);
        Assert.Equal(1, logs.Logger.Count(11031));
    }

    [Fact]
    public async Task Poll_FilesAppearWithoutNotification_OpensAtThePollInterval()
    {
        using var dir = new TempDirectory();
        var validations = dir.File("v"); // not there yet: nothing to watch, only the poll can see the files
        await using var backend = new QuietInventoryBackend(SimulatedBackend.FromScenario(Gpus.Scenario(2), TimeProvider.System, TestLogging.Logger));
        await backend.StartAsync(default);
        var clock = new ManualTimeProvider();
        await using var gate = new ValidationGate(new TestOptionsMonitor<ValidationGateOptions>(new ValidationGateOptions { Required = true, ValidationDir = validations }), backend, clock, NullLogger<ValidationGate>.Instance);
        await gate.StartAsync(default);

        await ValidateAsync(validations, Gpus.Scenario(2));
        clock.Advance(ValidationDefaults.GatePollInterval - TimeSpan.FromMilliseconds(1));
        Assert.False(gate.State.IsOpen, gate.State.Reason);

        clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(gate.State.IsOpen, gate.State.Reason);
    }

    [Fact]
    public async Task InventoryChange_FilesAppeared_GateReReadsAndOpens()
    {
        using var dir = new TempDirectory();
        var validations = dir.File("v");
        await using var backend = new QuietInventoryBackend(SimulatedBackend.FromScenario(Gpus.Scenario(2), TimeProvider.System, TestLogging.Logger));
        await backend.StartAsync(default);
        await using var gate = new ValidationGate(new TestOptionsMonitor<ValidationGateOptions>(new ValidationGateOptions { Required = true, ValidationDir = validations }), backend, new ManualTimeProvider(), NullLogger<ValidationGate>.Instance);
        await gate.StartAsync(default);
        await ValidateAsync(validations, Gpus.Scenario(2));
        Assert.False(gate.State.IsOpen);

        backend.AnnounceInventory();

        await SignalWait.UntilAsync(gate.Changed, () => gate.State.IsOpen, what: "the gate to open after the inventory changed");
    }

    [Fact]
    public async Task DevicePlugin_GateClosesAfterOpening_WithdrawsTheGpus()
    {
        await using var scenario = await ScenarioFile.StartAsync(2);
        using var dir = new TempDirectory();
        var logs = new RecordingLoggerFactory();
        await using var gate = new ValidationGate(new TestOptionsMonitor<ValidationGateOptions>(new ValidationGateOptions { Required = true, ValidationDir = dir.Path }),
            scenario.Backend, new ManualTimeProvider(), NullLogger<ValidationGate>.Instance);
        await ValidateAsync(dir.Path, Gpus.Scenario(2));
        await gate.StartAsync(default);
        await using var harness = await PluginHarness.StartAsync(scenario.Backend, loggerFactory: logs, advertisingGate: new ValidationAdvertisingGate(gate));
        await harness.WaitForAsync(ResourceName.DefaultGpu, p => p.Devices.Count == 2);
        Assert.NotEmpty(harness.Manager.Endpoints);

        StatusFiles.RemoveAll(dir.Path); // a validate run starting again (the pod restarted) removes them first
        gate.Refresh();

        await SignalWait.UntilAsync(harness.Manager.EndpointsChanged, () => harness.Manager.Endpoints.Count == 0, what: "the endpoints to stop");
        Assert.False(gate.State.IsOpen);
        Assert.Contains(logs.Logger.Entries, e => e.EventId.Id == 11030 && e.Message.Contains("waiting for validation: no driver-ready in " + dir.Path, StringComparison.Ordinal));
    }

    [Fact]
    public void ServeSettingsBind_RequireValidationAndDir_Bound()
    {
        var settings = new DaemonSettings(new Dictionary<string, SettingValue>
        {
            [ValidationGateFlags.RequireValidation] = new("true", "--require-validation"),
            [ValidationGateFlags.ValidationDir] = new("/tmp/v", "--validation-dir"),
        });

        var bound = ServeSettings.Bind(settings);

        Assert.True(bound.ValidationGate.Required);
        Assert.Equal("/tmp/v", bound.ValidationGate.ValidationDir);
        Assert.Equal(ValidationDefaults.Directory, ServeSettings.Bind(DaemonSettings.Empty).ValidationGate.ValidationDir);
        Assert.False(ServeSettings.Bind(DaemonSettings.Empty).ValidationGate.Required);
    }

    private static async Task ValidateAsync(string dir, SimulationScenario scenario)
    {
        var outcome = await new Validator(new ValidationOptions { ValidationDir = dir }, new SimulatedValidationSource(() => scenario, "test"), TimeProvider.System, TestLogging.Logger)
            .RunAsync(null, CancellationToken.None);
        Assert.Equal(ValidationVerdict.Passed, outcome.Verdict);
    }

    /// <summary>A backend whose inventory stream says nothing until the test announces a change, so only the poll or that change re-reads the gate.</summary>
    private sealed class QuietInventoryBackend(IGpuBackend inner) : IGpuBackend
    {
        private readonly Channel<GpuInventory> _changes = Channel.CreateUnbounded<GpuInventory>();

        public string Name => inner.Name;

        public GpuInventory Inventory => inner.Inventory;

        public void AnnounceInventory() => _changes.Writer.TryWrite(inner.Inventory);

        public Task StartAsync(CancellationToken cancellationToken) => inner.StartAsync(cancellationToken);

        public IAsyncEnumerable<GpuInventory> WatchInventoryAsync(CancellationToken cancellationToken) => _changes.Reader.ReadAllAsync(cancellationToken);

        public IAsyncEnumerable<DeviceEvent> WatchEventsAsync(CancellationToken cancellationToken) => inner.WatchEventsAsync(cancellationToken);

        public GpuTelemetry ReadTelemetry(string uuid) => inner.ReadTelemetry(uuid);

        public HealthProbe ProbeHealth(string uuid) => inner.ProbeHealth(uuid);

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}
