//! ISA detection and the cap applied to objects created through the C API.

use std::ffi::{CStr, c_char};
use std::sync::atomic::{AtomicU8, Ordering};

use ruvector_cnn_kernels::KernelTable;
use ruvector_cnn_kernels::isa::{self, Isa, IsaSet};

use crate::boundary::{Failure, guard, non_null};
use crate::status::rvcnn_status;

/// The cap set by `rvcnn_isa_cap` (`NO_CAP` when none).
static CAP: AtomicU8 = AtomicU8::new(NO_CAP);
const NO_CAP: u8 = u8::MAX;

/// The levels objects created now use: the CPU's (capped by `RVCNN_ISA`), capped by
/// `rvcnn_isa_cap`.
pub(crate) fn levels() -> IsaSet {
    let cap = CAP.load(Ordering::Relaxed);
    let available = isa::available();
    match Isa::ALL.into_iter().find(|i| *i as u8 == cap) {
        Some(level) => available.intersect(IsaSet::up_to(level)),
        None => available,
    }
}

/// The kernel table for objects created now.
pub(crate) fn table() -> KernelTable {
    KernelTable::with_isa(levels())
}

fn isa_name(level: Isa) -> *const c_char {
    match level {
        Isa::Scalar => c"scalar".as_ptr(),
        Isa::Avx2Fma => c"avx2fma".as_ptr(),
        Isa::AvxVnni => c"avxvnni".as_ptr(),
        Isa::Avx512F => c"avx512f".as_ptr(),
        Isa::Avx512Vnni => c"avx512vnni".as_ptr(),
        Isa::Neon => c"neon".as_ptr(),
        Isa::NeonDot => c"neondot".as_ptr(),
        Isa::Wasm128 => c"wasm128".as_ptr(),
    }
}

/// Writes the name of the ISA level objects created now run at: the CPU's best level, capped
/// by the `RVCNN_ISA` environment variable and by `rvcnn_isa_cap` — `"scalar"`, `"avx2fma"`,
/// `"avxvnni"`, `"avx512f"` or `"avx512vnni"` on x86 (tiers in that order; the VNNI levels add
/// INT8 kernels), `"scalar"`, `"neon"` or `"neondot"` (dot-product INT8 kernels) on aarch64, `"scalar"` or `"wasm128"` on
/// WebAssembly. `*name` receives a static NUL-terminated string.
///
/// # Safety
/// `name` must be NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rvcnn_isa_active(name: *mut *const c_char) -> rvcnn_status {
    guard(|| {
        non_null(name, "name")?;
        // SAFETY: non-NULL (checked) and valid for a write per the contract.
        unsafe { *name = isa_name(levels().top()) };
        Ok(())
    })
}

/// Writes the name of the best ISA level this CPU supports, ignoring any cap.
///
/// # Safety
/// `name` must be NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rvcnn_isa_detected(name: *mut *const c_char) -> rvcnn_status {
    guard(|| {
        non_null(name, "name")?;
        // SAFETY: non-NULL (checked) and valid for a write per the contract.
        unsafe { *name = isa_name(isa::detected().top()) };
        Ok(())
    })
}

/// Caps the ISA level of objects created from now on (embedders and operators; existing
/// objects keep their kernels): `"scalar"`, `"avx2fma"`, `"avxvnni"`, `"avx512f"`,
/// `"avx512vnni"`, `"neon"`, `"neondot"` or `"wasm128"`, or NULL to remove the cap. A cap above what the CPU has
/// changes nothing. Process-wide and thread-safe.
///
/// # Safety
/// `name` must be NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rvcnn_isa_cap(name: *const c_char) -> rvcnn_status {
    guard(|| {
        let cap = if name.is_null() {
            NO_CAP
        } else {
            // SAFETY: non-NULL and NUL-terminated per the contract.
            let s = unsafe { CStr::from_ptr(name) }.to_string_lossy();
            isa::parse_cap(&s)
                .map_err(|e| Failure(rvcnn_status::RVCNN_STATUS_INVALID_ARGUMENT, e))?
                as u8
        };
        CAP.store(cap, Ordering::Relaxed);
        Ok(())
    })
}
