//! THE manifest: every kernel variant that exists, and nothing else.
//!
//! Each row below names a family, the ISA, the tile(s) and the epilogues it is generated for.
//! [`manifest`] expands the rows into one [`Variant`] per generated function; everything
//! downstream (kernel source, dispatch overlays, per-variant tests, bench registry) is derived
//! from that list.

use crate::isa::Isa;

/// A fused activation (the "epilogue" of a kernel). Semantics as in PyTorch:
/// relu6(x) = min(max(x, 0), 6), hardswish(x) = x·relu6(x+3)/6, hardsigmoid(x) = relu6(x+3)/6.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Act {
    /// Identity.
    Linear,
    /// max(x, 0).
    Relu,
    /// min(max(x, 0), 6).
    Relu6,
    /// x·relu6(x+3)/6.
    Hswish,
    /// relu6(x+3)/6.
    Hsigmoid,
    /// Chosen at run time: the shared body behind the per-activation entry points of a family
    /// that [`Family::shares_act_body`] takes the activation as an argument. Never a manifest
    /// entry; see [`Variant::body`].
    Runtime,
}

impl Act {
    /// Every activation a kernel can fuse (all but [`Act::Runtime`]), in the order of the
    /// kernels' `Activation`.
    pub const FIXED: [Act; 5] = [
        Act::Linear,
        Act::Relu,
        Act::Relu6,
        Act::Hswish,
        Act::Hsigmoid,
    ];

    /// Name used in kernel ids.
    pub fn name(self) -> &'static str {
        match self {
            Act::Linear => "linear",
            Act::Relu => "relu",
            Act::Relu6 => "relu6",
            Act::Hswish => "hswish",
            Act::Hsigmoid => "hsigmoid",
            Act::Runtime => "any",
        }
    }

    /// The matching `ruvector_cnn_kernels::Activation` path.
    pub fn rust_variant(self) -> &'static str {
        match self {
            Act::Linear => "Activation::Linear",
            Act::Relu => "Activation::Relu",
            Act::Relu6 => "Activation::Relu6",
            Act::Hswish => "Activation::Hswish",
            Act::Hsigmoid => "Activation::Hsigmoid",
            Act::Runtime => unreachable!("a shared kernel body has no descriptor"),
        }
    }
}

/// A kernel family: one emitter, one argument struct, one generated module.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    /// Packed-weight GEMM for 1x1 convolutions and fully-connected layers.
    Gemm,
    /// Depthwise KxK convolution, NHWC.
    Dwconv,
    /// Dense 3x3 convolution, NHWC, direct (stem and general).
    Conv3x3,
    /// Per-channel scale + shift (batch-norm inference) with activation.
    Bn,
    /// Per-channel scale (squeeze-excitation gate).
    Chscale,
    /// Elementwise activation over a flat array.
    Vact,
    /// Global average pool over pixels, NHWC.
    Gavgpool,
    /// Max pool, KxK window, stride s, NHWC.
    Maxpool,
    /// Average pool, KxK window, stride s, NHWC.
    Avgpool,
    /// INT8 packed-weight GEMM (u8 activations × s8 weights → requantized u8).
    Qgemm,
    /// INT8 depthwise KxK convolution, NHWC.
    Qdwconv,
    /// f32 → u8 quantization of a flat array.
    Quantize,
    /// u8 → f32 dequantization of a flat array.
    Dequantize,
    /// INT8 global average pool (u8 NHWC → f32 per channel).
    Qgavgpool,
    /// INT8 elementwise addition (residual connections).
    Qadd,
    /// INT8 per-channel scale (the squeeze-excitation gate), requantized in f32.
    Qchscale,
    /// Elementwise `act(a + b)` over flat arrays (residual connections).
    Vadd,
    /// Winograd F(2x2, 3x3) input transform (NHWC tiles → 16 planes).
    Wgin,
    /// Winograd F(2x2, 3x3) filter transform (9 tap planes → 16 planes).
    Wgfilter,
    /// Winograd F(2x2, 3x3) output transform with bias, optional residual and activation.
    Wgout,
}

