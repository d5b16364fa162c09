package io.kvasir.server;

import akka.stream.javadsl.Sink;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.kvasir.engine.EngineOptions;
import io.kvasir.engine.chat.ChatMessage;
import io.kvasir.engine.sampling.SamplingParams;
import io.kvasir.fabric.Kvasir;
import io.kvasir.fabric.KvasirFabric;
import io.kvasir.fabric.LocalEngines;
import io.kvasir.fabric.api.GenerationEvent;
import io.kvasir.fabric.api.GenerationRequest;
import io.kvasir.fabric.fleet.FleetStatus;
import io.kvasir.fabric.fleet.MemoryEstimate;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Time to load a model on demand: a one-node fabric with the fleet on serves the same GGUF under
 * two model ids, with a memory budget that holds one replica. Asking the two in turn makes every
 * request find its model unloaded (a swap: drain and unload the other, load this one, then
 * serve); asking one again finds it warm. Medians of the time to first token and to the last.
 */
@Command(
        name = "fleet",
        mixinStandardHelpOptions = true,
        description = "First-request latency of a model loaded on demand (a swap) versus a warm one (medians).")
final class BenchFleetCommand implements Callable<Integer> {

    @Option(names = "--model", description = "GGUF model file (default: the synthetic default model)")
    Path model;

    @Option(
            names = "--gen-tokens",
            defaultValue = "16",
            description = "Tokens each request generates (default ${DEFAULT-VALUE})")
    int genTokens;

    @Option(
            names = "--repeats",
            defaultValue = "5",
            description =
                    "Cold requests measured, each followed by a warm one; medians over them (default ${DEFAULT-VALUE})")
    int repeats;

    @Option(names = "--threads", defaultValue = "0", description = "Compute threads (default: one per core)")
    int threads;

    @Option(
            names = "--kv-cache-blocks",
            defaultValue = "256",
            description = "KV cache blocks of each replica; with the weights they size the memory budget, which"
                    + " holds one replica (default ${DEFAULT-VALUE})")
    int kvBlocks;

    @Override
    public Integer call() throws Exception {
        OptionChecks.atLeastOne("--gen-tokens", genTokens);
        OptionChecks.atLeastOne("--repeats", repeats);
        OptionChecks.atLeastOne("--kv-cache-blocks", kvBlocks);
        OptionChecks.notNegative("--threads", threads, "one per core");
        Path path = model != null ? model : DefaultModel.ensure(System.err);
        String file = path.toAbsolutePath().toString().replace("\\", "/");
        String block = "{ path = \"" + file + "\", kv-cache-blocks = " + kvBlocks + ", replica-wait = 120s }";
        // Budget: one replica and a half, so the second model always needs the first one's room.
        var probe = new io.kvasir.fabric.ModelSettings(
                "probe",
                path,
                2048,
                kvBlocks,
                16,
                java.util.Map.of("decode", 1),
                64,
                128,
                512,
                256,
                64,
                "F16",
                0,
                0.5,
                java.time.Duration.ofSeconds(1),
                "kvasir",
                false,
                false);
        long replica = MemoryEstimate.of(probe).total();
        Config config = ConfigFactory.parseString("""
                        akka.loglevel = WARNING
                        akka.remote.artery.canonical.port = 0
                        kvasir.fleet.enabled = on
                        kvasir.fleet.tick-interval = 200ms
                        kvasir.node.memory-budget = %d
                        kvasir.admission.interactive.max-queue-wait = 120s
                        kvasir.admission.interactive.ttft-objective = 0s
                        kvasir.models { m1 %s, m2 %s }
                        """.formatted(replica * 3 / 2, block, block))
                .withFallback(ConfigFactory.load());
        KvasirFabric fabric = Kvasir.create(
                config,
                LocalEngines.factory(
                        EngineOptions.defaults().withThreads(threads), io.kvasir.engine.sim.TimingModel.defaults()));
        try {
            System.err.printf(
                    "one replica: %s (estimate); node budget: %s%n",
                    MemoryEstimate.human(replica), MemoryEstimate.human(replica * 3 / 2));
            List<long[]> cold = new ArrayList<>();
            List<long[]> warm = new ArrayList<>();
            time(fabric, "m1"); // first load and JIT warm-up, not counted
            time(fabric, "m1");
            for (int i = 0; i < repeats; i++) {
                String m = i % 2 == 0 ? "m2" : "m1";
                cold.add(time(fabric, m));
                warm.add(time(fabric, m));
                System.err.printf(
                        "  %s: cold %d / %d ms, warm %d / %d ms (first token / last)%n",
                        m, cold.getLast()[0], cold.getLast()[1], warm.getLast()[0], warm.getLast()[1]);
            }
            FleetStatus status = fabric.fleetStatus().toCompletableFuture().get(10, TimeUnit.SECONDS);
            System.out.printf(
                    "model %s, %d tokens, %d repeats: cold (swap: unload the other, load, serve) TTFT median %d ms,"
                            + " total %d ms; warm TTFT median %d ms, total %d ms; replica %s%n",
                    path.getFileName(),
                    genTokens,
                    repeats,
                    median(cold, 0),
                    median(cold, 1),
                    median(warm, 0),
                    median(warm, 1),
                    status.models().getFirst().memoryText());
        } finally {
            fabric.system().terminate();
            fabric.system().getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
        }
        return 0;
    }

    /** Milliseconds to the first token and to the end of one request. */
    private long[] time(KvasirFabric fabric, String model) throws Exception {
        long start = System.nanoTime();
        long[] first = {0};
        GenerationRequest request = new GenerationRequest(
                model,
                null,
                List.of(new ChatMessage("user", "Once upon a time")),
                null,
                SamplingParams.greedy(),
                genTokens,
                null,
                GenerationRequest.Workload.INTERACTIVE,
                null);
        fabric.generate(request)
                .map(e -> {
                    if (e instanceof GenerationEvent.Token && first[0] == 0) {
                        first[0] = System.nanoTime();
                    }
                    return e;
                })
                .runWith(Sink.ignore(), fabric.system())
                .toCompletableFuture()
                .get(300, TimeUnit.SECONDS);
        long end = System.nanoTime();
        return new long[] {(first[0] - start) / 1_000_000, (end - start) / 1_000_000};
    }

    private static long median(List<long[]> xs, int i) {
        long[] v = xs.stream().mapToLong(x -> x[i]).sorted().toArray();
        return v[v.length / 2];
    }
}
