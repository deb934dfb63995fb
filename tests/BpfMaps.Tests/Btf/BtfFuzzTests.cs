using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using BpfMaps.Btf;
using BpfMaps.Tests.Corpus;

namespace BpfMaps.Tests.Btf;

/// <summary>
/// Mutation fuzzing of the BTF reader over real blobs: vmlinux and the corpus maps' BTF. A mutated blob
/// must parse, or fail with <see cref="BtfException"/>; a parsed one must answer every query with a
/// result or a <see cref="BtfException"/>. Nothing else may escape, and nothing may take long.
/// BPFMAPS_FUZZ_ITER multiplies the iterations for a long soak.
/// </summary>
public sealed class BtfFuzzTests(BtfCorpus corpus)
{
    private static readonly int s_scale = int.TryParse(Environment.GetEnvironmentVariable("BPFMAPS_FUZZ_ITER"), NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n > 0 ? n : 1;

    [Fact]
    public void Corpus_blobs_survive_mutation()
    {
        corpus.Require();
        var seeds = corpus.Maps.Where(m => m.HasBtf).Select(m => corpus.BtfId(m.Name)).Distinct()
            .Select(id => BtfSpec.LoadById(id).RawBytes.ToArray()).ToList();
        Assert.NotEmpty(seeds);
        Fuzz(seeds, iterations: 3000 * s_scale, seed: 1);
    }

    [Fact]
    public void Vmlinux_survives_mutation()
    {
        if (!File.Exists("/sys/kernel/btf/vmlinux"))
        {
            Assert.Skip("no /sys/kernel/btf/vmlinux");
        }

        Fuzz([File.ReadAllBytes("/sys/kernel/btf/vmlinux")], iterations: 25 * s_scale, seed: 2);
    }

    private static void Fuzz(List<byte[]> seeds, int iterations, int seed)
    {
        var rng = new Random(seed);
        int parsed = 0, refused = 0;
        var slowest = TimeSpan.Zero;
        for (int i = 0; i < iterations; i++)
        {
            byte[] original = seeds[rng.Next(seeds.Count)];
            byte[] blob = Mutate(original, rng);
            var sw = Stopwatch.StartNew();
            try
            {
                BtfSpec spec = BtfSpec.Parse(blob);
                Walk(spec);
                parsed++;
            }
            catch (BtfException e)
            {
                Assert.True(e.Offset is not null || e.TypeId is not null || e.Message.Contains("string offset", StringComparison.Ordinal), e.Message);
                refused++;
            }
            catch (Exception e)
            {
                string path = Path.Combine(Path.GetTempPath(), $"btf-fuzz-{seed}-{i}.bin");
                File.WriteAllBytes(path, blob);
                Assert.Fail($"iteration {i}: {e.GetType().Name} escaped ({e.Message}); the blob is saved at {path}\n{e.StackTrace}");
            }

            if (sw.Elapsed > slowest)
            {
                slowest = sw.Elapsed;
            }
        }

        // A hang guard, not a speed target: an iteration is one parse and one walk of every type, well
        // under a second alone, several on a loaded two-core CI machine; a loop that never ends is caught.
        Assert.True(slowest < TimeSpan.FromSeconds(60), $"slowest iteration took {slowest}");
        Assert.True(parsed > 0 && refused > 0, $"{parsed} parsed, {refused} refused: the mutations should produce both");
    }

    /// <summary>Asks a parsed spec everything a formatter would.</summary>
    private static void Walk(BtfSpec spec)
    {
        foreach (BtfType t in spec.Types())
        {
            _ = t.Name;
            Query(() => spec.SizeOf(t.Id));
            Query(() => spec.AlignOf(t.Id));
            Query(() => spec.ResolveModifiers(t.Id).Id);
            switch (t.Kind)
            {
                case BtfKind.Struct or BtfKind.Union:
                    for (int m = 0; m < t.Vlen; m++)
                    {
                        _ = t.Member(m).Name;
                    }

                    break;
                case BtfKind.Enum or BtfKind.Enum64:
                    for (int e = 0; e < t.Vlen; e++)
                    {
                        _ = t.EnumValue(e).Name;
                    }

                    break;
                case BtfKind.FunctionProto:
                    for (int p = 0; p < t.Vlen; p++)
                    {
                        _ = t.Parameter(p).Name;
                    }

                    break;
                case BtfKind.DataSection:
                    for (int v = 0; v < t.Vlen; v++)
                    {
                        Query(() => spec.SizeOf(t.SectionVariable(v).TypeId));
                    }

                    break;
                case BtfKind.Array:
                    _ = t.ArrayLength + t.ArrayElementType + t.ArrayIndexType;
                    break;
            }
        }

        if (spec.TypeCount > 1)
        {
            _ = spec.FindTypes(spec.TypeById((uint)spec.TypeCount - 1).Name);
        }
    }

    private static void Query(Func<long> query)
    {
        try
        {
            _ = query();
        }
        catch (BtfException)
        {
        }
    }

    private static readonly uint[] s_interesting = [0, 1, 2, 3, 4, 7, 8, 12, 16, 0x7f, 0x80, 0xff, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff, 0x01000000, 0x84000000, 0x8400ffff];

    private static byte[] Mutate(byte[] original, Random rng)
    {
        byte[] blob;
        int kind = rng.Next(10);
        if (kind == 0)
        {
            // Truncate anywhere.
            return original[..rng.Next(original.Length)];
        }

        blob = (byte[])original.Clone();
        int edits = 1 + rng.Next(kind < 5 ? 2 : 8);
        for (int e = 0; e < edits; e++)
        {
            switch (rng.Next(4))
            {
                case 0:
                    // A header field.
                    int field = 4 + (4 * rng.Next(5));
                    BinaryPrimitives.WriteUInt32LittleEndian(blob.AsSpan(field), s_interesting[rng.Next(s_interesting.Length)] ^ (uint)rng.Next(4));
                    break;
                case 1:
                    // A 4-byte-aligned word of a type record: name, info, size/type or data.
                    int at = 24 + (4 * rng.Next((blob.Length - 28) / 4));
                    BinaryPrimitives.WriteUInt32LittleEndian(blob.AsSpan(at), s_interesting[rng.Next(s_interesting.Length)]);
                    break;
                case 2:
                    blob[rng.Next(blob.Length)] ^= (byte)(1 << rng.Next(8));
                    break;
                default:
                    blob[rng.Next(blob.Length)] = (byte)rng.Next(256);
                    break;
            }
        }

        return blob;
    }
}
