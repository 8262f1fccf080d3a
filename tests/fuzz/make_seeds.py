#!/usr/bin/env python3
"""Writes the seed corpora of tests/fuzz/corpus/ from the repository's examples and from the
hostile inputs of issue #14. Re-run after changing the examples; it only (over)writes its own
files, so seeds added by hand (or by other tests) stay. Needs python3-yaml."""
import json
import os
import struct
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORPUS = os.path.join(ROOT, "tests", "fuzz", "corpus")


def put(target, name, data):
    os.makedirs(os.path.join(CORPUS, target), exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(CORPUS, target, name), "wb") as f:
        f.write(data)


def read(path):
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        return f.read()


def examples(path):
    return [d for d in yaml.safe_load_all(read(path)) if d]


# YAML that issue #14 found hanging, crashing or ballooning the readers.
ALIAS_CYCLE = "a: &x\n  b: *x\n"
ALIAS_CYCLE_SEQ = "&a [*a]\n"
LAUGHS = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{chr(ord('a') + i)}: &{chr(ord('a') + i)} [{', '.join(['*' + chr(ord('a') + i - 1)] * 9)}]\n"
    for i in range(1, 9))
COMMA_NEWLINE = ",\n"
NUL_IP = "10.0.0.1\u0000junk"


def json_objects():
    services = examples("manifests/examples/services.yaml")
    slices = examples("manifests/examples/endpointslices.yaml")
    nodes = examples("manifests/examples/node.yaml")
    for i, s in enumerate(services):
        put("service_json", f"example-{i}.json", json.dumps(s))
    bad = dict(services[0])
    bad["spec"] = dict(bad["spec"], clusterIP=NUL_IP, clusterIPs=[NUL_IP])
    put("service_json", "hostile-nul-ip.json", json.dumps(bad))
    for i, s in enumerate(slices):
        put("endpoint_slice_json", f"example-{i}.json", json.dumps(s))
    bad = json.loads(json.dumps(slices[0]))
    bad["endpoints"][0]["addresses"] = [NUL_IP]
    put("endpoint_slice_json", "hostile-nul-ip.json", json.dumps(bad))
    for i, n in enumerate(nodes):
        put("node_json", f"example-{i}.json", json.dumps(n))
        bad = json.loads(json.dumps(n))
        bad.setdefault("status", {})["addresses"] = [{"type": "InternalIP", "address": NUL_IP}]
        put("node_json", f"hostile-nul-ip-{i}.json", json.dumps(bad))
    return services, slices


