"""Reads or writes values through pylibmc or pymemcache, for the interop
tests of package memcache (interop_clients_test.go).

Reads a plan as JSON on stdin and prints the outcome as JSON on stdout:

  {"client": "pylibmc" | "pymemcache",
   "servers": ["127.0.0.1:port", ...],
   "distribution": "ketama_weighted" (the right one) | "ketama" | "modula",
   "prefix": "svc:v1:", "serializer": "json" | "msgpack",
   "compress": true | false, "op": "write" | "read",
   "text": write JSON as a str rather than bytes,
   "serde": pymemcache's: our bytes-or-zlib one by default, "default" (its
            own: the bytes whatever the flags) or "pickle" (pickle_serde),
   "items": {"key": value, ...}}    (for read, the values are ignored)

For read, each key gets {"ok": bool, "value": ..., "flags": n, "error": "..."}:
ok means the client returned a value with success and the application's
decoder accepted it; a miss is ok false with error "miss".
"""
import hashlib
import json
import struct
import sys
import zlib

import msgpack

FLAG_ZLIB = 1 << 3  # pylibmc's PYLIBMC_FLAG_ZLIB, pymemcache's FLAG_COMPRESSED


def f32(x):
    return struct.unpack("f", struct.pack("f", x))[0]


class Ketama(object):
    """libmemcached's weighted ketama continuum (MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED
    with the MD5 hash), as a pymemcache HashClient hasher: pymemcache's own
    hasher is rendezvous hashing, which shares no placement with libmemcached."""

    def __init__(self):
        self.nodes = []
        self.ring = []

    def _build(self):
        n = len(self.nodes)
        points = []
        for idx, node in enumerate(self.nodes):
            host, port = node.rsplit(":", 1)
            # Equal weights: floor(1/n * 40 * n) * 4 points, in float32 as
            # libmemcached computes it.
            per = int(f32(f32(f32(1.0 / n) * 40) * n)) if n else 0
            name = host if port == "11211" else host + ":" + port
            for i in range(per):
                d = hashlib.md5(("%s-%d" % (name, i)).encode()).digest()
                for j in range(4):
                    points.append((struct.unpack_from("<I", d, 4 * j)[0], idx, node))
        points.sort(key=lambda p: (p[0], p[1]))
        self.ring = points

    def add_node(self, node):
        if node not in self.nodes:
            self.nodes.append(node)
            self._build()

    def remove_node(self, node):
        self.nodes.remove(node)
        self._build()

    def get_node(self, key):
        if not self.ring:
            return None
        if isinstance(key, str):
            key = key.encode()
        h = struct.unpack_from("<I", hashlib.md5(key).digest(), 0)[0]
        lo, hi = 0, len(self.ring)
        while lo < hi:
            mid = (lo + hi) // 2
            if self.ring[mid][0] < h:
                lo = mid + 1
            else:
                hi = mid
        return self.ring[lo % len(self.ring)][2]


def encode(plan, v):
    if plan["serializer"] == "msgpack":
        return msgpack.packb(v, use_bin_type=True)
    return json.dumps(v, separators=(",", ":")).encode()


def decode(plan, data):
    if isinstance(data, str):
        data = data.encode()
    if plan["serializer"] == "msgpack":
        return msgpack.unpackb(data, raw=False)
    return json.loads(data)


def pymemcache_serde(plan):
    class Serde(object):
        # Bytes under flags 0, or zlib under FLAG_ZLIB: pymemcache 3.5 has
        # no compressing serde, and its default one returns a compressed
        # value's bytes as they are.
        def serialize(self, key, value):
            if plan["compress"] and len(value) >= 64:
                z = zlib.compress(value)
                if len(z) < len(value):
                    return z, FLAG_ZLIB
            return value, 0

        def deserialize(self, key, value, flags):
            if flags == FLAG_ZLIB:
                return zlib.decompress(value)
            if flags != 0:
                raise ValueError("flags %d are not bytes" % flags)
            return value

    return Serde()


def make_client(plan):
    servers = plan["servers"]
    if plan["client"] == "pylibmc":
        import pylibmc

        behaviors = {"ketama_weighted": True}
        if plan.get("distribution") == "ketama":
            behaviors = {"ketama": True}
        elif plan.get("distribution") == "modula":
            behaviors = {}
        return pylibmc.Client(servers, binary=False, behaviors=behaviors)
    from pymemcache.client.hash import HashClient

    hp = [(s.rsplit(":", 1)[0], int(s.rsplit(":", 1)[1])) for s in servers]
    serde = pymemcache_serde(plan)
    if plan.get("serde") == "default":
        serde = None  # pymemcache's default: the bytes, whatever the flags
    elif plan.get("serde") == "pickle":
        from pymemcache.serde import pickle_serde

        serde = pickle_serde
    return HashClient(hp, hasher=Ketama, serde=serde, connect_timeout=5, timeout=5)


def main():
    plan = json.load(sys.stdin)
    c = make_client(plan)
    prefix = plan.get("prefix", "")
    out = {}
    for key, v in plan["items"].items():
        k = prefix + key
        if plan["op"] == "write":
            data = encode(plan, v)
            if plan.get("text"):
                data = data.decode()  # a str: the clients' text flag
            if plan["client"] == "pylibmc":
                ok = c.set(k, data, min_compress_len=64 if plan["compress"] else 0)
            else:
                ok = c.set(k, data, noreply=False)
            out[key] = {"ok": bool(ok)}
            continue
        try:
            got = c.get(k)
        except Exception as e:  # what the client raises is a failure, not a value
            out[key] = {"ok": False, "error": "%s: %s" % (type(e).__name__, e)}
            continue
        if got is None:
            out[key] = {"ok": False, "error": "miss"}
            continue
        try:
            out[key] = {"ok": True, "value": decode(plan, got)}
        except Exception as e:
            out[key] = {"ok": False, "error": "decode: %s: %s" % (type(e).__name__, e)}
    json.dump(out, sys.stdout)


main()
