//! `table.rs`: one `overlay_<isa>` method per ISA assigning its slot lists into `KernelTable`.

use super::{BANNER, cfg_line, group_slots, select};
use crate::isa::Isa;
use crate::manifest::{Family, Variant};
use crate::writer::Writer;

/// Renders the dispatch overlays.
pub fn render_table(all: &[Variant]) -> String {
    let mut w = Writer::new();
    w.line(BANNER);
    w.block("impl KernelTable", "", |w| {
        w.line("/// Replaces every slot for which `isa` has kernels with `isa`'s kernels.");
        w.block("pub(crate) fn overlay(&mut self, isa: Isa)", "", |w| {
            w.block("match isa", "", |w| {
                for isa in Isa::ALL {
                    cfg_line(w, isa);
                    w.line(format!(
                        "{} => self.overlay_{}(),",
                        isa.rust_variant(),
                        isa.name()
                    ));
                }
                w.line("#[allow(unreachable_patterns)]");
                w.line("_ => {}");
            });
        });
        for isa in Isa::ALL {
            w.line("");
            cfg_line(w, isa);
            w.block(format!("fn overlay_{}(&mut self)", isa.name()), "", |w| {
                for family in Family::ALL {
                    let vs = select(all, Some(family), isa);
                    for (slot, _) in group_slots(&vs) {
                        w.line(format!(
                            "self.{} = {}::{}::{};",
                            slot.field,
                            family.name(),
                            isa.name(),
                            slot.list
                        ));
                    }
                }
            });
        }
    });
    w.finish()
}