impl Family {
    /// Every family, in generation order.
    pub const ALL: [Family; 20] = [
        Family::Gemm,
        Family::Dwconv,
        Family::Conv3x3,
        Family::Bn,
        Family::Chscale,
        Family::Vact,
        Family::Gavgpool,
        Family::Maxpool,
        Family::Avgpool,
        Family::Qgemm,
        Family::Qdwconv,
        Family::Quantize,
        Family::Dequantize,
        Family::Qgavgpool,
        Family::Qadd,
        Family::Qchscale,
        Family::Vadd,
        Family::Wgin,
        Family::Wgfilter,
        Family::Wgout,
    ];

    /// Whether the family computes on INT8 data (generated for the ISAs with an
    /// [`crate::isa::IntVocab`]); the others are f32 (generated for every non-VNNI level).
    pub fn is_int8(self) -> bool {
        matches!(
            self,
            Family::Qgemm
                | Family::Qdwconv
                | Family::Quantize
                | Family::Dequantize
                | Family::Qgavgpool
                | Family::Qadd
                | Family::Qchscale
        )
    }

    /// Whether the variants of this family that differ only in their activation share one
    /// kernel body taking the activation at run time, each variant's entry point calling it
    /// with its own. The body branches once per epilogue (the stores of a W-pixel step or of
    /// one pixel; predicted perfectly) into an arm per activation, so only the epilogue is
    /// repeated, not the unrolled K·K-tap sweep before it. Depthwise bodies are the largest
    /// generated code (taps × pixels unrolled, plus a masked copy for the channel tail): one
    /// body per tile instead of four cut the kernels' build time by 40%, and the layers' speed
    /// stayed within this machine's noise (numbers in the README, "Where this deviates").
    /// GEMM, 3x3 and Winograd epilogues are most of their kernels, so sharing would save
    /// little there. The family's emitter writes the entry points with
    /// `common::act_entry`.
    pub fn shares_act_body(self) -> bool {
        matches!(self, Family::Dwconv)
    }

    /// Whether the manifest must have variants of this family for `isa`.
    pub fn exists_for(self, isa: Isa) -> bool {
        if matches!(
            self,
            Family::Quantize
                | Family::Dequantize
                | Family::Qgavgpool
                | Family::Qadd
                | Family::Qchscale
        ) {
            // No dot products: AVX2 serves AVX-VNNI CPUs, NEON dot-product ones.
            isa.int_vocab().is_some() && !matches!(isa, Isa::AvxVnni | Isa::NeonDot)
        } else if self.is_int8() {
            isa.int_vocab().is_some()
        } else {
            !matches!(isa, Isa::AvxVnni | Isa::Avx512Vnni | Isa::NeonDot)
        }
    }

