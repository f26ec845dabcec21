using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.IO.Pipelines;
using Google.Protobuf;
using GpuDaemon.GrpcWire;
using GpuDaemon.GrpcWire.Internal;
using GpuDaemon.Protos.DevicePlugin.V1Beta1;

namespace GpuDaemon.Tests.GrpcWire;

/// <summary>
/// A bounded, seeded mutation fuzzer over what the wire layer parses from a peer: the message prefix across
/// arbitrary DATA splits, the grpc-timeout header, and the device-plugin request messages. Valid inputs are
/// mutated (bit flips, truncation, length-field edits, splices, insertions); each target runs at least 200 iterations and for a couple
/// of seconds (a minute with GPUDAEMON_RELIABILITY=long). Properties: only the documented error type (RpcException),
/// no hang, and allocation proportional to the bytes given, never to a declared length. A failure names
/// its seed and iteration; GPUDAEMON_FUZZ_SEED=seed replays it.
/// </summary>
public sealed class GrpcWireFuzzTests
{
    private const int MaxMessageBytes = 64 * 1024;

    /// <summary>Allocation allowed per input byte (object headers of tiny repeated messages) plus a fixed allowance.</summary>
    private const long AllocationPerByte = 256;
    private const long AllocationAllowance = 1024 * 1024;

    private static readonly TimeSpan Budget = string.Equals(Environment.GetEnvironmentVariable("GPUDAEMON_RELIABILITY"), "long", StringComparison.OrdinalIgnoreCase)
        ? TimeSpan.FromSeconds(60)
        : TimeSpan.FromSeconds(2);

    private static readonly IMessage[] Corpus =
    [
        new Empty(),
        new AllocateRequest { ContainerRequests = { new ContainerAllocateRequest { DevicesIds = { "GPU-5d3c0a1e-0000-0000-0000-000000000000", "GPU-1" } }, new ContainerAllocateRequest() } },
        new PreferredAllocationRequest { ContainerRequests = { new ContainerPreferredAllocationRequest { AvailableDeviceIDs = { "GPU-0", "GPU-1", "GPU-2" }, MustIncludeDeviceIDs = { "GPU-1" }, AllocationSize = 2 } } },
        new PreStartContainerRequest { DevicesIds = { "GPU-0", "GPU-7" } },
    ];

    private const int Parsers = 6;

    /// <summary>Iterations every target runs however slow the machine; the time budget only adds more.</summary>
    private const int MinimumIterations = 200;

    /// <summary>Parses with one of the device-plugin request parsers, through the wire layer's own parse.</summary>
    private static void Parse(int which, ReadOnlySequence<byte> bytes)
    {
        _ = which switch
        {
            0 => (IMessage)GrpcFraming.ParseMessage(Empty.Parser, bytes),
            1 => GrpcFraming.ParseMessage(AllocateRequest.Parser, bytes),
            2 => GrpcFraming.ParseMessage(PreferredAllocationRequest.Parser, bytes),
            3 => GrpcFraming.ParseMessage(PreStartContainerRequest.Parser, bytes),
            4 => GrpcFraming.ParseMessage(ContainerAllocateRequest.Parser, bytes),
            _ => GrpcFraming.ParseMessage(ContainerPreferredAllocationRequest.Parser, bytes),
        };
    }

    [Fact]
    public void Protobuf_MutatedDevicePluginRequests_OnlyRpcExceptionAndBoundedAllocation()
    {
        Fuzz(random =>
        {
            var input = Mutate(random, Corpus[random.Next(Corpus.Length)].ToByteArray(), Corpus[random.Next(Corpus.Length)].ToByteArray());
            var before = GC.GetAllocatedBytesForCurrentThread();
            try
            {
                Parse(random.Next(Parsers), new ReadOnlySequence<byte>(input));
            }
            catch (RpcException ex)
            {
                Assert.Equal(GrpcStatusCode.Internal, ex.StatusCode);
            }

            AssertAllocationBounded(before, input.Length);
        });
    }

    [Fact]
    public void Framing_MutatedFramesInArbitrarySegments_OnlyRpcExceptionsAndBoundedAllocation()
    {
        Fuzz(random =>
        {
            var input = Mutate(random, Framed(random), Framed(random));
            var buffer = Segments(input, random);
            var before = GC.GetAllocatedBytesForCurrentThread();
            try
            {
                while (GrpcFraming.TryReadFrame(ref buffer, MaxMessageBytes, out var payload))
                {
                    Assert.InRange(payload.Length, 0, MaxMessageBytes);
                    try
                    {
                        GrpcFraming.ParseMessage(AllocateRequest.Parser, payload);
                    }
                    catch (RpcException)
                    {
                    }
                }
            }
            catch (RpcException ex)
            {
                Assert.True(ex.StatusCode is GrpcStatusCode.Internal or GrpcStatusCode.ResourceExhausted, ex.StatusCode.ToString());
            }

            AssertAllocationBounded(before, input.Length);
        });
    }

    [Fact]
    public void Framing_MutatedRequestBodiesThroughAPipe_OnlyRpcExceptionsNoHangAndBudgetReleased()
    {
        Fuzz(random =>
        {
            var input = Mutate(random, Framed(random), Framed(random));
            var counters = new GrpcServerCounters();
            var lease = new RequestBytesLease(counters, new ConnectionRequestBytes(), MaxMessageBytes, MaxMessageBytes);
            var pipe = new Pipe();
            var reading = GrpcFraming.ReadSingleMessageAsync(pipe.Reader, AllocateRequest.Parser, MaxMessageBytes, CancellationToken.None, lease).AsTask();
            for (var offset = 0; offset < input.Length;)
            {
                var length = Math.Min(input.Length - offset, 1 + random.Next(Math.Max(1, input.Length / 3)));
                pipe.Writer.WriteAsync(input.AsMemory(offset, length)).AsTask().GetAwaiter().GetResult();
                offset += length;
            }

            pipe.Writer.Complete();
            Assert.True(Task.WaitAny([reading], TimeSpan.FromSeconds(10)) == 0, "the read hung on a completed body");
            if (reading.Exception is { } failure)
            {
                Assert.IsType<RpcException>(failure.InnerException);
            }

            Assert.InRange(counters.PeakBufferedRequestBytes, 0, MaxMessageBytes);
            lease.Release();
            Assert.Equal(0, counters.BufferedRequestBytes);
        });
    }

