using System.Text;
using GpuDaemon.Devices;

namespace GpuDaemon.Metrics;

/// <summary>The bodies of /healthz and /readyz: a verdict line, then one line per problem.</summary>
internal sealed class ProbeEndpoints(IEnumerable<ILoopStatus> loops, IEnumerable<IReadinessCheck> checks)
{
    private readonly ILoopStatus[] _loops = [.. loops];
    private readonly IReadinessCheck[] _checks = [.. checks];

    /// <summary>Alive while every loop runs: the health monitor's, the device plugin's, the metrics' own.</summary>
    public (bool Ok, string Body) Health()
    {
        var problems = _loops.Select(l => (l.LoopName, Problem: l.LoopProblem)).Where(p => p.Problem is not null).ToList();
        var body = new StringBuilder(problems.Count == 0 ? "ok\n" : "not ok\n");
        foreach (var (name, problem) in problems)
        {
            body.Append(name).Append(": ").Append(problem).Append('\n');
        }

        return (problems.Count == 0, body.ToString());
    }

    public (bool Ok, string Body) Readiness()
    {
        var results = _checks.Select(c => (c.Name, Result: c.Check())).ToList();
        var ready = results.All(r => r.Result.Ready);
        var body = new StringBuilder(ready ? "ready\n" : "not ready\n");
        foreach (var (name, result) in results.Where(r => ready || !r.Result.Ready))
        {
            body.Append(name).Append(": ").Append(result.Reason.ReplaceLineEndings(" ")).Append('\n');
        }

        return (ready, body.ToString());
    }
}
