using System.Globalization;
using System.Reflection;
using System.Text.RegularExpressions;
using GpuDaemon.Cli;
using GpuDaemon.Cli.Commands;
using GpuDaemon.Cli.Hosting;
using GpuDaemon.Devices;
using GpuDaemon.Tests.TestSupport;
using GpuDaemon.Validation;

namespace GpuDaemon.Tests;

/// <summary>docs/validate.md states the exit codes, defaults and flags that are in code.</summary>
public sealed partial class ValidateDocsTests
{
    private static readonly string Doc = File.ReadAllText(RepoFiles.Path("docs/validate.md"));

    [Fact]
    public void ExitCodeTable_MatchesExitCodes()
    {
        var section = Doc[Doc.IndexOf("## Exit codes", StringComparison.Ordinal)..];
        section = section[..section.IndexOf("\n## ", 3, StringComparison.Ordinal)];
        var documented = ExitCodeRow().Matches(section).Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).ToList();
        var inCode = typeof(ExitCodes).GetFields(BindingFlags.Public | BindingFlags.Static).Select(f => (int)f.GetValue(null)!).Order().ToList();

        Assert.Equal(inCode, documented);
        Assert.All(Enum.GetValues<ValidationVerdict>(), v => Assert.Contains(ValidateCommand.ExitCode(v), documented));
        Assert.Equal(Enum.GetValues<ValidationVerdict>().Length, Enum.GetValues<ValidationVerdict>().Select(ValidateCommand.ExitCode).Distinct().Count());
    }

    [Fact]
    public void FlagTable_DefaultsAreTheOnesInCode()
    {
        string[] expected =
        [
            $"| `--validation-dir DIR` | `{ValidationDefaults.Directory}` |",
            $"| `--install-timeout D` | `{Durations.Format(ValidationDefaults.InstallTimeout)}` |",
            $"| `--timeout D` | `{Durations.Format(ValidationDefaults.WaitTimeout)}` |",
            $"| `--host-root DIR` | `{ValidationDefaults.HostRoot}` |",
            $"first after {Durations.Format(ValidationDefaults.FirstRetryDelay).Replace("s", " s", StringComparison.Ordinal)}, doubling to at most {Durations.Format(ValidationDefaults.MaxRetryDelay).Replace("s", " s", StringComparison.Ordinal)}",
            $"cut at {ValidationDefaults.MaxInstallerLineChars:N0} characters",
            $"every {Durations.Format(ValidationDefaults.GatePollInterval).Replace("s", " s", StringComparison.Ordinal)}, and when the backend",
            $"`{ValidationDefaults.InstallLockFile}` in `--validation-dir`",
            $"`--install-timeout` plus {ValidationDefaults.LockWaitMargin.TotalMinutes} minute",
        ];

        Assert.All(expected, text => Assert.Contains(text, Doc, StringComparison.Ordinal));
    }

    [Fact]
    public void FlagTable_EveryValidateFlagAndCheckDocumented()
    {
        foreach (var option in ValidationFlags.Options())
        {
            Assert.True(Doc.Contains($"| `{option.Name} ", StringComparison.Ordinal) || Doc.Contains($"| `{option.Name}` |", StringComparison.Ordinal), option.Name + " is not in the flag table");
        }

        foreach (var check in DegradationChecks.All.Concat([CheckNames.Driver, CheckNames.DeviceNodes, CheckNames.Cuda, CheckNames.Consistency]))
        {
            Assert.Contains($"| `{check}` |", Doc, StringComparison.Ordinal);
        }

        foreach (var key in new[] { StatusFiles.DriverVersionKey, StatusFiles.CudaVersionKey, StatusFiles.DriverRootKey, StatusFiles.GpuCountKey, StatusFiles.BackendKey, StatusFiles.WarningsKey, StatusFiles.ValidatedAtKey })
        {
            Assert.Contains($"`{key}`", Doc, StringComparison.Ordinal);
        }
    }

    [GeneratedRegex(@"^\| (\d+) \|", RegexOptions.Multiline)]
    private static partial Regex ExitCodeRow();
}
