//! READDIR and READDIRPLUS replies built here, as XDR, in one pass on the
//! worker thread (RFC 1813 §3.3.16, §3.3.17): the directory is read, every
//! entry stat'ed and given its file handle, and the result is the complete
//! `READDIR3res` / `READDIRPLUS3res` body that the server sends after the
//! RPC reply header. The TypeScript side only frames it — no JS object per
//! entry, no per-entry encode (that cost READDIRPLUS three quarters of its
//! time).
//!
//! The reply is bounded exactly as the TypeScript encoder bounds it
//! (appliance/src/nfs/nfs3/readdir.ts, readdirplus.ts): `maxcount` bounds
//! the whole reply, `dircount` (READDIRPLUS) the directory part — fileid,
//! name and cookie of each entry, counted as an `entry3`, as knfsd does —
//! and at least one entry is always sent if it fits `maxcount`; if not even
//! one fits, the reply is NFS3ERR_TOOSMALL.
//!
//! File handles are the server's wire handles (`nfs_fh3`), made here the
//! way `HandleCodec.encode` (appliance/src/nfs/backend/filehandle.ts) makes
//! them: version, backend handle length, export id, 8 bytes of
//! HMAC-SHA256(secret, those 6 bytes ‖ backend handle), backend handle.

use super::{fstat, Export, Kind, St};
use crate::creds::{AsCaller, Cred};
use crate::errno::{OsError, OsResult, EBADCOOKIE};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::ffi::CStr;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// nfsstat3 values this module answers with.
const NFS3_OK: u32 = 0;
const NFS3ERR_TOOSMALL: u32 = 10005;
/// status + post_op_attr + cookieverf + end of list + eof (readdir.ts READDIR_OVERHEAD).
const OVERHEAD: usize = 4 + 4 + 84 + 8 + 4 + 4;
/// Most entries in one reply (readdir.ts MAX_ENTRIES_PER_CALL).
pub const MAX_ENTRIES: usize = 4096;
/// Replies are capped here whatever `maxcount` asks (RFC 1813 lets the server send less).
pub const MAX_REPLY: usize = 1 << 20;
/// READDIRPLUS refuses a `maxcount` that leaves less room than this (readdirplus.ts).
const MIN_PLUS_ROOM: usize = 200;
const FH_VERSION: u8 = 1;
const FH_HEADER: usize = 14;

/// Makes wire file handles (`nfs_fh3`) of backend handles for one export.
pub struct WireHandles {
  mac: Hmac<Sha256>,
  export_id: u32,
}

impl WireHandles {
  pub fn new(export_id: u32, secret: &[u8]) -> WireHandles {
    WireHandles { mac: Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length"), export_id }
  }

  /// The wire handle of `backend` (at most 48 bytes).
  pub fn encode(&self, backend: &[u8]) -> Vec<u8> {
    let mut fh = Vec::with_capacity(FH_HEADER + backend.len());
    fh.push(FH_VERSION);
    fh.push(backend.len() as u8);
    fh.extend_from_slice(&self.export_id.to_be_bytes());
    let mut m = self.mac.clone();
    m.update(&fh[..6]);
    m.update(backend);
    fh.extend_from_slice(&m.finalize().into_bytes()[..8]);
    fh.extend_from_slice(backend);
    fh
  }
}

/// Directory streams kept open between the pages of a listing. A client
/// lists a directory page after page, each call resuming at the last
/// cookie it got; reopening the directory and seeking to that cookie costs
/// an open, a close and, on ext4, rebuilding the hash-ordered batch of
/// entries around the cookie. So a page that ends before the directory does
/// leaves its stream here — the fd at its kernel position plus the
/// records already read but not sent — keyed by directory handle, caller
/// and the cookie it resumes after. A stream is used by one call at a time
/// (taken out, put back), and dropped when unused for STREAM_TTL or when
/// MAX_STREAMS newer ones exist.
#[derive(Default)]
pub struct DirStreams(Mutex<Vec<DirStream>>);

struct DirStream {
  dir: Vec<u8>,
  cred: Cred,
  resume: u64,
  fd: OwnedFd,
  pending: Vec<u8>,
  at: Instant,
}

const MAX_STREAMS: usize = 16;
const STREAM_TTL: Duration = Duration::from_secs(30);

impl DirStreams {
  fn take(&self, dir: &[u8], cred: &Cred, resume: u64) -> Option<DirStream> {
    let mut v = self.0.lock().unwrap_or_else(|e| e.into_inner());
    v.retain(|s| s.at.elapsed() < STREAM_TTL);
    let i = v.iter().position(|s| s.resume == resume && s.dir == dir && s.cred == *cred)?;
    Some(v.swap_remove(i))
  }

