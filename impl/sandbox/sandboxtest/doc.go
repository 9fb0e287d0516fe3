// Package sandboxtest holds what the tests of simulators and adapters share: Serve, which serves a
// simulator as `paylinks serve` does with a client that validates every answer against the
// provider's spec, and RunSimulatorConformance, the suite every simulator passes.
package sandboxtest
