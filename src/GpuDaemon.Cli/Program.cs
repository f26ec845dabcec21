using System.Runtime.InteropServices;
using GpuDaemon.Cli;

// SIGTERM (the kubelet's pod shutdown) and Ctrl-C cancel the command, which then ends its streams and removes its sockets.
using var shutdown = new CancellationTokenSource();
void Stop(PosixSignalContext context)
{
    context.Cancel = true;
    shutdown.Cancel();
}

using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
return await GpuDaemonCli.RunAsync(args, Console.Out, Console.Error, new ProcessEnvironment(), shutdown.Token);
