//! Errors that cross into JavaScript carry the errno name as `err.code`
//! (`ENOENT`, `ESTALE`, …) so the TypeScript side maps them in one table.

use napi::bindgen_prelude::{FromNapiValue, ToNapiValue, Unknown};
use napi::{Env, Error, Result};

/// An OS error as the native core reports it: the errno and what was being done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OsError {
  pub errno: i32,
  pub context: String,
}

impl OsError {
  /// The calling thread's current `errno`, with a description of the failed call.
  pub fn last(context: impl Into<String>) -> Self {
    let errno = std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::EIO);
    OsError { errno, context: context.into() }
  }

  pub fn new(errno: i32, context: impl Into<String>) -> Self {
    OsError { errno, context: context.into() }
  }

  pub fn code(&self) -> &'static str {
    errno_name(self.errno)
  }

  pub fn message(&self) -> String {
    let text = match self.errno {
      EBADHANDLE => "Illegal NFS file handle".to_string(),
      ENOT_SYNC => "Update synchronization mismatch".to_string(),
      EBADCOOKIE => "READDIR cookie is stale".to_string(),
      EBADTYPE => "Unsupported object type".to_string(),
      _ => std::io::Error::from_raw_os_error(self.errno).to_string(),
    };
    // io::Error's text ends with " (os error N)"; keep only the sentence.
    let text = text.split(" (os error").next().unwrap_or("").to_string();
    format!("{}: {}, {}", self.code(), text, self.context)
  }

  /// A rejected promise / thrown error whose `code` is the errno name.
  /// Must run on the JS thread (it creates a JS object).
  pub fn into_js(self, env: &Env) -> Error {
    let raw = Error::new(self.code().to_string(), self.message());
    // SAFETY: we are on the JS thread that owns `env`; the value is used at once.
    unsafe {
      match <Error<String> as ToNapiValue>::to_napi_value(env.raw(), raw) {
        Ok(value) => match Unknown::from_napi_value(env.raw(), value) {
          Ok(unknown) => Error::from(unknown),
          Err(e) => e,
        },
        Err(e) => e,
      }
    }
  }
}

/// Pseudo-errnos for NFS conditions with no errno of their own; their
/// names are the codes the Backend contract (backend.ts rule 3) uses.
pub const EBADHANDLE: i32 = 10001;
pub const ENOT_SYNC: i32 = 10002;
pub const EBADCOOKIE: i32 = 10003;
pub const EBADTYPE: i32 = 10007;

pub type OsResult<T> = std::result::Result<T, OsError>;

/// Turns the outcome of a native computation into the JS result.
pub fn to_js<T>(env: &Env, r: OsResult<T>) -> Result<T> {
  r.map_err(|e| e.into_js(env))
}

/// The symbolic name of an errno, as POSIX and Node spell it.
pub fn errno_name(errno: i32) -> &'static str {
  match errno {
    libc::EPERM => "EPERM",
    libc::ENOENT => "ENOENT",
    libc::ESRCH => "ESRCH",
    libc::EINTR => "EINTR",
    libc::EIO => "EIO",
    libc::ENXIO => "ENXIO",
    libc::E2BIG => "E2BIG",
    libc::EBADF => "EBADF",
    libc::EAGAIN => "EAGAIN",
    libc::ENOMEM => "ENOMEM",
    libc::EACCES => "EACCES",
    libc::EFAULT => "EFAULT",
    libc::EBUSY => "EBUSY",
    libc::EEXIST => "EEXIST",
    libc::EXDEV => "EXDEV",
    libc::ENODEV => "ENODEV",
    libc::ENOTDIR => "ENOTDIR",
    libc::EISDIR => "EISDIR",
    libc::EINVAL => "EINVAL",
    libc::ENFILE => "ENFILE",
    libc::EMFILE => "EMFILE",
    libc::ETXTBSY => "ETXTBSY",
    libc::EFBIG => "EFBIG",
    libc::ENOSPC => "ENOSPC",
    libc::ESPIPE => "ESPIPE",
    libc::EROFS => "EROFS",
    libc::EMLINK => "EMLINK",
    libc::EPIPE => "EPIPE",
    libc::ERANGE => "ERANGE",
    libc::EDEADLK => "EDEADLK",
    libc::ENAMETOOLONG => "ENAMETOOLONG",
    libc::ENOLCK => "ENOLCK",
    libc::ENOSYS => "ENOSYS",
    libc::ENOTEMPTY => "ENOTEMPTY",
    libc::ELOOP => "ELOOP",
    libc::ENODATA => "ENODATA",
    libc::EOVERFLOW => "EOVERFLOW",
    libc::ENOTSOCK => "ENOTSOCK",
    libc::EOPNOTSUPP => "EOPNOTSUPP",
    libc::EADDRINUSE => "EADDRINUSE",
    libc::ECONNREFUSED => "ECONNREFUSED",
    libc::ENOTCONN => "ENOTCONN",
    libc::ETIMEDOUT => "ETIMEDOUT",
    libc::ESTALE => "ESTALE",
    libc::EDQUOT => "EDQUOT",
    libc::ECANCELED => "ECANCELED",
    EBADHANDLE => "EBADHANDLE",
    ENOT_SYNC => "ENOT_SYNC",
    EBADCOOKIE => "EBADCOOKIE",
    EBADTYPE => "EBADTYPE",
    _ => "EUNKNOWN",
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn names_common_errnos() {
    assert_eq!(errno_name(libc::ENOENT), "ENOENT");
    assert_eq!(errno_name(libc::ESTALE), "ESTALE");
    assert_eq!(errno_name(-1), "EUNKNOWN");
  }

  #[test]
  fn message_names_code_and_context() {
    let e = OsError::new(libc::ENOENT, "open /x");
    assert_eq!(e.code(), "ENOENT");
    assert!(e.message().starts_with("ENOENT: No such file or directory, open /x"), "{}", e.message());
  }
}
