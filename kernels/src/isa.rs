//! Instruction-set levels, detected once per process.
//!
//! `cpufeatures` detects AVX2/FMA and AVX-512F/BW/VL (it also checks that the OS saves the
//! wider registers). Levels that `cpufeatures` cannot see (AVX-512 VNNI, AVX-VNNI, aarch64
//! dotprod) use `std::arch::is_*_feature_detected!`. On aarch64, NEON is the baseline and
//! `neondot` (INT8 `sdot` kernels) is added when the CPU has the dot product.
//!
//! The levels are ordered by tier (`Scalar < Avx2Fma < AvxVnni < Avx512F < Avx512Vnni`) for
//! `RVCNN_ISA` caps, but a CPU may have a level without the ones below it (AVX-512 VNNI CPUs
//! without AVX-VNNI): sets, not ranges, are what the dispatch table overlays.
//!
//! `RVCNN_ISA=<name>` caps the level the process uses (e.g. `RVCNN_ISA=avx2fma` to reproduce a
//! result on a machine without AVX-512); it can only lower, never raise, what the CPU has.

use std::fmt;
use std::sync::OnceLock;

/// An instruction-set level that kernels exist for, lowest tier first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Isa {
    /// Portable Rust; always available.
    Scalar = 0,
    /// x86 AVX2 + FMA3.
    Avx2Fma = 1,
    /// x86 AVX2 + FMA3 + AVX-VNNI (256-bit `vpdpbusd`): INT8 kernels only.
    AvxVnni = 2,
    /// x86 AVX-512 Foundation.
    Avx512F = 3,
    /// x86 AVX-512 F/BW/VL + VNNI (512-bit `vpdpbusd`): INT8 kernels only.
    Avx512Vnni = 4,
    /// aarch64 Advanced SIMD (NEON), always present on aarch64: f32 and INT8 kernels.
    Neon = 5,
    /// aarch64 NEON + the ARMv8.2 dot product (`sdot`): INT8 kernels only.
    NeonDot = 6,
    /// WebAssembly SIMD128, present when the module is built with `+simd128` (there is no
    /// run-time detection in WebAssembly; a scalar build is the fallback).
    Wasm128 = 7,
}

impl Isa {
    /// Every level, lowest tier first.
    pub const ALL: [Isa; 8] = [
        Isa::Scalar,
        Isa::Avx2Fma,
        Isa::AvxVnni,
        Isa::Avx512F,
        Isa::Avx512Vnni,
        Isa::Neon,
        Isa::NeonDot,
        Isa::Wasm128,
    ];

    /// Short name used in kernel ids and `RVCNN_ISA` (`"avx512f"`).
    pub const fn name(self) -> &'static str {
        match self {
            Isa::Scalar => "scalar",
            Isa::Avx2Fma => "avx2fma",
            Isa::AvxVnni => "avxvnni",
            Isa::Avx512F => "avx512f",
            Isa::Avx512Vnni => "avx512vnni",
            Isa::Neon => "neon",
            Isa::NeonDot => "neondot",
            Isa::Wasm128 => "wasm128",
        }
    }

    /// f32 lanes per vector register at this level.
    pub const fn f32_lanes(self) -> usize {
        match self {
            Isa::Scalar => 1,
            Isa::Avx2Fma | Isa::AvxVnni => 8,
            Isa::Avx512F | Isa::Avx512Vnni => 16,
            Isa::Neon | Isa::NeonDot | Isa::Wasm128 => 4,
        }
    }

    /// Whether f32 kernels are generated for this level (the VNNI and dot-product levels add
    /// INT8 only).
    pub const fn has_f32_kernels(self) -> bool {
        !matches!(self, Isa::AvxVnni | Isa::Avx512Vnni | Isa::NeonDot)
    }

    /// Whether INT8 kernels are generated for this level.
    pub const fn has_int8_kernels(self) -> bool {
        !matches!(self, Isa::Avx512F)
    }

    /// Parses a name produced by [`Isa::name`].
    pub fn from_name(name: &str) -> Option<Isa> {
        Self::ALL.into_iter().find(|i| i.name() == name.trim())
    }
}

impl fmt::Display for Isa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A set of [`Isa`] levels.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct IsaSet(u32);

impl IsaSet {
    /// The empty set.
    pub const EMPTY: IsaSet = IsaSet(0);

    /// `{scalar}`.
    pub const fn scalar() -> IsaSet {
        IsaSet(1 << Isa::Scalar as u32)
    }

    /// Every level up to and including `cap`.
    pub fn up_to(cap: Isa) -> IsaSet {
        Isa::ALL
            .into_iter()
            .filter(|&i| i <= cap)
            .fold(IsaSet::EMPTY, IsaSet::with)
    }

    /// This set plus `isa`.
    pub const fn with(self, isa: Isa) -> IsaSet {
        IsaSet(self.0 | 1 << isa as u32)
    }

    /// Whether `isa` is in the set.
    pub const fn contains(self, isa: Isa) -> bool {
        self.0 & (1 << isa as u32) != 0
    }

