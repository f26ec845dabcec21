using System.Diagnostics;
using System.Globalization;
using GpuDaemon.Devices;

namespace GpuDaemon.Tests.TestSupport;

/// <summary>
/// The real <c>gpudaemon</c> as a child process (<c>dotnet gpudaemon.dll …</c>): its stderr lines collected and
/// awaitable, signals sent with <c>kill</c>, and killed on dispose if still running.
/// </summary>
public sealed class DaemonProcess : IDisposable
{
    private readonly Process _process;
    private readonly List<string> _stderr = [];
    private readonly ChangeSignal _added = new();
    private readonly TempDirectory _labelsDir;

    private DaemonProcess(Process process, TempDirectory labelsDir)
    {
        _process = process;
        _labelsDir = labelsDir;
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }

            lock (_stderr)
            {
                _stderr.Add(e.Data);
            }

            _added.Notify();
        };
        _process.OutputDataReceived += (_, _) => { };
        _process.BeginErrorReadLine();
        _process.BeginOutputReadLine();
    }

    public int Id => _process.Id;

    /// <summary>Where a serve started here writes its node-label file (GPUDAEMON_NODE_LABELS_DIR).</summary>
    public string NodeLabelsDir => _labelsDir.Path;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    /// <summary>Every stderr line so far.</summary>
    public IReadOnlyList<string> Stderr
    {
        get
        {
            lock (_stderr)
            {
                return [.. _stderr];
            }
        }
    }

    public static DaemonProcess Start(params string[] args) => Start(new Dictionary<string, string?>(), args);

    /// <summary>Starts gpudaemon with these environment variables set (a null value removes the variable).</summary>
    public static DaemonProcess Start(IReadOnlyDictionary<string, string?> environment, params string[] args)
    {
        var host = Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet" ? Environment.ProcessPath! : "dotnet";
        var info = new ProcessStartInfo(host) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        // Metrics on a free loopback port unless the test chooses: the default 9400 would be shared by parallel tests.
        info.Environment["GPUDAEMON_METRICS_LISTEN"] = ServeProcess.TestMetricsListen;
        // Node labels into a folder of the process's own, never NFD's real one (an empty variable would not override the default).
        var labelsDir = new TempDirectory();
        info.Environment["GPUDAEMON_NODE_LABELS_DIR"] = labelsDir.Path;
        foreach (var (name, value) in environment)
        {
            if (value is null)
            {
                info.Environment.Remove(name);
            }
            else
            {
                info.Environment[name] = value;
            }
        }

        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "gpudaemon.dll"));
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        return new DaemonProcess(Process.Start(info)!, labelsDir);
    }

    /// <summary>Runs gpudaemon to its end (bounded by <paramref name="timeout"/>) and returns its exit code and stderr lines.</summary>
    public static async Task<(int ExitCode, IReadOnlyList<string> Stderr)> RunAsync(TimeSpan timeout, params string[] args)
    {
        using var daemon = Start(args);
        await daemon.WaitForExitAsync(timeout);
        return (daemon.ExitCode, daemon.Stderr);
    }

    public void Signal(string signal)
    {
        using var kill = Process.Start("kill", ["-" + signal, Id.ToString(CultureInfo.InvariantCulture)])!;
        kill.WaitForExit();
        Assert.Equal(0, kill.ExitCode);
    }

    /// <summary>Waits for the process to exit and for its output to be read to the end.</summary>
    public async Task WaitForExitAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"gpudaemon did not exit within {timeout.TotalSeconds:0} s; stderr so far:\n{string.Join('\n', Stderr)}");
        }
    }

    /// <summary>Waits until <paramref name="count"/> stderr lines contain <paramref name="text"/>.</summary>
    public async Task WaitForStderrAsync(string text, int count, TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        while (true)
        {
            var seen = _added.Version;
            if (Stderr.Count(l => l.Contains(text, StringComparison.Ordinal)) >= count)
            {
                return;
            }

            try
            {
                await _added.WaitForChangeAsync(seen, cancel.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"'{text}' did not appear {count} times; stderr so far:\n{string.Join('\n', Stderr)}");
            }
        }
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill();
                _process.WaitForExit();
            }
        }
        catch (InvalidOperationException)
        {
        }

        _process.Dispose();
        _labelsDir.Dispose();
    }
}