def watch_stream(services, slices):
    # Byte 0: event bound 16 + 8 * b0; byte 1: split seed; then the stream.
    events = [{"type": "ADDED", "object": o} for o in services[:2] + slices[:1]]
    events.append({"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "42"}}})
    stream = "".join(json.dumps(e) + "\n" for e in events)
    put("watch_stream", "events", b"\xff\x07" + stream.encode())
    put("watch_stream", "events-small-bound", b"\x20\x03" + stream.encode())
    pad = "x" * 20000
    put("watch_stream", "hostile-oversize-event",
        b"\xff\x01" + json.dumps({"type": "ADDED", "object": {"pad": pad}}).encode() + b"\n" +
        stream.encode())
    # Invalid JSON early in an oversize event: an error when read in small pieces, skipped when
    # read at once (issue #14 defect 7).
    put("watch_stream", "hostile-oversize-invalid",
        b"\x00\x01" + b'{"t":x,"pad":"' + b"y" * 200 + b'"}\n' + stream.encode())
    put("watch_stream", "garbage-between-events", b"\xff\x02" + stream.encode() + b"]\n")


def manifests(services, slices):
    for path in ("services.yaml", "endpointslices.yaml", "node.yaml"):
        put("manifest", "example-" + path, read("manifests/examples/" + path))
    put("manifest", "example-list.json",
        json.dumps({"apiVersion": "v1", "kind": "List", "items": services[:2] + slices[:1]}))
    for target in ("manifest", "kube_proxy_config", "kubeconfig"):
        put(target, "hostile-alias-cycle.yaml", ALIAS_CYCLE)
        put(target, "hostile-alias-cycle-seq.yaml", ALIAS_CYCLE_SEQ)
        put(target, "hostile-billion-laughs.yaml", LAUGHS)
        put(target, "hostile-comma-newline.yaml", COMMA_NEWLINE)


def configs():
    for overlay in ("alongside", "replace-kube-proxy"):
        put("kube_proxy_config", overlay + ".yaml",
            read(f"manifests/overlays/{overlay}/config.conf"))
    put("kube_proxy_config", "minimal.yaml",
        "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\n")
    put("kubeconfig", "token.yaml", """apiVersion: v1
kind: Config
current-context: prod
clusters:
- name: c
  cluster:
    server: https://10.0.0.1:6443/
    certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==
    tls-server-name: kubernetes.default
contexts:
- name: prod
  context: {cluster: c, user: u}
users:
- name: u
  user:
    token: " abc.def "
    client-certificate-data: Y2VydA==
    client-key-data: a2V5
""")


def annotations():
    # Byte 0: bits 0-3 which annotations are present, bits 4-7 the node default scheduler.
    put("annotations", "sh-flags", b"\x73sh\nsh-port,sh-fallback")
    put("annotations", "kube-router-mh", b"\x0cmh\nmh-fallback, MH-PORT")
    put("annotations", "unknown", b"\x01bogus")
    put("annotations", "flags-only", b"\xa2flag-1,,flag-3, flag-2")
    put("annotations", "misplaced", b"\x03rr\nsh-port,mh-port,nonsense")


def nla(kind, payload):
    n = 4 + len(payload)
    return struct.pack("=HH", n, kind) + payload + b"\0" * ((4 - n % 4) % 4)


def genl(cmd, seq, attrs, kind=0x23, flags=0x2):  # NLM_F_MULTI
    body = struct.pack("=BBH", cmd, 1, 0) + attrs
    return struct.pack("=IHHII", 16 + len(body), kind, flags, seq, 0) + body


def nlerr(seq, error):
    body = struct.pack("=i", error) + struct.pack("=IHHII", 16, 0x23, 5, seq, 0)
    return struct.pack("=IHHII", 16 + len(body), 2, 0, seq, 0) + body


def netlink():
    addr = bytes([10, 96, 0, 1]) + b"\0" * 12
    svc = (nla(1, struct.pack("=H", 2)) + nla(2, struct.pack("=H", 6)) + nla(3, addr) +
           nla(4, struct.pack(">H", 80)) + nla(6, b"rr\0") + nla(7, struct.pack("=II", 2, 0xffffffff)) +
           nla(8, struct.pack("=I", 0)) + nla(9, struct.pack("=I", 0xffffffff)))
    dump = genl(1, 1000, nla(1 | 0x8000, svc)) + genl(1, 1000, nla(1 | 0x8000, svc))
    done = struct.pack("=IHHIIi", 20, 3, 2, 1000, 0, 0)
    put("netlink_reply", "service-dump", b"\x00\x01" + dump + done)
    dest = (nla(1, bytes([10, 244, 1, 5]) + b"\0" * 12) + nla(2, struct.pack(">H", 8080)) +
            nla(3, struct.pack("=I", 0)) + nla(4, struct.pack("=I", 1)) + nla(5, struct.pack("=I", 0)) +
            nla(6, struct.pack("=I", 0)) + nla(11, struct.pack("=H", 2)))
    put("netlink_reply", "dest-dump", b"\x00\x01" + genl(4, 1000, nla(2 | 0x8000, dest)) + done)
    acks = b"".join(nlerr(1000 + i, 0 if i % 3 else -17) for i in range(6))
    put("netlink_reply", "acks-every", b"\x00\x06" + acks)
    put("netlink_reply", "acks-last-only", b"\x01\x06" + nlerr(1002, -2) + nlerr(1005, 0))
    put("netlink_reply", "truncated-attr", b"\x00\x01" + genl(1, 1000, nla(1 | 0x8000, svc))[:-7])
    long_sched = nla(6, b"a-scheduler-name-far-too-long\0")
    put("netlink_reply", "oversize-sched-name",
        b"\x00\x01" + genl(1, 1000, nla(1 | 0x8000, svc + long_sched)))
    bad_len = struct.pack("=HH", 200, 3) + addr  # attribute longer than its message
    put("netlink_reply", "oversize-attr", b"\x02\x01" + genl(1, 1000, nla(1 | 0x8000, bad_len)))


def http():
    get = "GET {} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    for path in ("/healthz", "/livez", "/metrics", "/configz", "/proxyMode"):
        put("http_request", "get" + path.replace("/", "-"), get.format(path))
    put("http_request", "head-close", "HEAD /healthz HTTP/1.0\r\nConnection: close\r\n\r\n")
    put("http_request", "pipelined", get.format("/healthz") * 3 + get.format("/nope?x=1"))
    put("http_request", "post-chunked",
        "POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5;ext=1\r\nhello\r\n0\r\n\r\n")
    put("http_request", "post-length", "POST /metrics HTTP/1.1\r\nContent-Length: 4\r\n\r\nbody")
    # Issue #14 defect 1: a chunk-size line that never ends.
    put("http_request", "hostile-chunk-extension-flood",
        "POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1;" + "a" * 100000)


def main():
    services, slices = json_objects()
    watch_stream(services, slices)
    manifests(services, slices)
    configs()
    annotations()
    netlink()
    http()
    return 0


if __name__ == "__main__":
    sys.exit(main())
