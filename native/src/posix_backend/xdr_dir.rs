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
use std::os::fd::AsRawFd;

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
        let st = super::stat_at(raw, name).ok()?;
        if st.dev != self.root.dev {
          return None;
        }
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
    let d = self.dir(dh)?;
    let myverf = self.cookie_verifier(dh);
    if a.cookie != 0 && a.verf != myverf {
      return Err(OsError::new(EBADCOOKIE, "cookie verifier does not match"));
    }
    let maxcount = (a.maxcount as usize).min(MAX_REPLY);
    let room = maxcount.saturating_sub(OVERHEAD);
    let dir_room = if a.plus && a.dircount > 0 { a.dircount as usize } else { room };
    let too_small = if a.plus { room < MIN_PLUS_ROOM } else { room < entry3_size(1) };
    if too_small {
      return Ok(self.too_small(&d));
    }
    let at_root = self.is_root(&d);
    let mut ents = Xdr(Vec::with_capacity(room.min(256 * 1024)));
    let (mut used, mut dir_used, mut count) = (0usize, 0usize, 0usize);
    let mut eof = false;
    let mut nothing_fit = false;
    {
      let _c = AsCaller::enter(cred)?;
      let fd = super::open_at(d.fd.as_raw_fd(), c".", libc::O_RDONLY | libc::O_DIRECTORY, 0)?;
      let raw = fd.as_raw_fd();
      if a.cookie != 0 && unsafe { libc::lseek(raw, a.cookie as i64, libc::SEEK_SET) } < 0 {
        return Err(OsError::new(EBADCOOKIE, "cookie out of range"));
      }
      // getdents64 fills the whole buffer: size it to about what fits.
      let mut buf = vec![0u8; (room / 2).clamp(4096, 64 * 1024)];
      'outer: loop {
        // SAFETY: getdents64 fills at most buf.len() bytes.
        let n = unsafe { libc::syscall(libc::SYS_getdents64, raw, buf.as_mut_ptr(), buf.len()) };
        if n < 0 {
          return Err(OsError::last("getdents64"));
        }
        if n == 0 {
          eof = true;
          break;
        }
        let (n, mut pos) = (n as usize, 0usize);
        while pos < n {
          if count == MAX_ENTRIES {
            break 'outer; // more follow: not eof
          }
          let rec = &buf[pos..n];
          let ino = u64::from_ne_bytes(rec[0..8].try_into().unwrap());
          let off = u64::from_ne_bytes(rec[8..16].try_into().unwrap());
          let reclen = u16::from_ne_bytes(rec[16..18].try_into().unwrap()) as usize;
          let name_field = &rec[19..reclen];
          let name_len = name_field.iter().position(|&b| b == 0).unwrap_or(name_field.len());
          pos += reclen;
          // SAFETY: getdents64 NUL-terminates d_name inside the record.
          let cname = unsafe { CStr::from_bytes_with_nul_unchecked(&name_field[..=name_len]) };
          let name = cname.to_bytes();
          let fileid = if name == b".." && at_root { self.root.ino } else { ino };
          let dsize = entry3_size(name.len());
          if count > 0 && dir_used + dsize > dir_room {
            break 'outer;
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
            break 'outer;
          }
          used += size;
          dir_used += dsize;
          count += 1;
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
        }
      }
    }
    if nothing_fit {
      return Ok(self.too_small(&d));
    }
    let dst = fstat(d.fd.as_raw_fd()).ok();
    let mut out = Xdr(Vec::with_capacity(OVERHEAD + ents.0.len()));
    out.u32(NFS3_OK).post_op_attr(dst.as_ref(), self.fsid);
    out.0.extend_from_slice(&myverf);
    out.0.extend_from_slice(&ents.0);
    out.u32(0).u32(eof as u32);
    Ok(out.0)
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
  fn entry_sizes_are_xdr_sizes() {
    assert_eq!(entry3_size(1), 28);
    assert_eq!(entry3_size(4), 28);
    assert_eq!(entry3_size(5), 32);
    let mut x = Xdr(Vec::new());
    x.u32(1).u64(7).opaque(b"hello").u64(9);
    assert_eq!(x.0.len(), entry3_size(5));
  }
}
