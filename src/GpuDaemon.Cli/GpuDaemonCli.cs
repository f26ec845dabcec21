using System.CommandLine;
using GpuDaemon.Cli.Commands;
using GpuDaemon.DevicePlugin.Planning;
using GpuDaemon.Devices;

namespace GpuDaemon.Cli;

/// <summary>The command line: parses, runs one command, and turns every failure into one line on stderr.</summary>
internal static class GpuDaemonCli
{
    public static RootCommand CreateRootCommand(TextWriter output, IEnvironment environment)
    {
        var root = new RootCommand("GpuDaemon: the GPU-node agent for Kubernetes (device plugin, validator, metrics)")
        {
            DevicesCommand.Create(output, environment),
            ServeCommand.Create(environment),
            ProbeCommand.Create(output),
            DemoCommand.Create(output, environment),
            ValidateCommand.Create(output, environment),
        };
        return root;
    }

    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, IEnvironment environment, CancellationToken cancellationToken = default)
    {
        var root = CreateRootCommand(output, environment);
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            var command = string.Join(' ', parse.CommandResult.Command == root
                ? [GpuDaemonDefaults.ExecutableName]
                : new[] { GpuDaemonDefaults.ExecutableName, parse.CommandResult.Command.Name });
            var problems = string.Join("; ", parse.Errors.Select(e => e.Message.TrimEnd('.')).Distinct());
            await error.WriteLineAsync($"{GpuDaemonDefaults.ExecutableName}: {problems}. Try '{command} --help'.");
            return ExitCodes.Usage;
        }

        try
        {
            return await parse.InvokeAsync(new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null }, cancellationToken);
        }
        catch (Exception ex) when (ex is UsageException or PlanException)
        {
            await error.WriteLineAsync($"{GpuDaemonDefaults.ExecutableName}: {ex.Message}");
            return ExitCodes.Usage;
        }
        catch (Exception ex) when (ex is DeviceBackendException or ProbeException or GpuDaemon.Metrics.MetricsEndpointException)
        {
            await error.WriteLineAsync($"{GpuDaemonDefaults.ExecutableName}: {ex.Message}");
            return ExitCodes.Failure;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return ExitCodes.Failure;
        }
        catch (Exception ex)
        {
            await error.WriteLineAsync($"{GpuDaemonDefaults.ExecutableName}: unexpected {ex.GetType().Name}: {ex.Message.ReplaceLineEndings(" ")}");
            return ExitCodes.Failure;
        }
    }
}
