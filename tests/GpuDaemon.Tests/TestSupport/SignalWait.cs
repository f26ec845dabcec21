using GpuDaemon.Devices;

namespace GpuDaemon.Tests.TestSupport;

public static class SignalWait
{
    /// <summary>Waits until <paramref name="condition"/> holds, looking again at every change of <paramref name="signal"/>; fails the test after <paramref name="timeout"/>.</summary>
    public static async Task UntilAsync(ChangeSignal signal, Func<bool> condition, TimeSpan? timeout = null, string? what = null)
    {
        using var cancel = new CancellationTokenSource(timeout ?? PluginHarness.Wait);
        while (true)
        {
            var seen = signal.Version;
            if (condition())
            {
                return;
            }

            try
            {
                await signal.WaitForChangeAsync(seen, cancel.Token);
            }
            catch (OperationCanceledException) when (cancel.IsCancellationRequested)
            {
                throw new TimeoutException($"timed out waiting for {what ?? "a condition"}");
            }
        }
    }
}
