using GpuDaemon.DevicePlugin;
using GpuDaemon.DevicePlugin.Api;
using GpuDaemon.DevicePlugin.Planning;
using GpuDaemon.DevicePlugin.Serving;
using GpuDaemon.Devices;
using GpuDaemon.Devices.Simulated;
using GpuDaemon.GrpcWire;
using GpuDaemon.Health;
using GpuDaemon.Protos.DevicePlugin.V1Beta1;
using GpuDaemon.Tests.TestSupport;

namespace GpuDaemon.Tests.DevicePlugin.Serving;

/// <summary>The plugin reads health only through the shared <see cref="IGpuHealth"/> verdicts, and speaks the kubelet's words.</summary>
public sealed class ResourcePluginTests
{
    private static readonly string Gpu0 = DefaultScenario.UuidFor(0);
    private static readonly string Gpu1 = DefaultScenario.UuidFor(1);

    [Fact]
    public void Snapshot_SharedVerdictUnhealthy_KubeletToldUnhealthy()
    {
        var health = new SettableHealth();
        var plugin = Plugin(health);
        health.Set(Gpu1, new GpuHealthVerdict(false, "Xid 79 (from another subsystem's view)", DateTimeOffset.UnixEpoch));

        var snapshot = plugin.Snapshot();

        Assert.Equal(["Healthy", "Unhealthy"], snapshot.Devices.Select(d => d.Health));
    }

