// SPDX-License-Identifier: LGPL-2.1-or-later
// Gbt's error enums are GLib error domains for GJS (docs part): a GLib.Error
// thrown by libgbt matches the enum itself, e.matches(Gbt.SessionError, ...),
// which throws when the GIR lacks glib:error-domain.  TAP on stdout; run by
// tests/meson.build with GI_TYPELIB_PATH/LD_LIBRARY_PATH at the built core/.
const GLib = imports.gi.GLib;

let n = 0;
let failed = 0;
function ok(cond, desc, diag) {
    n++;
    print(`${cond ? 'ok' : 'not ok'} ${n} - ${desc}`);
    if (!cond) {
        failed++;
        if (diag)
            String(diag).split('\n').forEach(l => print(`# ${l}`));
    }
}

let Gbt;
try {
    imports.gi.versions.Gbt = '1';
    Gbt = imports.gi.Gbt;
} catch (e) {
    print(`1..0 # SKIP the Gbt typelib is not available: ${e}`);
    imports.system.exit(0);
}

print('1..5');

// a one-piece single-file torrent: 16 KiB of zeros, a tracker no plugin handles
function bencodeTorrent() {
    const piece = 16384;
    const zeros = new Uint8Array(piece);
    const sha1 = GLib.compute_checksum_for_data(GLib.ChecksumType.SHA1, zeros);
    const hash = new Uint8Array(20);
    for (let i = 0; i < 20; i++)
        hash[i] = parseInt(sha1.substr(2 * i, 2), 16);
    const enc = s => new TextEncoder().encode(s);
    const parts = [
        enc('d8:announce26:foo://127.0.0.1:1/announce4:infod6:lengthi16384e4:name9:zeros.bin' +
            '12:piece lengthi16384e6:pieces20:'),
        hash, enc('ee'),
    ];
    const len = parts.reduce((a, p) => a + p.length, 0);
    const out = new Uint8Array(len);
    let off = 0;
    for (const p of parts) {
        out.set(p, off);
        off += p.length;
    }
    return new GLib.Bytes(out);
}

const tmp = GLib.dir_make_tmp('gbt-gjs-errors-XXXXXX');
const session = Gbt.Session.new();
session.set_listen_address('127.0.0.1', 0);
session.start();
const mi = Gbt.Metainfo.new_from_bytes(bencodeTorrent());
const torrent = session.add_torrent(mi, tmp);

let dup = null;
try {
    session.add_torrent(mi, tmp);
} catch (e) {
    dup = e;
}
let matched = false, diag = `${dup}`;
try {
    matched = dup !== null && dup.matches(Gbt.SessionError, Gbt.SessionError.DUPLICATE_TORRENT);
} catch (e) {
    diag = `e.matches(Gbt.SessionError, ...) threw: ${e}`;
}
ok(matched, 'a duplicate add throws a GLib.Error: e.matches(Gbt.SessionError, DUPLICATE_TORRENT)', diag);

let notOther = false;
try {
    notOther = dup !== null && !dup.matches(Gbt.TorrentError, Gbt.SessionError.DUPLICATE_TORRENT) &&
        !dup.matches(Gbt.SessionError, Gbt.SessionError.FAILED);
} catch (e) {
    diag = `${e}`;
}
ok(notOther, 'it does not match another domain or another code', diag);

ok(dup !== null && dup.domain === Gbt.session_error_quark() &&
   dup.code === Gbt.SessionError.DUPLICATE_TORRENT && dup instanceof GLib.Error,
   'its domain is Gbt.session_error_quark(), its code DUPLICATE_TORRENT',
   `domain ${dup && dup.domain}, code ${dup && dup.code}`);

// TorrentError.NO_TRACKER_PLUGIN, on a main loop with a bound
const loop = new GLib.MainLoop(null, false);
torrent.connect('notify::state', t => {
    if (t.get_state() === Gbt.TorrentState.ERROR)
        loop.quit();
});
torrent.start();
let timedOut = false;
const tid = GLib.timeout_add(GLib.PRIORITY_DEFAULT, 20000, () => {
    timedOut = true;
    loop.quit();
    return GLib.SOURCE_REMOVE;
});
loop.run();
if (!timedOut)
    GLib.source_remove(tid);
const terr = torrent.get_error();
matched = false;
try {
    matched = terr !== null && terr.matches(Gbt.TorrentError, Gbt.TorrentError.NO_TRACKER_PLUGIN);
} catch (e) {
    diag = `${e}`;
}
ok(matched, 'a foo:// tracker fails the torrent: matches(Gbt.TorrentError, NO_TRACKER_PLUGIN)',
   `timed out ${timedOut}, error ${terr}, ${diag}`);

let cerr = null;
try {
    Gbt.Creator.new(`${tmp}/missing`);
} catch (e) {
    cerr = e;
}
matched = false;
try {
    matched = cerr !== null && cerr.matches(Gbt.CreatorError, Gbt.CreatorError.NOT_FOUND);
} catch (e) {
    diag = `${e}`;
}
ok(matched, 'Gbt.Creator.new on a missing path: matches(Gbt.CreatorError, NOT_FOUND)', `${cerr} ${diag}`);

GLib.rmdir(tmp);
imports.system.exit(failed ? 1 : 0);
