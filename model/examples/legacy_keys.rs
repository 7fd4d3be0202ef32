//! Prints the tensors of a legacy (non-zip) PyTorch file: `cargo run -p ruvector-cnn-model
//! --example legacy_keys -- FILE.pt`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: legacy_keys FILE.pt")?;
    let w = ruvector_cnn_model::weights::torch_legacy::parse(&std::fs::read(path)?)?;
    for k in w.keys() {
        println!("{k} {:?}", w.get(k).map(|t| &t.shape));
    }
    println!("{} tensors, {} values", w.len(), w.parameter_count());
    Ok(())
}
