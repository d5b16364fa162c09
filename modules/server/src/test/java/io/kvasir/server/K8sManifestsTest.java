package io.kvasir.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The Kubernetes manifests under deploy/k8s, checked without a cluster: every file parses and every
 * kustomization's references exist; each overlay, rendered by {@code kubectl kustomize} (skipped
 * where kubectl is missing), has the objects and fields a Kvasir cluster depends on, and its
 * application.conf parses and is accepted by the node's cluster formation.
 */
class K8sManifestsTest {

    private static final ObjectMapper YAML = new YAMLMapper();

    /** The API versions of the kinds the manifests may use (a typo in either would be refused by the API server). */
    private static final Map<String, String> API_VERSIONS = Map.of(
            "Deployment", "apps/v1",
            "Service", "v1",
            "ServiceAccount", "v1",
            "ConfigMap", "v1",
            "Role", "rbac.authorization.k8s.io/v1",
            "RoleBinding", "rbac.authorization.k8s.io/v1",
            "PodDisruptionBudget", "policy/v1");

    @TempDir
    Path tmp;

    @Test
    void everyFileParsesAndEveryKustomizationReferenceResolves() throws IOException {
        List<Path> files;
        try (Stream<Path> walk = Files.walk(KubeManifests.dir())) {
            files = walk.filter(p -> p.toString().endsWith(".yaml")).toList();
        }
        assertThat(files).isNotEmpty();
        for (Path file : files) {
            for (JsonNode doc : KubeManifests.documents(Files.readString(file))) {
                String where = KubeManifests.dir().relativize(file).toString();
                assertThat(doc.path("apiVersion").asText())
                        .as(where + " apiVersion")
                        .isNotEmpty();
                assertThat(doc.path("kind").asText()).as(where + " kind").isNotEmpty();
                if (file.getFileName().toString().equals("kustomization.yaml")) {
                    Path dir = file.getParent();
                    for (JsonNode r : doc.path("resources")) {
                        Path target = dir.resolve(r.asText());
                        assertThat(Files.isRegularFile(target)
                                        || Files.isRegularFile(target.resolve("kustomization.yaml")))
                                .as(where + " resource " + r.asText())
                                .isTrue();
                    }
                    for (JsonNode gen : doc.path("configMapGenerator")) {
                        for (JsonNode f : gen.path("files")) {
                            assertThat(dir.resolve(f.asText())).as(where).isRegularFile();
                        }
                    }
                } else {
                    assertThat(doc.path("metadata").path("name").asText())
                            .as(where + " metadata.name")
                            .isNotEmpty();
                    assertThat(doc.path("apiVersion").asText())
                            .as(where + " apiVersion of " + doc.path("kind").asText())
                            .isEqualTo(API_VERSIONS.get(doc.path("kind").asText()));
                }
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"demo", "split", "demo-tls"})
    void overlayRendersToAWorkingCluster(String overlay) throws Exception {
        List<JsonNode> objects = KubeManifests.documents(
                KubeManifests.kustomize(KubeManifests.dir().resolve("overlays").resolve(overlay)));
        for (JsonNode o : objects) {
            assertThat(o.path("apiVersion").asText())
                    .as(o.path("kind").asText())
                    .isEqualTo(API_VERSIONS.get(o.path("kind").asText()));
        }
        List<JsonNode> deployments = ofKind(objects, "Deployment");
        assertThat(deployments).isNotEmpty();
        for (JsonNode d : deployments) {
            checkDeployment(d, objects);
        }
        for (JsonNode pdb : ofKind(objects, "PodDisruptionBudget")) {
            assertThat(deployments.stream()
                            .filter(d -> selects(pdb.at("/spec/selector/matchLabels"), d.at("/spec/template")))
                            .count())
                    .as("deployments the PDB " + name(pdb) + " covers")
                    .isEqualTo(1);
        }
        assertThat(ofKind(objects, "PodDisruptionBudget")).hasSameSizeAs(deployments);
        JsonNode api = one(objects, "Service", "kvasir-api");
        assertThat(deployments.stream().filter(d -> selects(api.at("/spec/selector"), d.at("/spec/template"))))
                .as("gateway deployments behind the API Service")
                .isNotEmpty();
        JsonNode binding = one(objects, "RoleBinding", "kvasir-pod-reader");
        JsonNode role = one(objects, "Role", binding.at("/roleRef/name").asText());
        assertThat(role.at("/rules/0/resources").toString()).contains("pods");
        assertThat(role.at("/rules/0/verbs").toString()).contains("list");
        one(objects, "ServiceAccount", binding.at("/subjects/0/name").asText());
        Config node = checkNodeConfig(ofKind(objects, "ConfigMap").getFirst());
        boolean tls = overlay.endsWith("-tls");
        // The TLS component turns both on, from the Secret's keystore and password; without it, neither.
        assertThat(node.getBoolean("kvasir.http.tls.enabled")).as("HTTPS API").isEqualTo(tls);
        assertThat(node.getString("akka.remote.artery.transport")).isEqualTo(tls ? "tls-tcp" : "tcp");
        for (JsonNode d : deployments) {
            JsonNode pod = d.at("/spec/template/spec");
            assertThat(pod.at("/containers/0/env").toString().contains("KVASIR_TLS_KEYSTORE_PASSWORD"))
                    .as(name(d) + " keystore password from the Secret")
                    .isEqualTo(tls);
            for (JsonNode v : pod.path("volumes")) {
                if (v.at("/secret/secretName").asText().equals("kvasir-tls")) {
                    assertThat(v.at("/secret/optional").asBoolean())
                            .as(name(d) + " TLS secret optional")
                            .isEqualTo(!tls);
                }
            }
        }
    }

    private static void checkDeployment(JsonNode d, List<JsonNode> objects) {
        String n = name(d);
        JsonNode template = d.at("/spec/template");
        assertThat(selects(d.at("/spec/selector/matchLabels"), template))
                .as(n + " selects its own pods")
                .isTrue();
        // kubernetes-api discovery finds peers by app=<service-name>.
        assertThat(template.at("/metadata/labels/app").asText()).isEqualTo("kvasir");
        JsonNode pod = template.path("spec");
        one(objects, "ServiceAccount", pod.path("serviceAccountName").asText());
        assertThat(pod.path("securityContext").path("runAsNonRoot").asBoolean())
                .as(n + " non-root")
                .isTrue();
        assertThat(pod.path("terminationGracePeriodSeconds").asInt())
                .as(n + " grace period outlasts the drain wait (90 s)")
                .isGreaterThan(90);
        JsonNode c = pod.at("/containers/0");
        assertThat(c.path("image").asText()).as(n + " image").isNotEmpty();
        assertThat(c.path("ports").toString()).contains("\"management\"").contains("\"api\"");
        assertThat(c.at("/readinessProbe/httpGet/path").asText()).isEqualTo("/ready");
        assertThat(c.at("/readinessProbe/httpGet/port").asText()).isEqualTo("management");
        assertThat(c.at("/livenessProbe/httpGet/path").asText()).isEqualTo("/alive");
        assertThat(c.at("/lifecycle/preStop/exec/command").toString()).contains("drain.sh");
        assertThat(c.path("env").toString()).contains("KVASIR_ROLES").contains("KVASIR_HOST");
        assertThat(c.path("args").toString()).contains("serve").contains("$(KVASIR_ROLES)");
        assertThat(bytes(c.at("/resources/requests/memory").asText()))
                .as(n + " memory request within its limit")
                .isPositive()
                .isLessThanOrEqualTo(bytes(c.at("/resources/limits/memory").asText()));
        for (JsonNode v : pod.path("volumes")) {
            if (v.has("configMap")) {
                one(objects, "ConfigMap", v.at("/configMap/name").asText());
            }
        }
    }

    /** The node config as the pod reads it: parses, includes models.conf, and bootstraps through kubernetes-api. */
    private Config checkNodeConfig(JsonNode configMap) throws IOException {
        JsonNode data = configMap.path("data");
        for (String f : List.of("application.conf", "models.conf", "drain.sh")) {
            assertThat(data.has(f)).as("ConfigMap has " + f).isTrue();
        }
        for (var file : data.properties()) {
            Files.writeString(tmp.resolve(file.getKey()), file.getValue().asText());
        }
        Config config = ConfigFactory.parseFile(tmp.resolve("application.conf").toFile())
                .withFallback(ConfigFactory.defaultReference())
                .resolve();
        assertThat(config.getObject("kvasir.models")).isNotEmpty();
        Config formed = ClusterFormation.configure(config);
        assertThat(formed.getString("akka.management.cluster.bootstrap.contact-point-discovery.discovery-method"))
                .isEqualTo("kubernetes-api");
        assertThat(formed.getBoolean("kvasir.node.join-self")).isFalse();
        assertThat(formed.getString("akka.cluster.split-brain-resolver.active-strategy"))
                .isEqualTo("keep-majority");
        return config;
    }

    private static boolean selects(JsonNode selector, JsonNode template) {
        JsonNode labels = template.at("/metadata/labels");
        if (selector.isMissingNode() || selector.isEmpty()) {
            return false;
        }
        for (var e : selector.properties()) {
            if (!labels.path(e.getKey()).asText().equals(e.getValue().asText())) {
                return false;
            }
        }
        return true;
    }

    private static long bytes(String quantity) {
        Map<String, Long> units = Map.of("Ki", 1L << 10, "Mi", 1L << 20, "Gi", 1L << 30);
        for (var u : units.entrySet()) {
            if (quantity.endsWith(u.getKey())) {
                return Long.parseLong(quantity.substring(0, quantity.length() - 2)) * u.getValue();
            }
        }
        return quantity.isEmpty() ? 0 : Long.parseLong(quantity);
    }

    private static List<JsonNode> ofKind(List<JsonNode> objects, String kind) {
        return objects.stream()
                .filter(o -> o.path("kind").asText().equals(kind))
                .toList();
    }

    private static JsonNode one(List<JsonNode> objects, String kind, String name) {
        List<JsonNode> found =
                ofKind(objects, kind).stream().filter(o -> name(o).equals(name)).toList();
        assertThat(found).as(kind + " " + name).hasSize(1);
        return found.getFirst();
    }

    private static String name(JsonNode o) {
        return o.at("/metadata/name").asText();
    }
}