  fn put(&self, s: DirStream) {
    let mut v = self.0.lock().unwrap_or_else(|e| e.into_inner());
    if v.len() >= MAX_STREAMS {
      let oldest = (0..v.len()).min_by_key(|&i| v[i].at).expect("not empty");
      v.swap_remove(oldest);
    }
    v.push(s);
  }

  pub fn clear(&self) {
    self.0.lock().unwrap_or_else(|e| e.into_inner()).clear();
  }

  #[cfg(test)]
  fn len(&self) -> usize {
    self.0.lock().unwrap().len()
  }
}

/// What READDIR(PLUS) asked for.
pub struct DirArgs<'a> {
  pub cookie: u64,
  pub verf: &'a [u8],
  /// READDIRPLUS dircount (0 = no separate bound); ignored for READDIR.
  pub dircount: u32,
  /// READDIRPLUS maxcount, READDIR count.
  pub maxcount: u32,
  pub plus: bool,
}

fn pad4(n: usize) -> usize {
  (4 - (n & 3)) & 3
}

/// Size of an `entry3` with its "value follows" word (readdir.ts entry3Size).
fn entry3_size(name_len: usize) -> usize {
  4 + 8 + 4 + name_len + pad4(name_len) + 8
}

/// Big-endian XDR into a growing byte vector.
pub struct Xdr(pub Vec<u8>);

impl Xdr {
  fn u32(&mut self, v: u32) -> &mut Self {
    self.0.extend_from_slice(&v.to_be_bytes());
    self
  }
  fn u64(&mut self, v: u64) -> &mut Self {
    self.0.extend_from_slice(&v.to_be_bytes());
    self
  }
  fn opaque(&mut self, b: &[u8]) -> &mut Self {
    self.u32(b.len() as u32);
    self.0.extend_from_slice(b);
    self.0.extend_from_slice(&[0u8; 3][..pad4(b.len())]);
    self
  }
  fn time(&mut self, t: (i64, u32)) -> &mut Self {
    self.u32(t.0.clamp(0, u32::MAX as i64) as u32).u32(t.1)
  }
  /// fattr3 (RFC 1813 §2.6), 84 bytes; the same fields as `Out::attrs` and
  /// the TypeScript encodeFattr.
  pub fn fattr3(&mut self, st: &St, fsid: u64) -> &mut Self {
    let ftype = match st.mode & libc::S_IFMT {
      libc::S_IFDIR => 2,
      libc::S_IFBLK => 3,
      libc::S_IFCHR => 4,
      libc::S_IFLNK => 5,
      libc::S_IFSOCK => 6,
      libc::S_IFIFO => 7,
      _ => 1,
    };
    let (maj, min) = (libc::major(st.rdev), libc::minor(st.rdev));
    self.u32(ftype).u32(st.mode & 0o7777).u32(st.nlink.min(u32::MAX as u64) as u32).u32(st.uid).u32(st.gid);
    self.u64(st.size).u64(st.blocks.saturating_mul(512)).u32(maj).u32(min).u64(fsid).u64(st.ino);
    self.time(st.atime).time(st.mtime).time(st.ctime)
  }
  fn post_op_attr(&mut self, st: Option<&St>, fsid: u64) -> &mut Self {
    match st {
      Some(st) => self.u32(1).fattr3(st, fsid),
      None => self.u32(0),
    }
  }
}

