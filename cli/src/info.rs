//! `rvcnn info`: what this CPU offers, which kernels the model uses, and the model itself.

use clap::Args as ClapArgs;
use ruvector_cnn_kernels::isa;
use ruvector_cnn_model::Output;

use crate::CliResult;
use crate::model_args::ModelArgs;

/// Arguments of `rvcnn info`.
#[derive(ClapArgs)]
pub struct Args {
    /// Model options.
    #[command(flatten)]
    pub model: ModelArgs,
}

fn names(set: ruvector_cnn_kernels::IsaSet) -> String {
    set.iter().map(|i| i.name()).collect::<Vec<_>>().join(", ")
}

/// Runs `rvcnn info`.
pub fn run(args: &Args) -> CliResult {
    println!("rvcnn {}", env!("CARGO_PKG_VERSION"));
    println!("detected ISA:  {}", names(isa::detected()));
    let table = args.model.table()?;
    println!("active ISA:    {}", names(table.isa_set()));
    match args.model.embedder(&[]) {
        Err(e) => println!("model:         not loaded ({e})"),
        Ok(e) => {
            println!("model:         {}", args.model.label(&e));
            for o in Output::ALL {
                match e.output_dim(o) {
                    Ok(d) => println!("  {o:<12} {d} values"),
                    Err(err) => println!("  {o:<12} ({err})"),
                }
            }
            println!("kernels:");
            for (layer, ids) in e.kernels() {
                println!("  {layer:<14} {ids}");
            }
        }
    }
    Ok(())
}
