using BenchmarkDotNet.Running;

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);

/// <summary>Entry point: every benchmark class, chosen with --filter.</summary>
public partial class Program;
