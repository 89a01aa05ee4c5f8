#!/usr/bin/env python3
"""Independent reader of TensorBoard event files (tests/Properties/TensorBoardInteropTests.fs).

Usage: /usr/bin/python3 check_tfevents.py EVENTS_FILE

Shares no code with Hybrid's writer:
  * TFRecord framing as TensorFlow's record_reader reads it: uint64 length (little-endian),
    masked CRC-32C of those 8 bytes, payload, masked CRC-32C of the payload; CRC-32C written
    here from its definition (Castagnoli, reflected polynomial 0x82F63B78).
  * Payloads decoded by the google.protobuf runtime (Debian python3-protobuf) with message
    classes built at run time from a FileDescriptorProto that declares tensorflow.Event and
    tensorflow.Summary with the field numbers and types of tensorflow/core/util/event.proto and
    tensorflow/core/framework/summary.proto.

Prints a JSON list of {"step", "wall_time", "file_version"?, "scalars": {tag: value},
"histograms"?: {tag: {min, max, num, sum, sum_squares, bucket_limit, bucket}}}.
Exits 1 on a CRC mismatch, truncated record, protobuf parse error, unknown field, or a first
record that is not TensorBoard's file-version event; 2 on bad usage or missing runtime.
"""
import json
import os
import struct
import sys

try:
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
except ImportError as e:  # pragma: no cover
    print("check_tfevents: google.protobuf is missing (apt-get install python3-protobuf): %s" % e, file=sys.stderr)
    sys.exit(2)

# ---- CRC-32C (RFC 3720 B.4) and TensorFlow's mask (tensorflow/core/lib/hash/crc32c.h) ----

def _crc_table():
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (0x82F63B78 ^ (c >> 1)) if c & 1 else (c >> 1)
        table.append(c)
    return table

_TABLE = _crc_table()


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc = _TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked(crc):
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


assert crc32c(b"123456789") == 0xE3069283, "crc32c self-test failed"
assert crc32c(bytes(32)) == 0x8A9136AA, "crc32c self-test failed"

# ---- tensorflow.Event / tensorflow.Summary descriptors ----

F = descriptor_pb2.FieldDescriptorProto
OPT, REP = F.LABEL_OPTIONAL, F.LABEL_REPEATED


def _field(msg, name, number, ftype, type_name=None, label=OPT, oneof=None, packed=None):
    f = msg.field.add(name=name, number=number, type=ftype, label=label)
    if type_name:
        f.type_name = type_name
    if oneof is not None:
        f.oneof_index = oneof
    if packed is not None:
        f.options.packed = packed
    return f


