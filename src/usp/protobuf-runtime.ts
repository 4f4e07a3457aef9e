// protobufjs's runtime as berth uses it: the generated code (src/usp/generated/usp.js) imports it from here, so
// this configuration is in place before any message type exists.
//
// 64-bit integers are JavaScript numbers, not `Long` objects. protobufjs loads the `long` package when it can find
// it, and Long.js compiles a WebAssembly module when it loads: ~1.6 MiB of the idle agent's memory (node's Wasm
// compiler pages and code space; npm run bench:usp), for fields berth never reads. The only 64-bit fields in USP
// 1.4 are SessionContextRecord's session_id, sequence_id, expected_id and retransmit_id, and berth answers a
// Session Context Record with a DisconnectRecord (7106) without looking at them. As numbers they are exact up to
// 2^53; an agent that implements session contexts must read them exactly (LongBits → BigInt) before using them.
// The production bundle leaves `long` out altogether (scripts/build.mjs); run from the sources it is loaded but,
// with util.Long unset, never used, so both decode the same way.
import $protobuf from 'protobufjs/minimal.js';

($protobuf.util as { Long: unknown }).Long = null;
// Reader/Writer pick their 64-bit methods when configured: once more, now that util.Long is unset.
$protobuf.configure();

export default $protobuf;
