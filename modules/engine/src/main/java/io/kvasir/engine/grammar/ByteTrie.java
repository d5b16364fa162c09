package io.kvasir.engine.grammar;

import java.util.Arrays;

/**
 * A trie over a fixed set of byte strings: enum literals, or the property names an object may
 * continue with. Nodes compare by identity, so a frame holding one is cheap to hash and compare.
 */
final class ByteTrie {

    private byte[] keys = new byte[0];
    private ByteTrie[] children = new ByteTrie[0];
    /** The value of the string ending here, or -1 when none does. */
    private int value = -1;

    /** Adds {@code bytes} with {@code value} (values are the caller's, such as a property index). */
    void add(byte[] bytes, int value) {
        ByteTrie node = this;
        for (byte b : bytes) {
            ByteTrie next = node.child(b & 0xFF);
            if (next == null) {
                next = new ByteTrie();
                node.keys = Arrays.copyOf(node.keys, node.keys.length + 1);
                node.children = Arrays.copyOf(node.children, node.children.length + 1);
                node.keys[node.keys.length - 1] = b;
                node.children[node.children.length - 1] = next;
            }
            node = next;
        }
        node.value = value;
    }

    /** The node after byte {@code b}, or null. */
    ByteTrie child(int b) {
        for (int i = 0; i < keys.length; i++) {
            if ((keys[i] & 0xFF) == b) {
                return children[i];
            }
        }
        return null;
    }

    boolean terminal() {
        return value >= 0;
    }

    boolean leaf() {
        return keys.length == 0;
    }

    int value() {
        return value;
    }
}
