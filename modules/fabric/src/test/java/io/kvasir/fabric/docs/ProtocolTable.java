package io.kvasir.fabric.docs;

import akka.actor.typed.ActorRef;
import java.lang.reflect.Modifier;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

/**
 * Renders an actor protocol as a Markdown table straight from its sealed {@code Command}
 * interface: one row per public message, what it carries, and where its replies go (the message's
 * {@code ActorRef<T>} components). Package-private messages are the actor's own and are left out.
 * The docs' protocol tables are checked against this, so they cannot drift from the code.
 */
final class ProtocolTable {

    private ProtocolTable() {}

    static String render(Class<?> command) {
        StringBuilder out = new StringBuilder("| message in | carries | replies out |\n| --- | --- | --- |\n");
        for (Class<?> message : publicMessages(command)) {
            out.append("| `")
                    .append(message.getSimpleName())
                    .append("` | ")
                    .append(carries(message))
                    .append(" | ")
                    .append(replies(message))
                    .append(" |\n");
        }
        return out.toString();
    }

    private static List<Class<?>> publicMessages(Class<?> type) {
        List<Class<?>> out = new ArrayList<>();
        if (!type.isSealed()) {
            out.add(type);
            return out;
        }
        for (Class<?> sub : type.getPermittedSubclasses()) {
            if (!Modifier.isPublic(sub.getModifiers())) {
                continue; // the actor's own messages (Internal and its records)
            }
            if (sub.isInterface()) {
                out.addAll(publicMessages(sub));
            } else {
                out.add(sub);
            }
        }
        return out;
    }

    private static String carries(Class<?> message) {
        if (!message.isRecord()) {
            return "-";
        }
        String fields = java.util.Arrays.stream(message.getRecordComponents())
                .filter(c -> c.getType() != ActorRef.class)
                .map(RecordComponent::getName)
                .collect(Collectors.joining(", "));
        return fields.isEmpty() ? "-" : fields;
    }

    private static String replies(Class<?> message) {
        if (!message.isRecord()) {
            return "-";
        }
        List<String> refs = new ArrayList<>();
        for (RecordComponent c : message.getRecordComponents()) {
            if (c.getType() == ActorRef.class) {
                refs.add(c.getName() + ": " + replyType(c.getGenericType()));
            }
        }
        return refs.isEmpty() ? "-" : String.join("; ", refs);
    }

    private static String replyType(Type type) {
        if (type instanceof ParameterizedType p) {
            Type arg = p.getActualTypeArguments()[0];
            return "`" + simpleName(arg) + "`";
        }
        return "?";
    }

    private static String simpleName(Type type) {
        if (type instanceof Class<?> c) {
            if (!c.isSealed()) {
                return c.getSimpleName();
            }
            return java.util.Arrays.stream(c.getPermittedSubclasses())
                    .map(Class::getSimpleName)
                    .collect(Collectors.joining(" \\| "));
        }
        if (type instanceof ParameterizedType p) {
            return simpleName(p.getRawType()) + " of " + simpleName(p.getActualTypeArguments()[0]);
        }
        return type.getTypeName();
    }
}
