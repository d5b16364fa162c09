/**
 * A simulated engine: the real scheduler and KV block accounting over a runner that computes
 * nothing and spends modelled step times instead. For testing the fabric at scale and for capacity
 * planning; it never performs or claims inference.
 */
package io.kvasir.engine.sim;
