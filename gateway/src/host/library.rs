//! Opening one plugin file and checking its ABI handshake.
//!
//! A file is copied to a unique path first (so the dynamic loader never hands
//! back an earlier copy, and the operator can overwrite the original while the
//! old version still runs), opened with `RTLD_NOW | RTLD_LOCAL`, and asked for
//! its descriptor. Anything wrong becomes a [`Refusal`] naming the file and the
//! reason; the library is then never closed (see DESIGN: no `dlclose`).

use std::ffi::CStr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use flexcore_abi::ffi::{self, EntryFn, FlexcorePlugin};
use libloading::os::unix::{Library, RTLD_LOCAL, RTLD_NOW};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// A file the host would not load, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Refusal {
    pub file: PathBuf,
    pub reason: String,
}

/// What a plugin's descriptor says, copied out of the library.
#[derive(Debug, Clone)]
pub(super) struct Descriptor {
    pub name: String,
    pub version: String,
    pub description: String,
    pub abi: (u16, u16),
    pub flags: u64,
    pub init: Option<unsafe extern "C" fn(*const ffi::FlexcoreHost, *mut *mut std::ffi::c_void) -> ffi::RawStatus>,
    pub invoke: unsafe extern "C" fn(
        *mut std::ffi::c_void,
        *const ffi::FlexcoreRequest,
        *mut ffi::FlexcoreResponse,
    ) -> ffi::RawStatus,
    pub free_response: unsafe extern "C" fn(*mut std::ffi::c_void, *mut ffi::FlexcoreResponse),
    pub shutdown: Option<unsafe extern "C" fn(*mut std::ffi::c_void)>,
}

/// An opened library whose handshake succeeded, not yet initialised.
pub(super) struct Opened {
    pub descriptor: Descriptor,
    pub file: PathBuf,
    pub sha256: String,
    /// Never dropped: dropping would `dlclose`. `None` for a linked plugin.
    pub library: Option<std::mem::ManuallyDrop<Library>>,
}

/// The SHA-256 of a file's contents, in hex.
pub(super) fn file_hash(path: &Path) -> std::io::Result<String> {
    let bytes = std::fs::read(path)?;
    Ok(hex(&Sha256::digest(&bytes)))
}

