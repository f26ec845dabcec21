using System.Globalization;
using GpuDaemon.Cli;

namespace GpuDaemon.Tests.TestSupport;

/// <summary>
/// <c>gpudaemon serve</c> running in-process through the real command line, in a device-plugin dir
/// (a test's own, where a kubelet may already listen, or a temp one), logs off. Started once its socket exists.
/// </summary>
public sealed class ServeProcess : IAsyncDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    /// <summary>
    /// Where serve's metrics listen in tests unless a test says otherwise: a port of the system's choosing on
    /// loopback, never the default 9400, which parallel tests (and other processes on the machine) would share.
    /// </summary>
    public const string TestMetricsListen = "127.0.0.1:0";

    private readonly TempDirectory? _ownDir;
    private readonly TempDirectory _labelsDir = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly StringWriter _error = new();
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

    /// <summary>Where serve writes its node-label file, unless the arguments choose: never the real NFD folder.</summary>
    public string NodeLabelsDir => _labelsDir.Path;

    public string PluginSocket => Path.Combine(Directory, "gpudaemon-nvidia.com-gpu.sock");

    /// <summary>What serve wrote on stderr (logs are off, so only errors).</summary>
    public string Error => _error.ToString();

    public static Task<ServeProcess> StartAsync(int gpus, params string[] extraArgs) => StartAsync(gpus, null, extraArgs);

    public static Task<ServeProcess> StartAsync(int gpus, string? directory, params string[] extraArgs) =>
        StartWithArgsAsync(directory, ["--simulate", gpus.ToString(CultureInfo.InvariantCulture), .. extraArgs]);

    /// <summary>Serve with exactly <paramref name="serveArgs"/> (besides the directory and log level).</summary>
    public static async Task<ServeProcess> StartWithArgsAsync(string? directory, params string[] serveArgs)
    {
        var serve = new ServeProcess(directory);
        serve._run = GpuDaemonCli.RunAsync(
            ["serve", .. serveArgs, .. WithTestMetrics(serveArgs), .. WithTestNodeLabels(serveArgs, serve.NodeLabelsDir), "--device-plugin-dir", serve.Directory, "--log-level", "none"],
            TextWriter.Null,
            serve._error,
            new DictionaryEnvironment(new Dictionary<string, string>()),
            serve._stop.Token);
        using var timeout = new CancellationTokenSource(Wait);
        while (!File.Exists(serve.PluginSocket))
        {
            if (serve._run.IsCompleted)
            {
                throw new InvalidOperationException($"serve exited early with {await serve._run}: {serve.Error}");
            }

            await Task.Delay(10, timeout.Token);
        }

        return serve;
    }

    /// <summary>Serve's metrics on a free loopback port, unless the arguments already choose.</summary>
    public static string[] WithTestMetrics(IEnumerable<string> args) =>
        args.Contains("--metrics-listen") ? [] : ["--metrics-listen", TestMetricsListen];

    /// <summary>Node labels into <paramref name="directory"/> unless the arguments already choose: tests never write NFD's real folder.</summary>
    public static string[] WithTestNodeLabels(IEnumerable<string> args, string directory) =>
        args.Contains("--node-labels-dir") ? [] : ["--node-labels-dir", directory];

    public bool HasExited => _run.IsCompleted;

    /// <summary>Stops it as SIGTERM would and returns its exit code.</summary>
    public async Task<int> StopAsync()
    {
        await _stop.CancelAsync();
        return await _run.WaitAsync(Wait);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _stop.Dispose();
        _error.Dispose();
        _ownDir?.Dispose();
        _labelsDir.Dispose();
    }
}
