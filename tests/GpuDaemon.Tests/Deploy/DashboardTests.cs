using System.Text.Json;
using System.Text.RegularExpressions;
using GpuDaemon.Tests.TestSupport;

namespace GpuDaemon.Tests.Deploy;

/// <summary>deploy/metrics/dashboard.json is a valid Grafana dashboard that queries only series GpuDaemon serves.</summary>
public sealed partial class DashboardTests
{
    /// <summary>
    /// The series issue 10 names (dcgm-exporter's, GPM's, GpuDaemon's own). A name documented in
    /// docs/metrics.md counts too, so the dashboard may follow the docs as they grow.
    /// </summary>
    private static readonly string[] IssueSeries =
    [
        "DCGM_FI_DEV_SM_CLOCK", "DCGM_FI_DEV_MEM_CLOCK", "DCGM_FI_DEV_GPU_TEMP", "DCGM_FI_DEV_MEMORY_TEMP",
        "DCGM_FI_DEV_POWER_USAGE", "DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_DEV_MEM_COPY_UTIL", "DCGM_FI_DEV_ENC_UTIL",
        "DCGM_FI_DEV_DEC_UTIL", "DCGM_FI_DEV_FB_FREE", "DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_FB_RESERVED",
        "DCGM_FI_DEV_XID_ERRORS", "DCGM_FI_DEV_ROW_REMAP_FAILURE", "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION",
        "DCGM_FI_DEV_PCIE_REPLAY_COUNTER", "DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS", "DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS",
        "DCGM_FI_PROF_GR_ENGINE_ACTIVE", "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE", "DCGM_FI_PROF_DRAM_ACTIVE",
        "gpudaemon_xid_errors_total", "gpudaemon_gpu_healthy", "gpudaemon_gpu_health_info", "gpudaemon_pod_resources_up",
        "gpudaemon_build_info", "gpudaemon_kubelet_registered", "gpudaemon_kubelet_registrations_total",
        "gpudaemon_allocations_total", "gpudaemon_allocate_duration_seconds", "gpudaemon_health_transitions_total",
        "gpudaemon_validation_ready", "gpudaemon_scrape_errors_total",
    ];

    private static readonly HashSet<string> PromQlWords = new(StringComparer.Ordinal)
    {
        "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool", "offset",
    };

    private static readonly JsonElement Dashboard = JsonDocument.Parse(File.ReadAllText(RepoFiles.Path("deploy/metrics/dashboard.json"))).RootElement.Clone();

    [Fact]
    public void Dashboard_EveryQuery_UsesOnlyKnownSeries()
    {
        var known = KnownSeries();
        var queries = Queries().ToList();

        Assert.NotEmpty(queries);
        foreach (var query in queries)
        {
            var metrics = MetricNames(query).ToList();
            Assert.True(metrics.Count > 0, $"no series found in '{query}'");
            Assert.All(metrics, m => Assert.True(known.Contains(m), $"'{m}' in '{query}' is not a series GpuDaemon serves (issue 10, docs/metrics.md)"));
        }
    }

    [Fact]
    public void Dashboard_Topics_EachPlotted()
    {
        var all = string.Join('\n', Queries());
        string[] required =
        [
            "DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_GPU_TEMP", "DCGM_FI_DEV_POWER_USAGE",
            "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE", "gpudaemon_gpu_healthy", "gpudaemon_gpu_health_info", "gpudaemon_allocations_total",
        ];

        Assert.All(required, metric => Assert.Contains(metric, all, StringComparison.Ordinal));
        Assert.Contains(Queries(), q => q.Contains("by (namespace, pod)", StringComparison.Ordinal));
        Assert.Contains(Queries(), q => q.Contains("gpudaemon_gpu_health_info", StringComparison.Ordinal) && q.Contains("reason", StringComparison.Ordinal));
    }

