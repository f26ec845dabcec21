using GpuDaemon.Devices.Simulated;

namespace GpuDaemon.Tests.TestSupport;

/// <summary>
/// A simulated backend following a scenario file in a temp dir, polled on a manual clock, so a test
/// injects a fault with <see cref="Edit"/> exactly when it wants.
/// </summary>
public sealed class ScenarioFile : IAsyncDisposable
{
    public static readonly TimeSpan Poll = TimeSpan.FromSeconds(1);

    private readonly TempDirectory _dir = new();

    private ScenarioFile(SimulationScenario scenario, ManualTimeProvider clock)
    {
        Scenario = scenario;
        Clock = clock;
        Path = _dir.File("scenario.json");
        Write();
        Backend = SimulatedBackend.FromFile(Path, clock, TestLogging.Logger, Poll, useChangeNotifications: false);
    }

    public SimulationScenario Scenario { get; }

    public ManualTimeProvider Clock { get; }

    public string Path { get; }

    public SimulatedBackend Backend { get; }

    public static async Task<ScenarioFile> StartAsync(int gpus, ManualTimeProvider? clock = null, Action<SimulationScenario>? configure = null)
    {
        var file = new ScenarioFile(Gpus.Scenario(gpus, configure), clock ?? new ManualTimeProvider());
        await file.Backend.StartAsync(default);
        return file;
    }

    /// <summary>Changes the scenario, rewrites the file and lets the backend's poll pick it up.</summary>
    public void Edit(Action<SimulationScenario> change)
    {
        change(Scenario);
        Write();
        Assert.True(Backend.Reload(), "the scenario edit was not applied");
    }

    public async ValueTask DisposeAsync()
    {
        await Backend.DisposeAsync();
        _dir.Dispose();
    }

    private void Write() => ScenarioReader.WriteFile(Path, Scenario);
}
