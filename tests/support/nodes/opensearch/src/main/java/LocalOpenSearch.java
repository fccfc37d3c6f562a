import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.opensearch.Version;
import org.opensearch.analysis.common.CommonAnalysisPlugin;
import org.opensearch.common.logging.LogConfigurator;
import org.opensearch.common.settings.Settings;
import org.opensearch.env.Environment;
import org.opensearch.http.HttpServerTransport;
import org.opensearch.index.mapper.MapperExtrasPlugin;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.painless.PainlessPlugin;
import org.opensearch.plugins.Plugin;
import org.opensearch.transport.Netty4Plugin;

/**
 * One OpenSearch node for tests: {@code LocalOpenSearch <home> <http-port> [key=value ...]}.
 *
 * <p>The distribution's Bootstrap (security manager, jar hell, bootstrap checks) is left out:
 * a {@link Node} given the published modules' plugin classes serves the same REST API. The
 * home folder holds config/, data/ and logs/, so a restart on the same home keeps the indices.
 * HTTP binds 127.0.0.1 at the given port (0: any free port), transport an ephemeral loopback
 * port. Settings after the port override the defaults. When HTTP is bound one line starting
 * {@code db2api search node ready:} is printed; SIGTERM closes the node cleanly.
 *
 * <p>One node cannot hold a replica, so an index with the default one replica stays yellow.
 * 2.19 reads {@code cluster.default_number_of_replicas} from the cluster state only (the node
 * setting is ignored, fixed later upstream): it is also set as a persistent cluster setting
 * before the ready line, unless a {@code cluster.default_number_of_replicas=} argument says
 * otherwise.
 */
public final class LocalOpenSearch {
    private static final String LOG4J = String.join("\n",
            "status = error",
            "appender.console.type = Console",
            "appender.console.name = console",
            "appender.console.layout.type = PatternLayout",
            "appender.console.layout.pattern = [%d{ISO8601}][%-5p][%c{1.}] %m%n",
            "rootLogger.level = info",
            "rootLogger.appenderRef.console.ref = console",
            "logger.deprecation.name = org.opensearch.deprecation",
            "logger.deprecation.level = error",
            "");

    private static final List<Class<? extends Plugin>> MODULES = List.of(
            Netty4Plugin.class, CommonAnalysisPlugin.class, PainlessPlugin.class, MapperExtrasPlugin.class);

    /** Node's plugin-taking constructor is protected: this subclass is the only way in. */
    private static final class TestNode extends Node {
        TestNode(Environment environment) {
            super(environment, MODULES, true);
        }
    }

    public static void main(String[] args) {
        PrintStream err = System.err; // LogConfigurator sends System.err through log4j
        try {
            run(args);
        } catch (Throwable failure) {
            failure.printStackTrace(err);
            // last, on one line: what a failed start quotes
            err.println("db2api search node failed: " + failure);
            err.flush();
            System.exit(1);
        }
    }

    private static void run(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: LocalOpenSearch <home> <http-port> [key=value ...]");
            System.exit(2);
        }
        Path home = Paths.get(args[0]).toAbsolutePath();
        Path config = home.resolve("config");
        Files.createDirectories(config);
        Files.writeString(config.resolve("log4j2.properties"), LOG4J, StandardCharsets.UTF_8);

        Settings.Builder settings = Settings.builder()
                .put("path.home", home.toString())
                .put("path.data", home.resolve("data").toString())
                .put("path.logs", home.resolve("logs").toString())
                .put("cluster.name", "db2api-test")
                .put("node.name", "db2api-opensearch")
                .put("network.host", "127.0.0.1")
                .put("http.port", args[1])
                .put("transport.port", "0")
                .put("discovery.type", "single-node")
                .put("cluster.default_number_of_replicas", 0)
                // a nearly full disk must not turn the test indices read-only
                .put("cluster.routing.allocation.disk.threshold_enabled", false);
        PrintStream out = System.out; // LogConfigurator sends System.out through log4j
        boolean replicasGiven = false;
        for (String pair : Arrays.asList(args).subList(2, args.length)) {
            int eq = pair.indexOf('=');
            if (eq <= 0) {
                System.err.println("not a key=value setting: " + pair);
                System.exit(2);
            }
            settings.put(pair.substring(0, eq), pair.substring(eq + 1));
            replicasGiven |= pair.startsWith("cluster.default_number_of_replicas=");
        }
        Environment environment =
                InternalSettingsPreparer.prepareEnvironment(settings.build(), Map.of(), config, () -> "db2api-opensearch");
        LogConfigurator.configure(environment);

        Node node = new TestNode(environment);
        CountDownLatch closed = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.close();
                node.awaitClose(20, TimeUnit.SECONDS);
                out.println("db2api search node stopped");
                out.flush();
            } catch (IOException | InterruptedException e) {
                e.printStackTrace();
            } finally {
                closed.countDown();
            }
        }, "db2api-node-shutdown"));
        node.start();
        HttpServerTransport http = node.injector().getInstance(HttpServerTransport.class);
        int port = http.boundAddress().publishAddress().getPort();
        if (!replicasGiven) {
            put(port, "/_cluster/settings", "{\"persistent\":{\"cluster.default_number_of_replicas\":0}}");
        }
        out.println("db2api search node ready: opensearch " + Version.CURRENT + " http://127.0.0.1:" + port);
        out.flush();
        closed.await();
    }

    private static void put(int port, String path, String json) throws IOException, InterruptedException {
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .header("Content-Type", "application/json")
                .PUT(HttpRequest.BodyPublishers.ofString(json))
                .build();
        HttpResponse<String> answer = HttpClient.newHttpClient().send(request, HttpResponse.BodyHandlers.ofString());
        if (answer.statusCode() != 200) {
            throw new IllegalStateException("PUT " + path + " answered " + answer.statusCode() + ": " + answer.body());
        }
    }
}
