package io.kvasir.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.HTTPGetAction;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The schema check for the rendered manifests that needs no cluster: every object is read into
 * Kubernetes' own API types (fabric8's generated model of the OpenAPI schema), which refuses a
 * value of the wrong type, and every field the types do not know (a typo such as
 * {@code readinesProbe}, or a field at the wrong level) is reported with its path. The models keep
 * unknown fields in an "additional properties" map instead of failing, so the check walks the
 * whole object graph for them.
 */
class K8sSchemaTest {

    private static final ObjectMapper JSON =
            new ObjectMapper().enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES);

    private static final Map<String, Class<?>> TYPES = Map.of(
            "Deployment", Deployment.class,
            "Service", Service.class,
            "ServiceAccount", ServiceAccount.class,
            "ConfigMap", ConfigMap.class,
            "Role", Role.class,
            "RoleBinding", RoleBinding.class,
            "PodDisruptionBudget", PodDisruptionBudget.class);

    @ParameterizedTest
    @ValueSource(strings = {"demo", "split", "demo-tls"})
    void everyRenderedObjectMatchesTheKubernetesTypes(String overlay) throws Exception {
        List<JsonNode> objects = KubeManifests.documents(
                KubeManifests.kustomize(KubeManifests.dir().resolve("overlays").resolve(overlay)));
        assertThat(objects).isNotEmpty();
        List<String> problems = new ArrayList<>();
        for (JsonNode o : objects) {
            String kind = o.path("kind").asText();
            String where = kind + "/" + o.at("/metadata/name").asText();
            Class<?> type = TYPES.get(kind);
            assertThat(type).as("a known kind: " + where).isNotNull();
            Object typed = JSON.treeToValue(o, type);
            unknownFields(typed, where, problems);
            if (typed instanceof Deployment d) {
                checkPods(d, where, problems);
            }
        }
        assertThat(problems).as("fields the Kubernetes API would refuse").isEmpty();
    }

    @ParameterizedTest
    @ValueSource(strings = {"readinesProbe", "replica"})
    void theCheckCatchesAMisspelledField(String typo) throws Exception {
        // The check itself must be able to fail: a Deployment with one misspelled field.
        JsonNode d = JSON.readTree("""
                {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"},
                 "spec": {"%s": 1, "selector": {"matchLabels": {"app": "x"}},
                  "template": {"metadata": {"labels": {"app": "x"}},
                   "spec": {"containers": [{"name": "c", "image": "i"}]}}}}
                """.formatted(typo));
        List<String> problems = new ArrayList<>();
        unknownFields(JSON.treeToValue(d, Deployment.class), "Deployment/x", problems);
        assertThat(problems).containsExactly("Deployment/x.spec." + typo);
    }

    /** What the types cannot say: probes name ports the container has, quantities parse, images are set. */
    private static void checkPods(Deployment d, String where, List<String> problems) {
        for (Container c : d.getSpec().getTemplate().getSpec().getContainers()) {
            String at = where + " container " + c.getName();
            if (c.getImage() == null || c.getImage().isBlank()) {
                problems.add(at + ": no image");
            }
            Set<String> ports =
                    c.getPorts().stream().map(ContainerPort::getName).collect(Collectors.toSet());
            for (var probe :
                    new io.fabric8.kubernetes.api.model.Probe[] {c.getReadinessProbe(), c.getLivenessProbe()}) {
                HTTPGetAction get = probe == null ? null : probe.getHttpGet();
                IntOrString port = get == null ? null : get.getPort();
                if (port != null && port.getStrVal() != null && !ports.contains(port.getStrVal())) {
                    problems.add(at + ": probe port '" + port.getStrVal() + "' is not one of " + ports);
                }
            }
            if (c.getResources() != null) {
                for (var q :
                        List.of(c.getResources().getRequests(), c.getResources().getLimits())) {
                    if (q == null) {
                        continue;
                    }
                    for (Map.Entry<String, Quantity> e : q.entrySet()) {
                        try {
                            Quantity.getAmountInBytes(e.getValue());
                        } catch (IllegalArgumentException bad) {
                            problems.add(at + ": resource " + e.getKey() + " '" + e.getValue() + "' is no quantity");
                        }
                    }
                }
            }
        }
    }

    /** Adds the path of every field the model types kept as an unknown, walking all nested model objects. */
    static void unknownFields(Object o, String path, List<String> problems) throws Exception {
        if (o == null || o instanceof String || o instanceof Number || o instanceof Boolean) {
            return;
        }
        if (o instanceof Collection<?> items) {
            int i = 0;
            for (Object item : items) {
                unknownFields(item, path + "[" + i++ + "]", problems);
            }
            return;
        }
        if (o instanceof Map<?, ?> map) {
            for (Map.Entry<?, ?> e : map.entrySet()) {
                unknownFields(e.getValue(), path + "[" + e.getKey() + "]", problems);
            }
            return;
        }
        if (!o.getClass().getPackageName().startsWith("io.fabric8.kubernetes.api.model")) {
            return;
        }
        for (Method m : o.getClass().getMethods()) {
            if (m.getParameterCount() != 0
                    || Modifier.isStatic(m.getModifiers())
                    || !m.getName().startsWith("get")
                    || m.getDeclaringClass() == Object.class) {
                continue;
            }
            Object value = m.invoke(o);
            if (m.getName().equals("getAdditionalProperties")) {
                for (Object key : ((Map<?, ?>) value).keySet()) {
                    problems.add(path + "." + key);
                }
            } else if (!(o instanceof Quantity) && !(o instanceof IntOrString)) {
                String field = Character.toLowerCase(m.getName().charAt(3))
                        + m.getName().substring(4);
                unknownFields(value, path + "." + field, problems);
            }
        }
    }
}
