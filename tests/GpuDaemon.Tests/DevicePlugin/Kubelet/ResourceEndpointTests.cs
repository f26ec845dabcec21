using System.Net.Sockets;
using GpuDaemon.DevicePlugin;
using GpuDaemon.DevicePlugin.Kubelet;
using GpuDaemon.DevicePlugin.Planning;
using GpuDaemon.DevicePlugin.Serving;
using GpuDaemon.Devices;
using GpuDaemon.Devices.Simulated;
using GpuDaemon.KubeletEmulation;
using GpuDaemon.Tests.TestSupport;

namespace GpuDaemon.Tests.DevicePlugin.Kubelet;

/// <summary>One endpoint against the fake kubelet, with faults in the socket path and the bind.</summary>
public sealed class ResourceEndpointTests
{
    private const string Gpu = "nvidia.com/gpu";
    private const int EndpointFailingEvent = 5004;
    private const int ServingAgainEvent = 5005;
    private const int SocketReplacedEvent = 5006;

    public static TheoryData<string> BindFailures => ["socket", "other"];

    /// <summary>
    /// Kestrel reports EACCES or EROFS from bind as a SocketException, which used to end the endpoint for good.
    /// The bind is made to fail by a hook because no file mode stops root, and tests may run as root.
    /// </summary>
    [Theory]
    [MemberData(nameof(BindFailures))]
    public async Task RunAsync_BindFails_LoggedOnceRetriedAndServedOnceRepaired(string failure)
    {
        using var dir = new TempDirectory();
        await using var kubelet = new KubeletEmulator(dir.Path, TimeProvider.System, TestLogging.Factory);
        await kubelet.StartAsync();
        var logs = new RecordingLoggerFactory();
        var broken = 1;
        var attempts = 0;
        var attempted = new ChangeSignal();
        var endpoint = new ResourceEndpoint(Plugin(dir.Path), new ChangeSignal(), TimeProvider.System, logs, beforeServe: _ =>
        {
            Interlocked.Increment(ref attempts);
            attempted.Notify();
            if (Volatile.Read(ref broken) == 1)
            {
                throw failure == "socket" ? new SocketException((int)SocketError.AccessDenied) : new InvalidOperationException("bind went wrong");
            }

            return Task.CompletedTask;
        });
        using var stop = new CancellationTokenSource();
        var run = endpoint.RunAsync(stop.Token);

        await SignalWait.UntilAsync(attempted, () => Volatile.Read(ref attempts) >= 4, what: "four bind attempts");
        var failing = endpoint.State;
        Volatile.Write(ref broken, 0);
        await kubelet.WaitForAsync(Gpu, p => p.HealthyCount == 2, PluginHarness.Wait);
        await SignalWait.UntilAsync(endpoint.StateChanged, () => endpoint.State.Phase == EndpointPhase.Registered, what: "registration");

        Assert.Equal(EndpointPhase.Failing, failing.Phase);
        Assert.Contains(failure == "socket" ? "AccessDenied" : "bind went wrong", failing.LastError, StringComparison.Ordinal);
        Assert.Equal(1, logs.Logger.Count(EndpointFailingEvent));
        Assert.Equal(1, logs.Logger.Count(ServingAgainEvent));
        Assert.Null(endpoint.State.LastError);
        Assert.False(run.IsCompleted);
        await stop.CancelAsync();
        await run.WaitAsync(PluginHarness.Wait);
    }

    [Fact]
    public async Task Run_DirectoryReplacedByFileThenRepaired_FailingLoggedOnceThenRegisteredAgain()
    {
        var logs = new RecordingLoggerFactory();
        await using var harness = await PluginHarness.StartAsync(SimulatedBackend.FromCount(2, TimeProvider.System, TestLogging.Logger), loggerFactory: logs);
        await harness.WaitForAsync(Gpu, p => p.HealthyCount == 2);
        var endpoint = harness.Manager.Endpoints.Single();

        // Moved away in one step: the plugin cannot re-create its socket in between.
        var movedAway = harness.Dir.Path + ".moved";
        Directory.Move(harness.Dir.Path, movedAway);
        File.WriteAllText(harness.Dir.Path, "a file where the device-plugin directory was");
        await SignalWait.UntilAsync(harness.Manager.StatesChanged, () => harness.Manager.States.Single().Phase == EndpointPhase.Failing, what: "the endpoint failing");
        var failing = harness.Manager.States.Single();
        await SignalWait.UntilAsync(harness.Manager.StatesChanged, () => logs.Logger.Count(EndpointFailingEvent) >= 1 && harness.Manager.States.Single().Since != default, what: "the failure logged");
        File.Delete(harness.Dir.Path);
        Directory.CreateDirectory(harness.Dir.Path);
        Directory.Delete(movedAway, recursive: true);
        await harness.Kubelet.RestartAsync();
        await WaitForRegistrationsAsync(endpoint, 2);

        Assert.Equal(Gpu, failing.Resource);
        Assert.Contains(harness.Dir.Path, failing.LastError, StringComparison.Ordinal);
        Assert.Equal(1, logs.Logger.Count(EndpointFailingEvent));
        Assert.Equal(EndpointPhase.Registered, harness.Manager.States.Single().Phase);
        var plugin = await harness.WaitForAsync(Gpu, p => p.HealthyCount == 2);
        Assert.Single((await plugin.AllocateAsync([DefaultScenario.UuidFor(1)])).ContainerResponses);
    }

