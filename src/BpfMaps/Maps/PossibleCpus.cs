using System.Globalization;

namespace BpfMaps;

/// <summary>
/// The number of possible CPUs, which sizes per-CPU values: the kernel copies
/// <c>round_up(value_size, 8)</c> bytes for each possible CPU, not each online one.
/// </summary>
public static class PossibleCpus
{
    private static readonly Lazy<int> s_count = new(() => ReadCount("/sys/devices/system/cpu/possible"));

    /// <summary>Number of possible CPUs, from <c>/sys/devices/system/cpu/possible</c>.</summary>
    public static int Count => s_count.Value;

    /// <summary>Parses a CPU list such as <c>0-3,5,7-8</c> and returns how many CPUs it names.</summary>
    /// <param name="list">The list text.</param>
    /// <returns>The number of CPUs named.</returns>
    /// <exception cref="FormatException">The text is not a CPU list.</exception>
    public static int Parse(string list)
    {
        ArgumentNullException.ThrowIfNull(list);
        int count = 0;
        foreach (string part in list.Trim().Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            int dash = part.IndexOf('-', StringComparison.Ordinal);
            if (dash < 0)
            {
                _ = int.Parse(part, NumberStyles.None, CultureInfo.InvariantCulture);
                count++;
            }
            else
            {
                int lo = int.Parse(part.AsSpan(0, dash), NumberStyles.None, CultureInfo.InvariantCulture);
                int hi = int.Parse(part.AsSpan(dash + 1), NumberStyles.None, CultureInfo.InvariantCulture);
                if (hi < lo)
                {
                    throw new FormatException($"bad CPU range '{part}'");
                }

                count += hi - lo + 1;
            }
        }

        return count == 0 ? throw new FormatException($"empty CPU list '{list}'") : count;
    }

    /// <summary>
    /// Which CPUs are online now (<c>/sys/devices/system/cpu/online</c>), as a mask of <see cref="Count"/> entries;
    /// every CPU when the file cannot be read.
    /// </summary>
    internal static bool[] ReadOnlineMask()
    {
        bool[] online = new bool[Count];
        try
        {
            foreach (int cpu in ParseSet(File.ReadAllText("/sys/devices/system/cpu/online")))
            {
                if (cpu < online.Length)
                {
                    online[cpu] = true;
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            Array.Fill(online, true);
        }

        return online;
    }

    /// <summary>The CPU numbers a list such as <c>0-3,5</c> names, in order.</summary>
    internal static List<int> ParseSet(string list)
    {
        var cpus = new List<int>();
        foreach (string part in list.Trim().Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            int dash = part.IndexOf('-', StringComparison.Ordinal);
            int lo = int.Parse(dash < 0 ? part : part.AsSpan(0, dash), NumberStyles.None, CultureInfo.InvariantCulture);
            int hi = dash < 0 ? lo : int.Parse(part.AsSpan(dash + 1), NumberStyles.None, CultureInfo.InvariantCulture);
            for (int c = lo; c <= hi; c++)
            {
                cpus.Add(c);
            }
        }

        return cpus;
    }

    /// <summary>The per-CPU stride: <c>round_up(valueSize, 8)</c>.</summary>
    /// <param name="valueSize">The map's value_size.</param>
    /// <returns>The stride in bytes.</returns>
    public static int Stride(int valueSize) => (valueSize + 7) & ~7;

    private static int ReadCount(string path)
    {
        try
        {
            return Parse(File.ReadAllText(path));
        }
        catch (IOException)
        {
            return Environment.ProcessorCount;
        }
        catch (UnauthorizedAccessException)
        {
            return Environment.ProcessorCount;
        }
    }
}
