/*
 * Binds the Stanford CoreNLP server to one address instead of all of them.
 *
 * StanfordCoreNLPServer has no host option: it creates its server with
 * HttpServer.create(new InetSocketAddress(port), 0), the wildcard address.
 * The JDK looks the HttpServer implementation up through the system property
 * com.sun.net.httpserver.HttpServerProvider; naming this class there puts it
 * between CoreNLP and the JDK's own provider. A wildcard (or missing) address
 * is replaced by the one in the system property wirestream.corenlp.bind
 * (e.g. 127.0.0.1); any explicit address is left alone, and without the
 * property nothing changes.
 *
 * The JDK's provider, sun.net.httpserver.DefaultHttpServerProvider, is in a
 * package jdk.httpserver does not export: compile and run with
 *   --add-exports jdk.httpserver/sun.net.httpserver=ALL-UNNAMED
 *
 * Used by wirestream/dev/local_services.py (compiled at `wirestream services up`) and
 * deploy/corenlp/Dockerfile. No package: the class sits alone in its
 * directory on the classpath.
 */

import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsServer;
import com.sun.net.httpserver.spi.HttpServerProvider;
import java.io.IOException;
import java.net.InetSocketAddress;
import sun.net.httpserver.DefaultHttpServerProvider;

public final class LoopbackHttpServerProvider extends HttpServerProvider {
    static final String BIND_PROPERTY = "wirestream.corenlp.bind";

    private final HttpServerProvider delegate = new DefaultHttpServerProvider();

    static InetSocketAddress rebind(InetSocketAddress requested) {
        String host = System.getProperty(BIND_PROPERTY, "").trim();
        if (host.isEmpty() || requested == null) {
            // null: an unbound server, bound later by HttpServer.bind();
            // CoreNLP never does that.
            return requested;
        }
        if (requested.getAddress() != null && !requested.getAddress().isAnyLocalAddress()) {
            return requested;
        }
        return new InetSocketAddress(host, requested.getPort());
    }

    @Override
    public HttpServer createHttpServer(InetSocketAddress addr, int backlog) throws IOException {
        return delegate.createHttpServer(rebind(addr), backlog);
    }

    @Override
    public HttpsServer createHttpsServer(InetSocketAddress addr, int backlog) throws IOException {
        return delegate.createHttpsServer(rebind(addr), backlog);
    }
}