    /// Module and file name (`ukernels::<name>`).
    pub fn name(self) -> &'static str {
        match self {
            Family::Gemm => "gemm",
            Family::Dwconv => "dwconv",
            Family::Conv3x3 => "conv3x3",
            Family::Bn => "bn",
            Family::Chscale => "chscale",
            Family::Vact => "vact",
            Family::Gavgpool => "gavgpool",
            Family::Maxpool => "maxpool",
            Family::Avgpool => "avgpool",
            Family::Qgemm => "qgemm",
            Family::Qdwconv => "qdwconv",
            Family::Quantize => "quantize",
            Family::Dequantize => "dequantize",
            Family::Qgavgpool => "qgavgpool",
            Family::Qadd => "qadd",
            Family::Qchscale => "qchscale",
            Family::Vadd => "vadd",
            Family::Wgin => "wgin",
            Family::Wgfilter => "wgfilter",
            Family::Wgout => "wgout",
        }
    }

    /// The descriptor type alias in `ukernels::<name>` (e.g. `GemmUkernel`).
    pub fn ukernel_ty(self) -> &'static str {
        match self {
            Family::Gemm => "GemmUkernel",
            Family::Dwconv => "DwconvUkernel",
            Family::Conv3x3 => "Conv3x3Ukernel",
            Family::Bn => "BnUkernel",
            Family::Chscale => "ChscaleUkernel",
            Family::Vact => "VactUkernel",
            Family::Gavgpool => "GavgpoolUkernel",
            Family::Maxpool => "MaxpoolUkernel",
            Family::Avgpool => "AvgpoolUkernel",
            Family::Qgemm => "QgemmUkernel",
            Family::Qdwconv => "QdwconvUkernel",
            Family::Quantize => "QuantizeUkernel",
            Family::Dequantize => "DequantizeUkernel",
            Family::Qgavgpool => "QgavgpoolUkernel",
            Family::Qadd => "QaddUkernel",
            Family::Qchscale => "QchscaleUkernel",
            Family::Vadd => "VaddUkernel",
            Family::Wgin => "WginUkernel",
            Family::Wgfilter => "WgfilterUkernel",
            Family::Wgout => "WgoutUkernel",
        }
    }

    /// The argument struct every kernel of the family takes by reference.
    pub fn args_ty(self) -> &'static str {
        match self {
            Family::Gemm => "GemmArgs",
            Family::Dwconv => "DwconvArgs",
            Family::Conv3x3 => "Conv3x3Args",
            Family::Bn | Family::Chscale => "ChannelArgs",
            Family::Vact => "VactArgs",
            Family::Gavgpool => "GavgpoolArgs",
            Family::Maxpool | Family::Avgpool => "PoolArgs",
            Family::Qgemm => "QgemmArgs",
            Family::Qdwconv => "QdwconvArgs",
            Family::Quantize => "QuantizeArgs",
            Family::Dequantize => "DequantizeArgs",
            Family::Qgavgpool => "QgavgpoolArgs",
            Family::Qadd => "QaddArgs",
            Family::Qchscale => "QchscaleArgs",
            Family::Vadd => "VaddArgs",
            Family::Wgin => "WginArgs",
            Family::Wgfilter => "WgfilterArgs",
            Family::Wgout => "WgoutArgs",
        }
    }

    /// The `AnyUkernel` variant name in the registry.
    pub fn registry_variant(self) -> &'static str {
        match self {
            Family::Gemm => "Gemm",
            Family::Dwconv => "Dwconv",
            Family::Conv3x3 => "Conv3x3",
            Family::Bn => "Bn",
            Family::Chscale => "Chscale",
            Family::Vact => "Vact",
            Family::Gavgpool => "Gavgpool",
            Family::Maxpool => "Maxpool",
            Family::Avgpool => "Avgpool",
            Family::Qgemm => "Qgemm",
            Family::Qdwconv => "Qdwconv",
            Family::Quantize => "Quantize",
            Family::Dequantize => "Dequantize",
            Family::Qgavgpool => "Qgavgpool",
            Family::Qadd => "Qadd",
            Family::Qchscale => "Qchscale",
            Family::Vadd => "Vadd",
            Family::Wgin => "Wgin",
            Family::Wgfilter => "Wgfilter",
            Family::Wgout => "Wgout",
        }
    }
}

/// The tile (register-blocking) shape of a variant; determines the generated code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Tile {
    /// GEMM register tile.
    Gemm {
        /// Rows (pixels) per call.
        mr: usize,
        /// Columns (output channels) per packed panel.
        nr: usize,
        /// Adds a residual tensor before the activation.
        residual: bool,
    },
    /// Depthwise window, channel block and output-pixel block.
    Dwconv {
        /// Window size (KxK).
        k: usize,
        /// Stride.
        s: usize,
        /// Channels per block.
        cb: usize,
        /// Interior output pixels computed together.
        wb: usize,
    },
    /// Dense 3x3 convolution tile.
    Conv3x3 {
        /// Stride.
        s: usize,
        /// Fixed input channel count, if specialised.
        cin: Option<usize>,
        /// Output pixels per tile.
        mr: usize,
        /// Output channels per packed panel.
        nr: usize,
    },
    /// Channel block (Bn, Chscale, Gavgpool, Maxpool, Avgpool).
    Channels {
        /// Channels per step.
        cb: usize,
    },
    /// INT8 GEMM register tile: reduction in steps of 4 (`c4`).
    Qgemm {
        /// Rows (pixels) per call.
        mr: usize,
        /// Columns (output channels) per packed panel.
        nr: usize,
    },
    /// INT8 depthwise window and channel block.
    Qdwconv {
        /// Window size (KxK).
        k: usize,
        /// Stride.
        s: usize,
        /// Channels per block.
        cb: usize,
    },
    /// Winograd F(2x2, 3x3) transform step (Wgin, Wgfilter, Wgout).
    Winograd {
        /// Channels per step (one vector).
        cb: usize,
        /// Adds a residual tensor before the activation (Wgout only).
        residual: bool,
    },
    /// Elements per unrolled step (Vact).
    Elems {
        /// Elements per step.
        n: usize,
    },
}

