namespace GpuDaemon.Validation.Install;

/// <summary>
/// The lock that keeps two validators on a node from installing at once: a file in the validation directory held
/// open exclusively (the runtime takes an advisory <c>flock</c> on it, which the kernel drops if the holder dies).
/// </summary>
internal sealed class InstallLock : IDisposable
{
    /// <summary>How often a waiting validator tries the lock again.</summary>
    public static readonly TimeSpan RetryInterval = TimeSpan.FromMilliseconds(100);

    private readonly FileStream _stream;

    private InstallLock(FileStream stream)
    {
        _stream = stream;
    }

    public string Path => _stream.Name;

    /// <summary>
    /// Takes the lock, waiting up to <paramref name="limit"/> for another holder; null when it is still held then.
    /// <paramref name="onBusy"/> is called once if the lock was held when first tried.
    /// </summary>
    public static async Task<InstallLock?> AcquireAsync(string directory, TimeSpan limit, TimeProvider timeProvider, Action<string> onBusy, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(directory);
        var path = System.IO.Path.Combine(directory, ValidationDefaults.InstallLockFile);
        var started = timeProvider.GetTimestamp();
        var told = false;
        while (true)
        {
            try
            {
                return new InstallLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
            }
            catch (IOException) when (timeProvider.GetElapsedTime(started) < limit)
            {
                if (!told)
                {
                    onBusy(path);
                    told = true;
                }
            }
            catch (IOException)
            {
                return null;
            }

            await Task.Delay(RetryInterval, timeProvider, cancellationToken);
        }
    }

    public void Dispose() => _stream.Dispose();
}
