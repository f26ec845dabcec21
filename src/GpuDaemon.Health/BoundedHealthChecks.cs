using System.Diagnostics;
using GpuDaemon.Devices;

namespace GpuDaemon.Health;

/// <summary>
/// Runs each GPU's health check on a thread of its own, at most one per GPU, and waits for it at most a
/// deadline. A check that hangs in the driver holds one thread; no second check starts for that GPU until it
/// returns, and every waiter past the deadline is told the check is hung (the first one, exactly once). A caller
/// that joins a running check asks for a fresh one after it: the check that was already running may have looked
/// before the event that made the caller ask (a GPU's recovery, say), so its answer is superseded.
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
                running.Again = true;
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
        while (true)
        {
            var remaining = timeout - Stopwatch.GetElapsedTime(Volatile.Read(ref run.StartedAtTicks));
            if (run.Completion.Wait(remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero))
            {
                return false;
            }

            lock (_gate)
            {
                if (Stopwatch.GetElapsedTime(run.StartedAtTicks) < timeout)
                {
                    continue; // a fresh check began meanwhile: it gets its own deadline
                }

                if (run.ReportedHung)
                {
                    return false;
                }

                run.ReportedHung = true;
                return true;
            }
        }
    }

    private void Execute(Run run)
    {
        HealthProbe probe;
        bool hung;
        bool faultsOnly;
        while (true)
        {
            probe = Check(run.Uuid);
            lock (_gate)
            {
                if (!run.Again || run.ReportedHung)
                {
                    // A hung check's late answer is delivered as it is; asking the driver again at once would only hang again.
                    _running.Remove(run.Uuid);
                    hung = run.ReportedHung;
                    faultsOnly = run.FaultsOnly;
                    break;
                }

                run.Again = false;
                Volatile.Write(ref run.StartedAtTicks, Stopwatch.GetTimestamp());
            }
        }

        Answered?.Invoke(run.Uuid, probe, faultsOnly, hung ? Stopwatch.GetElapsedTime(run.StartedAtTicks) : null);
    }

    private HealthProbe Check(string uuid)
    {
        try
        {
            return check(uuid);
        }
        catch (Exception ex)
        {
            return HealthProbe.Failed(ex.Message.ReplaceLineEndings(" "));
        }
    }

    internal sealed class Run(string uuid, long startedAt, bool faultsOnly)
    {
        public string Uuid => uuid;

        /// <summary>When the check now running began (a <see cref="Stopwatch"/> timestamp); a fresh check moves it.</summary>
#pragma warning disable CA1051 // A field, so that it can be read and written with Volatile.
        public long StartedAtTicks = startedAt;
#pragma warning restore CA1051

        /// <summary>A caller joined while the check ran: check again before answering. Under the owner's lock.</summary>
        public bool Again { get; set; }

        public Task Completion { get; set; } = Task.CompletedTask;

        /// <summary>Read and written under the owner's lock.</summary>
        public bool FaultsOnly { get; set; } = faultsOnly;

        /// <summary>Read and written under the owner's lock.</summary>
        public bool ReportedHung { get; set; }
    }
}
