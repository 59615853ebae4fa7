#!/usr/bin/python3
"""A tagged (802.1Q trunk) switch port in user space, for the VLAN test.

This machine's kernel may have no 802.1Q, so no VLAN sub-interface can be
made on it. This process stands in for one: it owns the VM's NIC (QEMU's
`-netdev socket,udp=`: one Ethernet frame per datagram) as a trunk port,
and one tap per VLAN on the server side, each being what `eth0.N` would be
on a switch-facing NIC of the server:

    VM NIC ==udp== vlan_switch.py -- tap NATIVE   (untagged frames)
                                  -- tap VLAN N   (frames tagged N, tag removed)

Frames from the VM with a tag go, untagged, to that VLAN's tap (a VLAN
without a tap: dropped and counted); frames without one to the native
tap. What the server sends on a VLAN tap reaches the VM tagged with N.
Nothing leaves the network namespace it runs in (loopback UDP, taps).

Usage: vlan_switch.py LISTEN_PORT QEMU_PORT STATS_FILE native=TAP N=TAP...
It creates the taps (gone when it exits), prints "ready" when they exist,
and on SIGTERM writes its counters as JSON to STATS_FILE:
{"from_vm": {"native": n, "42": n, "dropped": n}, "to_vm": {...}}.
"""
import fcntl
import json
import os
import select
import signal
import socket
import struct
import sys

TUNSETIFF = 0x400454CA
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000
TPID_8021Q = 0x8100


def open_tap(name):
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TAP | IFF_NO_PI))
    return fd


def main():
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    listen_port, qemu_port, stats_file = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    taps = {}  # "native" or VLAN id (int) -> fd
    for spec in sys.argv[4:]:
        key, _, name = spec.partition("=")
        vid = "native" if key == "native" else int(key)
        if vid != "native" and not 1 <= vid <= 4094:
            sys.exit(f"vlan_switch: VLAN {vid} is outside 1..4094")
        taps[vid] = open_tap(name)
    by_fd = {fd: vid for vid, fd in taps.items()}
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", listen_port))
    vm = ("127.0.0.1", qemu_port)
    counts = {"from_vm": {"dropped": 0}, "to_vm": {}}

    def count(way, key):
        key = str(key)
        counts[way][key] = counts[way].get(key, 0) + 1

    def stop(*_):
        with open(stats_file + ".tmp", "w") as f:
            json.dump(counts, f)
        os.rename(stats_file + ".tmp", stats_file)
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print("ready", flush=True)
    while True:
        ready, _, _ = select.select([sock] + list(by_fd), [], [])
        for r in ready:
            if r is sock:
                try:
                    frame = sock.recv(65536)
                except OSError:
                    continue
                if len(frame) < 14:
                    count("from_vm", "dropped")
                    continue
                (tpid,) = struct.unpack("!H", frame[12:14])
                if tpid == TPID_8021Q and len(frame) >= 18:
                    (tci,) = struct.unpack("!H", frame[14:16])
                    vid = tci & 0x0FFF
                    frame = frame[:12] + frame[16:]
                else:
                    vid = "native"
                fd = taps.get(vid)
                if fd is None:
                    count("from_vm", "dropped")
                    continue
                os.write(fd, frame)
                count("from_vm", vid)
            else:
                vid = by_fd[r]
                frame = os.read(r, 65536)
                if len(frame) < 14:
                    continue
                if vid != "native":
                    frame = frame[:12] + struct.pack("!HH", TPID_8021Q, vid) + frame[12:]
                try:
                    sock.sendto(frame, vm)
                except OSError:
                    pass  # QEMU not started yet, or gone: a lost frame, as on a wire
                count("to_vm", vid)


if __name__ == "__main__":
    main()
