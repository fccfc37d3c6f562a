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
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.elasticsearch.Build;
import org.elasticsearch.common.logging.LogConfigurator;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.env.Environment;
import org.elasticsearch.http.HttpServerTransport;
import org.elasticsearch.node.InternalSettingsPreparer;
import org.elasticsearch.node.Node;
import org.elasticsearch.plugins.PluginsLoader;

/**
 * One Elasticsearch node for tests: {@code LocalElasticsearch <home> <http-port> [key=value ...]}.
 *
 * <p>The distribution's launcher (entitlements, bootstrap checks) is left out: a {@link Node}
 * is built with the modules found where the distribution keeps ES_HOME/modules/, here the
 * {@code modules/} folder beside this class's folder (.ci/setup-search-nodes lays out
 * transport-netty4 there, off the class path: the duplicate-jar check refuses a module on it).
 * It is the only module published on Maven Central, so there is no Painless, no security and
 * no rest-root ({@code GET /} answers 405).
 *
 * <p>The home folder holds config/, data/ and logs/, so a restart on the same home keeps the
 * indices. HTTP binds 127.0.0.1 at the given port (0: any free port), transport an ephemeral
 * loopback port. Settings after the port override the defaults. Elasticsearch has no
 * cluster-wide default replica count: a legacy index template of order -1 gives every new
 * index 0 replicas (a composable template that matches wins over it, so a data stream's own
 * template must say 0 replicas to turn green). When HTTP is bound one line starting
 * {@code db2api search node ready:} is printed; SIGTERM closes the node cleanly.
 */
public final class LocalElasticsearch {
    private static final String LOG4J = String.join("\n",
            "status = error",
            "appender.console.type = Console",
            "appender.console.name = console",
            "appender.console.layout.type = PatternLayout",
            "appender.console.layout.pattern = [%d{ISO8601}][%-5p][%c{1.}] %m%n",
            "rootLogger.level = info",
            "rootLogger.appenderRef.console.ref = console",
            "logger.deprecation.name = org.elasticsearch.deprecation",
            "logger.deprecation.level = error",
            "");

    private static final String ZERO_REPLICAS =
            "{\"index_patterns\":[\"*\"],\"order\":-1,\"settings\":{\"number_of_replicas\":0}}";

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
            System.err.println("usage: LocalElasticsearch <home> <http-port> [key=value ...]");
            System.exit(2);
        }
        Path home = Paths.get(args[0]).toAbsolutePath();
        Path config = home.resolve("config");
        Files.createDirectories(config);
        Files.writeString(config.resolve("log4j2.properties"), LOG4J, StandardCharsets.UTF_8);
        Path modules = Paths.get(LocalElasticsearch.class.getProtectionDomain().getCodeSource().getLocation().toURI())
                .getParent()
                .resolve("modules");

        Settings.Builder settings = Settings.builder()
                .put("path.home", home.toString())
                .put("path.data", home.resolve("data").toString())
                .put("path.logs", home.resolve("logs").toString())
                .put("cluster.name", "db2api-test")
                .put("node.name", "db2api-elasticsearch")
                .put("network.host", "127.0.0.1")
                .put("http.port", args[1])
                .put("transport.port", "0")
                .put("discovery.type", "single-node")
                // a nearly full disk must not turn the test indices read-only
                .put("cluster.routing.allocation.disk.threshold_enabled", false);
        for (String pair : Arrays.asList(args).subList(2, args.length)) {
            int eq = pair.indexOf('=');
            if (eq <= 0) {
                System.err.println("not a key=value setting: " + pair);
                System.exit(2);
            }
            settings.put(pair.substring(0, eq), pair.substring(eq + 1));
        }
        PrintStream out = System.out;
        Environment environment = InternalSettingsPreparer.prepareEnvironment(
                settings.build(), Map.of(), config, () -> "db2api-elasticsearch");
        LogConfigurator.configure(environment, true);

        PluginsLoader plugins = PluginsLoader.createPluginsLoader(
                PluginsLoader.loadModulesBundles(modules), Set.of(), Map.of(), false); // false: the server is on the class path, not a named module
        Node node = new Node(environment, plugins);
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
        put(port, "/_template/db2api-zero-replicas", ZERO_REPLICAS);
        out.println("db2api search node ready: elasticsearch " + Build.current().version() + " http://127.0.0.1:" + port);
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