impl Export {
  /// The attributes and backend handle of one directory entry for
  /// READDIRPLUS, or None when it cannot be had (vanished meanwhile, or a
  /// mount point: another filesystem is not served, see `lookup`).
  fn plus_of(&self, d: &super::Obj, dh: &[u8], at_root: bool, name: &CStr) -> Option<(Vec<u8>, St)> {
    let raw = d.fd.as_raw_fd();
    match name.to_bytes() {
      b"." => fstat(raw).ok().map(|st| (dh.to_vec(), st)),
      b".." if at_root => fstat(raw).ok().map(|st| (self.root_handle.clone(), st)),
      _ => {
        let st = super::stat_entry(raw, name).ok()??;
        let h = self.handle_at_c(raw, name).ok()?;
        Some((h, st))
      }
    }
  }

  /// A complete `READDIR3res` (`plus` false) or `READDIRPLUS3res` as XDR:
  /// NFS3_OK with its resok, or NFS3ERR_TOOSMALL with the directory's
  /// attributes. Other failures are errors (ENOTDIR, EBADCOOKIE, ESTALE…).
  /// Cookies and the verifier are those of [`Export::readdir`].
  pub fn readdir_xdr(&self, cred: &Cred, dh: &[u8], a: &DirArgs, fh: &WireHandles) -> OsResult<Vec<u8>> {
    self.readdir_page(cred, dh, a, fh).map(|p| p.0)
  }

