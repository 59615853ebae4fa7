#!/usr/bin/python3
"""Asks over an 802.1Q-tagged ARP who-has whether ADDRESS lives on VLAN.

Usage: vlan_arp.py IFACE VLAN SRC_IP ADDRESS [SECONDS]

Sends the request on IFACE (a tap: the frame goes to the VM's NIC) with an
802.1Q tag, and waits for the ARP reply from ADDRESS. Prints "VLAN MAC" of
the reply and exits 0 when the reply came tagged with VLAN; exits 1 when no
reply came, 2 when it came untagged or on another VLAN.

Why not a VLAN interface and ping: the test machine's kernel may lack
802.1Q support (the VM's kernel has it), and a raw frame needs none. The
kernel may move a received tag out of the frame into packet metadata
(PACKET_AUXDATA): both places are read.
"""
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
ETH_P_ARP = 0x0806
ETH_P_8021Q = 0x8100
SOL_PACKET = 263
PACKET_AUXDATA = 8
TP_STATUS_VLAN_VALID = 1 << 4


def main():
    if len(sys.argv) < 5:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 64
    iface, vlan, src_ip, address = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    seconds = float(sys.argv[5]) if len(sys.argv) > 5 else 5.0
    src_mac = bytes.fromhex("02006d770042")
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((iface, 0))
    s.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
    arp = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, src_mac, socket.inet_aton(src_ip),
                      b"\0" * 6, socket.inet_aton(address))
    frame = b"\xff" * 6 + src_mac + struct.pack("!HH", ETH_P_8021Q, vlan & 0xFFF) + struct.pack("!H", ETH_P_ARP) + arp
    frame += b"\0" * max(0, 64 - len(frame))
    deadline = time.monotonic() + seconds
    next_send = 0.0
    s.settimeout(0.2)
    while time.monotonic() < deadline:
        if time.monotonic() >= next_send:
            s.send(frame)
            next_send = time.monotonic() + 1.0
        try:
            data, anc, _, addr = s.recvmsg(2048, socket.CMSG_SPACE(32))
        except socket.timeout:
            continue
        if addr[2] == socket.PACKET_OUTGOING:
            continue
        tag = None
        for level, kind, value in anc:
            if level == SOL_PACKET and kind == PACKET_AUXDATA and len(value) >= 20:
                status, _, _, _, _, tci, _ = struct.unpack("IIIHHHH", value[:20])
                if status & TP_STATUS_VLAN_VALID or tci:
                    tag = tci & 0xFFF
        ethertype = struct.unpack("!H", data[12:14])[0]
        payload = data[14:]
        if ethertype == ETH_P_8021Q:
            tag = struct.unpack("!H", data[14:16])[0] & 0xFFF
            ethertype = struct.unpack("!H", data[16:18])[0]
            payload = data[18:]
        if ethertype != ETH_P_ARP or len(payload) < 28:
            continue
        op, sha, spa = struct.unpack("!6xH6s4s", payload[:18])
        if op != 2 or socket.inet_ntoa(spa) != address:
            continue
        print(f"{tag if tag is not None else 'untagged'} {sha.hex(':')}")
        return 0 if tag == vlan else 2
    return 1


if __name__ == "__main__":
    sys.exit(main())