/// One generated kernel function.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Variant {
    /// The kernel family.
    pub family: Family,
    /// The instruction set it is written for.
    pub isa: Isa,
    /// The fused activation.
    pub act: Act,
    /// The tile shape.
    pub tile: Tile,
}

impl Variant {
    /// The function name, e.g. `f32_gemm_relu_12x32` or `f32_dwconv_hswish_3x3s2_c16`.
    pub fn fn_name(&self) -> String {
        let fam = self.family.name();
        let act = self.act.name();
        match self.tile {
            Tile::Gemm { mr, nr, residual } => {
                let ep = if residual { "add" } else { act };
                format!("f32_{fam}_{ep}_{mr}x{nr}")
            }
            Tile::Dwconv { k, s, cb, wb } => format!("f32_{fam}_{act}_{k}x{k}s{s}_c{cb}w{wb}"),
            Tile::Conv3x3 { s, cin, mr, nr } => match cin {
                Some(ci) => format!("f32_{fam}_{act}_s{s}_cin{ci}_{mr}x{nr}"),
                None => format!("f32_{fam}_{act}_s{s}_{mr}x{nr}"),
            },
            Tile::Elems { n } if self.family == Family::Quantize => format!("f32_qu8_{fam}_x{n}"),
            Tile::Elems { n } if self.family == Family::Dequantize => format!("qu8_f32_{fam}_x{n}"),
            Tile::Elems { n } if self.family == Family::Qadd => format!("qu8_add_requant_x{n}"),
            Tile::Channels { cb } if self.family == Family::Qgavgpool => {
                format!("qu8_f32_gavgpool_c{cb}")
            }
            Tile::Channels { cb } if self.family == Family::Qchscale => {
                format!("qu8_chscale_c{cb}")
            }
            Tile::Channels { cb } if self.act == Act::Linear => format!("f32_{fam}_c{cb}"),
            Tile::Channels { cb } => format!("f32_{fam}_{act}_c{cb}"),
            Tile::Elems { n } => format!("f32_{fam}_{act}_x{n}"),
            Tile::Qgemm { mr, nr } => format!("qu8s8_gemm_requant_{mr}x{nr}c4"),
            Tile::Qdwconv { k, s, cb } => format!("qu8s8_dwconv_requant_{k}x{k}s{s}_c{cb}"),
            Tile::Winograd { cb, residual } if self.family == Family::Wgout => {
                let ep = if residual { "add_" } else { "" };
                format!("f32_{fam}_{ep}{act}_f23_c{cb}")
            }
            Tile::Winograd { cb, .. } => format!("f32_{fam}_f23_c{cb}"),
        }
    }

    /// The INT8 spelling this variant is generated with (its ISA's, at the tile's width).
    pub fn int_vocab(&self) -> Option<&'static dyn crate::isa::IntVocab> {
        match self.tile {
            Tile::Qdwconv { cb, .. } => self.isa.int_vocab_lanes(cb / 4),
            _ => self.isa.int_vocab(),
        }
    }

    /// The shared body behind this variant's entry point when its family
    /// [`shares_act_body`](Family::shares_act_body): the same variant with [`Act::Runtime`].
    pub fn body(&self) -> Variant {
        Variant {
            act: Act::Runtime,
            ..*self
        }
    }

    /// The display id `"{isa}/{fn}"` used in test names, bench ids and logs.
    pub fn id(&self) -> String {
        format!("{}/{}", self.isa.name(), self.fn_name())
    }

    /// The name of the generated descriptor static (upper-case function name).
    pub fn static_name(&self) -> String {
        self.fn_name().to_uppercase()
    }
}

const GEMM_EPILOGUES: [(Act, bool); 6] = [
    (Act::Linear, false),
    (Act::Relu, false),
    (Act::Relu6, false),
    (Act::Hswish, false),
    (Act::Hsigmoid, false),
    (Act::Linear, true),
];
const CONV_ACTS: [Act; 4] = [Act::Linear, Act::Relu, Act::Relu6, Act::Hswish];
const VACT_ACTS: [Act; 4] = [Act::Relu, Act::Relu6, Act::Hswish, Act::Hsigmoid];
/// Winograd output epilogues: every convolution activation, plus residual + linear/relu
/// (ResNet blocks end in `relu(conv + identity)`).
const WGOUT_EPILOGUES: [(Act, bool); 6] = [
    (Act::Linear, false),
    (Act::Relu, false),
    (Act::Relu6, false),
    (Act::Hswish, false),
    (Act::Linear, true),
    (Act::Relu, true),
];

