package io.kvasir.fabric;

/**
 * Marker for every message that crosses nodes. Bound to Akka's jackson-cbor serializer in
 * reference.conf, so no Java serialization is ever used on the wire.
 */
public interface CborSerializable {}
