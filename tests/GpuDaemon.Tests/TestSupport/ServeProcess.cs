using GpuDaemon.Cli;

namespace GpuDaemon.Tests.TestSupport;

/// <summary><c>gpudaemon serve --simulate N</c> running in-process on a temp device-plugin dir, no kubelet.</summary>
public sealed class ServeProcess : IAsyncDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly CancellationTokenSource _stop = new();
    private Task<int> _run = Task.FromResult(0);

    public string Directory => _dir.Path;

    public string PluginSocket => _dir.File("gpudaemon-nvidia.com-gpu.sock");

    public static async Task<ServeProcess> StartAsync(int gpus, params string[] extraArgs)
    {
        var serve = new ServeProcess();
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
        _dir.Dispose();
    }
}
