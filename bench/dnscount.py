"""A counting DNS relay for the benchmark: listens on ADDR:53 (UDP and TCP),
forwards every message to the real resolver and counts the queries by type.

Used for one extra, untimed run so the timed runs see no extra hop.  The
counts go to a JSON file when the relay gets SIGTERM or SIGINT.

    python3 bench/dnscount.py LISTEN_ADDR UPSTREAM_ADDR COUNTS.json
"""

import asyncio
import collections
import json
import signal
import struct
import sys

TYPES = {1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 15: "MX", 28: "AAAA", 39: "DNAME", 43: "DS", 48: "DNSKEY",
         52: "TLSA", 255: "ANY"}


class Counts:
    def __init__(self):
        self.by_type = collections.Counter()
        self.udp = 0
        self.tcp = 0
        self.truncated = 0
        self.names = set()

    def query(self, wire, transport):
        if transport == "udp":
            self.udp += 1
        else:
            self.tcp += 1
        qtype, name = parse_question(wire)
        self.by_type[TYPES.get(qtype, str(qtype))] += 1
        if name is not None:
            self.names.add((name, qtype))

    def as_dict(self):
        return {"queries": self.udp + self.tcp, "udp": self.udp, "tcp": self.tcp,
                "truncated_answers": self.truncated, "by_type": dict(self.by_type),
                "distinct_questions": len(self.names)}


def parse_question(wire):
    """(qtype, lower-case qname) of a query; (None, None) if it does not parse."""
    try:
        if struct.unpack("!H", wire[4:6])[0] < 1:
            return None, None
        pos, labels = 12, []
        while wire[pos]:
            n = wire[pos]
            labels.append(wire[pos + 1:pos + 1 + n].decode("ascii", "replace").lower())
            pos += 1 + n
        qtype = struct.unpack("!H", wire[pos + 1:pos + 3])[0]
        return qtype, ".".join(labels) + "."
    except (IndexError, struct.error):
        return None, None


class Upstream(asyncio.DatagramProtocol):
    """One upstream socket per client address, so query ids never collide."""

    def __init__(self, downstream, client, counts):
        self.downstream, self.client, self.counts = downstream, client, counts

    def datagram_received(self, data, addr):
        if len(data) > 2 and data[2] & 0x02:
            self.counts.truncated += 1
        self.downstream.sendto(data, self.client)


class Downstream(asyncio.DatagramProtocol):
    def __init__(self, upstream_addr, counts):
        self.upstream_addr, self.counts = upstream_addr, counts
        self.clients = {}
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        self.counts.query(data, "udp")
        up = self.clients.get(addr)
        if up is None:
            up = self.clients[addr] = asyncio.ensure_future(self._open(addr))
        if isinstance(up, asyncio.Future):
            up.add_done_callback(lambda f: f.result().sendto(data))
        else:
            up.sendto(data)

    async def _open(self, addr):
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: Upstream(self.transport, addr, self.counts), remote_addr=(self.upstream_addr, 53))
        self.clients[addr] = transport
        return transport


async def tcp_client(reader, writer, upstream_addr, counts):
    try:
        up_reader, up_writer = await asyncio.open_connection(upstream_addr, 53)
    except OSError:
        writer.close()
        return

    async def pump(src, dst, count):
        try:
            while True:
                head = await src.readexactly(2)
                msg = await src.readexactly(struct.unpack("!H", head)[0])
                if count:
                    counts.query(msg, "tcp")
                dst.write(head + msg)
                await dst.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            dst.close()

    await asyncio.gather(pump(reader, up_writer, True), pump(up_reader, writer, False))


async def main(listen, upstream, out):
    counts = Counts()
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
    udp, _ = await loop.create_datagram_endpoint(lambda: Downstream(upstream, counts), local_addr=(listen, 53))
    server = await asyncio.start_server(lambda r, w: tcp_client(r, w, upstream, counts), listen, 53)
    print("ready", flush=True)
    await stop
    udp.close()
    server.close()
    with open(out, "w") as f:
        json.dump(counts.as_dict(), f, indent=1)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
