using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using GpuDaemon.Devices;
using GpuDaemon.Validation;

namespace GpuDaemon.Cli.Output;

/// <summary>validate's report: a table (check, result, time, detail) and a summary line, or one JSON document.</summary>
internal static class ValidationWriters
{
    public static void WriteTable(TextWriter output, ValidationOutcome outcome)
    {
        var checks = outcome.Report.Checks;
        var width = Math.Max(5, checks.Max(c => c.Name.Length));
        output.WriteLine($"{"CHECK".PadRight(width)}  {"RESULT",-7}  {"TIME",-8}  DETAIL");
        foreach (var check in checks)
        {
            output.WriteLine($"{check.Name.PadRight(width)}  {Result(check.Result),-7}  {Time(check.Duration),-8}  {check.Line}");
        }

        output.WriteLine();
        output.WriteLine(outcome.Summary);
    }

    public static void WriteWaiting(TextWriter output, WaitingNotice notice) =>
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"waiting (try {notice.Attempt}): {notice.Failure.Name}: {notice.Failure.Line}; trying again in {Durations.Format(notice.NextTryIn)}"));

    public static void WriteJson(TextWriter output, ValidationOutcome outcome, int exitCode)
    {
        var document = new ValidationJson(
            outcome.Verdict == ValidationVerdict.Passed,
            Name(outcome.Verdict),
            exitCode,
            outcome.Summary,
            outcome.Report.Facts?.Backend,
            outcome.Report.Facts?.DriverVersion,
            outcome.Report.Facts?.CudaVersion,
            outcome.Report.Facts?.GpuCount,
            outcome.StatusFiles,
            [.. outcome.Report.Checks.Select(c => new CheckJson(c.Name, Name(c.Stage), Result(c.Result), Math.Round(c.Duration.TotalMilliseconds, 3), c.Detail, c.Remedy))]);
        output.WriteLine(JsonSerializer.Serialize(document, ValidationJsonContext.Default.ValidationJson));
    }

    public static string Result(CheckResult result) => result switch
    {
        CheckResult.Ok => "ok",
        CheckResult.Warn => "warn",
        CheckResult.Fail => "fail",
        _ => "skip",
    };

    private static string Time(TimeSpan duration) =>
        duration < TimeSpan.FromSeconds(1)
            ? string.Create(CultureInfo.InvariantCulture, $"{duration.TotalMilliseconds:0.#}ms")
            : string.Create(CultureInfo.InvariantCulture, $"{duration.TotalSeconds:0.##}s");

    private static string Name(ValidationStage stage) => stage switch
    {
        ValidationStage.Driver => CheckNames.Driver,
        ValidationStage.DeviceNodes => CheckNames.DeviceNodes,
        ValidationStage.Cuda => CheckNames.Cuda,
        ValidationStage.Consistency => CheckNames.Consistency,
        ValidationStage.Degradation => "degradation",
        _ => CheckNames.Install,
    };

    private static string Name(ValidationVerdict verdict) => JsonNamingPolicy.KebabCaseLower.ConvertName(verdict.ToString());
}

internal sealed record ValidationJson(
    bool Ready, string Verdict, int ExitCode, string Summary, string? Backend, string? DriverVersion, string? CudaVersion, int? GpuCount,
    IReadOnlyList<string> StatusFiles, IReadOnlyList<CheckJson> Checks);

internal sealed record CheckJson(string Name, string Stage, string Result, double DurationMs, string Detail, string? Remedy);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
[JsonSerializable(typeof(ValidationJson))]
internal sealed partial class ValidationJsonContext : JsonSerializerContext;