    public static TheoryData<string> Replacements => ["file", "empty directory"];

    [Theory]
    [MemberData(nameof(Replacements))]
    public async Task Run_SocketReplacedByNonSocket_LoggedServedAndRegisteredAgain(string replacement)
    {
        var logs = new RecordingLoggerFactory();
        await using var harness = await PluginHarness.StartAsync(SimulatedBackend.FromCount(2, TimeProvider.System, TestLogging.Logger), loggerFactory: logs);
        var before = await harness.WaitForAsync(Gpu, p => p.HealthyCount == 2);
        var endpoint = harness.Manager.Endpoints.Single();

        if (replacement == "file")
        {
            // Renamed over the socket in one step, so the endpoint never sees the path empty.
            var staged = harness.Dir.File("staged");
            File.WriteAllText(staged, "not a socket");
            File.Move(staged, endpoint.SocketPath, overwrite: true);
        }
        else
        {
            File.Delete(endpoint.SocketPath);
            Directory.CreateDirectory(endpoint.SocketPath);
        }

        await WaitForRegistrationsAsync(endpoint, 2);
        var after = await harness.WaitForAsync(Gpu, p => !ReferenceEquals(p, before) && p.HealthyCount == 2);

        Assert.Single((await after.AllocateAsync([DefaultScenario.UuidFor(0)])).ContainerResponses);
        Assert.False(Directory.Exists(endpoint.SocketPath));
        if (replacement == "file")
        {
            Assert.Contains(logs.Logger.Entries, e => e.EventId.Id == SocketReplacedEvent && e.Message.Contains("replaced by a regular file", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task Run_SocketPathIsDirectoryWithFiles_FailingUntilEmptiedThenServed()
    {
        using var dir = new TempDirectory();
        await using var kubelet = new KubeletEmulator(dir.Path, TimeProvider.System, TestLogging.Factory);
        await kubelet.StartAsync();
        var endpoint = new ResourceEndpoint(Plugin(dir.Path), new ChangeSignal(), TimeProvider.System, TestLogging.Factory);
        Directory.CreateDirectory(endpoint.SocketPath);
        File.WriteAllText(Path.Combine(endpoint.SocketPath, "keep"), "someone's file");
        using var stop = new CancellationTokenSource();
        var run = endpoint.RunAsync(stop.Token);

        await SignalWait.UntilAsync(endpoint.StateChanged, () => endpoint.State.Phase == EndpointPhase.Failing, what: "the endpoint failing");
        var failing = endpoint.State;
        File.Delete(Path.Combine(endpoint.SocketPath, "keep"));
        await WaitForRegistrationsAsync(endpoint, 1);

        Assert.Contains("is a directory with files in it", failing.LastError, StringComparison.Ordinal);
        Assert.False(Directory.Exists(endpoint.SocketPath));
        Assert.Equal(EndpointPhase.Registered, endpoint.State.Phase);
        await stop.CancelAsync();
        await run.WaitAsync(PluginHarness.Wait);
    }

    private static ResourcePlugin Plugin(string dir)
    {
        var options = new PluginOptions { DevicePluginDir = dir };
        var plan = Assert.Single(ResourcePlanner.Plan(Gpus.Inventory(2), options));
        return new ResourcePlugin(plan, options, new SettableHealth(), TestLogging.Logger);
    }

    private static Task WaitForRegistrationsAsync(ResourceEndpoint endpoint, int count) =>
        SignalWait.UntilAsync(endpoint.Registered, () => endpoint.Registrations >= count, what: $"{count} registrations");
}
