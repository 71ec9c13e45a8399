// SPDX-License-Identifier: LGPL-2.1-or-later
// Vala sees Gbt's error enums as errordomains (docs part): this only
// compiles when the GIR marks them glib:error-domain, and the catch clauses
// must then catch the real errors.  Built and run by test-vala-errors.sh.
int main (string[] args) {
  int failed = 0;
  stdout.printf ("1..2\n");

  string tmp;
  try {
    tmp = DirUtils.make_tmp ("gbt-vala-errors-XXXXXX");
  } catch (FileError e) {
    stdout.printf ("# %s\n", e.message);
    return 1;
  }
  var piece = new uint8[16384];
  var sha1 = new Checksum (ChecksumType.SHA1);
  sha1.update (piece, piece.length);
  uint8 hash[20];
  size_t hash_len = 20;
  sha1.get_digest (hash, ref hash_len);
  var doc = new ByteArray ();
  doc.append ("d8:announce26:foo://127.0.0.1:1/announce4:infod6:lengthi16384e4:name9:zeros.bin12:piece lengthi16384e6:pieces20:".data);
  doc.append (hash);
  doc.append ("ee".data);

  bool caught = false;
  try {
    var session = new Gbt.Session ();
    session.set_listen_address ("127.0.0.1", 0);
    session.start ();
    var mi = new Gbt.Metainfo.from_bytes (ByteArray.free_to_bytes ((owned) doc));
    var torrent = session.add_torrent (mi, tmp);
    try {
      session.add_torrent (mi, tmp);
    } catch (Gbt.SessionError.DUPLICATE_TORRENT e) {
      caught = true;
    }
    assert (torrent != null);
  } catch (Error e) {
    stdout.printf ("# unexpected: %s\n", e.message);
  }
  stdout.printf ("%s 1 - catch (Gbt.SessionError.DUPLICATE_TORRENT) catches a duplicate add\n",
                 caught ? "ok" : "not ok");
  failed += caught ? 0 : 1;

  caught = false;
  try {
    new Gbt.Creator (tmp + "/missing");
  } catch (Gbt.CreatorError e) {
    caught = e is Gbt.CreatorError.NOT_FOUND;
  } catch (Error e) {
    stdout.printf ("# unexpected: %s\n", e.message);
  }
  stdout.printf ("%s 2 - catch (Gbt.CreatorError e) with e is NOT_FOUND\n", caught ? "ok" : "not ok");
  failed += caught ? 0 : 1;
  DirUtils.remove (tmp);
  return failed == 0 ? 0 : 1;
}
