package io.kvasir.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.RecordComponent;
import java.util.Set;
import java.util.function.UnaryOperator;

/**
 * Checks a record's wither: the copy it returns differs in the named components and equals the
 * original in every other one. For the settings and request records, whose withers each copy all
 * components, where one slip would carry a wrong value into a copy unseen.
 */
public final class RecordWithers {

    private RecordWithers() {}

    public static <R extends Record> void assertChangesOnly(R base, UnaryOperator<R> wither, String... changed) {
        R copy = wither.apply(base);
        Set<String> names = Set.of(changed);
        for (RecordComponent c : base.getClass().getRecordComponents()) {
            Object before = read(c, base);
            Object after = read(c, copy);
            if (names.contains(c.getName())) {
                assertThat(after).as(c.getName()).isNotEqualTo(before);
            } else {
                assertThat(after).as(c.getName()).isEqualTo(before);
            }
        }
    }

    private static Object read(RecordComponent component, Record record) {
        try {
            component.getAccessor().setAccessible(true);
            return component.getAccessor().invoke(record);
        } catch (ReflectiveOperationException e) {
            throw new AssertionError("cannot read " + component.getName(), e);
        }
    }
}
