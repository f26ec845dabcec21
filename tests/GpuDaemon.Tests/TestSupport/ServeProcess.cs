using GpuDaemon.Cli;

namespace GpuDaemon.Tests.TestSupport;

/// <summary><c>gpudaemon serve --simulate N</c> running in-process on a temp device-plugin dir, no kubelet.</summary>
public sealed class ServeProcess : IAsyncDisposable
{
    private readonly TempDirectory? _ownDir;
    private readonly CancellationTokenSource _stop = new();
    private Task<int> _run = Task.FromResult(0);

    private ServeProcess(string? directory)
    {
        if (directory is null)
        {
            _ownDir = new TempDirectory();
        }

        Directory = directory ?? _ownDir!.Path;
    }

    public string Directory { get; }

    public string PluginSocket => Path.Combine(Directory, "gpudaemon-nvidia.com-gpu.sock");

    public static Task<ServeProcess> StartAsync(int gpus, params string[] extraArgs) => StartAsync(gpus, null, extraArgs);

    /// <summary>Serves in <paramref name="directory"/> (a kubelet may already be there), or in a temp dir of its own.</summary>
    public static async Task<ServeProcess> StartAsync(int gpus, string? directory, params string[] extraArgs)
    {
        var serve = new ServeProcess(directory);
        serve._run = GpuDaemonCli.RunAsync(
            ["serve", "--simulate", gpus.ToString(System.Globalization.CultureInfo.InvariantCulture), "--device-plugin-dir", serve.Directory, "--log-level", "none", .. extraArgs],
            TextWriter.Null,
            TextWriter.Null,
            new DictionaryEnvironment(new Dictionary<string, string>()),
            serve._stop.Token);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        while (!File.Exists(serve.PluginSocket))
        {
            if (serve._run.IsCompleted)
            {
                throw new InvalidOperationException($"serve exited early with {await serve._run}");
            }

            await Task.Delay(10, timeout.Token);
        }

        return serve;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _run.WaitAsync(TimeSpan.FromSeconds(20));
        _stop.Dispose();
        _ownDir?.Dispose();
    }
}
