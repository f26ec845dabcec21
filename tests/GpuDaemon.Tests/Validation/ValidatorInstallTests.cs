using System.Globalization;
using GpuDaemon.Cli;
using GpuDaemon.Tests.TestSupport;
using GpuDaemon.Validation;

namespace GpuDaemon.Tests.Validation;

/// <summary>The driver installer: run once when the driver check fails, under the install lock, output to the log, killed at its timeout.</summary>
public sealed class ValidatorInstallTests
{
    [Fact]
    public async Task RunAsync_ModuleMissingInstallerWorks_InstallsOnceStreamsOutputAndPasses()
    {
        using var node = new ValidationNode();
        node.UnloadModule();
        var logger = new RecordingLogger();
        var validator = new Validator(node.Options(new ValidationOptions { InstallCommand = node.InstallCommand("echo to stderr >&2; ") }), node.Source, TimeProvider.System, logger);

        var outcome = await validator.RunAsync(null, CancellationToken.None);

        Assert.Equal(ValidationVerdict.Passed, outcome.Verdict);
        var install = Assert.Single(outcome.Report.Checks, c => c.Name == CheckNames.Install);
        Assert.Equal(CheckResult.Ok, install.Result);
        Assert.Contains("exited with code 0", install.Detail, StringComparison.Ordinal);
        Assert.Contains(logger.Entries, e => e.EventId.Id == 11011 && e.Message == "installer: installed the driver");
        Assert.Contains(logger.Entries, e => e.EventId.Id == 11012 && e.Message == "installer (stderr): to stderr");
        Assert.True(File.Exists(node.StatusFile(ValidationDefaults.CudaReadyFile)));
    }

    [Fact]
    public async Task Validate_WorkingDriverWithInstaller_NeverRunsIt()
    {
        using var node = new ValidationNode();
        var marker = node.Scratch("installer-ran");

        var result = await node.ValidateAsync("--install-command", $"touch '{marker}'");

        Assert.True(result.ExitCode == ExitCodes.Ok, result.Output);
        Assert.False(File.Exists(marker));
        Assert.DoesNotContain("install ", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Validate_InstallerSucceeds_PassesWithInstallLine()
    {
        using var node = new ValidationNode();
        node.UnloadModule();

        var result = await node.ValidateAsync("--install-command", node.InstallCommand());

        Assert.True(result.ExitCode == ExitCodes.Ok, result.Output);
        Assert.Matches(@"install\s+ok\s+\S+\s+the installer \(.*\) exited with code 0", result.Output);
        Assert.True(node.HasStatusFiles);
    }

    [Fact]
    public async Task Validate_InstallerFails_InstallFailedExitCodeWithItsLastLine()
    {
        using var node = new ValidationNode();
        node.UnloadModule();

        var result = await node.ValidateAsync("--install-command", "echo no kernel headers for this kernel >&2; exit 3");

        Assert.Equal(ExitCodes.InstallFailed, result.ExitCode);
        Assert.Contains("not ready: install failed: the installer (echo no kernel headers for this kernel >&2; exit 3) exited with code 3 after", result.Output, StringComparison.Ordinal);
        Assert.Contains("its last line: no kernel headers for this kernel; fix the install command", result.Output, StringComparison.Ordinal);
        Assert.False(node.HasStatusFiles);
    }

    [Fact]
    public async Task Validate_InstallerHangs_KilledWithItsChildrenAtTheTimeout()
    {
        using var node = new ValidationNode();
        node.UnloadModule();
        var pidFile = node.Scratch("child.pid");

        var result = await node.ValidateAsync("--install-command", $"sleep 60 & echo $! > '{pidFile}'; wait", "--install-timeout", "1s");

        Assert.Equal(ExitCodes.InstallTimedOut, result.ExitCode);
        Assert.Contains("was killed, with what it started, at its timeout of 1s; the installer ran past --install-timeout", result.Output, StringComparison.Ordinal);
        Assert.False(node.HasStatusFiles);
        var child = int.Parse(File.ReadAllText(pidFile).Trim(), CultureInfo.InvariantCulture);
        Assert.False(IsRunning(child), $"the installer's child {child} outlived the timeout");
    }

    [Fact]
    public async Task RunAsync_TwoValidatorsRace_OneInstallsTheOtherWaitsAndRevalidates()
    {
        using var node = new ValidationNode();
        node.UnloadModule();
        var runs = node.Scratch("runs");
        var command = node.InstallCommand($"echo run >> '{runs}'; sleep 1; ");
        var loggers = new[] { new RecordingLogger(), new RecordingLogger() };
        var options = node.Options(new ValidationOptions { InstallCommand = command });

        var outcomes = await Task.WhenAll(loggers.Select(logger => Task.Run(() => new Validator(options, node.Source, TimeProvider.System, logger).RunAsync(null, CancellationToken.None))));

        Assert.All(outcomes, o => Assert.Equal(ValidationVerdict.Passed, o.Verdict));
        Assert.Single(File.ReadAllLines(runs));
        var installs = outcomes.Select(o => o.Report.Checks.Single(c => c.Name == CheckNames.Install)).ToList();
        Assert.Single(installs, i => i.Result == CheckResult.Ok);
        Assert.Single(installs, i => i.Result == CheckResult.Skipped && i.Detail.StartsWith("not needed: the driver works now", StringComparison.Ordinal));
        Assert.Single(loggers, l => l.Count(11014) == 1); // the loser said it waits for the lock
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..][0] is not ('Z' or 'X');
        }
        catch (IOException)
        {
            return false;
        }
    }
}
