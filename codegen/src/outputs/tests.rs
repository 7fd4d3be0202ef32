//! `tests.rs`: one `#[test]` per variant, grouped in one module per ISA, each running the
//! family's property test (`crate::testing::<family>`) on that exact kernel.

use super::{BANNER, cfg_line, select};
use crate::isa::Isa;
use crate::manifest::{Family, Variant};
use crate::writer::Writer;

fn checker(f: Family) -> &'static str {
    match f {
        Family::Gemm => "gemm::check_variant",
        Family::Dwconv => "dwconv::check_variant",
        Family::Conv3x3 => "conv3x3::check_variant",
        Family::Bn => "channel::check_bn",
        Family::Chscale => "channel::check_chscale",
        Family::Vact => "vact::check_variant",
        Family::Gavgpool => "gavgpool::check_variant",
        Family::Maxpool => "pool::check_maxpool",
        Family::Avgpool => "pool::check_avgpool",
        Family::Qgemm => "qgemm::check_variant",
        Family::Qdwconv => "qdwconv::check_variant",
        Family::Quantize => "qconvert::check_quantize",
        Family::Dequantize => "qconvert::check_dequantize",
        Family::Qgavgpool => "qconvert::check_gavgpool",
        Family::Qchscale => "qconvert::check_chscale",
        Family::Qadd => "qconvert::check_add",
        Family::Vadd => "vact::check_add",
        Family::Wgin => "winograd::check_input",
        Family::Wgfilter => "winograd::check_filter",
        Family::Wgout => "winograd::check_output",
    }
}

/// Renders the per-variant tests.
pub fn render_tests(all: &[Variant]) -> String {
    let mut w = Writer::new();
    w.line(BANNER);
    for isa in Isa::ALL {
        let vs = select(all, None, isa);
        w.line("");
        cfg_line(&mut w, isa);
        w.block(format!("mod {}", isa.name()), "", |w| {
            for v in vs {
                w.line("#[test]");
                w.block(format!("fn {}()", v.fn_name()), "", |w| {
                    w.line(format!(
                        "crate::testing::{}(&crate::ukernels::{}::{}::{});",
                        checker(v.family),
                        v.family.name(),
                        isa.name(),
                        v.static_name()
                    ));
                });
            }
        });
    }
    w.finish()
}
