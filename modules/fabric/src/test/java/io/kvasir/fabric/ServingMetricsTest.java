package io.kvasir.fabric;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.stream.javadsl.Sink;
import akka.stream.javadsl.SinkQueueWithCancel;
import io.kvasir.fabric.api.FabricException;
import io.kvasir.fabric.api.GenerationEvent;
import io.kvasir.fabric.api.GenerationRequest;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The serving metrics as Prometheus scrapes them, after real streams through a one-node fabric. */
class ServingMetricsTest {

    private static final String MODELS = """
            tiny { max-model-length = 2048, kv-cache-blocks = 1024, kv-block-size = 4 }
            small { max-model-length = 512, kv-cache-blocks = 256, kv-block-size = 4,
                    max-in-flight = 1, admission-queue-size = 1 }
            """;

    private static ActorTestKit kit;
    private static PrometheusMeterRegistry registry;
    private static KvasirFabric fabric;

    @BeforeAll
    static void start() {
        kit = ActorTestKit.create("metrics", TestNodes.config(MODELS, List.of("gateway", "prefill", "decode"), true));
        registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        fabric = Kvasir.start(kit.system(), new ScriptedFactory(Duration.ofMillis(1)), registry);
        TestNodes.awaitReplicas(kit, fabric, Map.of("tiny", 1, "small", 1));
    }

    @AfterAll
    static void stop() {
        kit.shutdownTestKit();
    }

    @Test
    void theWarmUpsUnknownModelIsRefusedButNotCountedWhileAClientsIs() {
        String warmUp = io.kvasir.fabric.api.WarmUpRequests.newModelId();
        assertThatThrownBy(() -> TestNodes.run(
                        kit, fabric, TestNodes.prompt(warmUp, "hi", 4, GenerationRequest.Workload.INTERACTIVE)))
                .cause()
                .isInstanceOfSatisfying(
                        FabricException.class, e -> assertThat(e.kind()).isEqualTo(FabricException.Kind.UNKNOWN_MODEL));
        assertThat(unknownModelRefusals()).isZero();

        assertThatThrownBy(() -> TestNodes.run(
                        kit, fabric, TestNodes.prompt("made-up", "hi", 4, GenerationRequest.Workload.INTERACTIVE)))
                .cause()
                .isInstanceOf(FabricException.class);
        assertThat(unknownModelRefusals()).isEqualTo(1);
    }

    private static double unknownModelRefusals() {
        var counter = registry.find("kvasir.requests.refused")
                .tags("model", "unknown", "reason", "unknown_model")
                .counter();
        return counter == null ? 0 : counter.count();
    }

