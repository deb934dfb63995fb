namespace BpfMaps;

/// <summary>
/// A call into the kernel failed: a bpf() command (<see cref="BpfCommand"/>), or another call on a map's
/// memory or descriptors (<see cref="BpfMaps.KernelCall"/>). Carries the errno and, where one is known, a hint at
/// the usual cause. <c>catch (BpfException)</c> catches every failure that comes from the kernel,
/// <see cref="BpfNotSupportedException"/> and <see cref="BpfBatchException"/> included.
/// </summary>
public class BpfException : Exception
{
    /// <summary>
    /// The exception the library throws for <paramref name="errno"/> from <paramref name="command"/>: a
    /// <see cref="BpfNotSupportedException"/> for ENOTSUPP/EOPNOTSUPP, otherwise a <see cref="BpfException"/>
    /// with the library's hint. For backends in other assemblies (the in-process engine), so that their
    /// errors read as the kernel backend's do.
    /// </summary>
    /// <param name="errno">The errno (positive).</param>
    /// <param name="command">The bpf() command that failed.</param>
    /// <param name="mapType">The map's type, for messages and the not-supported cases; null when none applies.</param>
    /// <returns>The exception, not thrown.</returns>
    public static BpfException ForErrno(int errno, BpfCommand command, MapType? mapType = null) => BpfErrors.Create(errno, command, mapType);

    /// <summary>
    /// The exception the library throws for <paramref name="errno"/> from <paramref name="call"/>, a call
    /// that is not a bpf() command (see <see cref="ForErrno(int, BpfCommand, MapType?)"/>).
    /// </summary>
    /// <param name="errno">The errno (positive).</param>
    /// <param name="call">The call that failed.</param>
    /// <param name="mapType">The map's type, for messages; null when none applies.</param>
    /// <returns>The exception, not thrown.</returns>
    public static BpfException ForErrno(int errno, KernelCall call, MapType? mapType = null) => BpfErrors.Create(errno, call, mapType);

    /// <summary>Creates the exception.</summary>
    /// <param name="errno">The positive errno.</param>
    /// <param name="command">The bpf() command.</param>
    /// <param name="hint">A hint at the cause, or null.</param>
    public BpfException(int errno, BpfCommand command, string? hint)
        : this(errno, command, null, hint, Format(errno, command.ToString(), hint))
    {
    }

    /// <summary>Creates the exception with a default hint for the errno.</summary>
    /// <param name="errno">The positive errno.</param>
    /// <param name="command">The bpf() command.</param>
    public BpfException(int errno, BpfCommand command)
        : this(errno, command, BpfErrors.DefaultHint(errno, command))
    {
    }

    /// <summary>Creates the exception for a call that is not a bpf() command.</summary>
    /// <param name="errno">The positive errno.</param>
    /// <param name="call">The call.</param>
    /// <param name="hint">A hint at the cause, or null.</param>
    public BpfException(int errno, KernelCall call, string? hint)
        : this(errno, null, call, hint, Format(errno, call.SystemName(), hint))
    {
    }

    /// <summary>Creates an exception with a message (for serializers and tools); errno is 0.</summary>
    public BpfException() : this(0, null, null, null, Format(0, "bpf", null))
    {
    }

    /// <summary>Creates an exception with a message; errno is 0.</summary>
    /// <param name="message">The message.</param>
    public BpfException(string message) : base(message)
    {
    }

    /// <summary>Creates an exception with a message and inner exception; errno is 0.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public BpfException(string message, Exception innerException) : base(message, innerException)
    {
    }

    /// <summary>Creates the exception with a message of the derived type's making.</summary>
    /// <param name="errno">The positive errno, or 0.</param>
    /// <param name="command">The bpf() command, or null.</param>
    /// <param name="call">The other call, or null.</param>
    /// <param name="hint">A hint at the cause, or null.</param>
    /// <param name="message">The whole message.</param>
    /// <param name="innerException">The cause, or null.</param>
    protected BpfException(int errno, BpfCommand? command, KernelCall? call, string? hint, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Errno = errno;
        FailedCommand = command;
        FailedCall = call;
        Hint = hint;
    }

    /// <summary>The positive errno the kernel returned (0 for a feature probe or a message-only exception).</summary>
    public int Errno { get; }

    /// <summary>The bpf() command that failed, or null when the failure was another call (<see cref="FailedCall"/>).</summary>
    public BpfCommand? FailedCommand { get; }

    /// <summary>The call that failed when it was not a bpf() command, or null.</summary>
    public KernelCall? FailedCall { get; }

    /// <summary>
    /// The name of what failed, for messages: the bpf() command in kernel spelling (<c>BPF_MAP_UPDATE_ELEM</c>),
    /// the system call (<c>epoll_wait</c>), or <c>bpf</c> when neither is known. Switch on
    /// <see cref="FailedCommand"/> and <see cref="FailedCall"/>, not on this text.
    /// </summary>
    public string Command => FailedCommand?.ToString() ?? FailedCall?.SystemName() ?? "bpf";

