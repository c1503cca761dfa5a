"""Run Debian's Apertium APy bound to 127.0.0.1 only.

APy 0.11 has no bind-address option and listens on all interfaces. This
launcher (run with Debian's /usr/bin/python3, which has APy's dependencies)
makes tornado's ``HTTPServer.bind`` default to the loopback address, then
hands over to APy's own ``main`` with the given arguments.
"""

import functools
import sys

import tornado.httpserver
from apertium_apy import apy

_bind = tornado.httpserver.HTTPServer.bind


@functools.wraps(_bind)
def _loopback_bind(self, port, address=None, *args, **kwargs):  # type: ignore[no-untyped-def]
    return _bind(self, port, address or "127.0.0.1", *args, **kwargs)


tornado.httpserver.HTTPServer.bind = _loopback_bind  # type: ignore[method-assign]

if __name__ == "__main__":
    sys.argv[0] = "apertium-apy"
    apy.main()