    @Test
    void finishedStreamsAreTimedAndTheirUsageCounted() throws Exception {
        int[] maxTokens = {5, 7, 9};
        int prompt = 0;
        int completion = 0;
        int promptLooked = 0;
        int cached = 0;
        for (int n : maxTokens) {
            // The same prompt twice: the second finds its blocks in the prefix cache.
            List<GenerationEvent> events = TestNodes.run(
                    kit,
                    fabric,
                    TestNodes.prompt(
                            "tiny", "The metrics of a story told twice", n, GenerationRequest.Workload.INTERACTIVE));
            GenerationEvent.Started started = (GenerationEvent.Started) events.getFirst();
            GenerationEvent.Finished finished = (GenerationEvent.Finished) events.getLast();
            prompt += finished.promptTokens();
            completion += finished.completionTokens();
            promptLooked += started.promptTokens();
            cached += started.cachedTokens();
        }
        int requests = maxTokens.length;
        int gaps = completion - requests;
        assertThat(cached)
                .as("the scripted engine's prefix cache served the repeats")
                .isPositive();

        Map<String, Double> s = scrape();
        assertThat(s.get("kvasir_time_to_first_token_seconds_count{model=\"tiny\"}"))
                .isEqualTo(requests);
        assertThat(s.get("kvasir_inter_token_latency_seconds_count{model=\"tiny\"}"))
                .isEqualTo(gaps);
        // Every admitted request's wait for its slot is timed (here never longer than its whole stream).
        assertThat(s.get("kvasir_admission_wait_seconds_count{model=\"tiny\"}")).isEqualTo(requests);
        assertThat(s.get("kvasir_admission_wait_seconds_sum{model=\"tiny\"}"))
                .isLessThanOrEqualTo(s.get("kvasir_e2e_request_latency_seconds_sum{model=\"tiny\"}"));
        assertThat(s.get("kvasir_e2e_request_latency_seconds_count{model=\"tiny\"}"))
                .isEqualTo(requests);
        assertThat(s.get("kvasir_e2e_request_latency_seconds_bucket{model=\"tiny\",le=\"+Inf\"}"))
                .isEqualTo(requests);
        assertThat(s.get("kvasir_e2e_request_latency_seconds_sum{model=\"tiny\"}"))
                .isPositive();
        assertThat(s.get("kvasir_prompt_tokens_total{model=\"tiny\"}")).isEqualTo(prompt);
        assertThat(s.get("kvasir_generation_tokens_total{model=\"tiny\"}")).isEqualTo(completion);
        assertThat(s.get("kvasir_request_success_total{finished_reason=\"length\",model=\"tiny\"}"))
                .isEqualTo(requests);
        assertThat(s.get("kvasir_request_success_total{finished_reason=\"stop\",model=\"tiny\"}"))
                .isZero();

        // vLLM's names carry the same observations.
        assertThat(s.get("vllm:time_to_first_token_seconds_count{model_name=\"tiny\"}"))
                .isEqualTo(requests);
        assertThat(s.get("vllm:time_to_first_token_seconds_sum{model_name=\"tiny\"}"))
                .isEqualTo(s.get("kvasir_time_to_first_token_seconds_sum{model=\"tiny\"}"));
        assertThat(s.get("vllm:inter_token_latency_seconds_count{model_name=\"tiny\"}"))
                .isEqualTo(gaps);
        assertThat(s.get("vllm:time_per_output_token_seconds_count{model_name=\"tiny\"}"))
                .isEqualTo(gaps);
        assertThat(s.get("vllm:e2e_request_latency_seconds_count{model_name=\"tiny\"}"))
                .isEqualTo(requests);
        assertThat(s.get("vllm:e2e_request_latency_seconds_sum{model_name=\"tiny\"}"))
                .isEqualTo(s.get("kvasir_e2e_request_latency_seconds_sum{model=\"tiny\"}"));
        assertThat(s.get("vllm:prompt_tokens_total{model_name=\"tiny\"}")).isEqualTo(prompt);
        assertThat(s.get("vllm:generation_tokens_total{model_name=\"tiny\"}")).isEqualTo(completion);
        assertThat(s.get("vllm:request_success_total{finished_reason=\"length\",model_name=\"tiny\"}"))
                .isEqualTo(requests);

        // The engine's cumulative counters arrive with the next status poll.
        double looked = promptLooked;
        double hits = cached;
        kit.createTestProbe().awaitAssert(TestNodes.WAIT, Duration.ofMillis(100), () -> {
            Map<String, Double> later = scrape();
            assertThat(later.get("kvasir_prefix_cache_queries_total{model=\"tiny\"}"))
                    .isEqualTo(looked);
            assertThat(later.get("kvasir_prefix_cache_hits_total{model=\"tiny\"}"))
                    .isEqualTo(hits);
            assertThat(later.get("vllm:prefix_cache_queries_total{model_name=\"tiny\"}"))
                    .isEqualTo(looked);
            assertThat(later.get("vllm:prefix_cache_hits_total{model_name=\"tiny\"}"))
                    .isEqualTo(hits);
            assertThat(later.get("kvasir_prefix_cache_hit_rate{model=\"tiny\"}"))
                    .isEqualTo(hits / looked);
            // Nothing runs now: the finished sequences have given their blocks back.
            assertThat(later.get("kvasir_num_requests_running{model=\"tiny\"}")).isZero();
            assertThat(later.get("vllm:num_requests_running{model_name=\"tiny\"}"))
                    .isZero();
            assertThat(later.get("kvasir_kv_cache_usage_perc{model=\"tiny\"}")).isZero();
            return null;
        });
        Map<String, Double> end = scrape();
        assertThat(end)
                .containsKeys(
                        "vllm:num_requests_waiting{model_name=\"tiny\"}",
                        "vllm:kv_cache_usage_perc{model_name=\"tiny\"}",
                        "vllm:gpu_cache_usage_perc{model_name=\"tiny\"}",
                        "vllm:num_preemptions_total{model_name=\"tiny\"}",
                        "kvasir_num_preemptions_total{model=\"tiny\"}");
    }

