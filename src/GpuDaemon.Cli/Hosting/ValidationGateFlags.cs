using System.CommandLine;
using GpuDaemon.Cli.Settings;
using GpuDaemon.Validation;
using GpuDaemon.Validation.Gate;

namespace GpuDaemon.Cli.Hosting;

/// <summary>serve's validation settings: their flags, and how they become <see cref="ValidationGateOptions"/>.</summary>
internal static class ValidationGateFlags
{
    public const string RequireValidation = "require-validation";

    /// <summary>Shared with <c>gpudaemon validate</c>, which writes the files serve reads.</summary>
    public const string ValidationDir = "validation-dir";

    public static Option<string> ValidationDirOption() =>
        new("--" + ValidationDir) { Description = $"Directory of the validation status files (driver-ready, cuda-ready) [default: {ValidationDefaults.Directory}]", HelpName = "DIR" };

    public static List<Option> Options() =>
    [
        new Option<bool>("--" + RequireValidation) { Description = "Advertise no GPU until gpudaemon validate's status files exist and match the driver in use [default: false]" },
        ValidationDirOption(),
    ];

    public static ValidationGateOptions Bind(DaemonSettings settings) => new()
    {
        Required = settings.GetBool(RequireValidation, false),
        ValidationDir = Path.GetFullPath(settings.GetString(ValidationDir, ValidationDefaults.Directory)),
    };
}
