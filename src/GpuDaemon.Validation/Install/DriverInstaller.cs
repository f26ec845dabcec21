using System.Diagnostics;
using System.Globalization;
using System.Text;
using GpuDaemon.Devices;
using Microsoft.Extensions.Logging;

namespace GpuDaemon.Validation.Install;

/// <summary>How an installer run ended.</summary>
internal sealed record InstallResult(bool Succeeded, bool TimedOut, int? ExitCode, TimeSpan Duration, string? LastLine, TimeSpan Timeout)
{
    /// <summary>Why the shell could not be started at all (it is not in this image); null when it started.</summary>
    public string? StartProblem { get; init; }

    public string Describe() => StartProblem is { } problem
        ? $"could not start: {problem}"
        : TimedOut
        ? $"was killed, with what it started, at its timeout of {Durations.Format(Timeout)}"
        : string.Create(CultureInfo.InvariantCulture, $"exited with code {ExitCode} after {Durations.Format(Duration)}")
            + (LastLine is { Length: > 0 } line ? $"; its last line: {Excerpt.Of(line)}" : string.Empty);
}

/// <summary>
/// Runs the operator's install command, and only that, through <c>/bin/sh -c</c>: output streamed to the log line by
/// line (each line cut at <see cref="ValidationDefaults.MaxInstallerLineChars"/>), killed with every process it
/// started when it outlives its timeout.
/// </summary>
internal sealed class DriverInstaller(string command, TimeSpan timeout, TimeProvider timeProvider, ILogger logger, string shell = ValidationDefaults.InstallShell)
{

    /// <summary>How long the rest of the output is read after the command exits (5 s).</summary>
    public static readonly TimeSpan OutputDrainLimit = TimeSpan.FromSeconds(5);

    public async Task<InstallResult> RunAsync(CancellationToken cancellationToken)
    {
        var limit = Durations.Format(timeout);
        Log.InstallStarting(logger, command, limit);
        var start = new ProcessStartInfo(shell)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(command);
        var started = timeProvider.GetTimestamp();
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException($"{shell} did not start");
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            var missing = File.Exists(shell) ? ex.Message.ReplaceLineEndings(" ") : $"{shell} does not exist in this image";
            var failed = new InstallResult(false, false, null, timeProvider.GetElapsedTime(started), null, timeout) { StartProblem = missing };
            var why = failed.Describe();
            Log.InstallFinished(logger, why);
            return failed;
        }

        using var owned = process;
        process.StandardInput.Close();
        string? lastLine = null;
        var output = PumpAsync(process.StandardOutput, line =>
        {
            lastLine = line;
            Log.InstallOutput(logger, line);
        });
        var errors = PumpAsync(process.StandardError, line =>
        {
            lastLine = line;
            Log.InstallError(logger, line);
        });

        using var timer = new CancellationTokenSource(timeout, timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timer.Token, cancellationToken);
        var timedOut = false;
        try
        {
            await process.WaitForExitAsync(linked.Token);
        }
        catch (OperationCanceledException)
        {
            timedOut = timer.IsCancellationRequested;
            Kill(process);
            await process.WaitForExitAsync(CancellationToken.None);
            cancellationToken.ThrowIfCancellationRequested();
        }

        // Output pipes stay open while a child the shell left behind still holds them; the kill took the whole tree.
        try
        {
            await Task.WhenAll(output, errors).WaitAsync(OutputDrainLimit, timeProvider, CancellationToken.None);
        }
        catch (TimeoutException)
        {
            // A background process the command started still holds its output open; the install itself is over.
        }
        var result = new InstallResult(!timedOut && process.ExitCode == 0, timedOut, timedOut ? null : process.ExitCode, timeProvider.GetElapsedTime(started), lastLine, timeout);
        var described = result.Describe();
        Log.InstallFinished(logger, described);
        return result;
    }

    private static void Kill(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // It exited on its own meanwhile.
        }
    }

    /// <summary>Reads text a block at a time and hands out lines, each cut to the longest logged.</summary>
    private static async Task PumpAsync(StreamReader reader, Action<string> onLine)
    {
        var max = ValidationDefaults.MaxInstallerLineChars;
        var buffer = new char[4096];
        var line = new StringBuilder();
        var cut = false;
        int read;
        while ((read = await reader.ReadAsync(buffer)) > 0)
        {
            for (var i = 0; i < read; i++)
            {
                var c = buffer[i];
                if (c == '\n')
                {
                    onLine(line.ToString().TrimEnd('\r') + (cut ? " [cut]" : string.Empty));
                    line.Clear();
                    cut = false;
                }
                else if (line.Length < max)
                {
                    line.Append(c);
                }
                else
                {
                    cut = true;
                }
            }
        }

        if (line.Length > 0)
        {
            onLine(line.ToString() + (cut ? " [cut]" : string.Empty));
        }
    }
}
