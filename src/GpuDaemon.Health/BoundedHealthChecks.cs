using System.Diagnostics;
using GpuDaemon.Devices;

namespace GpuDaemon.Health;

/// <summary>
/// Runs each GPU's health check on a thread of its own, at most one per GPU, and waits for it at most a
/// deadline. A check that hangs in the driver holds one thread; no second check starts for that GPU until it
/// returns, and every waiter past the deadline is told the check is hung (the first one, exactly once).
/// </summary>
internal sealed class BoundedHealthChecks(Func<string, HealthProbe> check, TimeSpan timeout)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Run> _running = new(StringComparer.Ordinal);

    /// <summary>Called on the check's thread with its answer: the GPU, the answer, whether only a fault counts, and how late it came (null when in time).</summary>
    public event Action<string, HealthProbe, bool, TimeSpan?>? Answered;

    public TimeSpan Timeout => timeout;

    /// <summary>Checks started and not yet answered, hung ones included.</summary>
    public int Running
    {
        get
        {
            lock (_gate)
            {
                return _running.Count;
            }
        }
    }

    /// <summary>
    /// Starts a check of one GPU, or joins the one already running. With <paramref name="faultsOnly"/> a healthy
    /// answer is not to count (a look right after a fault); a full check that joins makes it count.
    /// </summary>
    public Run Start(string uuid, bool faultsOnly = false)
    {
        lock (_gate)
        {
            if (_running.TryGetValue(uuid, out var running))
            {
                running.FaultsOnly &= faultsOnly;
                return running;
            }

            var run = new Run(uuid, Stopwatch.GetTimestamp(), faultsOnly);
            _running[uuid] = run;
            run.Completion = Task.Factory.StartNew(() => Execute(run), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            return run;
        }
    }

    /// <summary>Waits for a check until its deadline; true only for the first waiter to find it hung.</summary>
    public bool WaitFoundHung(Run run)
    {
        var remaining = timeout - Stopwatch.GetElapsedTime(run.StartedAt);
        if (run.Completion.Wait(remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero))
        {
            return false;
        }

        lock (_gate)
        {
            if (run.ReportedHung)
            {
                return false;
            }

            run.ReportedHung = true;
            return true;
        }
    }

    private void Execute(Run run)
    {
        HealthProbe probe;
        try
        {
            probe = check(run.Uuid);
        }
        catch (Exception ex)
        {
            probe = HealthProbe.Failed(ex.Message.ReplaceLineEndings(" "));
        }

        bool hung;
        bool faultsOnly;
        lock (_gate)
        {
            _running.Remove(run.Uuid);
            hung = run.ReportedHung;
            faultsOnly = run.FaultsOnly;
        }

        Answered?.Invoke(run.Uuid, probe, faultsOnly, hung ? Stopwatch.GetElapsedTime(run.StartedAt) : null);
    }

    internal sealed class Run(string uuid, long startedAt, bool faultsOnly)
    {
        public string Uuid => uuid;

        public long StartedAt => startedAt;

        public Task Completion { get; set; } = Task.CompletedTask;

        /// <summary>Read and written under the owner's lock.</summary>
        public bool FaultsOnly { get; set; } = faultsOnly;

        /// <summary>Read and written under the owner's lock.</summary>
        public bool ReportedHung { get; set; }
    }
}
