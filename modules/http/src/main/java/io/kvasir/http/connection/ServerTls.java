package io.kvasir.http.connection;

import com.typesafe.config.Config;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.util.Optional;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;

/**
 * TLS for the public API port from {@code kvasir.http.tls}: a PKCS12 keystore with the server's key
 * and certificate chain. Read once at bind; a bad path or password stops the node at start with a
 * message naming the setting, not at the first handshake.
 */
public final class ServerTls {

    private ServerTls() {}

    /** Whether {@code kvasir.http.tls.enabled} is on (without loading the keystore). */
    public static boolean enabled(Config config) {
        return config.getBoolean("kvasir.http.tls.enabled");
    }

    /** The server's SSL context, or empty when {@code kvasir.http.tls.enabled} is off. */
    public static Optional<SSLContext> fromConfig(Config config) {
        Config tls = config.getConfig("kvasir.http.tls");
        if (!enabled(config)) {
            return Optional.empty();
        }
        Path file = Path.of(tls.getString("keystore"));
        char[] password = tls.getString("keystore-password").toCharArray();
        try (InputStream in = Files.newInputStream(file)) {
            KeyStore keys = KeyStore.getInstance(tls.getString("keystore-type"));
            keys.load(in, password);
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(keys, password);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(kmf.getKeyManagers(), null, null);
            return Optional.of(context);
        } catch (IOException | GeneralSecurityException e) {
            throw new IllegalArgumentException(
                    "kvasir.http.tls: cannot load keystore '" + file + "': " + e.getMessage(), e);
        }
    }
}