def _file_descriptor():
    fd = descriptor_pb2.FileDescriptorProto(name="hybrid_check/tensorflow_event.proto",
                                            package="tensorflow", syntax="proto3")

    # message TensorProto: only referenced (Summary.Value.tensor = 8); declared empty, its
    # contents would land in unknown fields (never written by Hybrid).
    fd.message_type.add(name="TensorProto")

    # message HistogramProto (summary.proto)
    h = fd.message_type.add(name="HistogramProto")
    for i, n in enumerate(["min", "max", "num", "sum", "sum_squares"], start=1):
        _field(h, n, i, F.TYPE_DOUBLE)
    _field(h, "bucket_limit", 6, F.TYPE_DOUBLE, label=REP, packed=True)
    _field(h, "bucket", 7, F.TYPE_DOUBLE, label=REP, packed=True)

    # message SummaryMetadata (summary.proto, newer versions): plugin_data = 1, display_name = 2,
    # summary_description = 3, data_class = 4 (enum, read as int32 here).
    sm = fd.message_type.add(name="SummaryMetadata")
    pd = sm.nested_type.add(name="PluginData")
    _field(pd, "plugin_name", 1, F.TYPE_STRING)
    _field(pd, "content", 2, F.TYPE_BYTES)
    _field(sm, "plugin_data", 1, F.TYPE_MESSAGE, ".tensorflow.SummaryMetadata.PluginData")
    _field(sm, "display_name", 2, F.TYPE_STRING)
    _field(sm, "summary_description", 3, F.TYPE_STRING)
    _field(sm, "data_class", 4, F.TYPE_INT32)

    # message Summary { message Image; message Audio; message Value; repeated Value value = 1; }
    s = fd.message_type.add(name="Summary")
    img = s.nested_type.add(name="Image")
    _field(img, "height", 1, F.TYPE_INT32)
    _field(img, "width", 2, F.TYPE_INT32)
    _field(img, "colorspace", 3, F.TYPE_INT32)
    _field(img, "encoded_image_string", 4, F.TYPE_BYTES)
    aud = s.nested_type.add(name="Audio")
    _field(aud, "sample_rate", 1, F.TYPE_FLOAT)
    _field(aud, "num_channels", 2, F.TYPE_INT64)
    _field(aud, "length_frames", 3, F.TYPE_INT64)
    _field(aud, "encoded_audio_string", 4, F.TYPE_BYTES)
    _field(aud, "content_type", 5, F.TYPE_STRING)
    v = s.nested_type.add(name="Value")
    v.oneof_decl.add(name="value")
    _field(v, "node_name", 7, F.TYPE_STRING)
    _field(v, "tag", 1, F.TYPE_STRING)
    _field(v, "metadata", 9, F.TYPE_MESSAGE, ".tensorflow.SummaryMetadata")
    _field(v, "simple_value", 2, F.TYPE_FLOAT, oneof=0)
    _field(v, "obsolete_old_style_histogram", 3, F.TYPE_BYTES, oneof=0)
    _field(v, "image", 4, F.TYPE_MESSAGE, ".tensorflow.Summary.Image", oneof=0)
    _field(v, "histo", 5, F.TYPE_MESSAGE, ".tensorflow.HistogramProto", oneof=0)
    _field(v, "audio", 6, F.TYPE_MESSAGE, ".tensorflow.Summary.Audio", oneof=0)
    _field(v, "tensor", 8, F.TYPE_MESSAGE, ".tensorflow.TensorProto", oneof=0)
    _field(s, "value", 1, F.TYPE_MESSAGE, ".tensorflow.Summary.Value", label=REP)

    # event.proto: LogMessage, SessionLog, TaggedRunMetadata, Event
    lm = fd.message_type.add(name="LogMessage")
    _field(lm, "level", 1, F.TYPE_INT32)  # enum Level
    _field(lm, "message", 2, F.TYPE_STRING)
    sl = fd.message_type.add(name="SessionLog")
    _field(sl, "status", 1, F.TYPE_INT32)  # enum SessionStatus
    _field(sl, "checkpoint_path", 2, F.TYPE_STRING)
    _field(sl, "msg", 3, F.TYPE_STRING)
    tr = fd.message_type.add(name="TaggedRunMetadata")
    _field(tr, "tag", 1, F.TYPE_STRING)
    _field(tr, "run_metadata", 2, F.TYPE_BYTES)

    e = fd.message_type.add(name="Event")
    e.oneof_decl.add(name="what")
    _field(e, "wall_time", 1, F.TYPE_DOUBLE)
    _field(e, "step", 2, F.TYPE_INT64)
    _field(e, "file_version", 3, F.TYPE_STRING, oneof=0)
    _field(e, "graph_def", 4, F.TYPE_BYTES, oneof=0)
    _field(e, "summary", 5, F.TYPE_MESSAGE, ".tensorflow.Summary", oneof=0)
    _field(e, "log_message", 6, F.TYPE_MESSAGE, ".tensorflow.LogMessage", oneof=0)
    _field(e, "session_log", 7, F.TYPE_MESSAGE, ".tensorflow.SessionLog", oneof=0)
    _field(e, "tagged_run_metadata", 8, F.TYPE_MESSAGE, ".tensorflow.TaggedRunMetadata", oneof=0)
    _field(e, "meta_graph_def", 9, F.TYPE_BYTES, oneof=0)
    return fd


def _event_class():
    pool = descriptor_pool.DescriptorPool()
    pool.Add(_file_descriptor())
    desc = pool.FindMessageTypeByName("tensorflow.Event")
    if hasattr(message_factory, "GetMessageClass"):  # protobuf >= 4.22
        return message_factory.GetMessageClass(desc)
    return message_factory.MessageFactory(pool).GetPrototype(desc)


