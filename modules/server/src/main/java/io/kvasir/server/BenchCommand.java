package io.kvasir.server;

import io.kvasir.server.loadgen.BenchServeCommand;
import io.kvasir.server.loadgen.SoakCommand;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code kvasir bench ...}: benchmarks. Each kind is a subcommand. */
@Command(
        name = "bench",
        mixinStandardHelpOptions = true,
        description = "Benchmarks: engine (in-process engine speed), serve (any OpenAI-compatible endpoint), "
                + "soak (long steady load with memory sampling), fleet (a model loaded on demand versus warm).",
        subcommands = {BenchEngineCommand.class, BenchServeCommand.class, SoakCommand.class, BenchFleetCommand.class})
final class BenchCommand implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }
}
