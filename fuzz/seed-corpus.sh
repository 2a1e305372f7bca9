#!/usr/bin/env bash
# Seeds fuzz/corpus/<target>/ (gitignored) for the three fuzz targets, from the built-in samples
# (src/tools/samples.rs, which are the Tencent seed documents' samples with comments removed), the
# seed documents' multi-line layouts, and a few hostile shapes. Idempotent: files are named by
# content, and whatever the fuzzer already found in the corpus is kept.
set -euo pipefail
cd "$(dirname "$0")"
exec python3 - <<'PY'
import hashlib, os, re, struct

def put(target, data):
    d = os.path.join("corpus", target)
    os.makedirs(d, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)

# decode_normalize: first byte picks the command (fuzz_targets/decode_normalize.rs): the index
# in Kind::ALL, then the extra commands.
KINDS = ["Live.CallbackAfterMemberStateChanged", "Group.CallbackOnMemberStateChange",
         "Room.CallbackAfterMemberEnter", "Room.CallbackAfterMemberLeave",
         "Group.CallbackAfterNewMemberJoin", "Group.CallbackAfterMemberExit",
         "Live.CallbackMemberStateChanged", "Group.CallbackAfterSendMsg", "X.Y", "",
         "live.callbackafterMemberStateChanged"]
src = open("../src/tools/samples.rs", encoding="utf-8").read()
samples = re.findall(r'\(\s*"([^"]+)",\s*"([^"]+)",\s*r#"(.*?)"#,\s*\)', src, re.S)
assert len(samples) >= 7, "src/tools/samples.rs: expected at least 7 samples"
bodies = []
for _, command, body in samples:
    sel = KINDS.index(command)
    bodies.append(body)
    put("decode_normalize", bytes([sel]) + body.encode())
    # The seed documents lay the samples out over lines, with spaces after colons.
    pretty = body.replace(",", ",\n").replace("{", "{\n").replace(":", ": ")
    put("decode_normalize", bytes([sel]) + pretty.encode())
live = bodies[0]
hostile = [
    b"", b"{}", b"[]", b"null", b"\xff\xfe", b'{"a":"\xc3\x28"}',
    b"[" * 200 + b"]" * 200,
    live.replace('"EventTime":1703589922780', '"EventTime":1' + "0" * 40).encode(),
    live.replace('"EventTime":1703589922780', '"EventTime":1e999').encode(),
    live.replace('"RoomId":"room_id"', '"RoomId":"a","RoomId":"b"').encode(),
    live.replace('"RoomId":"room_id"', '"RoomId":7').encode(),
    live.replace('"RoomId":"room_id"', '"RoomId":"\\u0000\\ud83d\\ude42\\"').encode(),
    live.replace('"EventCause":"Enter"', '"EventCause":"\\u00c9t\\u00e9Nouveau"').encode(),
    ('{"CallbackCommand":"Live.CallbackAfterMemberStateChanged","MemberList":[' + ",".join(["{}"] * 50) + "]}").encode(),
]
for body in hostile:
    put("decode_normalize", b"\x00" + body)

# query_sign: raw query strings. Sign = sha256_hex("fuzz-token" + RequestTime).
def sign(t):
    return hashlib.sha256(("fuzz-token" + t).encode()).hexdigest()
t = "1700000000"
base = "SdkAppid=1400000000&CallbackCommand=Live.CallbackMemberStateChanged&contenttype=json&ClientIP=203.0.113.9&OptPlatform=iOS"
for q in [
    base, f"{base}&RequestTime={t}&Sign={sign(t)}", f"{base}&RequestTime={t}&Sign={sign(t)[:63]}",
    f"{base}&RequestTime={t}&Sign={sign(t).upper()}", f"{base}&RequestTime=-1&Sign={sign('-1')}",
    f"{base}&RequestTime=99999999999999999999&Sign=x", f"{base}&SdkAppid=1400000000",
    "Sdk%41ppid=1400000000&Sign=%61%62&RequestTime=+1700000000", "SdkAppid=&&&=&Sign&RequestTime",
    "SdkAppid=1400000000&" + "x=" + "y" * 300, "%ff%fe=%00&SdkAppid=%E6%88%BF",
]:
    put("query_sign", q.encode())

# spool_reader: first byte picks the segment's base seq (0..3); the rest is segment bytes.
def crc32c(data, table=[]):
    if not table:
        for i in range(256):
            c = i
            for _ in range(8):
                c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
            table.append(c)
    crc = 0xFFFFFFFF
    for b in data:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF

def frame(seq, topic, key, headers, value):
    p = struct.pack("<Q", seq) + struct.pack("<H", len(topic)) + topic
    p += struct.pack("<I", len(key)) + key + struct.pack("<H", len(headers))
    for n, v in headers:
        p += struct.pack("<H", len(n)) + n + struct.pack("<I", len(v)) + v
    p += struct.pack("<I", len(value)) + value
    return struct.pack("<II", len(p), crc32c(p)) + p

hdrs = [(b"ce_specversion", b"1.0"), (b"ce_id", b"0" * 32), (b"content-type", b"application/json")]
for base_seq in range(3):
    frames = [frame(base_seq + i, b"tencent.live.member", b"room_id", hdrs, bodies[i % len(bodies)].encode())
              for i in range(3)]
    seg = b"".join(frames)
    put("spool_reader", bytes([base_seq]) + seg)
    put("spool_reader", bytes([base_seq]) + seg[:-5])                      # torn tail
    put("spool_reader", bytes([base_seq]) + frames[0] + b"\x00" * 9 + frames[2])  # damage mid-segment
put("spool_reader", b"\x00" + frame(0, b"", b"", [], b""))
put("spool_reader", b"\x01" + frame(7, b"t", b"k", [], b"v"))               # seq not the base
for t in ("decode_normalize", "query_sign", "spool_reader"):
    print(t, len(os.listdir(os.path.join("corpus", t))), "seeds")
PY
