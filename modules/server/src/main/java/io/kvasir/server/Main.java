package io.kvasir.server;

import java.nio.file.Path;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code kvasir} command. Each subcommand is its own class. */
@Command(
        name = "kvasir",
        mixinStandardHelpOptions = true,
        version = "kvasir 0.1.0",
        description = "A serving fabric for LLM inference on Akka Cluster.",
        subcommands = {
            ServeCommand.class,
            GenerateCommand.class,
            TokenizeCommand.class,
            BenchCommand.class,
            MakeModelCommand.class,
            CommandLine.HelpCommand.class
        })
public final class Main implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    public static void main(String[] args) {
        int code = commandLine().execute(args);
        if (code != 0 || !isServe(args)) {
            System.exit(code);
        }
    }

    /** The configured command line; user errors print one line, not a stack trace. */
    static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Main());
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            cmd.getErr().println("kvasir: " + CliErrors.describe(ex));
            if (Boolean.getBoolean("kvasir.debug")) {
                ex.printStackTrace(cmd.getErr());
            }
            return 1;
        });
        return cl;
    }

    /** Where the project lives: the launcher passes -Dkvasir.home; else the working directory. */
    static Path home() {
        String prop = System.getProperty("kvasir.home");
        return Path.of(prop != null ? prop : System.getProperty("user.dir"));
    }

    private static boolean isServe(String[] args) {
        return args.length > 0 && args[0].equals("serve");
    }
}