    @Test
    void overloadIsCountedAsRejectedAndTheQueueAndLoadAreVisible() throws Exception {
        // Long enough that it cannot finish into the buffers between engine and reader.
        GenerationRequest request = TestNodes.prompt("small", "hold", 400, GenerationRequest.Workload.INTERACTIVE);
        SinkQueueWithCancel<GenerationEvent> running = fabric.generate(request).runWith(Sink.queue(1), kit.system());
        running.pull().toCompletableFuture().get(10, TimeUnit.SECONDS);
        SinkQueueWithCancel<GenerationEvent> queued = fabric.generate(request).runWith(Sink.queue(1), kit.system());
        var queuedFirst = queued.pull();
        kit.createTestProbe().awaitAssert(TestNodes.WAIT, Duration.ofMillis(50), () -> {
            assertThat(scrape().get("kvasir_admission_queue_depth{model=\"small\"}"))
                    .isEqualTo(1.0);
            return null;
        });

        assertThatThrownBy(() -> TestNodes.run(kit, fabric, request))
                .isInstanceOf(ExecutionException.class)
                .cause()
                .isInstanceOfSatisfying(
                        FabricException.class, e -> assertThat(e.kind()).isEqualTo(FabricException.Kind.OVERLOADED));
        assertThat(scrape().get("kvasir_requests_rejected_total{model=\"small\"}"))
                .isEqualTo(1.0);
        // The held sequence shows in the engine's load (as running or, unread, paused) and holds KV blocks.
        kit.createTestProbe().awaitAssert(TestNodes.WAIT, Duration.ofMillis(50), () -> {
            Map<String, Double> s = scrape();
            assertThat(s.get("kvasir_num_requests_running{model=\"small\"}")
                            + s.get("kvasir_num_requests_paused{model=\"small\"}"))
                    .isEqualTo(1.0);
            assertThat(s.get("kvasir_kv_cache_usage_perc{model=\"small\"}")).isPositive();
            assertThat(s.get("vllm:kv_cache_usage_perc{model_name=\"small\"}"))
                    .isEqualTo(s.get("kvasir_kv_cache_usage_perc{model=\"small\"}"));
            return null;
        });

        running.cancel();
        queuedFirst.toCompletableFuture().get(10, TimeUnit.SECONDS);
        queued.cancel();
        // Both clients left before their Finished: two aborts (cancellation reaches the stage asynchronously).
        kit.createTestProbe().awaitAssert(TestNodes.WAIT, Duration.ofMillis(50), () -> {
            Map<String, Double> s = scrape();
            assertThat(s.get("kvasir_request_success_total{finished_reason=\"abort\",model=\"small\"}"))
                    .isEqualTo(2.0);
            assertThat(s.get("vllm:request_success_total{finished_reason=\"abort\",model_name=\"small\"}"))
                    .isEqualTo(2.0);
            return null;
        });
        assertThat(scrape().get("kvasir_requests_refused_total{model=\"small\",reason=\"overloaded\"}"))
                .isEqualTo(1.0);
    }

    /** Series (name and labels, as printed) to value, from the text format. */
    private static Map<String, Double> scrape() {
        Map<String, Double> series = new HashMap<>();
        for (String line : registry.scrape().split("\n")) {
            if (line.isBlank() || line.startsWith("#")) {
                continue;
            }
            int space = line.lastIndexOf(' ');
            series.put(line.substring(0, space), Double.parseDouble(line.substring(space + 1)));
        }
        return series;
    }
}
