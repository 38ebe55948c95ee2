//! POSIX file handles: the seed of the posix NFS backend.
//!
//! `name_to_handle_at(2)` turns a path into an opaque, persistent kernel
//! file handle; `open_by_handle_at(2)` opens the same inode again later —
//! across renames and process restarts — given any fd on the same
//! filesystem (the root fd). Opening by handle needs CAP_DAC_READ_SEARCH.
//!
//! Wire form of a handle (what JS sees): `handle_type` as u32 little-endian,
//! then the kernel's `f_handle` bytes.

use crate::errno::{OsError, OsResult};
use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// Largest handle the kernel hands out (MAX_HANDLE_SZ in linux/exportfs.h).
pub const MAX_HANDLE_SZ: usize = 128;

#[repr(C)]
struct KernelFileHandle {
  handle_bytes: u32,
  handle_type: i32,
  f_handle: [u8; MAX_HANDLE_SZ],
}

pub use crate::stat::Stat as StatInfo;

fn cpath(path: &str) -> OsResult<CString> {
  CString::new(path).map_err(|_| OsError::new(libc::EINVAL, format!("path {path:?} contains a NUL byte")))
}

/// Opens a directory to serve as the root (and mount fd) of handle operations.
/// Not `O_PATH`: `open_by_handle_at` refuses such a mount fd with EBADF.
pub fn open_root(path: &str) -> OsResult<OwnedFd> {
  let c = cpath(path)?;
  // SAFETY: c is a valid NUL-terminated string.
  let fd = unsafe { libc::open(c.as_ptr(), libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC) };
  if fd < 0 {
    return Err(OsError::last(format!("open {path}")));
  }
  // SAFETY: fd was just returned by open and is owned by nobody else.
  Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// The handle of `rel` (relative to `dirfd`; "" means `dirfd` itself).
/// Symlinks are not followed: the handle names the link.
pub fn name_to_handle(dirfd: RawFd, rel: &str) -> OsResult<Vec<u8>> {
  name_to_handle_c(dirfd, &cpath(rel)?)
}

/// As [`name_to_handle`], for a path of any bytes.
pub fn name_to_handle_c(dirfd: RawFd, c: &std::ffi::CStr) -> OsResult<Vec<u8>> {
  let mut fh = KernelFileHandle { handle_bytes: MAX_HANDLE_SZ as u32, handle_type: 0, f_handle: [0; MAX_HANDLE_SZ] };
  let mut mount_id: libc::c_int = 0;
  let flags = if c.to_bytes().is_empty() { libc::AT_EMPTY_PATH } else { 0 };
  // SAFETY: fh is large enough for MAX_HANDLE_SZ bytes, as handle_bytes says.
  let rc = unsafe {
    libc::syscall(libc::SYS_name_to_handle_at, dirfd, c.as_ptr(), &mut fh as *mut KernelFileHandle, &mut mount_id, flags)
  };
  if rc < 0 {
    return Err(OsError::last(format!("name_to_handle_at {}", c.to_string_lossy())));
  }
  let n = fh.handle_bytes as usize;
  let mut out = Vec::with_capacity(4 + n);
  out.extend_from_slice(&(fh.handle_type as u32).to_le_bytes());
  out.extend_from_slice(&fh.f_handle[..n]);
  Ok(out)
}

/// Opens the inode named by `handle` (wire form) on the filesystem of `mount_fd`.
pub fn open_by_handle(mount_fd: RawFd, handle: &[u8], flags: i32) -> OsResult<OwnedFd> {
  if handle.len() < 4 || handle.len() > 4 + MAX_HANDLE_SZ {
    return Err(OsError::new(libc::EINVAL, format!("file handle of {} bytes", handle.len())));
  }
  let n = handle.len() - 4;
  let mut fh = KernelFileHandle {
    handle_bytes: n as u32,
    handle_type: u32::from_le_bytes([handle[0], handle[1], handle[2], handle[3]]) as i32,
    f_handle: [0; MAX_HANDLE_SZ],
  };
  fh.f_handle[..n].copy_from_slice(&handle[4..]);
  // A handle of an inode that was just unlinked and is being evicted can
  // answer ENOMEM for a moment instead of ESTALE (seen in about 1 of 10
  // runs of the remove/rename tests on ext4): retry briefly, so the caller
  // gets the lasting answer (ESTALE) and not a transient one.
  let mut attempt = 0;
  let fd = loop {
    // SAFETY: fh is a properly initialised file_handle of n bytes.
    let fd = unsafe { libc::syscall(libc::SYS_open_by_handle_at, mount_fd, &mut fh as *mut KernelFileHandle, flags | libc::O_CLOEXEC) };
    if fd >= 0 {
      break fd;
    }
    let err = OsError::last("open_by_handle_at");
    if err.errno != libc::ENOMEM || attempt == 5 {
      return Err(err);
    }
    attempt += 1;
    std::thread::sleep(std::time::Duration::from_micros(200 << attempt));
  };
  // SAFETY: the kernel returned a new fd that we now own.
  Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

pub fn fstat(fd: &OwnedFd) -> OsResult<StatInfo> {
  // SAFETY: st is plain data filled by fstat.
  let mut st: libc::stat = unsafe { std::mem::zeroed() };
  if unsafe { libc::fstat(fd.as_raw_fd(), &mut st) } < 0 {
    return Err(OsError::last("fstat"));
  }
  Ok(StatInfo::from(&st))
}

/// `open_by_handle_at(O_PATH)` + `fstat`: the attributes of a handle's inode.
pub fn stat_by_handle(mount_fd: RawFd, handle: &[u8]) -> OsResult<StatInfo> {
  let fd = open_by_handle(mount_fd, handle, libc::O_PATH)?;
  fstat(&fd)
}

#[cfg(test)]
mod tests {
  use super::*;
  use std::io::Write;

  fn is_root() -> bool {
    unsafe { libc::geteuid() == 0 }
  }

  #[test]
  fn handle_round_trip_survives_rename() {
    let dir = tempfile::tempdir().unwrap();
    let mut f = std::fs::File::create(dir.path().join("a.txt")).unwrap();
    f.write_all(b"hello").unwrap();
    let root = open_root(dir.path().to_str().unwrap()).unwrap();
    let h = name_to_handle(root.as_raw_fd(), "a.txt").unwrap();
    assert!(h.len() > 4);
    std::fs::rename(dir.path().join("a.txt"), dir.path().join("b.txt")).unwrap();
    if !is_root() {
      return; // open_by_handle_at needs CAP_DAC_READ_SEARCH
    }
    let st = stat_by_handle(root.as_raw_fd(), &h).unwrap();
    assert_eq!(st.size, 5);
    assert_eq!(st.mode & libc::S_IFMT, libc::S_IFREG);
    let root_handle = name_to_handle(root.as_raw_fd(), "").unwrap();
    let root_st = stat_by_handle(root.as_raw_fd(), &root_handle).unwrap();
    assert_eq!(root_st.mode & libc::S_IFMT, libc::S_IFDIR);
  }

  #[test]
  fn deleted_file_is_stale() {
    if !is_root() {
      return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("gone"), b"x").unwrap();
    let root = open_root(dir.path().to_str().unwrap()).unwrap();
    let h = name_to_handle(root.as_raw_fd(), "gone").unwrap();
    std::fs::remove_file(dir.path().join("gone")).unwrap();
    assert_eq!(stat_by_handle(root.as_raw_fd(), &h).unwrap_err().code(), "ESTALE");
  }

  #[test]
  fn bad_handles_and_paths_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let root = open_root(dir.path().to_str().unwrap()).unwrap();
    assert_eq!(open_by_handle(root.as_raw_fd(), &[1, 2], 0).unwrap_err().code(), "EINVAL");
    assert_eq!(name_to_handle(root.as_raw_fd(), "missing").unwrap_err().code(), "ENOENT");
    assert_eq!(open_root("/nonexistent/cairn").unwrap_err().code(), "ENOENT");
    assert_eq!(name_to_handle(root.as_raw_fd(), "a\0b").unwrap_err().code(), "EINVAL");
  }
}
