using System.Runtime.InteropServices;

namespace BpfMaps.Tests.SpanSweep;

/// <summary>
/// Native memory filled with a sentinel byte, from which the short spans of a call are carved, one per
/// slot, each with <see cref="Gap"/> bytes of sentinel after it. A write past the end of a span lands in
/// sentinel memory instead of the managed heap (where it would crash at the next GC, or never be seen),
/// and <see cref="FindWritesOutside"/> reports it.
/// </summary>
internal sealed unsafe class GuardedRegion : IDisposable
{
    public const byte Sentinel = 0xA5;

    private readonly byte* _base;
    private readonly int _size;

    public GuardedRegion(int gap, int slots)
    {
        Gap = gap;
        Slots = slots;
        _size = checked(gap * (slots + 1));
        _base = (byte*)NativeMemory.Alloc((nuint)_size);
        Fill();
    }

    public int Gap { get; }

    public int Slots { get; }

    private Span<byte> All => new(_base, _size);

    public void Fill() => All.Fill(Sentinel);

    /// <summary>Where the span in <paramref name="slot"/> starts: slot 0 sits one gap into the region.</summary>
    public nint At(int slot)
    {
        if ((uint)slot >= (uint)Slots)
        {
            throw new ArgumentOutOfRangeException(nameof(slot), slot, $"the region has {Slots} slots");
        }

        return (nint)(_base + ((slot + 1) * Gap));
    }

    /// <summary>
    /// Gives an input span content that names an entry the maps hold: the u32 1, repeated. A long key
    /// span then finds key 1 and the kernel writes its value; a 3-byte one reads a sentinel byte after it.
    /// </summary>
    public void WriteInput(int slot, int length)
    {
        var span = new Span<byte>((void*)At(slot), length);
        span.Clear();
        for (int i = 0; i < length; i += 4)
        {
            span[i] = 1;
        }
    }

    /// <summary>
    /// Every changed byte outside the carved spans, described against the span it follows:
    /// "keys (3 bytes): 2045 bytes changed between +0 and +2044 past its end". Null when nothing changed.
    /// </summary>
    public string? FindWritesOutside(IReadOnlyList<(string Name, int Slot, int Length)> spans)
    {
        var ordered = spans.OrderBy(s => s.Slot).ToList();
        var found = new List<string>();
        int from = 0;
        string? after = null;
        int afterLength = 0;
        foreach (var (name, slot, length) in ordered)
        {
            int start = (slot + 1) * Gap;
            Describe(from, start, after, afterLength, name, found);
            from = start + length;
            after = name;
            afterLength = length;
        }

        Describe(from, _size, after, afterLength, null, found);
        return found.Count == 0 ? null : string.Join("; ", found);
    }

    private void Describe(int from, int to, string? after, int afterLength, string? before, List<string> found)
    {
        ReadOnlySpan<byte> area = All[from..to];
        int first = area.IndexOfAnyExcept(Sentinel);
        if (first < 0)
        {
            return;
        }

        int last = area.LastIndexOfAnyExcept(Sentinel);
        int changed = area.Length - area.Count(Sentinel);
        found.Add(after is not null
            ? $"{after} ({afterLength} bytes): {changed} bytes changed between +{first} and +{last} past its end"
            : $"{changed} bytes changed between -{area.Length - first} and -{area.Length - last} before {before ?? "the spans"}");
    }

    public void Dispose() => NativeMemory.Free(_base);
}