  /// As [`Export::readdir_xdr`], with the cookie the next page resumes
  /// after (the last entry's; the request's cookie when none was sent).
  pub fn readdir_page(&self, cred: &Cred, dh: &[u8], a: &DirArgs, fh: &WireHandles) -> OsResult<(Vec<u8>, u64)> {
    let d = self.dir(dh)?;
    let myverf = self.cookie_verifier(dh);
    if a.cookie != 0 && !Self::resumes(a.verf, &myverf) {
      return Err(OsError::new(EBADCOOKIE, "cookie verifier does not match"));
    }
    let maxcount = (a.maxcount as usize).min(MAX_REPLY);
    let room = maxcount.saturating_sub(OVERHEAD);
    let dir_room = if a.plus && a.dircount > 0 { a.dircount as usize } else { room };
    let too_small = if a.plus { room < MIN_PLUS_ROOM } else { room < entry3_size(1) };
    if too_small {
      return Ok((self.too_small(&d), a.cookie));
    }
    let at_root = self.is_root(&d);
    let mut ents = Xdr(Vec::with_capacity(room.min(256 * 1024)));
    let (mut used, mut dir_used, mut count) = (0usize, 0usize, 0usize);
    let mut eof = false;
    let mut nothing_fit = false;
    let mut resume = a.cookie;
    let mut keep: Option<(OwnedFd, Vec<u8>)> = None;
    {
      let _c = AsCaller::enter(cred)?;
      let (fd, pending) = match (a.cookie != 0).then(|| self.streams.take(dh, cred, a.cookie)).flatten() {
        Some(s) => (s.fd, s.pending),
        None => {
          let fd = super::open_at(d.fd.as_raw_fd(), c".", libc::O_RDONLY | libc::O_DIRECTORY, 0)?;
          if a.cookie != 0 && unsafe { libc::lseek(fd.as_raw_fd(), a.cookie as i64, libc::SEEK_SET) } < 0 {
            return Err(OsError::new(EBADCOOKIE, "cookie out of range"));
          }
          (fd, Vec::new())
        }
      };
      let raw = fd.as_raw_fd();
      // getdents64 fills the whole buffer: size it to about what fits. The
      // records of the stream's last page that were not sent come first.
      let mut buf = pending;
      let mut n = buf.len();
      let cap = (room / 2).clamp(4096, 64 * 1024).max(n);
      buf.resize(cap, 0);
      let mut pos = 0usize;
      loop {
        if pos >= n {
          // SAFETY: getdents64 fills at most buf.len() bytes.
          let got = unsafe { libc::syscall(libc::SYS_getdents64, raw, buf.as_mut_ptr(), buf.len()) };
          if got < 0 {
            return Err(OsError::last("getdents64"));
          }
          if got == 0 {
            eof = true;
            break;
          }
          (n, pos) = (got as usize, 0);
        }
        let start = pos;
        let rec = &buf[pos..n];
        let ino = u64::from_ne_bytes(rec[0..8].try_into().unwrap());
        let off = u64::from_ne_bytes(rec[8..16].try_into().unwrap());
        let reclen = u16::from_ne_bytes(rec[16..18].try_into().unwrap()) as usize;
        let name_field = &rec[19..reclen];
        let name_len = name_field.iter().position(|&b| b == 0).unwrap_or(name_field.len());
        // SAFETY: getdents64 NUL-terminates d_name inside the record.
        let cname = unsafe { CStr::from_bytes_with_nul_unchecked(&name_field[..=name_len]) };
        let name = cname.to_bytes();
        let stop_here = |buf: &Vec<u8>| Some(buf[start..n].to_vec());
        if count == MAX_ENTRIES {
          keep = stop_here(&buf).map(|p| (fd, p));
          break; // more follow: not eof
        }
        let fileid = if name == b".." && at_root { self.root_ino } else { ino };
        let dsize = entry3_size(name.len());
        if count > 0 && dir_used + dsize > dir_room {
          keep = stop_here(&buf).map(|p| (fd, p));
          break;
        }
        let (size, plus) = if a.plus {
          let p = self.plus_of(&d, dh, at_root, cname).map(|(h, st)| (fh.encode(&h), st));
          let extra = 4 + 4 + p.as_ref().map_or(0, |(w, _)| 84 + 4 + w.len() + pad4(w.len()));
          (dsize + extra, p)
        } else {
          (dsize, None)
        };
        if used + size > room {
          nothing_fit = count == 0;
          keep = stop_here(&buf).map(|p| (fd, p));
          break;
        }
        used += size;
        dir_used += dsize;
        count += 1;
        resume = off;
        ents.u32(1).u64(fileid).opaque(name).u64(off);
        if a.plus {
          match &plus {
            Some((w, st)) => {
              ents.u32(1).fattr3(st, self.fsid).u32(1).opaque(w);
            }
            None => {
              ents.u32(0).u32(0);
            }
          }
        }
        pos += reclen;
      }
    }
    if let Some((fd, pending)) = keep {
      if !nothing_fit {
        self.streams.put(DirStream { dir: dh.to_vec(), cred: cred.clone(), resume, fd, pending, at: Instant::now() });
      }
    }
    if nothing_fit {
      return Ok((self.too_small(&d), a.cookie));
    }
    let dst = fstat(d.fd.as_raw_fd()).ok();
    let mut out = Xdr(Vec::with_capacity(OVERHEAD + ents.0.len()));
    out.u32(NFS3_OK).post_op_attr(dst.as_ref(), self.fsid);
    out.0.extend_from_slice(&myverf);
    out.0.extend_from_slice(&ents.0);
    out.u32(0).u32(eof as u32);
    Ok((out.0, resume))
  }