    /// Levels in both sets.
    pub const fn intersect(self, other: IsaSet) -> IsaSet {
        IsaSet(self.0 & other.0)
    }

    /// The members, lowest tier first.
    pub fn iter(self) -> impl Iterator<Item = Isa> {
        Isa::ALL.into_iter().filter(move |&i| self.contains(i))
    }

    /// The highest member (`Scalar` for the empty set).
    pub fn top(self) -> Isa {
        self.iter().last().unwrap_or(Isa::Scalar)
    }

    /// Parses a comma-separated list of names (`"avx2fma,avx512f"`); empty items are ignored.
    pub fn parse_list(list: &str) -> Result<IsaSet, String> {
        list.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .try_fold(IsaSet::EMPTY, |set, name| {
                Isa::from_name(name)
                    .map(|i| set.with(i))
                    .ok_or_else(|| unknown_isa(name))
            })
    }
}

impl fmt::Debug for IsaSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IsaSet({self})")
    }
}

impl fmt::Display for IsaSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.iter().map(Isa::name).collect();
        f.write_str(&names.join(","))
    }
}

fn unknown_isa(name: &str) -> String {
    let known: Vec<&str> = Isa::ALL.iter().map(|i| i.name()).collect();
    format!("unknown ISA {name:?} (known: {})", known.join(", "))
}

#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
mod x86 {
    cpufeatures::new!(cpuid_avx2fma, "avx2", "fma");
    cpufeatures::new!(cpuid_avx512f, "avx512f");
    cpufeatures::new!(cpuid_avx512bwvl, "avx512f", "avx512bw", "avx512vl");

    pub fn detect() -> super::IsaSet {
        use super::{Isa, IsaSet};
        let mut set = IsaSet::scalar();
        let avx2fma = cpuid_avx2fma::get();
        if avx2fma {
            set = set.with(Isa::Avx2Fma);
        }
        // cpufeatures cannot see the VNNI extensions; std's detection also checks OS support.
        if avx2fma && std::arch::is_x86_feature_detected!("avxvnni") {
            set = set.with(Isa::AvxVnni);
        }
        if cpuid_avx512f::get() {
            set = set.with(Isa::Avx512F);
        }
        if cpuid_avx512bwvl::get() && std::arch::is_x86_feature_detected!("avx512vnni") {
            set = set.with(Isa::Avx512Vnni);
        }
        set
    }
}

/// The levels this CPU supports (detected on first call, then cached).
pub fn detected() -> IsaSet {
    static DETECTED: OnceLock<IsaSet> = OnceLock::new();
    *DETECTED.get_or_init(|| {
        #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
        {
            x86::detect()
        }
        // NEON is part of the aarch64 baseline; the dot product (ARMv8.2) is optional.
        #[cfg(target_arch = "aarch64")]
        {
            let set = IsaSet::scalar().with(Isa::Neon);
            if std::arch::is_aarch64_feature_detected!("dotprod") {
                set.with(Isa::NeonDot)
            } else {
                set
            }
        }
        // WebAssembly has no run-time detection: SIMD128 is there if the module was built
        // with it (a module using it does not even load on an engine without it).
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        {
            IsaSet::scalar().with(Isa::Wasm128)
        }
        #[cfg(not(any(
            target_arch = "x86",
            target_arch = "x86_64",
            target_arch = "aarch64",
            all(target_arch = "wasm32", target_feature = "simd128")
        )))]
        {
            IsaSet::scalar()
        }
    })
}

/// Parses an `RVCNN_ISA` value: the name of the highest level to use.
pub fn parse_cap(value: &str) -> Result<Isa, String> {
    Isa::from_name(value).ok_or_else(|| unknown_isa(value))
}

/// The levels this process uses: [`detected`] capped by `RVCNN_ISA` (read once). An invalid
/// `RVCNN_ISA` is reported once on stderr and ignored.
pub fn available() -> IsaSet {
    static AVAILABLE: OnceLock<IsaSet> = OnceLock::new();
    *AVAILABLE.get_or_init(|| match std::env::var("RVCNN_ISA") {
        Ok(v) => match parse_cap(&v) {
            Ok(cap) => detected().intersect(IsaSet::up_to(cap)),
            Err(e) => {
                eprintln!("ruvector-cnn: ignoring RVCNN_ISA: {e}");
                detected()
            }
        },
        Err(_) => detected(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_and_names() {
        let s = IsaSet::up_to(Isa::Avx2Fma);
        assert!(s.contains(Isa::Scalar) && s.contains(Isa::Avx2Fma) && !s.contains(Isa::Avx512F));
        assert_eq!(s.top(), Isa::Avx2Fma);
        assert_eq!(s.to_string(), "scalar,avx2fma");
        assert_eq!(
            IsaSet::parse_list(" avx512f, avx2fma,")
                .unwrap()
                .to_string(),
            "avx2fma,avx512f"
        );
        assert!(IsaSet::parse_list("avx9").unwrap_err().contains("avx9"));
        assert_eq!(parse_cap("scalar"), Ok(Isa::Scalar));
        assert!(detected().contains(Isa::Scalar));
        assert!(available().intersect(detected()) == available());
    }
}
