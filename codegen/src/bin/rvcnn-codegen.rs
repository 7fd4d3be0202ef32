//! Review tool for the generated kernels.
//!
//! ```text
//! rvcnn-codegen list [FILTER]     ids of the variants whose id contains FILTER
//! rvcnn-codegen dump [FILTER]     source of those variants
//! rvcnn-codegen write DIR         every generated file, as kernels/build.rs writes them
//! ```

use std::process::ExitCode;

use ruvector_cnn_codegen::{generate, manifest::manifest, render_variant};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let filter = args.get(1).map(String::as_str).unwrap_or("");
    let matching = || {
        manifest()
            .into_iter()
            .filter(move |v| v.id().contains(filter))
    };
    match args.first().map(String::as_str) {
        Some("list") => {
            for v in matching() {
                println!("{}", v.id());
            }
        }
        Some("dump") => {
            for v in matching() {
                println!("// ===== {} =====\n{}", v.id(), render_variant(&v));
            }
        }
        Some("write") if args.len() == 2 => {
            let dir = std::path::Path::new(&args[1]);
            for f in generate() {
                if let Err(e) = std::fs::create_dir_all(dir)
                    .and_then(|_| std::fs::write(dir.join(&f.name), &f.text))
                {
                    eprintln!(
                        "rvcnn-codegen: cannot write {}: {e}",
                        dir.join(&f.name).display()
                    );
                    return ExitCode::FAILURE;
                }
            }
        }
        _ => {
            eprintln!("usage: rvcnn-codegen list [FILTER] | dump [FILTER] | write DIR");
            return ExitCode::from(2);
        }
    }
    ExitCode::SUCCESS
}
