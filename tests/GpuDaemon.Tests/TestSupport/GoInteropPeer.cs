using System.Diagnostics;

namespace GpuDaemon.Tests.TestSupport;

/// <summary>
/// The grpc-go peer from tests/interop, built once per test run with its own build script. grpc-go is
/// the gRPC the kubelet uses, so it checks our wire layer against an implementation we did not write.
/// </summary>
public static class GoInteropPeer
{
    private static readonly Lazy<Task<string>> Binary = new(BuildAsync);

    public static Task<string> GetBinaryAsync() => Binary.Value;

    public static ProcessStartInfo StartInfo(string binary, params string[] args)
    {
        var info = new ProcessStartInfo(binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        return info;
    }

    private static async Task<string> BuildAsync()
    {
        var outDir = RepoFiles.Path(".interop");
        var info = StartInfo("bash", RepoFiles.Path("tests/interop/build.sh"), outDir);
        using var process = Process.Start(info)!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"building the grpc-go interop peer failed (exit {process.ExitCode}); install its Debian packages as the README's test command does: {await stderr} {await stdout}");
        }

        return Path.Combine(outDir, "gpudaemon-interop");
    }
}
