using System.Globalization;
using BpfMaps.Cli.Errors;

namespace BpfMaps.Cli.Input;

/// <summary>Checks a duration option (<c>--interval</c>, <c>--seconds</c>) before anything waits on it.</summary>
internal static class Seconds
{
    /// <summary>The longest wait: WaitHandle.WaitOne takes at most int.MaxValue milliseconds (about 24.8 days).</summary>
    public const double Max = int.MaxValue / 1000.0;

    /// <summary>Returns <paramref name="value"/> if it is a positive, finite number of seconds no larger than <see cref="Max"/>.</summary>
    /// <param name="value">The option's value.</param>
    /// <param name="option">The option, for the message (e.g. <c>watch: --interval</c>).</param>
    /// <returns>The value.</returns>
    /// <exception cref="CliException"><see cref="ExitCode.Usage"/> for NaN, infinities, zero, negatives and values above <see cref="Max"/>.</exception>
    public static double Check(double value, string option)
        => value > 0 && value <= Max
            ? value
            : throw new CliException(ExitCode.Usage, $"{option} {value.ToString(CultureInfo.InvariantCulture)}: must be a positive number of seconds, at most {Math.Floor(Max).ToString(CultureInfo.InvariantCulture)}");
}
