using GpuDaemon.DevicePlugin;
using GpuDaemon.DevicePlugin.Planning;
using GpuDaemon.Devices;
using GpuDaemon.Devices.Simulated;
using GpuDaemon.PodResources;
using GpuDaemon.Protos.PodResources.V1;
using GpuDaemon.Tests.TestSupport;
using Microsoft.Extensions.Logging;
using static GpuDaemon.Tests.TestSupport.FakePodResourcesServer;

namespace GpuDaemon.Tests.PodResources;

public sealed class PodAttributionServiceTests
{
    private const string Gpu = "nvidia.com/gpu";
    private const int UpId = 13001;
    private const int DownId = 13002;
    private const int OffId = 13003;
    private const int LoopFailedId = 13004;
    private const int LoopRecoveredId = 13005;
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    private static string Uuid(int index) => DefaultScenario.UuidFor(index);

    private static readonly ListPodResourcesResponse TwoPods = Answer(
        Pod("ml", "train", ("main", Gpu, [Uuid(0)])),
        Pod("ml", "infer", ("main", Gpu, [Uuid(1)])));

    [Fact]
    public async Task Start_ServerAnswers_UpWithMapAndLoggedOnce()
    {
        await using var test = await Harness.StartAsync(TwoPods);

        await test.UntilAsync(() => test.Service.Calls == 1 && test.Service.WaitingUntil is not null);

        Assert.True(test.Service.Up);
        Assert.Equal([new PodContainer("ml", "train", "main")], test.Service.ContainersByDevice[Uuid(0)]);
        Assert.Equal([new PodContainer("ml", "infer", "main")], test.Service.ContainersByDevice[Uuid(1)]);
        Assert.Equal(1, test.Log.Count(UpId));
        Assert.Equal(test.Clock.GetUtcNow() + PodAttributionOptions.DefaultRefreshPeriod, test.Service.WaitingUntil);
    }

    [Fact]
    public async Task Refresh_EveryPeriod_NewAnswerReplacesMapWithoutNewLog()
    {
        await using var test = await Harness.StartAsync(TwoPods);
        await test.UntilCallsAsync(1);

        test.Server!.Response = Answer(Pod("ml", "train", ("main", Gpu, [Uuid(1)])));
        test.Clock.Advance(PodAttributionOptions.DefaultRefreshPeriod);
        await test.UntilCallsAsync(2);

        Assert.Equal([Uuid(1)], test.Service.ContainersByDevice.Keys);
        Assert.Equal(1, test.Log.Count(UpId));
    }

    [Fact]
    public async Task Start_SocketMissing_DownLoggedOnceThenRecovers()
    {
        await using var test = await Harness.StartAsync(response: null);
        await test.UntilCallsAsync(1);

        Assert.False(test.Service.Up);
        Assert.Empty(test.Service.ContainersByDevice);
        var down = Assert.Single(test.Log.Entries, e => e.EventId.Id == DownId);
        Assert.Equal(LogLevel.Warning, down.Level);
        Assert.Contains("does not exist", down.Message, StringComparison.Ordinal);
        Assert.Contains(test.SocketPath, down.Message, StringComparison.Ordinal);

        test.Clock.Advance(PodAttributionOptions.DefaultRefreshPeriod);
        await test.UntilCallsAsync(2);
        test.Clock.Advance(PodAttributionOptions.DefaultRefreshPeriod);
        await test.UntilCallsAsync(3);
        Assert.Equal(1, test.Log.Count(DownId));

        await test.StartServerAsync(TwoPods);
        test.Clock.Advance(PodAttributionOptions.DefaultRefreshPeriod);
        await test.UntilCallsAsync(4);

        Assert.True(test.Service.Up);
        Assert.Equal(2, test.Service.ContainersByDevice.Count);
        Assert.Equal(1, test.Log.Count(UpId));
        Assert.Equal(1, test.Server!.Calls);
    }

