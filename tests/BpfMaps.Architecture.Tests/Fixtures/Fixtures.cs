// Deliberate violations, for the negative checks in ArchitectureTests: the rules must find these.
#pragma warning disable CA1812, CA1823, CA2211, IDE0051

namespace BpfMaps.Architecture.Tests.Fixtures.Low
{
    /// <summary>A low layer that reaches up into <c>High</c> (forbidden) and so closes a cycle.</summary>
    public static class LowThing
    {
        public static int Value => High.HighThing.Base + 1;
    }
}

namespace BpfMaps.Architecture.Tests.Fixtures.High
{
    public static class HighThing
    {
        public static int Base => 1;

        public static int FromBelow() => Low.LowThing.Value;
    }
}

namespace BpfMaps.Architecture.Tests.Fixtures.Library
{
    /// <summary>Stands in for the library: one internal type, one public type with an internal member.</summary>
    internal static class Hidden
    {
        internal static int Secret = 1;
    }

    public static class Open
    {
        public static int Value = 2;

        internal static int Inner() => 3;
    }
}

namespace BpfMaps.Architecture.Tests.Fixtures.Consumer
{
    /// <summary>Stands in for the engine: it uses the library's public member and two of its internals.</summary>
    public static class Uses
    {
        public static int Get() => Library.Hidden.Secret + Library.Open.Value + Library.Open.Inner();
    }
}
