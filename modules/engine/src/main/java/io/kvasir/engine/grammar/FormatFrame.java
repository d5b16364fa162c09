package io.kvasir.engine.grammar;

/**
 * Inside a string held to a {@code format}, after its opening quote: the bytes so far are a state
 * of the format's automaton, which already counts minLength and maxLength if the schema has them.
 * Formats are plain ASCII that JSON writes as itself, so a byte is a character and no escape can
 * be needed: the automaton reads the raw bytes, refuses everything else (a backslash included), and
 * the closing quote comes once the value is complete. The state is one int: equal states share
 * masks, and a walk through a format visits only as many states as the format has.
 */
record FormatFrame(ByteDfa dfa, int state) implements Frame {

    static FormatFrame start(ByteDfa dfa) {
        return new FormatFrame(dfa, ByteDfa.START);
    }

    @Override
    public void step(Stack self, int b, Out out) {
        if (b == '"') {
            if (dfa.accepts(state)) {
                out.add(self.rest);
            }
            return;
        }
        int next = dfa.next(state, b);
        if (next >= 0) {
            out.add(new Stack(new FormatFrame(dfa, next), self.rest));
        }
    }
}