    [Fact]
    public async Task Refresh_ServerPastDeadline_DownKeepsLastMapThenRecovers()
    {
        await using var test = await Harness.StartAsync(TwoPods);
        await test.UntilCallsAsync(1);
        var lastGood = test.Service.ContainersByDevice;

        test.Server!.Stall = true;
        test.Clock.Advance(PodAttributionOptions.DefaultRefreshPeriod);
        await test.UntilAsync(() => test.Server.Calls == 2, test.Server.Called);
        Assert.True(test.Service.Up);
        test.Clock.Advance(PodAttributionService.CallTimeout);
        await test.UntilCallsAsync(2);

        Assert.False(test.Service.Up);
        Assert.Same(lastGood, test.Service.ContainersByDevice);
        Assert.Contains("did not answer within 2s", Assert.Single(test.Log.Entries, e => e.EventId.Id == DownId).Message, StringComparison.Ordinal);

        test.Server.Stall = false;
        test.Clock.Advance(PodAttributionOptions.DefaultRefreshPeriod);
        await test.UntilCallsAsync(3);

        Assert.True(test.Service.Up);
        Assert.Equal(2, test.Log.Count(UpId));
        Assert.Equal(1, test.Log.Count(DownId));
    }

    [Fact]
    public async Task Refresh_AnswerOverTheCap_DownNamingTheLimit()
    {
        var huge = Answer(Pod("ns", new string('p', PodAttributionService.MaxResponseBytes), ("c", Gpu, [Uuid(0)])));
        await using var test = await Harness.StartAsync(huge);
        await test.UntilCallsAsync(1);

        Assert.False(test.Service.Up);
        Assert.Empty(test.Service.ContainersByDevice);
        var down = Assert.Single(test.Log.Entries, e => e.EventId.Id == DownId).Message;
        Assert.Contains("16 MiB", down, StringComparison.Ordinal);
        Assert.Contains("exceeds", down, StringComparison.Ordinal);

        test.Server!.Response = TwoPods;
        test.Clock.Advance(PodAttributionOptions.DefaultRefreshPeriod);
        await test.UntilCallsAsync(2);
        Assert.True(test.Service.Up);
    }

    [Fact]
    public async Task RequestRefresh_ManyAtOnce_OneCallAfterTheDelay()
    {
        await using var test = await Harness.StartAsync(TwoPods);
        await test.UntilCallsAsync(1);
        var start = test.Clock.GetUtcNow();

        for (var i = 0; i < 50; i++)
        {
            test.Service.RequestRefresh();
        }

        await test.UntilAsync(() => test.Service.WaitingUntil == start + PodAttributionService.RequestedRefreshDelay);
        test.Clock.Advance(PodAttributionService.RequestedRefreshDelay - TimeSpan.FromMilliseconds(1));
        Assert.Equal(1, test.Service.Calls);
        test.Clock.Advance(TimeSpan.FromMilliseconds(1));
        await test.UntilCallsAsync(2);

        Assert.Equal(2, test.Server!.Calls);
        Assert.Equal(test.Clock.GetUtcNow() + PodAttributionOptions.DefaultRefreshPeriod, await test.WaitingAsync());
    }

    [Fact]
    public async Task RequestRefresh_RightAfterACall_WaitsForTheMinimumInterval()
    {
        await using var test = await Harness.StartAsync(TwoPods);
        await test.UntilCallsAsync(1);
        var first = test.Clock.GetUtcNow();

        // A request 100 ms into the interval: due 200 ms after it (the delay), not before.
        test.Clock.Advance(TimeSpan.FromMilliseconds(100));
        test.Service.RequestRefresh();
        Assert.Equal(first + TimeSpan.FromMilliseconds(300), await test.WaitingAsync(first + TimeSpan.FromMilliseconds(300)));
        test.Clock.Advance(TimeSpan.FromMilliseconds(200));
        await test.UntilCallsAsync(2);
        var second = test.Clock.GetUtcNow();

        // Requests arriving while a call is due are served by the next one, never sooner than the interval.
        test.Service.RequestRefresh();
        Assert.Equal(second + PodAttributionService.MinCallInterval, await test.WaitingAsync(second + PodAttributionService.MinCallInterval));
        test.Clock.Advance(PodAttributionService.MinCallInterval - TimeSpan.FromMilliseconds(1));
        test.Service.RequestRefresh();
        Assert.Equal(2, test.Service.Calls);
        test.Clock.Advance(TimeSpan.FromMilliseconds(1));
        await test.UntilCallsAsync(3);
        Assert.Equal(3, test.Server!.Calls);
    }