/// Per-ISA f32 tile choices. GEMM tiles are grouped by NR (one packing per group); every
/// group has an MR = 1 tile so any row count can be covered.
struct F32Tiles {
    gemm: &'static [(usize, usize)],
    dw: &'static [(usize, usize)],
    conv: (usize, usize),
    stem: (usize, usize),
    chan_cb: usize,
    vact_n: usize,
    /// Channels per Winograd transform step (one vector).
    wino_cb: usize,
}

/// What one ISA level has: f32 families (not the INT8-only VNNI levels) and INT8 GEMM tiles
/// (grouped by NR like the f32 ones).
struct IsaRow {
    isa: Isa,
    f32: Option<F32Tiles>,
    qgemm: &'static [(usize, usize)],
    /// INT8 depthwise channel blocks, each 4 × the lanes of a vocabulary of the level.
    qdw_cbs: &'static [usize],
    /// Quantize/dequantize elements per step and INT8 global-pool channel block, if this
    /// level has them.
    qconvert: Option<(usize, usize)>,
}

/// The f32 tiles the 4-lane ISAs (NEON, SIMD128) share; each sets its own GEMM tiles.
const LANE4_TILES: F32Tiles = F32Tiles {
    gemm: &[],
    dw: &[(8, 4)],
    conv: (4, 8),
    stem: (4, 8),
    chan_cb: 8,
    vact_n: 16,
    wino_cb: 4,
};

const ROWS: [IsaRow; 8] = [
    IsaRow {
        isa: Isa::Scalar,
        f32: Some(F32Tiles {
            gemm: &[(4, 4), (1, 4)],
            dw: &[(2, 2)],
            conv: (2, 4),
            stem: (2, 4),
            chan_cb: 4,
            vact_n: 4,
            wino_cb: 1,
        }),
        qgemm: &[(4, 4), (1, 4)],
        qdw_cbs: &[4],
        qconvert: Some((4, 4)),
    },
    IsaRow {
        isa: Isa::Avx2Fma,
        f32: Some(F32Tiles {
            // 3x24 fits 24-, 72- and 120-column layers exactly with one broadcast per three
            // FMAs (8x8 needs one per FMA and tops out near 77% of peak on Zen 3); 4x24 would
            // need all 16 registers and spills. 5x16 lets a 7x7 layer's 49 rows end 5 + 4 + 4
            // instead of with a latency-bound single row (see `ops/gemm_plan.rs`).
            gemm: &[
                (6, 16),
                (5, 16),
                (4, 16),
                (1, 16),
                (8, 8),
                (1, 8),
                (3, 24),
                (1, 24),
            ],
            dw: &[(8, 4), (16, 4)],
            conv: (4, 16),
            stem: (4, 16),
            chan_cb: 16,
            vact_n: 32,
            wino_cb: 8,
        }),
        qgemm: &[(3, 16), (1, 16)],
        qdw_cbs: &[32],
        qconvert: Some((32, 16)),
    },
    IsaRow {
        isa: Isa::AvxVnni,
        f32: None,
        qgemm: &[(4, 16), (1, 16)],
        qdw_cbs: &[32],
        qconvert: None,
    },
    IsaRow {
        isa: Isa::Avx512F,
        f32: Some(F32Tiles {
            gemm: &[
                (12, 32),
                (4, 32),
                (1, 32),
                (8, 48),
                (4, 48),
                (1, 48),
                (5, 80),
                (1, 80),
                (16, 16),
                (4, 16),
                (1, 16),
            ],
            dw: &[(16, 4), (32, 4)],
            conv: (6, 32),
            stem: (8, 16),
            chan_cb: 32,
            vact_n: 64,
            wino_cb: 16,
        }),
        qgemm: &[],
        qdw_cbs: &[],
        qconvert: None,
    },
    IsaRow {
        isa: Isa::Avx512Vnni,
        f32: None,
        qgemm: &[(8, 32), (4, 32), (1, 32), (8, 16), (1, 16)],
        qdw_cbs: &[64, 32],
        qconvert: Some((64, 32)),
    },
    IsaRow {
        isa: Isa::Neon,
        f32: Some(F32Tiles {
            // 32 registers: room for 8x8 and 6x16 accumulator blocks.
            gemm: &[(8, 8), (4, 8), (1, 8), (6, 16), (1, 16)],
            ..LANE4_TILES
        }),
        qgemm: &[(4, 16), (1, 16)],
        qdw_cbs: &[16],
        qconvert: Some((16, 8)),
    },
    IsaRow {
        isa: Isa::NeonDot,
        f32: None,
        qgemm: &[(4, 16), (1, 16)],
        qdw_cbs: &[16],
        qconvert: None,
    },
    IsaRow {
        isa: Isa::Wasm128,
        f32: Some(F32Tiles {
            // Engines map v128 onto 16 host registers: at most 12 accumulators.
            gemm: &[(6, 8), (4, 8), (1, 8)],
            ..LANE4_TILES
        }),
        qgemm: &[(3, 8), (1, 8)],
        qdw_cbs: &[16],
        qconvert: Some((16, 8)),
    },
];

