// Starts Solr 9 in-process (embedded Jetty, bound to 127.0.0.1) for the local CKAN portal.
// Usage: java -cp 'lib/*' Launcher.java SOLR_HOME PORT
import org.apache.solr.embedded.JettyConfig;
import org.apache.solr.embedded.JettySolrRunner;

public class Launcher {
    public static void main(String[] args) throws Exception {
        if (args.length != 2) {
            System.err.println("usage: Launcher SOLR_HOME PORT");
            System.exit(2);
        }
        String home = args[0];
        int port = Integer.parseInt(args[1]);
        JettyConfig config = JettyConfig.builder()
                .setPort(port)
                .setContext("/solr")
                .useOnlyHttp1(true)
                .stopAtShutdown(true)
                .build();
        JettySolrRunner solr = new JettySolrRunner(home, config);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                solr.stop();
            } catch (Exception e) {
                e.printStackTrace();
            }
        }));
        solr.start();
        System.out.println("solr: listening on " + solr.getBaseUrl());
        System.out.flush();
        Thread.currentThread().join();
    }
}
