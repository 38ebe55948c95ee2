use std::process::Command;

fn main() {
  napi_build::setup();
  // libgfapi (Debian libglusterfs-dev): link what pkg-config says, or -lgfapi.
  let libs = Command::new("pkg-config").args(["--libs", "glusterfs-api"]).output();
  match libs {
    Ok(out) if out.status.success() => {
      for flag in String::from_utf8_lossy(&out.stdout).split_whitespace() {
        if let Some(dir) = flag.strip_prefix("-L") {
          println!("cargo:rustc-link-search=native={dir}");
        } else if let Some(lib) = flag.strip_prefix("-l") {
          println!("cargo:rustc-link-lib={lib}");
        }
      }
    }
    _ => println!("cargo:rustc-link-lib=gfapi"),
  }
  println!("cargo:rerun-if-changed=build.rs");
}
