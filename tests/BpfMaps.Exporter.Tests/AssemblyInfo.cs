// Exporter hosts share the meter name and bind ports; one test at a time also keeps the suite
// light on a shared 2-core machine.
[assembly: Xunit.v3.Parallelization(Mode = Xunit.Sdk.ParallelMode.None)]