    [Fact]
    public async Task Allocate_SignalFromThePlugin_RequestsARefresh()
    {
        await using var test = await Harness.StartAsync(TwoPods);
        await test.UntilCallsAsync(1);
        var now = test.Clock.GetUtcNow();

        test.Activity.RecordAllocate("nvidia.com/gpu", AllocateResult.Ok, TimeSpan.FromMilliseconds(1));

        Assert.Equal(now + PodAttributionService.RequestedRefreshDelay, await test.WaitingAsync(now + PodAttributionService.RequestedRefreshDelay));
        test.Clock.Advance(PodAttributionService.RequestedRefreshDelay);
        await test.UntilCallsAsync(2);
    }

    [Fact]
    public async Task Allocate_BurstThenAnotherAfterItsRefresh_EachBurstGetsARefresh()
    {
        await using var test = await Harness.StartAsync(TwoPods);
        await test.UntilCallsAsync(1);

        var soon = PodAttributionService.RequestedRefreshDelay + PodAttributionService.MinCallInterval;
        for (var burst = 0; burst < 3; burst++)
        {
            var before = test.Service.Calls;
            for (var i = 0; i < 50; i++)
            {
                test.Activity.RecordAllocate("nvidia.com/gpu", AllocateResult.Ok, TimeSpan.FromMilliseconds(1));
            }

            // The burst asks for a refresh: the service waits for a moment within the requested delay, not the period.
            await test.UntilAsync(() => test.Service.WaitingUntil is { } until && until <= test.Clock.GetUtcNow() + soon);
            test.Clock.Advance(soon);
            await test.UntilAsync(() => test.Service.Calls > before && test.Service.WaitingUntil is not null);
        }
    }

    [Fact]
    public async Task Options_EmptySocket_OffWithoutCallsThenOnAfterReload()
    {
        await using var test = await Harness.StartAsync(TwoPods, new PodAttributionOptions { SocketPath = string.Empty });
        await test.UntilAsync(() => test.Log.Count(OffId) == 1);

        Assert.False(test.Service.Up);
        Assert.Equal(0, test.Server!.Calls);

        test.Options.Set(new PodAttributionOptions { SocketPath = test.SocketPath });
        await test.UntilCallsAsync(1);

        Assert.True(test.Service.Up);
    }

    [Fact]
    public async Task Refresh_UnexpectedFailureRepeated_LoggedOnceThenRecoveryOnce()
    {
        await using var test = await Harness.StartAsync(TwoPods);
        await test.UntilCallsAsync(1);

        test.Advertised.Broken = true;
        for (var call = 2; call <= 4; call++)
        {
            test.Clock.Advance(PodAttributionOptions.DefaultRefreshPeriod);
            await test.UntilCallsAsync(call);
        }

        Assert.False(test.Service.Up);
        var failed = Assert.Single(test.Log.Entries, e => e.EventId.Id == LoopFailedId);
        Assert.Equal(LogLevel.Error, failed.Level);
        Assert.Equal(0, test.Log.Count(LoopRecoveredId));

        test.Advertised.Broken = false;
        test.Clock.Advance(PodAttributionOptions.DefaultRefreshPeriod);
        await test.UntilCallsAsync(5);

        Assert.True(test.Service.Up);
        Assert.Equal(1, test.Log.Count(LoopFailedId));
        Assert.Equal(1, test.Log.Count(LoopRecoveredId));
        Assert.Equal(2, test.Log.Count(UpId));
    }

    [Fact]
    public async Task Enabled_EmptySocketThenReload_FollowsTheOptions()
    {
        await using var test = await Harness.StartAsync(TwoPods, new PodAttributionOptions { SocketPath = string.Empty });

        Assert.False(test.Service.Enabled);
        test.Options.Set(new PodAttributionOptions { SocketPath = test.SocketPath });
        Assert.True(test.Service.Enabled);
    }