/// Opens `file` (whose contents hash to `sha256`) through a private copy in
/// `scratch_dir`, and checks its handshake.
pub(super) fn open(file: &Path, sha256: &str, scratch_dir: &Path) -> Result<Opened, Refusal> {
    let refuse = |reason: String| Refusal {
        file: file.to_path_buf(),
        reason,
    };
    static COPIES: AtomicU64 = AtomicU64::new(0);
    let copy = scratch_dir.join(format!(
        "{}-{}-{}.so",
        std::process::id(),
        &sha256[..16],
        COPIES.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(scratch_dir)
        .map_err(|e| refuse(format!("cannot create {}: {e}", scratch_dir.display())))?;
    std::fs::copy(file, &copy).map_err(|e| refuse(format!("cannot copy to {}: {e}", copy.display())))?;
    // SAFETY: opening a library runs its initialisers. Plugins are code the
    // operator placed in the plugin folder, trusted by design, as any
    // in-process extension is.
    let opened = unsafe { Library::open(Some(&copy), RTLD_NOW | RTLD_LOCAL) };
    // The mapping outlives the file; removing the copy leaves nothing behind.
    let _ = std::fs::remove_file(&copy);
    let library = opened.map_err(|e| refuse(format!("not a loadable shared object: {e}")))?;
    let library = std::mem::ManuallyDrop::new(library);

    // SAFETY: the symbol's type is fixed by flexcore.h; a library exporting
    // the name with another type breaks the ABI contract it claims.
    let entry = unsafe { library.get::<EntryFn>(ffi::ENTRY_SYMBOL) }
        .map_err(|_| refuse("not a FlexCore plugin: it does not export flexcore_plugin_entry_v1".into()))?;
    let descriptor = handshake(*entry).map_err(refuse)?;
    Ok(Opened {
        descriptor,
        file: file.to_path_buf(),
        sha256: sha256.to_owned(),
        library: Some(library),
    })
}

/// A plugin linked into this program (no file): the same handshake as a
/// loaded one. `origin` names it in listings.
pub(super) fn linked(entry: EntryFn, origin: &str) -> Result<Opened, Refusal> {
    let descriptor = handshake(entry).map_err(|reason| Refusal {
        file: origin.into(),
        reason,
    })?;
    Ok(Opened {
        descriptor,
        file: origin.into(),
        sha256: String::new(),
        library: None,
    })
}

/// Asks the entry point for the descriptor and checks it.
fn handshake(entry: EntryFn) -> Result<Descriptor, String> {
    // SAFETY: calling the plugin's entry point as the ABI defines it.
    let raw = unsafe { entry(flexcore_abi::ABI_MAJOR, flexcore_abi::ABI_MINOR) };
    if raw.is_null() {
        return Err(format!(
            "the plugin refused host ABI {}.{} (its entry point returned NULL)",
            flexcore_abi::ABI_MAJOR,
            flexcore_abi::ABI_MINOR
        ));
    }
    // SAFETY: a non-null descriptor points at the plugin's static descriptor;
    // only the leading fields, present in every version, are read first.
    unsafe { read_descriptor(raw) }
}

/// # Safety
/// `raw` must point at a descriptor that starts with the v1 header fields and
/// is at least `struct_size` bytes long.
unsafe fn read_descriptor(raw: *const FlexcorePlugin) -> Result<Descriptor, String> {
    // SAFETY: struct_size, abi_major and abi_minor lead every version.
    let (size, major, minor) = unsafe {
        let head = raw.cast::<u32>();
        let versions = raw.cast::<u8>().add(4).cast::<u16>();
        (
            head.read_unaligned(),
            versions.read_unaligned(),
            versions.add(1).read_unaligned(),
        )
    };
    if major != flexcore_abi::ABI_MAJOR {
        return Err(format!(
            "built for ABI {major}.{minor}; this gateway speaks ABI {}.x",
            flexcore_abi::ABI_MAJOR
        ));
    }
    if minor > flexcore_abi::ABI_MINOR {
        return Err(format!(
            "built for ABI {major}.{minor}, newer than this gateway's {}.{}",
            flexcore_abi::ABI_MAJOR,
            flexcore_abi::ABI_MINOR
        ));
    }
    if (size as usize) < ffi::FLEXCORE_PLUGIN_V1_SIZE {
        return Err(format!(
            "descriptor is {size} bytes, smaller than ABI 1.0's {}",
            ffi::FLEXCORE_PLUGIN_V1_SIZE
        ));
    }
    // SAFETY: struct_size covers the whole v1 struct, checked just above.
    let d = unsafe { &*raw };
    // SAFETY: the header makes name and version static NUL-terminated strings
    // (NULL is checked); description may be NULL.
    let (name, version, description) = unsafe { (c_text(d.name), c_text(d.version), c_text(d.description)) };
    let name = name.ok_or("descriptor has no valid UTF-8 name")?;
    if !flexcore_abi::valid_plugin_name(&name) {
        return Err(format!(
            "invalid plugin name '{name}': use 1 to 64 of [a-z0-9._-], starting with a letter or digit"
        ));
    }
    let version = version
        .filter(|v| !v.is_empty() && v.len() <= 64)
        .ok_or("descriptor has no valid version")?;
    let invoke = d.invoke.ok_or("descriptor has no invoke function")?;
    let free_response = d.free_response.ok_or("descriptor has no free_response function")?;
    Ok(Descriptor {
        name,
        version,
        description: description.unwrap_or_default(),
        abi: (major, minor),
        flags: d.flags,
        init: d.init,
        invoke,
        free_response,
        shutdown: d.shutdown,
    })
}

/// # Safety
/// `ptr` must be NULL or a NUL-terminated string.
unsafe fn c_text(ptr: *const std::ffi::c_char) -> Option<String> {
    if ptr.is_null() {
        return None;
    }
    // SAFETY: non-null and NUL-terminated by the caller's promise.
    unsafe { CStr::from_ptr(ptr) }.to_str().ok().map(str::to_owned)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