    [Fact]
    public void Dashboard_Variables_InstanceGpuNamespaceUsedByPanels()
    {
        var variables = Dashboard.GetProperty("templating").GetProperty("list").EnumerateArray().Select(v => v.GetProperty("name").GetString()).ToList();
        var panelQueries = string.Join('\n', PanelQueries());

        Assert.Equal(["datasource", "instance", "gpu", "namespace"], variables);
        Assert.Contains("instance=~\"$instance\"", panelQueries, StringComparison.Ordinal);
        Assert.Contains("gpu=~\"$gpu\"", panelQueries, StringComparison.Ordinal);
        Assert.Contains("namespace=~\"$namespace\"", panelQueries, StringComparison.Ordinal);
    }

    [Fact]
    public void Dashboard_Panels_UniqueIdsAndTheDashboardsDataSource()
    {
        var panels = Dashboard.GetProperty("panels").EnumerateArray().ToList();
        var ids = panels.Select(p => p.GetProperty("id").GetInt32()).ToList();

        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.False(string.IsNullOrEmpty(Dashboard.GetProperty("uid").GetString()));
        Assert.All(panels.Where(p => p.GetProperty("type").GetString() != "row"), p =>
            Assert.Equal("${datasource}", p.GetProperty("datasource").GetProperty("uid").GetString()));
    }

    private static HashSet<string> KnownSeries()
    {
        var known = new HashSet<string>(IssueSeries, StringComparer.Ordinal);
        var doc = RepoFiles.Path("docs/metrics.md");
        if (File.Exists(doc))
        {
            foreach (Match match in DocumentedName().Matches(File.ReadAllText(doc)))
            {
                known.Add(match.Groups[1].Value);
            }
        }

        return known;
    }

    private static IEnumerable<string> PanelQueries() => Dashboard.GetProperty("panels").EnumerateArray()
        .Where(p => p.TryGetProperty("targets", out _))
        .SelectMany(p => p.GetProperty("targets").EnumerateArray())
        .Select(t => t.GetProperty("expr").GetString() ?? string.Empty);

    /// <summary>Every PromQL query: the panels' and the inner query of each <c>label_values(query, label)</c> variable.</summary>
    private static IEnumerable<string> Queries()
    {
        foreach (var query in PanelQueries())
        {
            yield return query;
        }

        foreach (var variable in Dashboard.GetProperty("templating").GetProperty("list").EnumerateArray())
        {
            if (variable.GetProperty("type").GetString() == "query")
            {
                var text = variable.GetProperty("query").GetProperty("query").GetString() ?? string.Empty;
                var match = LabelValues().Match(text);
                Assert.True(match.Success, $"variable query '{text}' is not label_values(query, label)");
                yield return match.Groups[1].Value;
            }
        }
    }

    /// <summary>The series a query reads: identifiers left once matchers, ranges, groupings, variables and function names are taken out.</summary>
    private static IEnumerable<string> MetricNames(string query)
    {
        var text = Matchers().Replace(query, " ");
        text = Ranges().Replace(text, " ");
        text = Groupings().Replace(text, " ");
        text = Variables().Replace(text, " ");
        foreach (Match match in Identifier().Matches(text))
        {
            var name = match.Groups[1].Value;
            if (!match.Groups[2].Success && !PromQlWords.Contains(name))
            {
                yield return name;
            }
        }
    }

    [GeneratedRegex(@"`((?:DCGM_FI|gpudaemon|process)_[A-Za-z0-9_]+)`")]
    private static partial Regex DocumentedName();

    [GeneratedRegex(@"^label_values\((.+),\s*[A-Za-z_][A-Za-z0-9_]*\)$")]
    private static partial Regex LabelValues();

    [GeneratedRegex(@"\{[^}]*\}")]
    private static partial Regex Matchers();

    [GeneratedRegex(@"\[[^\]]*\]")]
    private static partial Regex Ranges();

    [GeneratedRegex(@"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")]
    private static partial Regex Groupings();

    [GeneratedRegex(@"\$\w+")]
    private static partial Regex Variables();

    [GeneratedRegex(@"(?<![\w.])([A-Za-z_:][A-Za-z0-9_:]*)(\s*\()?")]
    private static partial Regex Identifier();
}
