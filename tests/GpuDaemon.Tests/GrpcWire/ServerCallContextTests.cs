using GpuDaemon.GrpcWire;
using Microsoft.AspNetCore.Http;

namespace GpuDaemon.Tests.GrpcWire;

public sealed class ServerCallContextTests
{
    public static TheoryData<int> Sources => [0, 1, 2];

    [Theory]
    [MemberData(nameof(Sources))]
    public async Task CancellationToken_AnySourceCancelled_CancelsTheCall(int source)
    {
        using var aborted = new CancellationTokenSource();
        using var stopping = new CancellationTokenSource();
        using var deadline = new CancellationTokenSource();
        var call = new ServerCallContext("/m", new HeaderDictionary(), null, aborted.Token, stopping.Token, deadline.Token);
        var token = call.CancellationToken;
        Assert.False(call.IsCancellationRequested);

        await new[] { aborted, stopping, deadline }[source].CancelAsync();

        Assert.True(token.IsCancellationRequested);
        Assert.True(call.IsCancellationRequested);
        call.Complete();
    }

    [Fact]
    public async Task CancellationToken_FirstUsedAfterTheClientLeft_AlreadyCancelled()
    {
        using var aborted = new CancellationTokenSource();
        var call = new ServerCallContext("/m", new HeaderDictionary(), null, aborted.Token, CancellationToken.None, CancellationToken.None);

        await aborted.CancelAsync();

        Assert.True(call.IsCancellationRequested);
        Assert.True(call.CancellationToken.IsCancellationRequested);
        call.Complete();
    }

    [Fact]
    public void CancellationToken_ReadTwice_TheSameToken()
    {
        using var aborted = new CancellationTokenSource();
        var call = new ServerCallContext("/m", new HeaderDictionary(), null, aborted.Token, CancellationToken.None, CancellationToken.None);

        Assert.Equal(call.CancellationToken, call.CancellationToken);
        call.Complete();
    }

    [Fact]
    public void Complete_TokenNeverUsed_NothingWasLinked()
    {
        using var aborted = new CancellationTokenSource();
        var before = GC.GetAllocatedBytesForCurrentThread();
        var call = new ServerCallContext("/m", new HeaderDictionary(), null, aborted.Token, CancellationToken.None, CancellationToken.None);
        var made = GC.GetAllocatedBytesForCurrentThread() - before;

        _ = call.IsCancellationRequested;
        call.Complete();

        Assert.Equal(made, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
