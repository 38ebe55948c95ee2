//! Cairn's native module: exports only. The pure cores live in their own
//! modules (`posix`, `sd_notify`) and are unit-tested in Rust; the exports
//! wrap them as Node-API functions and async tasks.

#![deny(clippy::all)]

pub mod backend_task;
pub mod creds;
pub mod dirty;
pub mod errno;
pub mod fd_cache;
pub mod gfapi;
pub mod gfapi_stats;
pub mod gfapi_task;
pub mod handle_task;
pub mod posix;
pub mod posix_backend;
pub mod sd_notify;
pub mod stat;
pub mod write_queue;

use backend_task::OpenExportTask;
use handle_task::OpenRootTask;
use napi::bindgen_prelude::AsyncTask;
use napi::{Env, Result};
use napi_derive::napi;

/// Sends `state` (e.g. "READY=1\nSTATUS=serving") to systemd over
/// `$NOTIFY_SOCKET` (path or abstract socket). Returns false, and does
/// nothing, when `$NOTIFY_SOCKET` is unset. Never blocks: one non-blocking
/// datagram on a local socket, so it runs on the calling thread.
#[napi]
pub fn sd_notify(env: Env, state: String) -> Result<bool> {
  errno::to_js(&env, sd_notify::notify(&state))
}

/// Opens `path` (a directory) as the root for file-handle operations.
#[napi(ts_return_type = "Promise<PosixRoot>")]
pub fn open_posix_root(path: String) -> AsyncTask<OpenRootTask> {
  AsyncTask::new(OpenRootTask { path, out: None })
}

/// Opens `path` (a directory) as an export of the posix NFS backend, with an
/// fd cache of at most `fdCacheSize` open objects (default 4096).
#[napi(ts_return_type = "Promise<PosixExport>")]
pub fn open_posix_export(path: String, fd_cache_size: Option<u32>) -> AsyncTask<OpenExportTask> {
  AsyncTask::new(OpenExportTask { path, cache_size: fd_cache_size.unwrap_or(4096) as usize, out: None })
}

// ---- gfapi (Gluster volumes through libgfapi; see gfapi.rs, gfapi_task.rs) ----
pub use gfapi_task::{gfapi_stats, open_gfapi_volume, GfapiVolume};

/// Keeps freed I/O-sized blocks in the malloc heap for reuse: glibc would
/// otherwise hand each 1 MiB READ/WRITE buffer back to the kernel (mmap
/// threshold, heap trimming) and fault fresh zeroed pages in for the next
/// one. Process-wide; for the NFS server (measured: about a third less CPU
/// per GiB read). Returns whether glibc took both settings.
#[napi]
pub fn tune_malloc_for_io() -> bool {
  // SAFETY: mallopt only changes allocator parameters.
  unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, 8 << 20) == 1 && libc::mallopt(libc::M_TRIM_THRESHOLD, 256 << 20) == 1 }
}