    /// <summary>A hint at the usual cause, or null.</summary>
    public string? Hint { get; }

    private static string Format(int errno, string command, string? hint)
    {
        string msg = $"{command}: {BpfMaps.Errno.Name(errno)} ({errno})";
        return hint is null ? msg : $"{msg}: {hint}";
    }
}

/// <summary>
/// A batch command failed part-way. <see cref="Processed"/> is the number of entries the kernel
/// reported as done before the error, or null when it cannot be trusted (after EFAULT).
/// </summary>
public sealed class BpfBatchException : BpfException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="errno">The positive errno.</param>
    /// <param name="command">The batch command.</param>
    /// <param name="processed">Entries done before the error, or null if untrusted.</param>
    public BpfBatchException(int errno, BpfCommand command, int? processed)
        : base(errno, command, BpfErrors.DefaultHint(errno, command) + (processed switch
        {
            null => " (count untrusted after EFAULT)",
            0 => " (nothing processed)",
            { } p => $" ({p} entries processed)",
        }))
    {
        Processed = processed;
    }

    /// <summary>Entries the kernel processed before failing, or null after EFAULT.</summary>
    public int? Processed { get; }
}

/// <summary>
/// The map (or this kernel) lacks a feature. Raised for ENOTSUPP/EOPNOTSUPP, and by feature probes;
/// names the feature and the minimum kernel. A <see cref="BpfException"/>, so one catch takes every
/// failure that comes from the kernel.
/// </summary>
public sealed class BpfNotSupportedException : BpfException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="feature">What is missing, e.g. <c>BPF_MAP_LOOKUP_AND_DELETE_BATCH on array</c>.</param>
    /// <param name="minimumKernel">The first kernel with the feature, or null if no kernel has it.</param>
    /// <param name="errno">The errno that revealed it, or 0 for a probe.</param>
    public BpfNotSupportedException(string feature, string? minimumKernel, int errno)
        : this(feature, minimumKernel, errno, null)
    {
    }

    /// <summary>Creates the exception for a bpf() command that refused.</summary>
    /// <param name="feature">What is missing, e.g. <c>BPF_MAP_LOOKUP_AND_DELETE_BATCH on array</c>.</param>
    /// <param name="minimumKernel">The first kernel with the feature, or null if no kernel has it.</param>
    /// <param name="errno">The errno that revealed it, or 0 for a probe.</param>
    /// <param name="command">The command that refused, or null for a probe.</param>
    public BpfNotSupportedException(string feature, string? minimumKernel, int errno, BpfCommand? command)
        : base(errno, command, null, null, minimumKernel is null
            ? $"{feature} is not supported ({BpfMaps.Errno.Name(errno)})"
            : $"{feature} is not supported: needs Linux {minimumKernel} or newer ({BpfMaps.Errno.Name(errno)})")
    {
        ArgumentNullException.ThrowIfNull(feature);
        Feature = feature;
        MinimumKernel = minimumKernel;
    }

    /// <summary>The missing feature.</summary>
    public string Feature { get; }

    /// <summary>The first kernel version that has it, or null when the map type never has it.</summary>
    public string? MinimumKernel { get; }
}

/// <summary>
/// A get_next_key walk (the fallback of <see cref="BpfMap.Dump"/> and <see cref="BpfMap.Drain"/>, or
/// <see cref="DumpMethod.GetNextKey"/>) stopped: it was sent back to the start of the map under
/// <see cref="RestartPolicy.Fail"/>, or the map changed faster than it could be walked and the walk
/// gave up (more than <see cref="DumpOptions.MaxRestarts"/> restarts). Keys emitted before it was thrown
/// were each emitted once; the rest of the map was not read.
/// </summary>
public sealed class MapIterationRestartedException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    public MapIterationRestartedException(string message) : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="keysEmitted">Keys the pass had emitted when it stopped.</param>
    /// <param name="restarts">Times the walk had been sent back to the start.</param>
    public MapIterationRestartedException(string message, long keysEmitted, int restarts) : base(message)
    {
        KeysEmitted = keysEmitted;
        Restarts = restarts;
    }

    /// <summary>Creates the exception.</summary>
    public MapIterationRestartedException() : this("map iteration restarted: the previous key was deleted during the walk")
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public MapIterationRestartedException(string message, Exception innerException) : base(message, innerException)
    {
    }

    /// <summary>Keys the pass had emitted (each once) when it stopped.</summary>
    public long KeysEmitted { get; }

    /// <summary>Times the walk had been sent back to the start of the map when it stopped.</summary>
    public int Restarts { get; }
}