/// Expands the manifest rows into every variant, ISA by ISA, family by family.
pub fn manifest() -> Vec<Variant> {
    let mut out = Vec::new();
    for row in &ROWS {
        let isa = row.isa;
        let mut push = |family, act, tile| {
            out.push(Variant {
                family,
                isa,
                act,
                tile,
            })
        };
        if let Some(t) = &row.f32 {
            f32_variants(t, &mut push);
        }
        for &(mr, nr) in row.qgemm {
            push(Family::Qgemm, Act::Linear, Tile::Qgemm { mr, nr });
        }
        if let Some((n, cb)) = row.qconvert {
            push(Family::Quantize, Act::Linear, Tile::Elems { n });
            push(Family::Dequantize, Act::Linear, Tile::Elems { n });
            push(Family::Qgavgpool, Act::Linear, Tile::Channels { cb });
            push(Family::Qadd, Act::Linear, Tile::Elems { n });
            push(Family::Qchscale, Act::Linear, Tile::Channels { cb });
        }
        for (k, s) in [(3, 1), (3, 2), (5, 1), (5, 2)] {
            for &cb in row.qdw_cbs {
                push(Family::Qdwconv, Act::Linear, Tile::Qdwconv { k, s, cb });
            }
        }
    }
    out
}

/// The f32 families of one ISA level.
fn f32_variants(row: &F32Tiles, push: &mut impl FnMut(Family, Act, Tile)) {
    for &(act, residual) in &GEMM_EPILOGUES {
        for &(mr, nr) in row.gemm {
            push(Family::Gemm, act, Tile::Gemm { mr, nr, residual });
        }
    }
    for (k, s) in [(3, 1), (3, 2), (5, 1), (5, 2)] {
        for act in CONV_ACTS {
            for &(cb, wb) in row.dw {
                push(Family::Dwconv, act, Tile::Dwconv { k, s, cb, wb });
            }
        }
    }
    for act in CONV_ACTS {
        for s in [1, 2] {
            let (mr, nr) = row.conv;
            push(
                Family::Conv3x3,
                act,
                Tile::Conv3x3 {
                    s,
                    cin: None,
                    mr,
                    nr,
                },
            );
        }
        let (mr, nr) = row.stem;
        push(
            Family::Conv3x3,
            act,
            Tile::Conv3x3 {
                s: 2,
                cin: Some(3),
                mr,
                nr,
            },
        );
    }
    for act in CONV_ACTS {
        push(Family::Bn, act, Tile::Channels { cb: row.chan_cb });
    }
    for act in VACT_ACTS {
        push(Family::Vact, act, Tile::Elems { n: row.vact_n });
    }
    for act in [Act::Linear, Act::Relu] {
        push(Family::Vadd, act, Tile::Elems { n: row.vact_n });
    }
    let cb = row.wino_cb;
    for family in [Family::Wgin, Family::Wgfilter] {
        let tile = Tile::Winograd {
            cb,
            residual: false,
        };
        push(family, Act::Linear, tile);
    }
    for (act, residual) in WGOUT_EPILOGUES {
        push(Family::Wgout, act, Tile::Winograd { cb, residual });
    }
    for family in [
        Family::Chscale,
        Family::Gavgpool,
        Family::Maxpool,
        Family::Avgpool,
    ] {
        push(family, Act::Linear, Tile::Channels { cb: row.chan_cb });
    }
}