    [Fact]
    public void Allocate_SharedVerdictUnhealthy_FailedPreconditionWithTheVerdictsReason()
    {
        var health = new SettableHealth();
        var plugin = Plugin(health);
        health.Set(Gpu1, new GpuHealthVerdict(false, "double-bit ECC error (test)", DateTimeOffset.UnixEpoch));

        var ex = Assert.Throws<RpcException>(() => ResourcePlugin.Refusing(() => plugin.Allocate(Request(Gpu1))));

        Assert.Equal(GrpcStatusCode.FailedPrecondition, ex.StatusCode);
        Assert.Contains("double-bit ECC error (test)", ex.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Refusing_InvalidRequest_InvalidArgument()
    {
        var plugin = Plugin(new SettableHealth());

        var ex = Assert.Throws<RpcException>(() => ResourcePlugin.Refusing(() => plugin.Allocate(Request("GPU-unknown"))));

        Assert.Equal(GrpcStatusCode.InvalidArgument, ex.StatusCode);
        Assert.Contains("unknown device \"GPU-unknown\"", ex.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ListAndWatch_SharedVerdictChanges_NewListSent()
    {
        var health = new SettableHealth();
        var plugin = Plugin(health);
        await using var server = await ServerHarness.StartAsync(plugin.CreateServiceMap());
        using var cancel = new CancellationTokenSource(PluginHarness.Wait);
        await using var stream = server.Client.ServerStreamingAsync(DevicePluginApi.ListAndWatch, new Empty(), cancellationToken: cancel.Token).GetAsyncEnumerator(cancel.Token);

        Assert.True(await stream.MoveNextAsync());
        Assert.All(stream.Current.Devices, d => Assert.Equal("Healthy", d.Health));
        health.Set(Gpu0, new GpuHealthVerdict(false, "lost", DateTimeOffset.UnixEpoch));

        Assert.True(await stream.MoveNextAsync());
        Assert.Equal("Unhealthy", stream.Current.Devices[0].Health);
        Assert.Equal("Healthy", stream.Current.Devices[1].Health);
    }

    public static TheoryData<string[], string[], int, string> InvalidPreferredRequests => new()
    {
        { [Gpu0, Gpu1, Gpu0], [], 1, $"lists available device \"{Gpu0}\" twice" },
        { [Gpu0, Gpu1], [Gpu1, Gpu1], 2, $"must_include names device \"{Gpu1}\" twice" },
        { [Gpu0, Gpu1], ["GPU-nobody"], 1, "unknown device \"GPU-nobody\" in GetPreferredAllocation must_include" },
        { [Gpu0], [], 2, "asks for 2 devices of nvidia.com/gpu but lists only 1 available" },
        { [Gpu0, Gpu1], [], -1, "allocation_size must be 0 or more" },
        { [Gpu0, Gpu1], [Gpu0, Gpu1], 1, "must_include names 2 devices of nvidia.com/gpu, more than allocation_size 1" },
    };

    /// <summary>A repeated ID used to be INTERNAL "Sequence contains no elements", logged with a stack trace.</summary>
    [Theory]
    [MemberData(nameof(InvalidPreferredRequests))]
    public async Task GetPreferredAllocation_InvalidRequest_InvalidArgumentNamingTheProblem(string[] available, string[] mustInclude, int size, string expected)
    {
        var plugin = Plugin(new SettableHealth());
        await using var server = await ServerHarness.StartAsync(plugin.CreateServiceMap());

        var ex = await Assert.ThrowsAsync<RpcException>(() => server.Client.UnaryAsync(DevicePluginApi.GetPreferredAllocation, PreferredRequest(available, mustInclude, size)));

        Assert.Equal(GrpcStatusCode.InvalidArgument, ex.StatusCode);
        Assert.Contains(expected, ex.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', ex.Detail);
    }

    /// <summary>Random subsets, duplicates, unknown IDs and sizes: a valid answer or INVALID_ARGUMENT, nothing else.</summary>
    [Fact]
    public void GetPreferredAllocation_SeededRandomRequests_ValidAnswerOrInvalidArgument()
    {
        var options = new PluginOptions { Replicas = 3 };
        var plan = Assert.Single(ResourcePlanner.Plan(Gpus.Inventory(8), options));
        var plugin = new ResourcePlugin(plan, options, new SettableHealth(), TestLogging.Logger);
        var ids = plan.Devices.Select(d => d.Id).Append("GPU-unknown").ToArray();
        var random = new Random(20261121);
        var refused = 0;

        for (var i = 0; i < 2000; i++)
        {
            var available = Pick(random, ids, random.Next(0, ids.Length + 4));
            var mustInclude = Pick(random, random.Next(3) == 0 ? ids : available, random.Next(0, 4));
            var size = random.Next(-2, available.Length + 3);
            var request = PreferredRequest(available, mustInclude, size);
            try
            {
                var answer = ResourcePlugin.Refusing(() => plugin.GetPreferredAllocation(request)).ContainerResponses.Single().DeviceIDs;
                // Unknown available IDs are skipped, so the answer may be short by those.
                var usable = available.Concat(mustInclude).Where(id => id != "GPU-unknown").Distinct().Count();
                Assert.Equal(Math.Min(size, usable), answer.Count);
                Assert.Equal(answer.Count, answer.Distinct().Count());
                Assert.All(answer, id => Assert.Contains(id, ids));
                Assert.All(mustInclude, id => Assert.Contains(id, answer));
            }
            catch (RpcException ex)
            {
                Assert.Equal(GrpcStatusCode.InvalidArgument, ex.StatusCode);
                refused++;
            }
        }

        Assert.InRange(refused, 1, 1999);
    }

    [Fact]
    public void GetPreferredAllocation_CancelledToken_Throws()
    {
        var plugin = Plugin(new SettableHealth());
        using var cancel = new CancellationTokenSource();
        cancel.Cancel();

        Assert.Throws<OperationCanceledException>(() => plugin.GetPreferredAllocation(PreferredRequest([Gpu0, Gpu1], [], 1), cancellationToken: cancel.Token));
    }

    /// <summary>Draws <paramref name="count"/> IDs with replacement, so repeats happen.</summary>
    private static string[] Pick(Random random, string[] from, int count) =>
        from.Length == 0 ? [] : [.. Enumerable.Range(0, count).Select(_ => from[random.Next(from.Length)])];

    private static PreferredAllocationRequest PreferredRequest(string[] available, string[] mustInclude, int size) => new()
    {
        ContainerRequests =
        {
            new ContainerPreferredAllocationRequest { AvailableDeviceIDs = { available }, MustIncludeDeviceIDs = { mustInclude }, AllocationSize = size },
        },
    };

    private static ResourcePlugin Plugin(IGpuHealth health)
    {
        var options = new PluginOptions();
        var plan = Assert.Single(ResourcePlanner.Plan(Gpus.Inventory(2), options));
        return new ResourcePlugin(plan, options, health, TestLogging.Logger);
    }

    private static AllocateRequest Request(params string[] ids) =>
        new() { ContainerRequests = { new ContainerAllocateRequest { DevicesIds = { ids } } } };
}
