//! `registry.rs`: every variant as an `AnyUkernel`, grouped by ISA (the bench registrations).

use super::{BANNER, select};
use crate::isa::Isa;
use crate::manifest::Variant;
use crate::writer::Writer;

/// Renders the registry.
pub fn render_registry(all: &[Variant]) -> String {
    let mut w = Writer::new();
    w.line(BANNER);
    for isa in Isa::ALL {
        let vs = select(all, None, isa);
        let name = format!("REGISTRY_{}", isa.name().to_uppercase());
        w.line("");
        if let Some(cfg) = isa.cfg() {
            w.line(format!("#[cfg(not({cfg}))]"));
            w.line(format!("static {name}: &[AnyUkernel] = &[];"));
            w.line(format!("#[cfg({cfg})]"));
        }
        w.block(format!("static {name}: &[AnyUkernel] ="), ";", |w| {
            w.line("&[");
            for v in vs {
                w.line(format!(
                    "    AnyUkernel::{}(&{}::{}::{}),",
                    v.family.registry_variant(),
                    v.family.name(),
                    isa.name(),
                    v.static_name()
                ));
            }
            w.line("]");
        });
    }
    let parts: Vec<String> = Isa::ALL
        .iter()
        .map(|i| format!("REGISTRY_{}", i.name().to_uppercase()))
        .collect();
    w.line("");
    w.line(
        "/// Every generated kernel compiled for this target, grouped by ISA, lowest tier first.",
    );
    w.line(format!(
        "pub static REGISTRY: [&[AnyUkernel]; {}] = [{}];",
        parts.len(),
        parts.join(", ")
    ));
    w.finish()
}
