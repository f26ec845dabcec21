using GpuDaemon.Cli;

return await GpuDaemonCli.RunAsync(args, Console.Out, Console.Error, new ProcessEnvironment());