    [Fact]
    public void Timeout_MutatedHeaders_NeverThrowAndNeverNegative()
    {
        string[] valid = ["1H", "99999999H", "250m", "99999999n", "5S", "3M", "1500u", "0m"];
        Fuzz(random =>
        {
            var bytes = Mutate(random, System.Text.Encoding.ASCII.GetBytes(valid[random.Next(valid.Length)]), System.Text.Encoding.ASCII.GetBytes(valid[random.Next(valid.Length)]));
            var header = System.Text.Encoding.Latin1.GetString(bytes);
            if (GrpcTimeout.TryParse(header, out var timeout))
            {
                Assert.True(timeout >= TimeSpan.Zero, header);
                Assert.InRange(header.Length, 2, 9);
            }
        });
    }

    private static void Fuzz(Action<Random> iteration, [System.Runtime.CompilerServices.CallerMemberName] string target = "")
    {
        var seed = int.TryParse(Environment.GetEnvironmentVariable("GPUDAEMON_FUZZ_SEED"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var fixedSeed)
            ? fixedSeed
            : Environment.TickCount;
        var clock = Stopwatch.StartNew();
        // A floor of iterations, not a rate: a loaded parallel run slows each iteration but never shrinks the coverage.
        for (var i = 0; i < MinimumIterations || clock.Elapsed < Budget; i++)
        {
            try
            {
                iteration(new Random(unchecked((seed * 1_000_003) + i)));
            }
            catch (Exception ex)
            {
                throw new InvalidOperationException($"{target}: seed {seed}, iteration {i}: {ex.GetType().Name}: {ex.Message} (replay with GPUDAEMON_FUZZ_SEED={seed})", ex);
            }
        }
    }

    private static void AssertAllocationBounded(long before, int inputLength)
    {
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated <= (AllocationPerByte * inputLength) + AllocationAllowance, $"allocated {allocated} bytes for {inputLength} input bytes");
    }

    private static byte[] Framed(Random random)
    {
        var message = Corpus[random.Next(Corpus.Length)];
        return random.Next(4) == 0 ? [.. GrpcFraming.Frame(message), .. GrpcFraming.Frame(message)] : GrpcFraming.Frame(message);
    }

    /// <summary>One to four mutations of <paramref name="input"/>; <paramref name="other"/> is spliced from.</summary>
    private static byte[] Mutate(Random random, byte[] input, byte[] other)
    {
        var bytes = new List<byte>(input);
        for (var n = 1 + random.Next(4); n > 0; n--)
        {
            switch (random.Next(7))
            {
                case 0 when bytes.Count > 0:
                    var at = random.Next(bytes.Count);
                    bytes[at] ^= (byte)(1 << random.Next(8));
                    break;
                case 1 when bytes.Count > 0:
                    var cut = random.Next(bytes.Count);
                    bytes.RemoveRange(cut, bytes.Count - cut);
                    break;
                case 2 when bytes.Count >= 5:
                    // A length field: the gRPC prefix's 4 bytes, or a byte that may be a protobuf length varint.
                    var start = random.Next(2) == 0 ? 1 : random.Next(bytes.Count - 4);
                    foreach (var k in Enumerable.Range(start, 4))
                    {
                        bytes[k] = random.Next(3) switch { 0 => 0xFF, 1 => 0x00, _ => (byte)random.Next(256) };
                    }

                    break;
                case 3 when other.Length > 0:
                    var from = random.Next(other.Length);
                    bytes.InsertRange(random.Next(bytes.Count + 1), other.Skip(from).Take(random.Next(other.Length - from + 1)));
                    break;
                case 4:
                    bytes.InsertRange(random.Next(bytes.Count + 1), Enumerable.Range(0, random.Next(1, 8)).Select(_ => (byte)random.Next(256)));
                    break;
                case 5 when bytes.Count > 0:
                    // A varint that never ends, or one claiming a huge length.
                    bytes.InsertRange(random.Next(bytes.Count + 1), Enumerable.Repeat((byte)0xFF, random.Next(1, 12)));
                    break;
                case 6:
                    bytes.InsertRange(random.Next(bytes.Count + 1), Enumerable.Repeat((byte)((15 << 3) | 3), random.Next(1, 200)));
                    break;
            }
        }

        return [.. bytes];
    }

    /// <summary>The bytes as a sequence of 1 to 8 segments cut at random points, as DATA frames would deliver them.</summary>
    private static ReadOnlySequence<byte> Segments(byte[] input, Random random)
    {
        var cuts = Enumerable.Range(0, random.Next(8)).Select(_ => random.Next(input.Length + 1)).Append(0).Append(input.Length).Distinct().Order().ToArray();
        if (cuts.Length < 2)
        {
            return new ReadOnlySequence<byte>(input);
        }

        Segment? first = null;
        Segment? last = null;
        for (var i = 0; i + 1 < cuts.Length; i++)
        {
            var memory = input.AsMemory(cuts[i], cuts[i + 1] - cuts[i]).ToArray();
            last = last is null ? first = new Segment(memory, 0) : last.Append(memory);
        }

        return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
