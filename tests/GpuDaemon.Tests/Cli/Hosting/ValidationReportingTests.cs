using GpuDaemon.Cli.Hosting;
using GpuDaemon.Cli.Settings;
using GpuDaemon.Devices.Simulated;
using GpuDaemon.Metrics;
using GpuDaemon.Metrics.Exposition;
using GpuDaemon.Tests.TestSupport;
using GpuDaemon.Validation;
using GpuDaemon.Validation.Gate;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace GpuDaemon.Tests.Cli.Hosting;

/// <summary>The validation gate on /readyz and as gpudaemon_validation_ready{check}.</summary>
public sealed class ValidationReportingTests
{
    [Fact]
    public async Task Collect_RequiredBeforeAndAfterValidate_ZeroThenOnePerCheck()
    {
        using var dir = new TempDirectory();
        await using var scenario = await ScenarioFile.StartAsync(2);
        var options = new TestOptionsMonitor<ValidationGateOptions>(new ValidationGateOptions { Required = true, ValidationDir = dir.Path });
        await using var gate = new ValidationGate(options, scenario.Backend, new ManualTimeProvider(), NullLogger<ValidationGate>.Instance);
        await gate.StartAsync(default);
        var reporting = new ValidationReporting(gate, options);

        Assert.Equal(new ReadinessResult(false, gate.State.Reason), reporting.Check());
        Assert.Equal(
            """
            # HELP gpudaemon_validation_ready 1 when gpudaemon validate's status file for the check exists and matches the driver serve sees, else 0.
            # TYPE gpudaemon_validation_ready gauge
            gpudaemon_validation_ready{check="driver"} 0
            gpudaemon_validation_ready{check="cuda"} 0

            """.ReplaceLineEndings("\n"),
            Scrape(reporting));

        var outcome = await new Validator(new ValidationOptions { ValidationDir = dir.Path }, SimulatedValidationSource.FromFile(scenario.Path), TimeProvider.System, TestLogging.Logger)
            .RunAsync(null, CancellationToken.None);
        Assert.Equal(ValidationVerdict.Passed, outcome.Verdict);
        gate.Refresh();

        Assert.True(reporting.Check().Ready, reporting.Check().Reason);
        Assert.Contains("gpudaemon_validation_ready{check=\"driver\"} 1\n", Scrape(reporting), StringComparison.Ordinal);
        Assert.Contains("gpudaemon_validation_ready{check=\"cuda\"} 1\n", Scrape(reporting), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Collect_NotRequired_NoSeriesAndReady()
    {
        using var dir = new TempDirectory();
        await using var backend = SimulatedBackend.FromScenario(Gpus.Scenario(1), TimeProvider.System, TestLogging.Logger);
        await backend.StartAsync(default);
        var options = new TestOptionsMonitor<ValidationGateOptions>(new ValidationGateOptions { ValidationDir = dir.Path });
        await using var gate = new ValidationGate(options, backend, new ManualTimeProvider(), NullLogger<ValidationGate>.Instance);
        await gate.StartAsync(default);
        var reporting = new ValidationReporting(gate, options);

        Assert.Equal(string.Empty, Scrape(reporting));
        Assert.True(reporting.Check().Ready);
    }

    [Fact]
    public void AddServe_ValidationGate_IsAReadinessCheckAndACollector()
    {
        var settings = ServeSettings.Bind(new DaemonSettings(new Dictionary<string, SettingValue> { ["simulate"] = new("1", "--simulate") }));
        var builder = GpuDaemonHost.CreateBuilder(DaemonSettings.Empty, "warning");
        builder.Services.AddServe(settings);
        using var host = builder.Build();

        var reporting = host.Services.GetRequiredService<ValidationReporting>();

        Assert.Contains(host.Services.GetServices<IReadinessCheck>(), c => ReferenceEquals(c, reporting));
        Assert.Contains(host.Services.GetServices<IMetricsCollector>(), c => ReferenceEquals(c, reporting));
    }

    private static string Scrape(ValidationReporting collector)
    {
        var metrics = new MetricsBuilder();
        collector.Collect(metrics);
        return TextExposition.Write(metrics.Families);
    }
}
