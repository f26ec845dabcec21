using System.CommandLine;
using GpuDaemon.Cli.Hosting;
using GpuDaemon.Cli.Output;
using GpuDaemon.Validation;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace GpuDaemon.Cli.Commands;

/// <summary>
/// <c>gpudaemon validate</c>: the init container. Proves the driver, its device nodes and CUDA work (and installs the
/// driver when told how), reports degraded GPUs, writes the status files serve --require-validation waits for, and
/// exits with a code per failing stage (<see cref="ExitCodes"/>).
/// </summary>
internal static class ValidateCommand
{
    public const string OutputSetting = "output";
    private const string DefaultLogLevel = "information";

    public static Command Create(TextWriter output, IEnvironment environment, TimeProvider? timeProvider = null)
    {
        var command = new Command("validate", "Check that the NVIDIA driver and CUDA work on this node (installing the driver if told how) and write the status files serve waits for");
        var outputOption = new Option<string>("--" + OutputSetting, "-o") { Description = "Output format: table or json [default: table]", HelpName = "table|json" };
        var settingsSpec = new CommandSettings(command, [.. CommonOptions.DeviceAndLogging(DefaultLogLevel), .. ValidationFlags.Options(), outputOption]);

        command.SetAction(async (parse, cancellationToken) =>
        {
            var settings = settingsSpec.Load(parse, environment);
            var format = settings.GetChoice(OutputSetting, "table", "table", "json");
            var backend = GpuBackendOptions.Bind(settings, BackendKind.Nvml);
            var options = ValidationFlags.Bind(settings, backend.DriverRoot);
            ValidationSource source = backend.Backend switch
            {
                BackendKind.Simulated when backend.SimulationFile is { } file => SimulatedValidationSource.FromFile(file),
                BackendKind.Simulated => SimulatedValidationSource.FromCount(backend.SimulateCount ?? GpuBackendOptions.DefaultSimulatedGpus),
                _ => new NativeValidationSource(options.DriverRoot, options.HostRoot, options.DevRoot),
            };

            var builder = GpuDaemonHost.CreateBuilder(settings, DefaultLogLevel, timeProvider);
            using var host = builder.Build();
            var clock = host.Services.GetRequiredService<TimeProvider>();
            var logger = host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("GpuDaemon.Validate");
            var validator = new Validator(options, source, clock, logger);
            ValidationOutcome outcome;
            try
            {
                outcome = await validator.RunAsync(format == "table" ? notice => ValidationWriters.WriteWaiting(output, notice) : null, cancellationToken);
            }
            catch (ValidationDirectoryException ex)
            {
                throw new UsageException(ex.Message, ex);
            }

            var exitCode = ExitCode(outcome.Verdict);
            if (format == "json")
            {
                ValidationWriters.WriteJson(output, outcome, exitCode);
            }
            else
            {
                ValidationWriters.WriteTable(output, outcome);
            }

            return exitCode;
        });
        return command;
    }

    public static int ExitCode(ValidationVerdict verdict) => verdict switch
    {
        ValidationVerdict.Passed => ExitCodes.Ok,
        ValidationVerdict.DriverFailed => ExitCodes.DriverFailed,
        ValidationVerdict.DeviceNodesFailed => ExitCodes.DeviceNodesFailed,
        ValidationVerdict.CudaFailed => ExitCodes.CudaFailed,
        ValidationVerdict.ConsistencyFailed => ExitCodes.ConsistencyFailed,
        ValidationVerdict.DegradationFailed => ExitCodes.DegradationFailed,
        ValidationVerdict.InstallFailed => ExitCodes.InstallFailed,
        ValidationVerdict.InstallTimedOut => ExitCodes.InstallTimedOut,
        ValidationVerdict.WaitTimedOut => ExitCodes.WaitTimedOut,
        _ => ExitCodes.Failure,
    };
}
