package io.kvasir.engine.grammar;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Compiles a JSON schema into the {@link Shape}s the byte automaton follows. What it takes, all of
 * it enforced while decoding:
 *
 * <ul>
 *   <li>objects with {@code properties} (written in their declared order), {@code required} and
 *       {@code additionalProperties};
 *   <li>arrays with one {@code items} schema, {@code minItems} and {@code maxItems};
 *   <li>strings, with {@code minLength} and {@code maxLength} counted in code points, as JSON
 *       Schema counts them, and the {@code format}s of {@link Formats} (date-time, date, time,
 *       duration, email, hostname, ipv4, ipv6, uuid), written in a canonical form every validator
 *       accepts;
 *   <li>integers and numbers, with {@code minimum}, {@code maximum}, {@code exclusiveMinimum} and
 *       {@code exclusiveMaximum} (numeric, or draft 4's booleans beside minimum and maximum); a
 *       bounded number is written as a plain decimal, without an exponent;
 *   <li>booleans, null, {@code enum} and {@code const} (values outside the node's own bounds or
 *       lengths are left out), {@code anyOf}, type lists, an {@code allOf} of one schema, and local
 *       {@code $ref}s to {@code $defs} or {@code definitions}, recursion included.
 * </ul>
 *
 * <p>A keyword that would narrow values without being enforced ({@code pattern}, a {@code format}
 * not listed above, {@code multipleOf}, {@code minProperties}, {@code maxProperties}, {@code
 * uniqueItems}, and the keywords above when they sit beside an {@code anyOf} or a {@code $ref}
 * instead of a type) fails in strict mode with a {@link SchemaException} naming it and its place:
 * accepting it would let through output that fails the caller's own validation. Without strict the
 * caller asked for best effort, and such keywords are ignored. Keywords whose structure the automaton cannot follow ({@code not},
 * {@code if}, {@code patternProperties}, ...) fail in both modes, and so do enforced keywords with a
 * malformed value or bounds that leave no value at all.
 */
public final class SchemaCompiler {

    /** Keywords that structure the schema in ways the automaton cannot follow: always refused. */
    private static final Set<String> STRUCTURAL = Set.of(
            "not",
            "if",
            "then",
            "else",
            "patternProperties",
            "propertyNames",
            "dependentRequired",
            "dependentSchemas",
            "dependencies",
            "prefixItems",
            "contains",
            "minContains",
            "maxContains",
            "unevaluatedProperties",
            "unevaluatedItems",
            "$dynamicRef",
            "$recursiveRef");

    /**
     * Keywords that narrow a value further than its type and that the automaton does not enforce.
     * Refused in strict mode; without strict the caller asked for best effort, so they are ignored
     * and the output follows the rest. The enforced ones are {@link Limits#KEYWORDS}.
     */
    private static final Set<String> NARROWING =
            Set.of("pattern", "multipleOf", "minProperties", "maxProperties", "uniqueItems");

    private final JsonNode root;
    private final boolean strict;
    private final Map<JsonNode, Shape> compiled = new IdentityHashMap<>();
    private final List<Shape.Ref> refs = new ArrayList<>();

    private SchemaCompiler(JsonNode root, boolean strict) {
        this.root = root;
        this.strict = strict;
    }

    /** Compiles a response format to the shape of its whole output (null for plain text). */
    static Shape compile(ResponseFormat format) {
        return switch (format.kind()) {
            case TEXT -> null;
            case JSON_OBJECT -> Shape.Obj.ANY;
            case JSON_SCHEMA -> compile(parse(format.schema()), format.strict());
        };
    }

    /** Checks that a response format compiles; throws {@link SchemaException} naming the problem. */
    public static void check(ResponseFormat format) {
        compile(format);
    }

    static JsonNode parse(String schemaText) {
        try {
            // Decimals kept exact: a bound read as a double would round (1e-400 to 0, letting 0 through
            // a minimum of 1e-400), and a const is then spelled as its author wrote it.
            JsonNode node = Json.MAPPER
                    .reader()
                    .with(com.fasterxml.jackson.databind.DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
                    .readTree(schemaText);
            if (node == null || node.isMissingNode()) {
                throw new SchemaException("the schema is empty");
            }
            return node;
        } catch (JsonProcessingException e) {
            throw new SchemaException("the schema is not valid JSON: " + e.getOriginalMessage());
        }
    }

    static Shape compile(JsonNode schema, boolean strict) {
        SchemaCompiler c = new SchemaCompiler(schema, strict);
        Shape shape = c.shape(schema, "#");
        // Compiling a definition may meet more $refs: the list grows while it is walked.
        for (int i = 0; i < c.refs.size(); i++) {
            c.refs.get(i).target = c.resolve(c.refs.get(i).ref);
        }
        for (Shape.Ref ref : c.refs) {
            checkProgress(ref, new IdentityHashMap<>());
        }
        return shape;
    }

    private Shape shape(JsonNode node, String path) {
        Shape done = compiled.get(node);
        if (done != null) {
            return done; // a definition reached again through another $ref
        }
        Shape s = compileNode(node, path);
        compiled.put(node, s);
        return s;
    }

    private Shape compileNode(JsonNode node, String path) {
        if (node.isBoolean()) {
            if (!node.booleanValue()) {
                throw new SchemaException("the schema at " + path + " is false: no value can match it");
            }
            return Shape.Any.INSTANCE;
        }
        if (!node.isObject()) {
            throw new SchemaException("the schema at " + path + " must be an object, not " + node.getNodeType());
        }
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            String keyword = it.next();
            if (STRUCTURAL.contains(keyword) || (strict && NARROWING.contains(keyword))) {
                throw new SchemaException("unsupported schema feature '" + keyword + "' at " + path);
            }
        }
        Limits limits = Limits.read(node, path, strict);
        String beside = node.has("$ref")
                ? "$ref"
                : node.has("allOf") ? "allOf" : node.has("anyOf") ? "anyOf" : node.has("oneOf") ? "oneOf" : null;
        String bound = Limits.firstIn(node);
        if (strict && beside != null && bound != null) {
            throw new SchemaException("unsupported schema feature '" + bound + "' beside '" + beside + "' at " + path
                    + " (put it in the schemas with a type)");
        }
        if (node.has("$ref")) {
            Shape.Ref ref = new Shape.Ref(text(node.get("$ref"), path + "/$ref"));
            refs.add(ref);
            return ref;
        }
        if (node.has("allOf")) {
            JsonNode all = node.get("allOf");
            if (!all.isArray() || all.size() != 1) {
                throw new SchemaException("unsupported schema feature 'allOf' at " + path
                        + " (only an allOf of exactly one schema, as generators wrap a $ref)");
            }
            return shape(all.get(0), path + "/allOf/0");
        }
        if (node.has("enum")) {
            JsonNode values = node.get("enum");
            if (!values.isArray() || values.isEmpty()) {
                throw new SchemaException("'enum' at " + path + " must be a non-empty array");
            }
            return literals(values, limits, "no value of 'enum' at " + path + " keeps to the limits beside it");
        }
        if (node.has("const")) {
            return literals(
                    List.of(node.get("const")), limits, "the 'const' at " + path + " breaks the limits beside it");
        }
        String alternatives = node.has("anyOf") ? "anyOf" : !strict && node.has("oneOf") ? "oneOf" : null;
        if (alternatives == null && node.has("oneOf")) {
            throw new SchemaException("unsupported schema feature 'oneOf' at " + path + " (use anyOf)");
        }
        if (alternatives != null) {
            JsonNode alts = node.get(alternatives);
            if (!alts.isArray() || alts.isEmpty()) {
                throw new SchemaException("'" + alternatives + "' at " + path + " must be a non-empty array");
            }
            Shape[] shapes = new Shape[alts.size()];
            for (int i = 0; i < shapes.length; i++) {
                shapes[i] = shape(alts.get(i), path + "/" + alternatives + "/" + i);
            }
            return shapes.length == 1 ? shapes[0] : new Shape.AnyOf(shapes);
        }
        JsonNode type = node.get("type");
        if (type == null) {
            return ofType(inferType(node), node, limits, path);
        }
        if (type.isArray()) {
            if (type.isEmpty()) {
                throw new SchemaException("'type' at " + path + " must not be an empty list");
            }
            Shape[] shapes = new Shape[type.size()];
            for (int i = 0; i < shapes.length; i++) {
                shapes[i] = ofType(text(type.get(i), path + "/type/" + i), node, limits, path);
            }
            return shapes.length == 1 ? shapes[0] : new Shape.AnyOf(shapes);
        }
        return ofType(text(type, path + "/type"), node, limits, path);
    }

    private static String inferType(JsonNode node) {
        if (node.has("properties") || node.has("required") || node.has("additionalProperties")) {
            return "object";
        }
        if (node.has("items") || node.has("minItems") || node.has("maxItems")) {
            return "array";
        }
        return "any";
    }

    /** The enum or const values that keep to the node's limits; none is an error, not an empty trie. */
    private static Shape literals(Iterable<JsonNode> values, Limits limits, String noneLeft) {
        ByteTrie trie = new ByteTrie();
        boolean any = false;
        for (JsonNode v : values) {
            if (limits.admits(v)) {
                trie.add(Json.compact(v), 0);
                any = true;
            }
        }
        if (!any) {
            throw new SchemaException(noneLeft);
        }
        return new Shape.Literal(trie);
    }

    private Shape ofType(String type, JsonNode node, Limits limits, String path) {
        return switch (type) {
            case "object" -> object(node, path);
            case "array" -> array(node, path);
            case "string" -> limits.string();
            case "number" -> limits.number(false);
            case "integer" -> limits.number(true);
            case "boolean" -> Shape.Literal.BOOLEAN;
            case "null" -> Shape.Literal.NULL;
            case "any" -> limits.any();
            default -> throw new SchemaException("unknown type '" + type + "' at " + path);
        };
    }

    private Shape object(JsonNode node, String path) {
        Map<String, JsonNode> props = new LinkedHashMap<>();
        JsonNode p = node.get("properties");
        if (p != null) {
            if (!p.isObject()) {
                throw new SchemaException("'properties' at " + path + " must be an object");
            }
            p.fields().forEachRemaining(e -> props.put(e.getKey(), e.getValue()));
        }
        List<String> required = new ArrayList<>();
        JsonNode r = node.get("required");
        if (r != null) {
            if (!r.isArray()) {
                throw new SchemaException("'required' at " + path + " must be an array of property names");
            }
            for (int i = 0; i < r.size(); i++) {
                String name = text(r.get(i), path + "/required/" + i);
                if (!props.containsKey(name)) {
                    throw new SchemaException(
                            "required property '" + name + "' at " + path + " is not defined in 'properties'");
                }
                required.add(name);
            }
        }
        JsonNode additional = node.get("additionalProperties");
        Shape extra = null;
        if (props.isEmpty()) {
            if (additional == null || (additional.isBoolean() && additional.booleanValue())) {
                extra = Shape.Any.INSTANCE;
            } else if (!additional.isBoolean()) {
                extra = shape(additional, path + "/additionalProperties");
            }
        }
        // With declared properties, extra keys are never generated: valid whether or not they are allowed.
        String[] names = props.keySet().toArray(String[]::new);
        Shape[] values = new Shape[names.length];
        boolean[] req = new boolean[names.length];
        for (int i = 0; i < names.length; i++) {
            values[i] = shape(props.get(names[i]), path + "/properties/" + names[i]);
            req[i] = required.contains(names[i]);
        }
        return new Shape.Obj(names, values, req, extra);
    }

    private Shape array(JsonNode node, String path) {
        JsonNode items = node.get("items");
        if (items != null && items.isArray()) {
            throw new SchemaException("unsupported schema feature 'items' as a list (tuple) at " + path);
        }
        Shape itemShape = items == null ? Shape.Any.INSTANCE : shape(items, path + "/items");
        int min = count(node, "minItems", 0, path);
        int max = count(node, "maxItems", -1, path);
        if (max >= 0 && max < min) {
            throw new SchemaException("minItems " + min + " exceeds maxItems " + max + " at " + path);
        }
        return new Shape.Arr(itemShape, min, max);
    }

    private static int count(JsonNode node, String keyword, int absent, String path) {
        JsonNode v = node.get(keyword);
        if (v == null) {
            return absent;
        }
        if (!v.canConvertToExactIntegral() || v.asLong() < 0 || v.asLong() > 100_000) {
            throw new SchemaException("'" + keyword + "' at " + path + " must be an integer in [0, 100000]");
        }
        return v.asInt();
    }

    private Shape resolve(String ref) {
        if (ref.equals("#")) {
            return shape(root, "#");
        }
        String[] parts = ref.split("/", -1);
        if (parts.length != 3
                || !parts[0].equals("#")
                || !(parts[1].equals("$defs") || parts[1].equals("definitions"))) {
            throw new SchemaException(
                    "unsupported $ref '" + ref + "' (only local ones: #, #/$defs/Name, #/definitions/Name)");
        }
        String name = parts[2].replace("~1", "/").replace("~0", "~");
        JsonNode def = root.path(parts[1]).get(name);
        if (def == null) {
            throw new SchemaException("$ref '" + ref + "' names no definition");
        }
        return shape(def, ref);
    }

    /** Rejects a $ref or anyOf cycle that never reaches a value: the automaton would loop on it. */
    private static void checkProgress(Shape s, Map<Shape, Boolean> onPath) {
        if (!(s instanceof Shape.Ref) && !(s instanceof Shape.AnyOf)) {
            return;
        }
        if (onPath.put(s, Boolean.TRUE) != null) {
            throw new SchemaException("the schema refers to itself without ever reaching a value"
                    + (s instanceof Shape.Ref r ? " (through $ref '" + r.ref + "')" : ""));
        }
        if (s instanceof Shape.Ref r) {
            checkProgress(r.target, onPath);
        } else {
            for (Shape alt : ((Shape.AnyOf) s).alternatives) {
                checkProgress(alt, onPath);
            }
        }
        onPath.remove(s);
    }

    private static String text(JsonNode v, String path) {
        if (v == null || !v.isTextual()) {
            throw new SchemaException("expected a string at " + path);
        }
        return v.textValue();
    }
}
