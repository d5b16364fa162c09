package io.kvasir.http;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.slf4j.LoggerFactory;

/**
 * Every log event at WARN or above, from any logger (akka's too, through its SLF4J logger), while
 * open. Lets a test assert that something routine did not end up in the operator's log.
 */
public final class LogCapture extends AppenderBase<ILoggingEvent> implements AutoCloseable {

    private final List<ILoggingEvent> events = new CopyOnWriteArrayList<>();
    private final Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);

    public static LogCapture open() {
        LogCapture capture = new LogCapture();
        capture.setName("test-capture");
        capture.setContext(capture.root.getLoggerContext());
        capture.start();
        capture.root.addAppender(capture);
        return capture;
    }

    @Override
    protected void append(ILoggingEvent event) {
        if (event.getLevel().isGreaterOrEqual(Level.WARN)) {
            events.add(event);
        }
    }

    /** "LEVEL logger - message" of each WARN or ERROR event so far. */
    public List<String> warningsAndErrors() {
        return events.stream()
                .map(e -> e.getLevel() + " " + e.getLoggerName() + " - " + e.getFormattedMessage())
                .toList();
    }

    public List<String> errors() {
        return events.stream()
                .filter(e -> e.getLevel().isGreaterOrEqual(Level.ERROR))
                .map(e -> e.getLoggerName() + " - " + e.getFormattedMessage())
                .toList();
    }

    @Override
    public void close() {
        root.detachAppender(this);
        stop();
    }
}
