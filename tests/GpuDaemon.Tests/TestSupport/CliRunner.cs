using GpuDaemon.Cli;

namespace GpuDaemon.Tests.TestSupport;

/// <summary>Runs the real command line in-process with captured output and a fake environment.</summary>
public static class CliRunner
{
    public static async Task<CliResult> RunAsync(IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exitCode = await GpuDaemonCli.RunAsync([.. args, .. NoNodeLabels(args)], output, error, new DictionaryEnvironment(environment ?? new Dictionary<string, string>()));
        return new CliResult(exitCode, output.ToString(), error.ToString());
    }

    public static Task<CliResult> RunAsync(params string[] args) => RunAsync(null, args);

    /// <summary>serve with node labels off unless the test chooses: tests never write NFD's real folder.</summary>
    private static string[] NoNodeLabels(string[] args) =>
        args.Length > 0 && args[0] == "serve" && !args.Contains("--node-labels-dir") && !args.Contains("--help") ? ["--node-labels-dir", ""] : [];
}

public sealed record CliResult(int ExitCode, string Output, string Error)
{
    public string[] ErrorLines => Error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
}
