//! What `stat` says of an inode, in the units NFS needs: one type for every
//! backend (posix, gfapi) and the handle seed.

/// Attributes of an inode; times are (seconds, nanoseconds) as nfstime3.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stat {
  pub dev: u64,
  pub ino: u64,
  pub mode: u32,
  pub nlink: u64,
  pub uid: u32,
  pub gid: u32,
  pub rdev: u64,
  pub size: u64,
  /// 512-byte blocks allocated.
  pub blocks: u64,
  pub atime: (i64, u32),
  pub mtime: (i64, u32),
  pub ctime: (i64, u32),
}

impl Stat {
  pub fn is_dir(&self) -> bool {
    self.mode & libc::S_IFMT == libc::S_IFDIR
  }
  pub fn is_reg(&self) -> bool {
    self.mode & libc::S_IFMT == libc::S_IFREG
  }
  pub fn is_lnk(&self) -> bool {
    self.mode & libc::S_IFMT == libc::S_IFLNK
  }
}

impl From<&libc::stat> for Stat {
  fn from(s: &libc::stat) -> Self {
    Stat {
      dev: s.st_dev,
      ino: s.st_ino,
      mode: s.st_mode,
      nlink: s.st_nlink,
      uid: s.st_uid,
      gid: s.st_gid,
      rdev: s.st_rdev,
      size: s.st_size as u64,
      blocks: s.st_blocks as u64,
      atime: (s.st_atime, s.st_atime_nsec as u32),
      mtime: (s.st_mtime, s.st_mtime_nsec as u32),
      ctime: (s.st_ctime, s.st_ctime_nsec as u32),
    }
  }
}

impl From<&libc::statx> for Stat {
  fn from(s: &libc::statx) -> Self {
    Stat {
      dev: libc::makedev(s.stx_dev_major, s.stx_dev_minor),
      ino: s.stx_ino,
      mode: s.stx_mode as u32,
      nlink: s.stx_nlink as u64,
      uid: s.stx_uid,
      gid: s.stx_gid,
      rdev: libc::makedev(s.stx_rdev_major, s.stx_rdev_minor),
      size: s.stx_size,
      blocks: s.stx_blocks,
      atime: (s.stx_atime.tv_sec, s.stx_atime.tv_nsec),
      mtime: (s.stx_mtime.tv_sec, s.stx_mtime.tv_nsec),
      ctime: (s.stx_ctime.tv_sec, s.stx_ctime.tv_nsec),
    }
  }
}