    [Fact]
    public async Task Options_ReloadedPeriod_NextRefreshUsesIt()
    {
        await using var test = await Harness.StartAsync(TwoPods);
        await test.UntilCallsAsync(1);
        var now = test.Clock.GetUtcNow();

        test.Options.Set(new PodAttributionOptions { SocketPath = test.SocketPath, RefreshPeriod = TimeSpan.FromSeconds(3) });

        Assert.Equal(now + TimeSpan.FromSeconds(3), await test.WaitingAsync(now + TimeSpan.FromSeconds(3)));
    }

    [Fact]
    public async Task Stop_CallInFlight_EndsPromptly()
    {
        var test = await Harness.StartAsync(TwoPods);
        test.Server!.Stall = true;
        await test.UntilAsync(() => test.Server.Calls == 1, test.Server.Called);

        await test.Service.StopAsync(default).WaitAsync(Wait);
        await test.DisposeAsync();
    }

    /// <summary>The service on a manual clock, against a fake kubelet in a temp dir, with recorded logs.</summary>
    private sealed class Harness : IAsyncDisposable
    {
        private readonly TempDirectory _dir = new();

        private Harness(PodAttributionOptions? options)
        {
            SocketPath = _dir.File("kubelet.sock");
            Options = new TestOptionsMonitor<PodAttributionOptions>(options ?? new PodAttributionOptions { SocketPath = SocketPath });
            Service = new PodAttributionService(Advertised, Activity, Options, Clock, new Logger<PodAttributionService>(LogFactory));
        }

        public string SocketPath { get; }

        public ManualTimeProvider Clock { get; } = new();

        public PluginActivity Activity { get; } = new();

        public BreakableAdvertisedDevices Advertised { get; } = new(new FixedAdvertisedDevices(ResourcePlanner.Plan(Gpus.Inventory(2), new PluginOptions())));

        public TestOptionsMonitor<PodAttributionOptions> Options { get; }

        public RecordingLoggerFactory LogFactory { get; } = new();

        public RecordingLogger Log => LogFactory.Logger;

        public PodAttributionService Service { get; }

        public FakePodResourcesServer? Server { get; private set; }

        /// <param name="response">What the fake kubelet answers; null starts no server (the socket is missing).</param>
        public static async Task<Harness> StartAsync(ListPodResourcesResponse? response, PodAttributionOptions? options = null)
        {
            var harness = new Harness(options);
            if (response is not null)
            {
                await harness.StartServerAsync(response);
            }

            await harness.Service.StartAsync(default);
            return harness;
        }

        public async Task StartServerAsync(ListPodResourcesResponse response)
        {
            Server = await FakePodResourcesServer.StartAsync(SocketPath, Clock);
            Server.Response = response;
        }

        /// <summary>Until the service has finished <paramref name="calls"/> calls and waits again.</summary>
        public Task UntilCallsAsync(int calls) => UntilAsync(() => Service.Calls == calls && Service.WaitingUntil is not null);

        /// <summary>The time the service waits for, once it waits for <paramref name="expected"/> (or anything, when null).</summary>
        public async Task<DateTimeOffset> WaitingAsync(DateTimeOffset? expected = null)
        {
            await UntilAsync(() => Service.WaitingUntil is { } until && (expected is null || until == expected));
            return Service.WaitingUntil!.Value;
        }

        public async Task UntilAsync(Func<bool> condition, ChangeSignal? signal = null)
        {
            signal ??= Service.Progress;
            using var timeout = new CancellationTokenSource(Wait);
            while (true)
            {
                var seen = signal.Version;
                if (condition())
                {
                    return;
                }

                await signal.WaitForChangeAsync(seen, timeout.Token);
            }
        }

        public async ValueTask DisposeAsync()
        {
            await Service.DisposeAsync();
            if (Server is not null)
            {
                await Server.DisposeAsync();
            }

            _dir.Dispose();
        }
    }

    /// <summary>The advertised devices, or an unexpected failure (a bug) while <see cref="Broken"/> is set.</summary>
    private sealed class BreakableAdvertisedDevices(IAdvertisedDevices inner) : IAdvertisedDevices
    {
        private volatile bool _broken;

        public bool Broken
        {
            get => _broken;
            set => _broken = value;
        }

        public AdvertisedDeviceSet Current => _broken ? throw new InvalidOperationException("advertised devices unavailable") : inner.Current;
    }
}
