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
    public async Task RunAsync_ImageWithoutShell_InstallExitCodeNamesTheInstallerImage()
    {
        using var node = new ValidationNode();
        node.UnloadModule();
        var shell = node.Scratch("no-such-shell");
        var validator = new Validator(node.Options(new ValidationOptions { InstallCommand = node.InstallCommand(), InstallShell = shell }), node.Source, TimeProvider.System, new RecordingLogger());

        var outcome = await validator.RunAsync(null, CancellationToken.None);

        Assert.Equal(ValidationVerdict.InstallFailed, outcome.Verdict);
        Assert.Equal(ExitCodes.InstallFailed, GpuDaemon.Cli.Commands.ValidateCommand.ExitCode(outcome.Verdict));
        Assert.StartsWith("not ready: install failed: the installer (", outcome.Summary, StringComparison.Ordinal);
        Assert.Contains(
            $") could not start: {shell} does not exist in this image; --install-command needs {shell}, which the default gpudaemon image leaves out: run the validate init container from the {ValidationDefaults.InstallerImage} image (Dockerfile target installer; the deploy/overlays/driver-installer overlay uses it)",
            outcome.Summary,
            StringComparison.Ordinal);
        Assert.DoesNotContain('\n', outcome.Summary);
        Assert.False(node.HasStatusFiles);
    }

    [Fact]
    public async Task Validate_ValidationDirBlockedByAFile_OneLineUsageErrorSayingMountReadWrite()
    {
        using var node = new ValidationNode();
        var blocker = node.Scratch("not-a-directory");
        File.WriteAllText(blocker, string.Empty);
        var dir = Path.Combine(blocker, "validations");

        var result = await CliRunner.RunAsync(["validate", "--driver-root", node.Driver.Root, "--host-root", node.HostRoot, "--dev-root", node.DevRoot, "--validation-dir", dir, "--log-level", "none"]);

        Assert.Equal(ExitCodes.Usage, result.ExitCode);
        var line = Assert.Single(result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"gpudaemon: cannot write to --validation-dir {dir} (", line, StringComparison.Ordinal);
        Assert.Contains("mount it read-write", line, StringComparison.Ordinal);
        Assert.DoesNotContain("unexpected", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Validate_DriverTooOldWithInstaller_RunsItAndPassesOnTheNewDriver()
    {
        using var node = new ValidationNode();
        var scenario = Path.Combine(node.Driver.LibraryFolder, "standin-scenario.txt");

        var result = await node.ValidateAsync("--min-driver-version", "560", "--install-command", $"printf '\\ndriver = 560.35.03\\n' >> '{scenario}' && echo upgraded");

        Assert.True(result.ExitCode == ExitCodes.Ok, result.Output + result.Error);
        Assert.Matches(@"install\s+ok\s+\S+\s+the installer \(.*\) exited with code 0", result.Output);
        Assert.Equal("560.35.03", node.ReadStatus(ValidationDefaults.DriverReadyFile)[StatusFiles.DriverVersionKey]);
    }

    [Fact]
    public async Task Validate_DriverTooOldWithoutInstaller_RemedySaysTheInstallerWouldRun()
    {
        using var node = new ValidationNode();

        var result = await node.ValidateAsync("--min-driver-version", "560");

        Assert.Equal(ExitCodes.DriverFailed, result.ExitCode);
        Assert.Contains("an --install-command runs for a driver that is too old just as for a missing one", result.Output, StringComparison.Ordinal);
        Assert.False(node.HasStatusFiles);
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
        Assert.All(outcomes, o => Assert.Equal(ExitCodes.Ok, GpuDaemon.Cli.Commands.ValidateCommand.ExitCode(o.Verdict)));
        Assert.All(outcomes, o => Assert.Equal([node.StatusFile(ValidationDefaults.DriverReadyFile), node.StatusFile(ValidationDefaults.CudaReadyFile)], o.StatusFiles));
        Assert.Equal("550.127.05", node.ReadStatus(ValidationDefaults.DriverReadyFile)[StatusFiles.DriverVersionKey]);
        Assert.Equal("12.4", node.ReadStatus(ValidationDefaults.CudaReadyFile)[StatusFiles.CudaVersionKey]);
        Assert.Empty(Directory.GetFiles(node.ValidationDir, "*.tmp")); // no half-written file left by either
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