  fn too_small(&self, d: &super::Obj) -> Vec<u8> {
    debug_assert!(d.kind == Kind::Dir);
    let dst = fstat(d.fd.as_raw_fd()).ok();
    let mut out = Xdr(Vec::with_capacity(92));
    out.u32(NFS3ERR_TOOSMALL).post_op_attr(dst.as_ref(), self.fsid);
    out.0
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn wire_handles_match_the_typescript_codec() {
    // HMAC-SHA256("0123456789abcdef0123456789abcdef", 01 03 00000007 ‖ "abc"),
    // first 8 bytes, as node:crypto computes it (HandleCodec).
    let w = WireHandles::new(7, b"0123456789abcdef0123456789abcdef");
    let fh = w.encode(b"abc");
    assert_eq!(&fh[..6], &[1, 3, 0, 0, 0, 7]);
    assert_eq!(&fh[6..14], &[0xd6, 0xa8, 0x27, 0x8e, 0x19, 0x94, 0xe2, 0x22]);
    assert_eq!(&fh[14..], b"abc");
  }

  #[test]
  fn pages_resume_on_kept_streams_and_list_every_name_once() {
    if unsafe { libc::geteuid() } != 0 {
      return; // open_by_handle_at needs CAP_DAC_READ_SEARCH
    }
    let dir = tempfile::tempdir().unwrap();
    for i in 0..500 {
      std::fs::write(dir.path().join(format!("entry-{i}")), b"").unwrap();
    }
    let ex = Export::open(dir.path().to_str().unwrap(), 64).unwrap();
    let root = ex.root_handle().to_vec();
    let wire = WireHandles::new(1, b"0123456789abcdef");
    let cred = Cred::root();
    let (mut cookie, mut verf, mut names, mut pages) = (0u64, vec![0u8; 8], std::collections::HashSet::new(), 0);
    loop {
      let x = ex.readdir_xdr(&cred, &root, &DirArgs { cookie, verf: &verf, dircount: 0, maxcount: 2048, plus: true }, &wire).unwrap();
      pages += 1;
      assert_eq!(u32::from_be_bytes(x[0..4].try_into().unwrap()), NFS3_OK);
      // status, post_op_attr (TRUE + 84), verifier, then entries.
      let mut at = 4 + 4 + 84;
      verf = x[at..at + 8].to_vec();
      at += 8;
      let rd = |at: &mut usize, n: usize| {
        let v = &x[*at..*at + n];
        *at += n;
        v.to_vec()
      };
      while rd(&mut at, 4) == [0, 0, 0, 1] {
        rd(&mut at, 8);
        let len = u32::from_be_bytes(rd(&mut at, 4).try_into().unwrap()) as usize;
        let name = rd(&mut at, len + pad4(len));
        assert!(names.insert(name[..len].to_vec()), "every name once");
        cookie = u64::from_be_bytes(rd(&mut at, 8).try_into().unwrap());
        if rd(&mut at, 4) == [0, 0, 0, 1] {
          rd(&mut at, 84);
        }
        if rd(&mut at, 4) == [0, 0, 0, 1] {
          let l = u32::from_be_bytes(rd(&mut at, 4).try_into().unwrap()) as usize;
          rd(&mut at, l + pad4(l));
        }
      }
      if rd(&mut at, 4) == [0, 0, 0, 1] {
        break;
      }
      assert_eq!(ex.streams.len(), 1, "the page's stream is kept for the next");
    }
    assert_eq!(names.len(), 502);
    assert!(pages > 10);
    assert_eq!(ex.streams.len(), 0, "no stream kept after eof");
    // A cookie of an earlier page still works (fresh stream, seek).
    let again = ex.readdir_xdr(&cred, &root, &DirArgs { cookie, verf: &verf, dircount: 0, maxcount: 2048, plus: false }, &wire).unwrap();
    assert_eq!(u32::from_be_bytes(again[0..4].try_into().unwrap()), NFS3_OK);
  }

  #[test]
  fn entry_sizes_are_xdr_sizes() {
    assert_eq!(entry3_size(1), 28);
    assert_eq!(entry3_size(4), 28);
    assert_eq!(entry3_size(5), 32);
    let mut x = Xdr(Vec::new());
    x.u32(1).u64(7).opaque(b"hello").u64(9);
    assert_eq!(x.0.len(), entry3_size(5));
  }
}
