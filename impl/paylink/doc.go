// Package paylink is the unified payment-link domain: one Link model, status enum, exact money,
// provider-qualified ids, typed errors and the Provider interface that each provider adapter
// implements, plus a Client that routes by id and merges lists across providers.
//
// It must not import any provider package (gen/… or an adapter): providers depend on it, never
// the other way round.
package paylink
