using System.Globalization;
using System.Text.Json;

namespace GpuDaemon.Devices.Simulated;

/// <summary>Parses and checks a simulation file; every problem is reported with where it is.</summary>
public static class ScenarioReader
{
    public static SimulationScenario Parse(string json, string source)
    {
        SimulationScenario? scenario;
        try
        {
            scenario = JsonSerializer.Deserialize(json, SimulationJsonContext.Default.SimulationScenario);
        }
        catch (JsonException ex)
        {
            // The path can hold a property name from the file, so it is quoted as an excerpt like the rest.
            var where = ex.Path is { Length: > 0 } path ? $" at {Excerpt.Of(path)}" : string.Empty;
            var line = ex.LineNumber is { } l
                ? string.Create(CultureInfo.InvariantCulture, $" (line {l + 1}, position {ex.BytePositionInLine + 1 ?? 1})")
                : string.Empty;
            throw new DeviceBackendException($"simulation file {source} is not valid{where}{line}: {Describe(ex)}. See docs/simulation.md for the format.", ex);
        }

        if (scenario is null)
        {
            throw new DeviceBackendException($"simulation file {source} is empty (null); it needs at least {{\"gpus\": []}}. See docs/simulation.md.");
        }

        Validate(scenario, source);
        return scenario;
    }

    public static string Serialize(SimulationScenario scenario) =>
        JsonSerializer.Serialize(scenario, SimulationJsonContext.Default.SimulationScenario);

    /// <summary>Writes the file whole (temp file, then rename), so a watcher never reads half of it.</summary>
    public static void WriteFile(string path, SimulationScenario scenario)
    {
        AtomicFile.WriteText(path, Serialize(scenario), path + ".tmp");
    }

    public static void Validate(SimulationScenario scenario, string source)
    {
        scenario.Driver ??= new SimulatedDriver();
        scenario.Gpus ??= [];
        var uuids = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < scenario.Gpus.Count; i++)
        {
            var gpu = scenario.Gpus[i] ?? throw Invalid(source, i, "is null");
            gpu.NvlinkPeers ??= [];
            gpu.Xid ??= [];
            if (string.IsNullOrWhiteSpace(gpu.Uuid))
            {
                throw Invalid(source, i, "has no \"uuid\"");
            }

            if (!uuids.Add(gpu.Uuid))
            {
                throw Invalid(source, i, $"repeats uuid \"{Excerpt.Of(gpu.Uuid)}\"; every GPU needs its own");
            }

            if (gpu.MemoryMiB <= 0)
            {
                throw Invalid(source, i, $"has memoryMiB {gpu.MemoryMiB}; it must be positive");
            }

            if (gpu.UtilizationPercent is < 0 or > 100)
            {
                throw Invalid(source, i, $"has utilizationPercent {gpu.UtilizationPercent}; it must be 0-100");
            }

            if (gpu.TensorActive is < 0 or > 1)
            {
                throw Invalid(source, i, $"has tensorActive {gpu.TensorActive}; it must be 0-1");
            }

            if (gpu.MemoryUsedMiB < 0 || gpu.MemoryUsedMiB > gpu.MemoryMiB)
            {
                throw Invalid(source, i, $"has memoryUsedMiB {gpu.MemoryUsedMiB}; it must be 0-{gpu.MemoryMiB}");
            }

            if (gpu.MemoryReservedMiB is { } reserved && (reserved < 0 || reserved > gpu.MemoryMiB - gpu.MemoryUsedMiB))
            {
                throw Invalid(source, i, $"has memoryReservedMiB {reserved}; it must be 0-{gpu.MemoryMiB - gpu.MemoryUsedMiB} (memoryMiB less memoryUsedMiB)");
            }

            if (gpu.NumaNode is < 0)
            {
                throw Invalid(source, i, $"has numaNode {gpu.NumaNode}; leave it out when unknown");
            }

            if (gpu.Degradation is { } degradation)
            {
                degradation.ClockEventReasons ??= [];
                if (degradation.ClockEventReasons.FirstOrDefault(r => !SimulatedDegradationReasons.Known.Contains(r)) is { } unknown)
                {
                    throw Invalid(source, i, $"has clockEventReason \"{Excerpt.Of(unknown)}\"; known: {string.Join(", ", SimulatedDegradationReasons.Known)}");
                }
            }

            if (gpu.Cuda is { ComputeProcesses: < 0 } negative)
            {
                throw Invalid(source, i, $"has cuda.computeProcesses {negative.ComputeProcesses}; it must be 0 or more");
            }

            if (gpu.Cuda?.ComputeMode is { } computeMode && !SimulatedComputeModes.Known.Contains(computeMode))
            {
                throw Invalid(source, i, $"has cuda.computeMode \"{Excerpt.Of(computeMode)}\"; known: {string.Join(", ", SimulatedComputeModes.Known)}");
            }

            if (gpu.ComputeCapability is { } computeCapability && SimulatedComputeCapability.Parse(computeCapability) is null)
            {
                throw Invalid(source, i, $"has computeCapability \"{Excerpt.Of(computeCapability)}\"; it must be major.minor, e.g. \"9.0\"");
            }

            if (gpu.Mig is { } mig)
            {
                mig.Instances ??= [];
                if (mig.Instances.Count > 0 && !mig.Enabled)
                {
                    throw Invalid(source, i, "lists MIG instances but has mig.enabled false");
                }

                foreach (var instance in mig.Instances)
                {
                    if (string.IsNullOrWhiteSpace(instance.Profile) || instance.MemoryMiB <= 0)
                    {
                        throw Invalid(source, i, "has a MIG instance without a profile (e.g. \"1g.10gb\") or a positive memoryMiB");
                    }
                }
            }
        }