def _unknown_count(msg):
    try:
        from google.protobuf import unknown_fields  # protobuf >= 4.22
        return len(unknown_fields.UnknownFieldSet(msg))
    except ImportError:
        return len(msg.UnknownFields())


# ---- reading ----

class BadFile(Exception):
    pass


def records(data):
    """Payloads of the TFRecords in data, both CRCs checked."""
    pos, i = 0, 0
    while pos < len(data):
        if len(data) - pos < 12:
            raise BadFile("record %d at byte %d: truncated header (%d of 12 bytes)" % (i, pos, len(data) - pos))
        header = data[pos:pos + 8]
        (length,) = struct.unpack("<Q", header)
        (len_crc,) = struct.unpack("<I", data[pos + 8:pos + 12])
        if len_crc != masked(crc32c(header)):
            raise BadFile("record %d at byte %d: length CRC mismatch (stored 0x%08x, computed 0x%08x)"
                          % (i, pos, len_crc, masked(crc32c(header))))
        end = pos + 12 + length
        if end + 4 > len(data):
            raise BadFile("record %d at byte %d: truncated payload (length %d, %d bytes left)"
                          % (i, pos, length, len(data) - pos - 12))
        payload = data[pos + 12:end]
        (data_crc,) = struct.unpack("<I", data[end:end + 4])
        if data_crc != masked(crc32c(payload)):
            raise BadFile("record %d at byte %d: payload CRC mismatch (stored 0x%08x, computed 0x%08x)"
                          % (i, pos, data_crc, masked(crc32c(payload))))
        yield i, payload
        pos, i = end + 4, i + 1


def decode(path):
    if "tfevents" not in os.path.basename(path):
        raise BadFile("%s: TensorBoard only reads files whose name contains 'tfevents'" % path)
    with open(path, "rb") as f:
        data = f.read()
    Event = _event_class()
    out = []
    for i, payload in records(data):
        ev = Event()
        try:
            ev.ParseFromString(payload)
        except Exception as e:  # google.protobuf.message.DecodeError and friends
            raise BadFile("record %d: protobuf parse error: %s" % (i, e))
        if _unknown_count(ev):
            raise BadFile("record %d: Event has unknown fields" % i)
        item = {"step": ev.step, "wall_time": ev.wall_time}
        what = ev.WhichOneof("what")
        if i == 0 and (what != "file_version" or not ev.file_version.startswith("brain.Event:")):
            raise BadFile("record 0: expected the file_version event 'brain.Event:N', got %s" % what)
        if what == "file_version":
            item["file_version"] = ev.file_version
        scalars = {}
        histograms = {}
        if what == "summary":
            if _unknown_count(ev.summary):
                raise BadFile("record %d: Summary has unknown fields" % i)
            for v in ev.summary.value:
                if _unknown_count(v):
                    raise BadFile("record %d: Summary.Value %r has unknown fields" % (i, v.tag))
                if v.WhichOneof("value") == "simple_value":
                    if v.tag in scalars:
                        raise BadFile("record %d: tag %r twice in one summary" % (i, v.tag))
                    scalars[v.tag] = v.simple_value
                elif v.WhichOneof("value") == "histo":
                    h = v.histo
                    histograms[v.tag] = {"min": h.min, "max": h.max, "num": h.num, "sum": h.sum,
                                         "sum_squares": h.sum_squares, "bucket_limit": list(h.bucket_limit),
                                         "bucket": list(h.bucket)}
        item["scalars"] = scalars
        if histograms:
            item["histograms"] = histograms
        out.append(item)
    return out


def main(argv):
    if len(argv) != 2:
        print("usage: check_tfevents.py EVENTS_FILE", file=sys.stderr)
        return 2
    try:
        events = decode(argv[1])
    except (BadFile, OSError) as e:
        print("check_tfevents: %s" % e, file=sys.stderr)
        return 1
    # repr of a Python float is exact, so float32 values round-trip through the JSON
    json.dump(events, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
