namespace GpuDaemon.Tests.TestSupport;

/// <summary>Files a wrong path or a broken writer leaves where GpuDaemon expects config or a scenario.</summary>
public static class HostileFiles
{
    /// <summary>The size of the "wrong path" file: far over every limit, and never written, only sparse.</summary>
    public const long HugeBytes = 100L * 1024 * 1024;

    /// <summary>The longest one-line error about a file's content that is still readable (the path included).</summary>
    public const int MaxErrorLength = 300;

    /// <summary>Random bytes with NULs, escape sequences and newlines all through them, the same for a seed.</summary>
    public static byte[] Binary(int length, int seed = 7)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        byte[] hostile = [0x00, 0x1b, (byte)'[', (byte)'3', (byte)'1', (byte)'m', (byte)'\n', (byte)'\r', 0x07, 0x0b, 0x0c];
        for (var i = 0; i < length; i += 13)
        {
            bytes[i] = hostile[i / 13 % hostile.Length];
        }

        return bytes;
    }

    /// <summary>A scenario that starts well, then holds a value that is one long invalid token with control characters in it.</summary>
    public static string LongInvalidToken(int length = 50_000) =>
        "{\"gpus\": [{\"uuid\": \"GPU-a\", \"healthy\": t" + new string('r', length) + "\u001b[2J\u0000\u0007\r\n" + new string('x', length) + "}]}";

    /// <summary>Binary garbage where a JSON value is expected (a literal that never ends), so the reader quotes all of it.</summary>
    public static byte[] BinaryAfterLiteral(int length = 64 * 1024) =>
        [.. "{\"gpus\": [{\"uuid\": \"GPU-a\", \"lost\": nul"u8, .. Binary(length)];

    /// <summary>Makes <paramref name="path"/> a sparse file of <paramref name="length"/> bytes (no data written).</summary>
    public static string Sparse(string path, long length = HugeBytes)
    {
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write);
        file.SetLength(length);
        return path;
    }

    /// <summary>Writes <paramref name="path"/> whole: a temp file renamed over it, as a careful writer does.</summary>
    public static void Replace(string path, byte[] content)
    {
        File.WriteAllBytes(path + ".tmp", content);
        File.Move(path + ".tmp", path, overwrite: true);
    }

    /// <summary>Asserts an error or log message is one short line with nothing a terminal would act on.</summary>
    public static void AssertOneShortLine(string message)
    {
        Assert.DoesNotContain(message, char.IsControl);
        Assert.DoesNotContain(message, c => c is '\u2028' or '\u2029' or '\u0085');
        Assert.True(message.Length <= MaxErrorLength, $"{message.Length} characters: {message}");
    }

    /// <summary>Bytes allocated on this thread while <paramref name="action"/> ran: a file read whole shows as its size.</summary>
    public static long AllocatedBy(Action action)
    {
        var before = GC.GetAllocatedBytesForCurrentThread();
        action();
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }
}