        for (var i = 0; i < scenario.Gpus.Count; i++)
        {
            foreach (var peer in scenario.Gpus[i].NvlinkPeers)
            {
                if (!uuids.Contains(peer) || peer == scenario.Gpus[i].Uuid)
                {
                    throw Invalid(source, i, $"lists nvlinkPeer \"{Excerpt.Of(peer)}\", which is not another GPU's uuid in this file");
                }
            }
        }
    }

    private static DeviceBackendException Invalid(string source, int index, string problem) =>
        new(string.Create(CultureInfo.InvariantCulture, $"simulation file {source}: gpus[{index}] {problem}. See docs/simulation.md for the format."));

    // The reader's own message, first sentence only, with the token it quotes (which comes from the file and
    // can be megabytes of binary) cut to an escaped excerpt.
    private static string Describe(JsonException ex)
    {
        if (ex.Message.Contains("could not be mapped", StringComparison.Ordinal))
        {
            return "unknown field (check its spelling)";
        }

        if (ex.Message.Contains("could not be converted", StringComparison.Ordinal))
        {
            return "the value has the wrong type (a number, true/false, text or list was expected)";
        }

        var message = ex.Message;
        var suffix = message.LastIndexOf(LocationSuffix, StringComparison.Ordinal);
        if (suffix >= 0)
        {
            message = message[..suffix];
        }

        // "'<token>' is an invalid JSON literal. Expected ...": the token ends at the last "' is " (the reader's
        // own words after it hold none), however many quotes the token itself contains.
        var tokenEnd = message.StartsWith('\'') ? message.LastIndexOf(TokenEnd, StringComparison.Ordinal) : -1;
        if (tokenEnd > 0)
        {
            return $"'{Excerpt.Of(message[1..tokenEnd], TokenExcerptLength)}' {Excerpt.Of(FirstSentence(message[(tokenEnd + 2)..]))}";
        }

        return Excerpt.Of(FirstSentence(message));
    }

    /// <summary>
    /// How much of an invalid token is quoted (40 characters, half an excerpt): enough to recognise it, and the
    /// error also names the file, the JSON path and the position, so the whole stays one line of about 200.
    /// </summary>
    private const int TokenExcerptLength = 40;

    /// <summary>Where System.Text.Json's messages name the location, which the error already gives.</summary>
    private const string LocationSuffix = " Path: ";

    /// <summary>What follows the token a System.Text.Json reader message quotes first.</summary>
    private const string TokenEnd = "' is ";

    private static string FirstSentence(string message)
    {
        var line = message.ReplaceLineEndings(" ");
        var cut = line.IndexOf(". ", StringComparison.Ordinal);
        return (cut > 0 ? line[..cut] : line).TrimEnd('.');
    }
}
